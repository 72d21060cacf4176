//! The paper's runs as ready-made configurations (`apical run --preset NAME`). Each is also
//! shipped as `configs/NAME.toml`; a test keeps the files equal to the presets.

use apical_datasets::patterns::InputDistribution;
use apical_neuron::CompartmentParams;
use apical_numerics::{kernels::TraceOrder, rate::RateFn};

use crate::config::{DynamicsConfig, InitConfig, LateralInit, NetworkConfig, NoiseScheme, PlasticityConfig, RunConfig};
use crate::experiments::{ExperimentConfig, Fig1Config, FigS1Config};

/// The names of all presets, with a one-line description.
pub const PRESETS: &[(&str, &str)] = &[
    ("quick", "a shortened fig-s1 that runs in seconds (the default experiment)"),
    ("fig-s1", "learn the self-predicting state from random lateral weights (paper Fig. S1)"),
    ("fig1", "one input→target association from a self-predicting start (paper Fig. 1)"),
];

fn network(sizes: &[usize], phi: RateFn) -> NetworkConfig {
    NetworkConfig {
        sizes: sizes.to_vec(),
        phi,
        neuron: "dendritic".into(),
        bias: false,
        conductances: CompartmentParams::default(),
    }
}

fn dynamics(sigma: f64) -> DynamicsConfig {
    DynamicsConfig { dt: 0.1, tau_0: 3.0, sigma, noise: NoiseScheme::EulerMaruyama }
}

fn plasticity(eta_up: &[f64], eta_ip: f64, eta_pi: f64) -> PlasticityConfig {
    PlasticityConfig {
        eta_up: eta_up.to_vec(),
        eta_ip: vec![eta_ip],
        eta_pi: vec![eta_pi],
        eta_down: Vec::new(),
        tau_w: 30.0,
        order: TraceOrder::Synchronous,
        learning_lag: 0.0,
    }
}

fn fig_s1(patterns: u64, record_every: u64) -> RunConfig {
    RunConfig {
        seed: 0,
        network: network(&[30, 20, 10], RateFn::Logistic),
        dynamics: dynamics(0.1),
        plasticity: plasticity(&[0.0, 0.0], 0.0002375, 0.0005),
        init: InitConfig { range: 1.0, lateral: LateralInit::Random, weights: None },
        experiment: ExperimentConfig::FigS1(FigS1Config {
            patterns,
            pattern_ms: 100.0,
            record_every,
            probes: 20,
            inputs: InputDistribution::unit(),
        }),
    }
}

/// The preset `name`, if there is one.
pub fn preset(name: &str) -> Option<RunConfig> {
    Some(match name {
        "quick" => fig_s1(1500, 25),
        "fig-s1" => fig_s1(20_000, 100),
        "fig1" => RunConfig {
            seed: 0,
            network: network(&[30, 20, 10], RateFn::Logistic),
            dynamics: dynamics(0.1),
            plasticity: plasticity(&[0.0011875, 0.0005], 0.0011875, 0.0005),
            init: InitConfig { range: 1.0, lateral: LateralInit::SelfPredicting, weights: None },
            experiment: ExperimentConfig::Fig1(Fig1Config {
                duration_ms: 20_000.0,
                target_on_ms: 500.0,
                target_off_ms: 15_000.0,
                record_ms: 5.0,
                inputs: InputDistribution::unit(),
                target_rates: InputDistribution::Uniform { low: 0.2, high: 0.8 },
            }),
        },
        _ => return None,
    })
}
