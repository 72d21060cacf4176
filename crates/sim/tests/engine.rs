//! The continuous-time engine against the formulas of spec §3–§5.

use apical_neuron::Role;
use apical_numerics::{Real, rate::RateFn, stats};
use apical_sim::config::{LateralInit, RunConfig};
use apical_sim::microcircuit::Microcircuit;
use apical_sim::presets::preset;

/// A small network of the given widths with every matrix drawn at random, no noise and the
/// paper's conductances.
fn config(sizes: &[usize], phi: RateFn, bias: bool, seed: u64, lateral: LateralInit) -> RunConfig {
    let mut cfg = preset("fig1").unwrap();
    let layers = sizes.len() - 1;
    cfg.seed = seed;
    cfg.network.sizes = sizes.to_vec();
    cfg.network.phi = phi;
    cfg.network.bias = bias;
    cfg.dynamics.sigma = 0.0;
    cfg.init.lateral = lateral;
    cfg.plasticity.eta_up = vec![0.01; layers];
    cfg.plasticity.eta_ip = vec![0.01; layers - 1];
    cfg.plasticity.eta_pi = vec![0.01; layers - 1];
    cfg.plasticity.eta_down = vec![0.01; layers - 1];
    cfg.validate().unwrap();
    cfg
}

fn input(n: usize, seed: u64) -> Vec<Real> {
    (0..n).map(|i| ((i as Real + 1.0) * 0.37 + seed as Real).sin()).collect()
}

fn all_potentials(net: &Microcircuit) -> Vec<Real> {
    let s = &net.state;
    s.pyramidal.iter().flat_map(|l| l.u.clone()).chain(s.inter.iter().flat_map(|i| i.u.clone())).collect()
}

#[test]
fn euler_converges_to_the_fixed_point_steady_state() {
    let cases: [(&[usize], RateFn, bool); 4] = [
        (&[3, 4, 2], RateFn::Logistic, false),
        (&[5, 3, 4, 2], RateFn::Logistic, true),
        (&[2, 6, 3], RateFn::PAPER_SOFT_RECTIFIER, true),
        (&[4, 3, 3, 3, 2], RateFn::Tanh, false),
    ];
    for (seed, (sizes, phi, bias)) in cases.into_iter().enumerate() {
        for target_on in [false, true] {
            let cfg = config(sizes, phi, bias, seed as u64, LateralInit::Random);
            let x = input(sizes[0], seed as u64);
            let target: Vec<Real> = (0..*sizes.last().unwrap()).map(|i| 0.5 - 0.3 * i as Real).collect();
            let mut fixed = Microcircuit::new(&cfg).unwrap();
            fixed.set_input(&x);
            fixed.set_target(target_on.then_some(&target[..]));
            fixed.settle(1e-14, 100_000).expect("the fixed-point iteration converges");
            let mut euler = Microcircuit::new(&cfg).unwrap();
            euler.set_input(&x);
            euler.set_target(target_on.then_some(&target[..]));
            // Plasticity off, constant input: 400 ms is hundreds of effective time constants.
            euler.run_steps(4000, false).unwrap();
            let diff = stats::sq_distance(&all_potentials(&euler), &all_potentials(&fixed)).sqrt();
            assert!(diff <= 1e-8, "{sizes:?} target {target_on}: |u_euler − u_fixed| = {diff:e}");
        }
    }
}

/// Every induction term, recomputed from the public state: Eq. 7 φ(u) − φ(c v_B), Eq. 8
/// φ(u^I) − φ(d v^I) and Eq. 9 −v_A; returns the largest magnitude.
fn largest_induction(net: &Microcircuit) -> Real {
    let g = &net.conductances;
    let phi = net.phi;
    let depth = net.depth();
    let mut largest: Real = 0.0;
    for (k, layer) in net.state.pyramidal.iter().enumerate() {
        let role = if k + 1 == depth { Role::Output } else { Role::Pyramidal };
        let c = g.role(role).prediction_gain();
        for (u, v) in layer.u.iter().zip(&layer.v_basal) {
            largest = largest.max((phi.phi(*u) - phi.phi(c * v)).abs());
        }
        for v_a in &layer.v_apical {
            largest = largest.max(v_a.abs());
        }
    }
    let d = g.role(Role::Interneuron).prediction_gain();
    for inter in &net.state.inter {
        for (u, v) in inter.u.iter().zip(&inter.v) {
            largest = largest.max((phi.phi(*u) - phi.phi(d * v)).abs());
        }
    }
    largest
}

#[test]
fn self_predicting_state_silences_the_apical_compartment_and_every_rule() {
    for (seed, sizes) in [vec![4, 5, 3], vec![3, 6, 4, 2], vec![5, 4, 4, 4, 3]].into_iter().enumerate() {
        for bias in [false, true] {
            let mut cfg = config(&sizes, RateFn::Logistic, bias, seed as u64, LateralInit::SelfPredicting);
            // Eq. 10 is not silenced by the self-predicting state, so the top-down weights stay fixed.
            cfg.plasticity.eta_down.clear();
            let mut net = Microcircuit::new(&cfg).unwrap();
            net.set_input(&input(sizes[0], seed as u64));
            net.settle(1e-15, 100_000).expect("converges");
            assert!(net.apical_sq_norm().sqrt() <= 1e-12, "{sizes:?}: |v_A| = {:e}", net.apical_sq_norm().sqrt());
            let largest = largest_induction(&net);
            assert!(largest <= 1e-12, "{sizes:?} bias {bias}: largest induction {largest:e}");
            // The Euler engine with plasticity on keeps the weights where they are.
            let before = net.weights.clone();
            net.run_steps(500, true).unwrap();
            for ((name, a), (_, b)) in before.named().into_iter().zip(net.weights.named()) {
                assert!(a.distance(b) <= 1e-12, "{sizes:?}: {name} moved by {:e}", a.distance(b));
            }
        }
    }
}

#[test]
fn nudged_output_settles_at_the_mixture_of_prediction_and_target() {
    // Spec §3: u_N = (1 − λ_N) v̂_B,N + λ_N u_trgt at the steady state.
    let cfg = config(&[3, 4, 2], RateFn::Logistic, false, 3, LateralInit::SelfPredicting);
    let mut net = Microcircuit::<Real>::new(&cfg).unwrap();
    net.set_input(&[0.2, 0.9, -0.4]);
    let target = [1.5, -0.5];
    net.set_target(Some(&target));
    net.settle(1e-15, 100_000).unwrap();
    let g = cfg.network.conductances;
    let lambda_n = g.lambda_n();
    let c_n = g.role(Role::Output).prediction_gain();
    let out = net.state.pyramidal.last().unwrap();
    for i in 0..2 {
        let expected = (1.0 - lambda_n) * c_n * out.v_basal[i] + lambda_n * target[i];
        assert!((out.u[i] - expected).abs() < 1e-13, "{} vs {expected}", out.u[i]);
    }
}

#[test]
fn a_snapshot_restores_bit_identically() {
    let cfg = {
        let mut cfg = config(&[4, 5, 3], RateFn::Logistic, true, 9, LateralInit::Random);
        cfg.dynamics.sigma = 0.2;
        cfg
    };
    let mut a = Microcircuit::<Real>::new(&cfg).unwrap();
    a.set_input(&input(4, 1));
    a.run_steps(300, true).unwrap();
    let mut b = Microcircuit::restore(&cfg, a.snapshot()).unwrap();
    a.run_steps(300, true).unwrap();
    b.run_steps(300, true).unwrap();
    assert_eq!(a.snapshot(), b.snapshot());
}

#[test]
fn divergence_is_reported_with_step_and_population() {
    let mut cfg = config(&[3, 4, 2], RateFn::Linear, false, 1, LateralInit::Random);
    // An explicit Euler step far beyond the stability limit 2/(g_lk + g_B + g_A) blows up.
    cfg.dynamics.dt = 50.0;
    let mut net = Microcircuit::<Real>::new(&cfg).unwrap();
    net.set_input(&[1.0, 1.0, 1.0]);
    let err = net.run_steps(100_000, false).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("simulation diverged at step "), "{text}");
    // The weights do not learn, so a population's potential is named, as u_k or u_inter_k.
    assert!(text.ends_with(": u_1 is not finite") || text.contains(": u_inter_1 is not finite"), "{text}");
}

#[test]
fn noise_schemes_give_the_ornstein_uhlenbeck_variance() {
    // With all weights zero the output soma is an Ornstein–Uhlenbeck process with rate
    // g = g_lk + g_B. Euler–Maruyama gives the stationary variance σ²/(2g); the legacy scheme
    // scales the noise by dt instead of √dt, so its variance is dt times smaller.
    for (scheme, dt_factor) in
        [(apical_sim::config::NoiseScheme::EulerMaruyama, 1.0), (apical_sim::config::NoiseScheme::LegacyDt, 0.1)]
    {
        let mut cfg = config(&[2, 3, 2], RateFn::Logistic, false, 4, LateralInit::Random);
        cfg.init.range = 0.0;
        cfg.dynamics.sigma = 0.5;
        cfg.dynamics.noise = scheme;
        let mut net = Microcircuit::<Real>::new(&cfg).unwrap();
        net.set_input(&[0.0, 0.0]);
        net.run_steps(1000, false).unwrap();
        let mut samples = Vec::new();
        for _ in 0..20_000 {
            net.run_steps(10, false).unwrap();
            samples.extend_from_slice(net.output_potentials());
        }
        let g = cfg.network.conductances.g_lk + cfg.network.conductances.g_b;
        let expected = 0.25 / (2.0 * g) * dt_factor;
        let variance = stats::sq_norm(&samples) / samples.len() as Real;
        assert!((variance / expected - 1.0).abs() < 0.1, "{scheme:?}: variance {variance}, expected {expected}");
    }
}

#[test]
fn learning_lag_freezes_plasticity_after_each_switch() {
    let mut cfg = config(&[3, 4, 2], RateFn::Logistic, false, 6, LateralInit::Random);
    cfg.plasticity.learning_lag = 20.0;
    let mut net = Microcircuit::<Real>::new(&cfg).unwrap();
    net.set_input(&[0.1, 0.5, 0.9]);
    let start = net.weights.clone();
    net.run_steps(200, true).unwrap();
    assert_eq!(net.weights, start, "weights moved during the lag");
    net.run_steps(10, true).unwrap();
    assert_ne!(net.weights.up[0].w, start.up[0].w, "weights did not move after the lag");
    let after = net.weights.clone();
    net.set_input(&[0.9, 0.5, 0.1]);
    net.run_steps(200, true).unwrap();
    assert_eq!(net.weights, after, "the lag restarts with every new pattern");
}

#[test]
fn latent_equilibrium_rules_take_the_prospective_rate() {
    // With Latent Equilibrium neurons Eq. 7 compares the prospective rate φ(u + τ_eff du/dt)
    // with the dendritic prediction, as that paper's code does. Right after a target appears at
    // a steady state, u has not moved yet but du/dt has, so with τ_w = dt and the trace updated
    // first, the first step moves the output weights by dt η (φ(u + τ_eff du/dt) − φ(c v_B)) r_1ᵀ.
    let mut cfg = config(&[3, 4, 2], RateFn::Logistic, false, 5, LateralInit::SelfPredicting);
    cfg.network.neuron = "latent-equilibrium".into();
    cfg.plasticity.tau_w = cfg.dynamics.dt;
    cfg.plasticity.order = apical_numerics::kernels::UpdateOrder::TraceFirst;
    cfg.validate().unwrap();
    let mut net = Microcircuit::<Real>::new(&cfg).unwrap();
    net.set_input(&[0.2, 0.9, -0.4]);
    net.settle(1e-15, 100_000).unwrap();
    let target = [1.5, -0.5];
    net.set_target(Some(&target));
    let before = net.weights.up[1].w.clone();
    let r_1 = net.state.pyramidal[0].r.clone();
    let out = net.state.pyramidal[1].clone();
    net.step(true).unwrap();

    let g = cfg.network.conductances.role(Role::Output);
    let tau_eff = 1.0 / (g.g_lk + g.g_dend + g.g_nudge);
    let c = g.g_dend / (g.g_lk + g.g_dend);
    let phi = cfg.network.phi;
    let scale = cfg.dynamics.dt * cfg.plasticity.eta_up[1];
    let mut largest: Real = 0.0;
    for i in 0..2 {
        let (u, v_b) = (out.u[i], out.v_basal[i]);
        let du = -g.g_lk * u + g.g_dend * (v_b - u) + g.g_nudge * (target[i] - u);
        let post = phi.phi(u + tau_eff * du) - phi.phi(c * v_b);
        for (j, &r) in r_1.iter().enumerate() {
            let change = net.weights.up[1].w.get(i, j) - before.get(i, j);
            let expected = scale * post * r;
            // The change is the difference of two weights of order 1, good to about 1e-16.
            assert!((change - expected).abs() <= 1e-14, "w_up_2[{i},{j}]: {change} vs {expected}");
            largest = largest.max(expected.abs());
        }
    }
    // φ(u) − φ(c v_B) is zero at this steady state; the prospective rate sees the target at once.
    assert!(largest > 1e-5, "{largest}");
}

#[test]
fn w_up_range_draws_the_forward_weights_alone_from_their_own_range() {
    let cfg = config(&[3, 4, 2], RateFn::Logistic, false, 7, LateralInit::Random);
    let mut narrow = cfg.clone();
    narrow.init.w_up_range = Some(0.1);
    narrow.validate().unwrap();
    let (wide, narrow) =
        (Microcircuit::<Real>::new(&cfg).unwrap().weights, Microcircuit::<Real>::new(&narrow).unwrap().weights);
    for (k, (a, b)) in wide.up.iter().zip(&narrow.up).enumerate() {
        // The same draws, scaled from U(−1, 1) to U(−0.1, 0.1).
        for (x, y) in a.w.as_slice().iter().zip(b.w.as_slice()) {
            assert!(y.abs() <= 0.1, "w_up_{}: {y}", k + 1);
            assert!((0.1 * x - y).abs() <= 1e-15, "w_up_{}: {x} against {y}", k + 1);
        }
    }
    assert_eq!(wide.down[0].w, narrow.down[0].w, "B_1");
    assert_eq!(wide.ip[0].w, narrow.ip[0].w, "W^IP_1");
    assert_eq!(wide.pi[0].w, narrow.pi[0].w, "W^PI_1");
}

#[test]
fn weight_bounds_clip_w_up_and_the_basal_potentials_follow() {
    let mut cfg = config(&[3, 4, 2], RateFn::Logistic, false, 7, LateralInit::SelfPredicting);
    cfg.plasticity.eta_up = vec![2.0, 2.0];
    let run = |cfg: &RunConfig| {
        let mut net = Microcircuit::new(cfg).unwrap();
        net.set_input(&[0.2, 0.9, -0.4]);
        net.set_target(Some(&[3.0, -3.0]));
        net.run_steps(3000, true).unwrap();
        net
    };
    let largest =
        |net: &Microcircuit, k: usize| net.weights.up[k].w.as_slice().iter().fold(0.0, |m: Real, w| m.max(w.abs()));
    // Bounds at half the largest initial weight: the first plastic step puts weights on them.
    let start = Microcircuit::new(&cfg).unwrap();
    let bounds = [0.5 * largest(&start, 0), 0.5 * largest(&start, 1)];
    let free = run(&cfg);
    cfg.plasticity.w_up_max = bounds.to_vec();
    cfg.validate().unwrap();
    let bounded = run(&cfg);
    for (k, bound) in bounds.into_iter().enumerate() {
        assert!(largest(&free, k) > bound, "w_up_{}: the free run stays within the bound", k + 1);
        assert_eq!(largest(&bounded, k), bound, "w_up_{}", k + 1);
    }
    // v_B is that of the clipped weights: recomputing every dendrite changes nothing.
    let mut refreshed = Microcircuit::restore(&cfg, bounded.snapshot()).unwrap();
    refreshed.refresh();
    for k in 0..2 {
        assert_eq!(refreshed.state.pyramidal[k].v_basal, bounded.state.pyramidal[k].v_basal, "v_basal_{}", k + 1);
    }
}
