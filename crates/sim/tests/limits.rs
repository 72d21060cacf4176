//! Limits and numerical safety: every size, count and time is bounded and refused in one line
//! that names its field; a run that turns non-finite ends with an error naming the step and the
//! population, matrix or metric; `--resume` without a usable checkpoint and bad learning-rate
//! schedules are refused without writing anything; and the learning lag freezes exactly round(L/dt) steps.

use std::path::{Path, PathBuf};

use apical_numerics::Real;
use apical_sim::config::{RunConfig, Stage};
use apical_sim::experiments::{ExperimentConfig, Fig1Config, Fig2Config, Fig2Learner, FigS1Config, MnistConfig};
use apical_sim::experiments::{NoProgress, RunContext, run};
use apical_sim::microcircuit::Microcircuit;
use apical_sim::presets::preset;

/// A fresh folder name for one test (not created).
fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apical-limits-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run_in(dir: &Path, cfg: &RunConfig, resume: bool) -> Result<(), String> {
    let ctx = RunContext { out_dir: dir.to_path_buf(), data_dir: None, resume, progress: &NoProgress };
    run(cfg, &ctx).map(|_| ()).map_err(|e| e.to_string())
}

fn fig_s1(edit: impl FnOnce(&mut RunConfig, &mut FigS1Config)) -> RunConfig {
    let mut cfg = preset("quick").unwrap();
    let ExperimentConfig::FigS1(mut e) = cfg.experiment.clone() else { panic!("quick is not fig-s1") };
    edit(&mut cfg, &mut e);
    cfg.experiment = ExperimentConfig::FigS1(e);
    cfg
}

fn fig1(edit: impl FnOnce(&mut RunConfig, &mut Fig1Config)) -> RunConfig {
    let mut cfg = preset("fig1").unwrap();
    let ExperimentConfig::Fig1(mut e) = cfg.experiment.clone() else { panic!("not fig1") };
    edit(&mut cfg, &mut e);
    cfg.experiment = ExperimentConfig::Fig1(e);
    cfg
}

fn fig2(edit: impl FnOnce(&mut RunConfig, &mut Fig2Config)) -> RunConfig {
    let mut cfg = preset("fig2").unwrap();
    let ExperimentConfig::Fig2(mut e) = cfg.experiment.clone() else { panic!("not fig2") };
    edit(&mut cfg, &mut e);
    cfg.experiment = ExperimentConfig::Fig2(e);
    cfg
}

fn mnist(edit: impl FnOnce(&mut RunConfig, &mut MnistConfig)) -> RunConfig {
    let mut cfg = preset("mnist").unwrap();
    let ExperimentConfig::Mnist(mut e) = cfg.experiment.clone() else { panic!("not mnist") };
    edit(&mut cfg, &mut e);
    cfg.experiment = ExperimentConfig::Mnist(e);
    cfg
}

/// Asserts that validation refuses `cfg` in one line that names `field` and contains `words`.
#[track_caller]
fn refused(cfg: &RunConfig, field: &str, words: &str) {
    let message = match cfg.validate() {
        Ok(()) => panic!("accepted, expected an error naming {field}"),
        Err(e) => e.to_string(),
    };
    assert!(message.contains(&format!(": {field}: ")), "expected {field}: {message}");
    assert!(message.contains(words), "expected '{words}': {message}");
    assert!(!message.contains('\n'), "more than one line: {message}");
}

#[test]
fn network_sizes_are_bounded() {
    let sizes = |sizes: Vec<usize>| {
        fig_s1(|cfg, _| {
            let layers = sizes.len() - 1;
            cfg.network.sizes = sizes;
            cfg.plasticity.eta_up = vec![0.0; layers];
            cfg.plasticity.eta_ip = vec![0.0; layers - 1];
            cfg.plasticity.eta_pi = vec![0.0; layers - 1];
        })
    };
    refused(&sizes(vec![30, 1_000_000_000_000, 10]), "network.sizes", "more than the limit of 100000");
    refused(&sizes(vec![30, usize::MAX, 10]), "network.sizes", "more than the limit of 100000");
    refused(&sizes(vec![5; 102]), "network.sizes", "101 weight layers are more than the limit of 100");
    refused(&sizes(vec![30, 100_000, 100_000, 10]), "network.sizes", "weights, more than the limit of 1e8");
    sizes(vec![5; 101]).validate().unwrap();
    sizes(vec![30, 100_000, 10]).validate().unwrap();
}

#[test]
fn times_and_rates_are_finite_and_bounded() {
    let model = |edit: fn(&mut RunConfig)| fig_s1(|cfg, _| edit(cfg));
    refused(&model(|c| c.dynamics.dt = 1e-300), "dynamics.dt", "below the limit of 1e-6 ms");
    refused(&model(|c| c.dynamics.dt = 1e300), "dynamics.dt", "more than the limit of 1e9 ms");
    refused(&model(|c| c.dynamics.dt = Real::NAN), "dynamics.dt", "positive number");
    refused(&model(|c| c.dynamics.tau_0 = Real::INFINITY), "dynamics.tau_0", "≥ 0");
    refused(&model(|c| c.dynamics.tau_0 = 1e12), "dynamics.tau_0", "more than the limit");
    refused(&model(|c| c.dynamics.sigma = Real::NAN), "dynamics.sigma", "≥ 0");
    refused(&model(|c| c.plasticity.tau_w = 0.0), "plasticity.tau_w", "positive number");
    refused(&model(|c| c.plasticity.tau_w = 1e300), "plasticity.tau_w", "more than the limit");
    refused(&model(|c| c.plasticity.learning_lag = 1e300), "plasticity.learning_lag", "more than the limit");
    refused(&model(|c| c.plasticity.eta_up[0] = Real::NAN), "plasticity.eta_up", "not finite");
    refused(&model(|c| c.plasticity.eta_ip[0] = Real::INFINITY), "plasticity.eta_ip", "not finite");
    refused(&model(|c| c.plasticity.eta_pi[0] = -1e-3), "plasticity.eta_pi", "negative");
    refused(&model(|c| c.plasticity.eta_pi[0] = 1e300), "plasticity.eta_pi", "more than the limit of 1e3");
    refused(&model(|c| c.plasticity.w_up_max = vec![4.0]), "plasticity.w_up_max", "needs 2 bounds");
    refused(&model(|c| c.plasticity.w_up_max = vec![4.0, 0.0]), "plasticity.w_up_max", "positive number");
    refused(&model(|c| c.plasticity.w_up_max = vec![Real::NAN, 5.0]), "plasticity.w_up_max", "positive number");
    refused(&model(|c| c.init.range = 1e300), "init.range", "more than the limit of 1000");
    refused(&model(|c| c.init.range = Real::NAN), "init.range", "≥ 0");
    refused(&model(|c| c.init.w_up_range = Some(-0.1)), "init.w_up_range", "≥ 0");
    refused(&model(|c| c.init.w_up_range = Some(1e300)), "init.w_up_range", "more than the limit of 1000");
    // τ_0 = 0 turns the filters off, and a lag of zero is no lag.
    model(|c| c.dynamics.tau_0 = 0.0).validate().unwrap();
    model(|c| c.init.range = 1e3).validate().unwrap();
    model(|c| c.plasticity.eta_pi[0] = 1e3).validate().unwrap();
}

#[test]
fn fig_s1_counts_and_cost_are_bounded() {
    refused(&fig_s1(|_, e| e.probes = 1_000_000_000_000), "experiment.fig-s1.probes", "limit of 100000");
    refused(&fig_s1(|_, e| e.probes = usize::MAX), "experiment.fig-s1.probes", "limit of 100000");
    refused(&fig_s1(|_, e| e.probes = 100_000_000), "experiment.fig-s1.probes", "limit of 100000");
    refused(&fig_s1(|_, e| e.patterns = 1_000_000_000_000), "experiment.fig-s1.patterns", "limit of 1000000000");
    refused(&fig_s1(|_, e| e.patterns = u64::MAX), "experiment.fig-s1.patterns", "limit of 1000000000");
    refused(&fig_s1(|_, e| e.record_every = e.patterns + 1), "experiment.fig-s1.record_every", "patterns");
    refused(&fig_s1(|_, e| e.pattern_ms = 1e300), "experiment.fig-s1.pattern_ms", "more than the limit");
    let long = fig_s1(|_, e| {
        e.patterns = 1_000_000_000;
        e.pattern_ms = 1000.0;
        e.record_every = e.patterns;
    });
    refused(&long, "experiment.fig-s1.patterns", "the run would take 1.0e13 Euler steps");
    let probed = fig_s1(|_, e| {
        e.patterns = 1_000_000;
        e.record_every = 1;
        e.probes = 10_000;
    });
    refused(&probed, "experiment.fig-s1.record_every", "steady states (recordings × probes)");
}

#[test]
fn fig1_times_and_cost_are_bounded() {
    refused(&fig1(|_, e| e.duration_ms = 1e12), "experiment.fig1.duration_ms", "more than the limit of 1e9 ms");
    refused(&fig1(|_, e| e.record_ms = e.duration_ms + 1.0), "experiment.fig1.record_ms", "duration_ms");
    let fine = fig1(|cfg, e| {
        cfg.dynamics.dt = 1e-6;
        e.duration_ms = 1e9;
        e.target_off_ms = 1e8;
    });
    refused(&fine, "experiment.fig1.duration_ms", "the run would take 1.0e15 Euler steps (duration_ms / dt)");
    let dense = fig1(|_, e| {
        e.duration_ms = 1e9;
        e.target_off_ms = 1e8;
        e.record_ms = 0.1;
    });
    refused(&dense, "experiment.fig1.record_ms", "of memory");
}

#[test]
fn fig2_counts_and_cost_are_bounded() {
    refused(&fig2(|_, e| e.patterns = 1_000_000_000_000), "experiment.fig2.patterns", "limit of 1000000000");
    refused(&fig2(|_, e| e.seeds = 1_000_000), "experiment.fig2.seeds", "limit of 1000");
    refused(&fig2(|_, e| e.test_patterns = 100_000_000), "experiment.fig2.test_patterns", "limit of 100000");
    refused(&fig2(|_, e| e.teacher_hidden = vec![1 << 40]), "experiment.fig2.teacher_hidden", "limit of 100000");
    refused(&fig2(|_, e| e.record_every = e.patterns + 1), "experiment.fig2.record_every", "patterns");
    // The paper's length, 10⁷ patterns of 1000 steps, is allowed; ten times as many seeds are not.
    let paper = fig2(|_, e| e.patterns = 10_000_000);
    paper.validate().unwrap();
    let many = fig2(|_, e| {
        e.patterns = 10_000_000;
        e.seeds = 300;
    });
    refused(&many, "experiment.fig2.patterns", "the run would take 6.0e12 Euler steps");
    let recorded = fig2(|_, e| {
        e.patterns = 10_000_000;
        e.record_every = 1;
    });
    refused(&recorded, "experiment.fig2.record_every", "steady states");
    let traced = fig2(|_, e| {
        e.patterns = 1;
        e.record_every = 1;
        e.pattern_ms = 1e7;
    });
    refused(&traced, "experiment.fig2.trace_patterns", "of memory (");
}

#[test]
fn mnist_counts_and_memory_are_bounded() {
    refused(&mnist(|_, e| e.epochs = 1_000_000_000), "experiment.mnist.epochs", "limit of 10000");
    refused(&mnist(|cfg, _| cfg.plasticity.w_up_max = vec![4.0; 3]), "plasticity.w_up_max", "continuous-time engine");
    refused(&mnist(|cfg, _| cfg.init.w_up_range = Some(0.1)), "init.w_up_range", "fan-in");
    refused(&mnist(|_, e| e.batch_size = 1_000_000_000), "experiment.mnist.batch_size", "limit of 55000");
    refused(&mnist(|_, e| e.train_images = Some(1 << 40)), "experiment.mnist.train_images", "limit of 1000000");
    let wide = mnist(|cfg, e| {
        cfg.network.sizes = vec![784, 100_000, 10];
        cfg.plasticity.eta_up = vec![0.1; 2];
        cfg.plasticity.eta_ip = vec![0.1];
        cfg.plasticity.eta_pi = vec![0.0];
        e.batch_size = 55_000;
    });
    refused(&wide, "experiment.mnist.batch_size", "the run would need about");
}

/// Every weight of the quick preset multiplied by 10³⁰⁰ and saved as its weight file.
fn huge_weights(cfg: &mut RunConfig, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut weights = Microcircuit::<Real>::new(cfg).unwrap().weights;
    for list in [&mut weights.up, &mut weights.down, &mut weights.ip, &mut weights.pi] {
        for syn in list.iter_mut() {
            syn.w = syn.w.scaled(1e300);
        }
    }
    let path = dir.join("huge.npz");
    weights.save_npz(&path).unwrap();
    cfg.init.weights = Some(path);
}

#[test]
fn huge_weights_end_the_run_naming_the_metric() {
    let dir = out_dir("huge");
    let mut cfg = fig_s1(|_, e| {
        e.patterns = 2;
        e.record_every = 1;
    });
    huge_weights(&mut cfg, &dir.join("in"));
    let message = run_in(&dir.join("out"), &cfg, false).unwrap_err();
    assert_eq!(message, "fig-s1, pattern 0: simulation diverged at step 0 (t = 0 ms): apical_sq is not finite");
    assert!(!dir.join("out/metrics.csv").exists(), "a diverged run wrote its metrics");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_largest_learning_rate_ends_the_run_naming_the_step_and_matrix() {
    // The engine alone: a non-finite trace spoils its weight within a step, and the error names
    // the step and the matrix rather than the potentials it then reaches.
    let mut cfg = preset("fig1").unwrap();
    cfg.plasticity.eta_pi = vec![0.01];
    let mut net = Microcircuit::new(&cfg).unwrap();
    net.set_input(&[0.5; 30]);
    net.run_steps(10, true).unwrap();
    net.weights.pi[0].trace.as_mut_slice()[0] = Real::NAN;
    let d = net.run_steps(10, true).unwrap_err();
    assert_eq!(d.to_string(), "simulation diverged at step 12 (t = 1.2 ms): w_pi_1 is not finite");

    // Fig. S1 with W^PI learning at the largest rate.
    let dir = out_dir("eta");
    let cfg = fig_s1(|cfg, e| {
        cfg.plasticity.eta_pi = vec![1e3];
        e.patterns = 3;
        e.record_every = 1;
    });
    // W^PI overshoots and grows without bound; ‖v_A‖² overflows first.
    let message = run_in(&dir, &cfg, false).unwrap_err();
    assert!(message.starts_with("fig-s1, pattern 2: simulation diverged at step 2"), "{message}");
    assert!(message.ends_with(" ms): apical_sq is not finite"), "{message}");

    // Fig. 2: W and W^IP at the largest rate, with a long Euler step, overflow; the error names the
    // learner, its seed and the pattern as well, and the first matrix or trace that overflowed.
    // Which one that is depends on the last bits of the rates (W^IP with libm's φ, the trace of
    // W_2 with the vectorised φ), so any of the three matrices at the largest rate is accepted;
    // W^IP alone at that rate does not overflow within the run.
    let cfg = fig2(|cfg, e| {
        cfg.dynamics.dt = 0.5;
        cfg.plasticity.eta_up = vec![1e3, 1e3];
        cfg.plasticity.eta_ip = vec![1e3];
        e.learners = vec![Fig2Learner::Microcircuit];
        e.patterns = 20;
        e.record_every = 10;
        e.seeds = 1;
        e.test_patterns = 5;
        e.trace_patterns = 1;
    });
    let message = run_in(&dir, &cfg, false).unwrap_err();
    assert!(message.starts_with("fig2 microcircuit (seed 0), pattern "), "{message}");
    let culprit = ["w_ip_1", "w_up_1", "w_up_2"].iter().any(|m| message.ends_with(&format!("{m} is not finite")));
    assert!(message.contains(": simulation diverged at step ") && culprit, "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn weight_files_with_non_finite_values_are_refused() {
    let dir = out_dir("nan-file");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cfg = preset("quick").unwrap();
    let mut weights = Microcircuit::new(&cfg).unwrap().weights;
    weights.ip[0].w.as_mut_slice()[3] = Real::NAN;
    let path = dir.join("nan.npz");
    weights.save_npz(&path).unwrap();
    cfg.init.weights = Some(path.clone());
    let message = Microcircuit::<Real>::new(&cfg).unwrap_err().to_string();
    assert_eq!(message, format!("{}: array 'w_ip_1' holds a value that is not finite", path.display()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resume_without_a_usable_checkpoint_is_refused() {
    let small_fig2 = fig2(|_, e| {
        e.patterns = 2;
        e.record_every = 1;
    });
    for (name, cfg) in [("fig-s1", preset("quick").unwrap()), ("fig1", preset("fig1").unwrap()), ("fig2", small_fig2)] {
        let dir = out_dir(&format!("resume-{name}"));
        // A missing output folder is not created.
        let missing = run_in(&dir, &cfg, true).unwrap_err();
        let expected =
            format!("--resume: there is no checkpoint {} to continue from", dir.join("checkpoint.bin").display());
        assert_eq!(missing, expected);
        assert!(!dir.exists(), "{name}: the output folder was created");
        // A damaged checkpoint is refused in one line, and the folder is left as it was.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("checkpoint.bin"), b"earlier run").unwrap();
        let damaged = run_in(&dir, &cfg, true).unwrap_err();
        assert!(damaged.contains("checkpoint.bin") && !damaged.contains('\n'), "{name}: {damaged}");
        assert_eq!(std::fs::read(dir.join("checkpoint.bin")).unwrap(), b"earlier run");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "{name}: files were written");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A learning-rate schedule must start at pattern 0, rise strictly and have finite positive
/// factors; the experiments that do not count patterns keep the default.
#[test]
fn bad_schedules_are_refused() {
    let stage = |from_pattern, factor| Stage { from_pattern, factor };
    let cases = [
        (vec![], "needs at least one stage"),
        (vec![stage(5, 1.0)], "must start at pattern 0"),
        (vec![stage(0, 1.0), stage(10, 2.0), stage(10, 3.0)], "stage 3 starts at pattern 10"),
        (vec![stage(0, 1.0), stage(10, 0.0)], "stage 2 has factor 0"),
        (vec![stage(0, f64::NAN)], "stage 1 has factor NaN"),
        (vec![stage(0, f64::INFINITY)], "stage 1 has factor inf"),
        (vec![stage(0, -1.0)], "stage 1 has factor -1"),
    ];
    for (schedule, problem) in cases {
        let mut cfg = preset("fig2").unwrap();
        cfg.plasticity.schedule = schedule;
        refused(&cfg, "plasticity.schedule", problem);
    }
    for name in ["fig1", "mnist"] {
        let mut cfg = preset(name).unwrap();
        cfg.plasticity.schedule = vec![stage(0, 1.0), stage(10, 2.0)];
        refused(&cfg, "plasticity.schedule", "leave the default");
    }
}

/// The number of steps after an input switch during which the weights and traces stay frozen.
fn frozen_steps(cfg: &RunConfig, limit: u64) -> u64 {
    let mut net = Microcircuit::<Real>::new(cfg).unwrap();
    net.set_input(&[0.1, 0.5, 0.9]);
    net.set_target(Some(&[0.3, -0.2]));
    let start = net.weights.clone();
    for step in 0..limit {
        net.step(true).unwrap();
        if net.weights != start {
            return step;
        }
    }
    limit
}

#[test]
fn the_learning_lag_freezes_round_lag_over_dt_steps() {
    let mut cfg = preset("fig1").unwrap();
    cfg.network.sizes = vec![3, 4, 2];
    cfg.dynamics.sigma = 0.0;
    cfg.init.lateral = apical_sim::config::LateralInit::Random;
    cfg.plasticity.eta_up = vec![0.01; 2];
    cfg.plasticity.eta_ip = vec![0.01];
    cfg.plasticity.eta_pi = vec![0.01];
    let mut check = |lag: Real, dt: Real, expected: u64| {
        cfg.dynamics.dt = dt;
        cfg.plasticity.learning_lag = lag;
        cfg.validate().unwrap();
        assert_eq!(frozen_steps(&cfg, expected + 2), expected, "lag {lag} ms at dt = {dt} ms");
    };
    // L = 0.1 … 100 ms at dt = 0.1 ms: the sums of dt that the lag used to compare with fall
    // short of L for many of these, which froze one step too many.
    for i in 1..=1000 {
        check(i as Real / 10.0, 0.1, i);
    }
    for dt in [0.01, 0.025, 0.05, 0.3, 0.7, 1.0] {
        for i in 0..=300 {
            check(i as Real * dt, dt, i);
        }
    }
    // A lag that is not a whole number of steps is rounded to the nearest.
    check(0.26, 0.1, 3);
    check(0.24, 0.1, 2);
    check(10.0, 3.0, 3);
}

#[test]
fn huge_weights_end_fig2_naming_the_learner_and_test_metric() {
    let dir = out_dir("huge-fig2");
    for learner in [Fig2Learner::Microcircuit, Fig2Learner::Backprop] {
        let mut cfg = fig2(|_, e| {
            e.learners = vec![learner];
            e.patterns = 2;
            e.record_every = 1;
            e.seeds = 1;
            e.test_patterns = 3;
            e.trace_patterns = 1;
        });
        huge_weights(&mut cfg, &dir.join("in"));
        let message = run_in(&dir.join("out"), &cfg, false).unwrap_err();
        let prefix = format!("fig2 {} (seed 0), pattern 0: the test metric ", learner.name());
        assert!(message.starts_with(&prefix) && message.ends_with(" is not finite"), "{message}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unstable_euler_step_in_fig1_names_the_step() {
    // dt = 5 ms is far beyond the stability limit of the somata; a metric or a potential
    // overflows first, and either way the message names the step.
    let cfg = fig1(|cfg, _| cfg.dynamics.dt = 5.0);
    let dir = out_dir("fig1-dt");
    let message = run_in(&dir, &cfg, false).unwrap_err();
    assert!(message.starts_with("simulation diverged at step ") && message.ends_with(" is not finite"), "{message}");
    std::fs::remove_dir_all(&dir).unwrap();
}
