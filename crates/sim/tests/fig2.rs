//! Shortened runs of the Fig. 2 experiment (nonlinear regression against a teacher network),
//! with assertions on the metrics it writes.

use std::path::{Path, PathBuf};

use apical_sim::config::RunConfig;
use apical_sim::experiments::{ExperimentConfig, Fig2Config, Fig2Learner, NoProgress, RunContext, run};
use apical_sim::presets::preset;

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apical-test-fig2-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A Fig. 2 preset with its configuration edited by `edit` (not validated yet).
fn fig2(name: &str, edit: impl FnOnce(&mut RunConfig, &mut Fig2Config)) -> RunConfig {
    let mut cfg = preset(name).unwrap();
    let ExperimentConfig::Fig2(mut e) = cfg.experiment.clone() else { panic!("{name} is not a fig2 run") };
    edit(&mut cfg, &mut e);
    cfg.experiment = ExperimentConfig::Fig2(e);
    cfg
}

/// Reads a learner's metrics CSV as rows of numbers, with the header.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    (header, rows)
}

fn column(dir: &Path, learner: &str, name: &str) -> Vec<f64> {
    let (header, rows) = read_csv(&dir.join(format!("{learner}.csv")));
    let j = header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    rows.iter().map(|r| r[j]).collect()
}

fn run_in(dir: &Path, cfg: &RunConfig) -> apical_sim::experiments::Report {
    let ctx = RunContext { out_dir: dir.to_path_buf(), data_dir: None, resume: false, progress: &NoProgress };
    run(cfg, &ctx).unwrap()
}

/// All four learners start from the same network on the same task, every file is written, and a
/// seed's results do not depend on how many other seeds run beside it.
#[test]
fn learners_share_the_task_and_seeds_are_independent() {
    let cfg = fig2("fig2", |cfg, e| {
        cfg.seed = 4;
        e.patterns = 30;
        e.record_every = 10;
        e.test_patterns = 20;
        e.trace_patterns = 2;
        e.seeds = 2;
    });
    let dir = out_dir("shared");
    let report = run_in(&dir, &cfg);
    for file in ["microcircuit.csv", "shallow.csv", "backprop.csv", "feedback-alignment.csv", "learning_curves.png"]
        .into_iter()
        .chain(["apical.png", "mismatch.png", "angle.png", "output.png", "checkpoint.bin"])
    {
        assert!(dir.join(file).is_file(), "{file} missing");
        assert!(report.files.contains(&dir.join(file)), "{file} not reported");
    }
    // At the paper's parameters the hidden layer starts almost silent: φ(0) = 0.0049.
    for learner in ["microcircuit", "shallow", "backprop", "feedback-alignment"] {
        let rate = column(&dir, learner, "hidden_rate")[0];
        assert!(0.004 < rate && rate < 0.02, "{learner}: mean hidden rate {rate}");
    }
    let seeds = column(&dir, "microcircuit", "seed");
    assert_eq!(seeds.iter().filter(|&&s| s == 4.0).count(), 4, "records of seed 4");
    assert_eq!(seeds.iter().filter(|&&s| s == 5.0).count(), 4, "records of seed 5");
    // Before any learning the three learners compute the same function of the same test set:
    // the microcircuits settle to the feedforward network, up to the random lateral weights.
    let first = |learner| column(&dir, learner, "test_error")[0];
    assert_eq!(first("microcircuit"), first("shallow"));
    assert!((first("microcircuit") - first("backprop")).abs() < 0.02 * first("backprop"));
    // The second seed alone gives exactly the rows it gave beside the first.
    let alone = fig2("fig2", |cfg, e| {
        cfg.seed = 5;
        e.patterns = 30;
        e.record_every = 10;
        e.test_patterns = 20;
        e.trace_patterns = 2;
        e.seeds = 1;
        e.learners = vec![Fig2Learner::Microcircuit, Fig2Learner::Backprop];
    });
    let dir_alone = out_dir("alone");
    run_in(&dir_alone, &alone);
    for learner in ["microcircuit", "backprop"] {
        let (_, together) = read_csv(&dir.join(format!("{learner}.csv")));
        let (_, by_itself) = read_csv(&dir_alone.join(format!("{learner}.csv")));
        let seed_5: Vec<_> = together.into_iter().filter(|r| r[0] == 5.0).collect();
        assert_eq!(seed_5.len(), by_itself.len());
        for (a, b) in seed_5.iter().zip(&by_itself) {
            for (x, y) in a.iter().zip(b) {
                assert!(x == y || x.is_nan() && y.is_nan(), "{learner}: {a:?} vs {b:?}");
            }
        }
    }
    for d in [dir, dir_alone] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

/// The mean of a learner's test error over the records from pattern `from` on.
fn late_error(dir: &Path, learner: &str, from: f64) -> f64 {
    let pattern = column(dir, learner, "pattern");
    let error = column(dir, learner, "test_error");
    let late: Vec<f64> = pattern.iter().zip(&error).filter(|(p, _)| **p >= from).map(|(_, e)| *e).collect();
    late.iter().sum::<f64>() / late.len() as f64
}

/// The first 3000 patterns of `fig2-short` (every learning rate ×100) with inputs U(0, 1): the
/// microcircuit halves its test error and ends at no more than half the shallow learner's.
#[test]
fn microcircuit_beats_the_shallow_learner_in_the_fast_regime() {
    let cfg = fig2("fig2-short", |_, e| {
        e.inputs = apical_datasets::patterns::InputDistribution::unit();
        e.learners = vec![Fig2Learner::Microcircuit, Fig2Learner::Shallow, Fig2Learner::Backprop];
        e.patterns = 3000;
        e.record_every = 250;
        e.test_patterns = 50;
        e.trace_patterns = 1;
        e.seeds = 1;
    });
    let dir = out_dir("fast");
    run_in(&dir, &cfg);
    let first = |learner| column(&dir, learner, "test_error")[0];
    let late = |learner| late_error(&dir, learner, 2500.0);
    for learner in ["microcircuit", "backprop"] {
        assert!(late(learner) <= 0.5 * first(learner), "{learner}: test error {} → {}", first(learner), late(learner));
    }
    let (micro, shallow) = (late("microcircuit"), late("shallow"));
    assert!(micro <= 0.5 * shallow, "microcircuit {micro} against shallow {shallow}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// An edit of a Fig. 2 configuration.
type Edit = fn(&mut RunConfig, &mut Fig2Config);

/// A bad Fig. 2 setting is refused with one line naming its field.
#[test]
fn bad_settings_name_their_field() {
    let cases: [(&str, Edit); 4] = [
        ("experiment.fig2.teacher_gains", |_, e| e.teacher_gains = vec![2.0]),
        ("experiment.fig2.learners", |_, e| e.learners = vec![Fig2Learner::Shallow, Fig2Learner::Shallow]),
        ("experiment.fig2.ema_weight", |_, e| e.ema_weight = 0.0),
        ("experiment.fig2.seeds", |cfg, _| cfg.seed = u64::MAX),
    ];
    for (field, edit) in cases {
        let message = fig2("fig2", edit).validate().unwrap_err().to_string();
        assert!(message.contains(field) && !message.contains('\n'), "{field}: {message}");
    }
}

/// `fig2` is spec §8 at the paper's length with every learner; `fig2-short` differs only in its
/// schedule, length and recording interval, and has the same η × length.
#[test]
fn the_presets_share_the_budget() {
    let all = [Fig2Learner::Microcircuit, Fig2Learner::Shallow, Fig2Learner::Backprop, Fig2Learner::FeedbackAlignment];
    let paper = preset("fig2").unwrap();
    let ExperimentConfig::Fig2(e) = &paper.experiment else { panic!("fig2") };
    assert_eq!(e.patterns, 10_000_000);
    assert_eq!(e.learners, all);
    assert_eq!(paper.plasticity.eta_up, [0.0011875, 0.0005]);
    assert_eq!(paper.plasticity.eta_ip, [0.0011875]);
    assert_eq!(paper.plasticity.eta_pi, [0.0059375]);
    assert_eq!(paper.dynamics.sigma, 0.3);
    assert_eq!(e.inputs, apical_datasets::patterns::InputDistribution::symmetric());
    assert!(paper.plasticity.has_default_schedule());
    assert_eq!(paper.plasticity.equivalent_patterns(e.patterns), 1e7);
    let short = preset("fig2-short").unwrap();
    let ExperimentConfig::Fig2(s) = &short.experiment else { panic!("fig2-short") };
    assert_eq!(short.plasticity.equivalent_patterns(s.patterns), 1e7);
    assert_eq!(short.plasticity.equivalent_patterns(95_000), 9.5e6);
    assert_eq!(short.plasticity.equivalent_patterns(96_000), 9.51e6);
    assert_eq!(short.plasticity.equivalent_patterns(0), 0.0);
    let mut same = short.clone();
    same.plasticity.schedule = paper.plasticity.schedule.clone();
    let ExperimentConfig::Fig2(f) = &mut same.experiment else { panic!("fig2-short") };
    f.patterns = e.patterns;
    f.record_every = e.record_every;
    assert_eq!(same, paper, "fig2-short differs from fig2 in more than its schedule and length");
}
