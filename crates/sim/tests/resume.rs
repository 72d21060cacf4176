//! Resumable continuous-time experiments: a run stopped after a checkpoint and resumed writes the
//! same bytes as the run straight through, and learning-rate schedules change the rates at their
//! stage boundaries.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use apical_sim::checkpoint::Checkpoint;
use apical_sim::config::{Precision, RunConfig, Stage};
use apical_sim::experiments::{ExperimentConfig, Fig2Learner, NoProgress, Progress, RunContext, run};
use apical_sim::presets::preset;

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apical-test-resume-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Progress that asks the run to stop after its `k`-th checkpoint.
struct StopAfter {
    k: usize,
    seen: AtomicUsize,
}

impl Progress for StopAfter {
    fn start(&self, _label: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
    fn stop_after_checkpoint(&self) -> bool {
        self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.k
    }
}

fn run_in(dir: &Path, cfg: &RunConfig, resume: bool, progress: &dyn Progress) -> Result<(), String> {
    let ctx = RunContext { out_dir: dir.to_path_buf(), data_dir: None, resume, progress };
    run(cfg, &ctx).map(|_| ()).map_err(|e| e.to_string())
}

fn schedule(stages: &[(u64, f64)]) -> Vec<Stage> {
    stages.iter().map(|&(from_pattern, factor)| Stage { from_pattern, factor }).collect()
}

/// Runs `cfg` straight through, and again stopped after `k` checkpoints and resumed, and asserts
/// that every CSV file and the final checkpoint are identical. `name` is the experiment's name;
/// `label` names the output folders, distinct for every call, as tests run in parallel.
fn assert_resumes_bit_identically(name: &str, label: &str, cfg: &RunConfig, k: usize, csvs: &[&str]) {
    let (straight, split) = (out_dir(&format!("{label}-straight")), out_dir(&format!("{label}-split")));
    run_in(&straight, cfg, false, &NoProgress).unwrap();
    let stop = StopAfter { k, seen: AtomicUsize::new(0) };
    let message = run_in(&split, cfg, false, &stop).unwrap_err();
    assert!(message.starts_with(&format!("{name} stopped after its checkpoint at ")), "{message}");
    assert!(message.ends_with("; continue it with --resume"), "{message}");
    let (stopped, _) = Checkpoint::load(&split.join("checkpoint.bin")).unwrap();
    run_in(&split, cfg, true, &NoProgress).unwrap();
    for csv in csvs {
        let (a, b) = (std::fs::read(straight.join(csv)).unwrap(), std::fs::read(split.join(csv)).unwrap());
        assert!(a == b, "{name}: {csv} differs after resuming");
    }
    let (a, _) = Checkpoint::load(&straight.join("checkpoint.bin")).unwrap();
    let (b, _) = Checkpoint::load(&split.join("checkpoint.bin")).unwrap();
    assert_eq!(a.weights, b.weights, "{name}: the final weights differ");
    assert_eq!(a.resume, b.resume, "{name}: the final states differ");
    assert!(stopped.weights != a.weights, "{name}: nothing was learned after the stop");
    for d in [straight, split] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

fn fig_s1() -> RunConfig {
    let mut cfg = preset("quick").unwrap();
    cfg.plasticity.schedule = schedule(&[(0, 1.0), (10, 3.0)]);
    let ExperimentConfig::FigS1(e) = &mut cfg.experiment else { unreachable!("quick is fig-s1") };
    e.patterns = 30;
    e.pattern_ms = 20.0;
    e.record_every = 5;
    e.probes = 4;
    e.checkpoint_every = 7;
    cfg
}

#[test]
fn fig_s1_resumes_bit_identically() {
    assert_resumes_bit_identically("fig-s1", "fig-s1", &fig_s1(), 2, &["metrics.csv"]);
}

fn fig1() -> RunConfig {
    let mut cfg = preset("fig1").unwrap();
    let ExperimentConfig::Fig1(e) = &mut cfg.experiment else { unreachable!("fig1") };
    e.duration_ms = 600.0;
    e.target_on_ms = 100.0;
    e.target_off_ms = 500.0;
    e.checkpoint_ms = 130.0;
    cfg
}

#[test]
fn fig1_resumes_bit_identically() {
    assert_resumes_bit_identically("fig1", "fig1", &fig1(), 2, &["metrics.csv"]);
}

/// The same configuration with weights and traces stored in f32.
fn in_f32(mut cfg: RunConfig) -> RunConfig {
    cfg.plasticity.precision = Precision::F32;
    cfg.validate().unwrap();
    cfg
}

/// Checkpoints keep f32 weights and traces as f64, which converts back to the same f32 values,
/// so an f32 run resumes bit for bit too.
#[test]
fn f32_runs_resume_bit_identically() {
    assert_resumes_bit_identically("fig-s1", "fig-s1-f32", &in_f32(fig_s1()), 2, &["metrics.csv"]);
    assert_resumes_bit_identically("fig1", "fig1-f32", &in_f32(fig1()), 2, &["metrics.csv"]);
    let csvs = ["microcircuit.csv", "shallow.csv", "backprop.csv", "feedback-alignment.csv"];
    assert_resumes_bit_identically("fig2", "fig2-f32", &in_f32(fig2()), 2, &csvs);
}

fn fig2() -> RunConfig {
    let mut cfg = preset("fig2-short").unwrap();
    cfg.plasticity.schedule = schedule(&[(0, 50.0), (10, 5.0)]);
    let ExperimentConfig::Fig2(e) = &mut cfg.experiment else { unreachable!("fig2") };
    e.patterns = 24;
    e.pattern_ms = 20.0;
    e.record_every = 5;
    e.test_patterns = 8;
    e.trace_patterns = 2;
    e.seeds = 2;
    e.checkpoint_every = 7;
    cfg
}

#[test]
fn fig2_resumes_bit_identically_for_every_learner_and_seed() {
    let csvs = ["microcircuit.csv", "shallow.csv", "backprop.csv", "feedback-alignment.csv"];
    assert_resumes_bit_identically("fig2", "fig2", &fig2(), 2, &csvs);
}

/// A stopped run has written what it recorded up to its checkpoint, with the η × length that
/// the schedule's patterns amount to (×50 for 10 patterns, then ×5).
#[test]
fn a_stopped_fig2_run_has_written_its_curves() {
    let dir = out_dir("curves");
    let stop = StopAfter { k: 2, seen: AtomicUsize::new(0) };
    run_in(&dir, &fig2(), false, &stop).unwrap_err();
    for learner in ["microcircuit", "shallow", "backprop", "feedback-alignment"] {
        let (header, rows) = read_csv(&dir.join(format!("{learner}.csv")));
        let (pattern, trials) = (header.iter().position(|h| h == "pattern").unwrap(), header.len() - 1);
        assert_eq!(header[trials], "equivalent_trials");
        let patterns: Vec<f64> = rows.iter().map(|r| r[pattern]).collect();
        assert_eq!(patterns, [0.0, 5.0, 10.0, 0.0, 5.0, 10.0], "{learner}: two seeds up to pattern 14");
        for r in &rows {
            let p = r[pattern];
            let expected = if p <= 10.0 { 50.0 * p } else { 500.0 + 5.0 * (p - 10.0) };
            assert_eq!(r[trials], expected, "{learner} at pattern {p}");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A run may be extended: resumed with more patterns, it continues as a longer run would have
/// (here the old end is a multiple of record_every, so no extra row was recorded there). A
/// missing checkpoint, another configuration, or another past of the schedule is refused.
#[test]
fn a_run_extends_and_other_configurations_are_refused() {
    let (long, extended) = (out_dir("long"), out_dir("extended"));
    let cfg = fig_s1();
    run_in(&long, &cfg, false, &NoProgress).unwrap();
    let mut short = cfg.clone();
    let ExperimentConfig::FigS1(e) = &mut short.experiment else { unreachable!("fig-s1") };
    e.patterns = 20;
    let missing = run_in(&extended, &short, true, &NoProgress).unwrap_err();
    assert!(missing.starts_with("--resume: there is no checkpoint ") && !missing.contains('\n'), "{missing}");
    assert!(!extended.exists(), "a refused resume created the output folder");
    run_in(&extended, &short, false, &NoProgress).unwrap();
    let mut other = cfg.clone();
    other.seed = 1;
    let message = run_in(&extended, &other, true, &NoProgress).unwrap_err();
    assert!(message.contains("was written with another configuration"), "{message}");
    let mut past = cfg.clone();
    past.plasticity.schedule = schedule(&[(0, 1.0), (12, 3.0)]);
    let message = run_in(&extended, &past, true, &NoProgress).unwrap_err();
    assert!(message.contains("under another plasticity.schedule"), "{message}");
    run_in(&extended, &cfg, true, &NoProgress).unwrap();
    let read = |d: &Path| std::fs::read(d.join("metrics.csv")).unwrap();
    assert!(read(&long) == read(&extended), "the extended run differs from the long one");
    for d in [long, extended] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

/// Reads a CSV file as its header and rows of numbers.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    (header, lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect())
}

/// The rates change at the stage boundary: up to it a scheduled run is the unscheduled one,
/// after it they part; a constant factor is the same as rates multiplied in the configuration.
#[test]
fn the_schedule_scales_every_rate_from_its_stage_on() {
    let base = {
        let mut cfg = fig_s1();
        cfg.plasticity.schedule = schedule(&[(0, 1.0)]);
        cfg
    };
    let mut staged = base.clone();
    staged.plasticity.schedule = schedule(&[(0, 1.0), (10, 4.0)]);
    let mut constant = base.clone();
    constant.plasticity.schedule = schedule(&[(0, 4.0)]);
    let mut scaled = base.clone();
    let p = &mut scaled.plasticity;
    p.eta_ip = p.eta_ip.iter().map(|x| x * 4.0).collect();
    p.eta_pi = p.eta_pi.iter().map(|x| x * 4.0).collect();
    let runs: Vec<(Vec<String>, Vec<Vec<f64>>)> =
        [("base", &base), ("staged", &staged), ("constant", &constant), ("scaled", &scaled)]
            .iter()
            .map(|(name, cfg)| {
                let dir = out_dir(&format!("schedule-{name}"));
                run_in(&dir, cfg, false, &NoProgress).unwrap();
                let table = read_csv(&dir.join("metrics.csv"));
                std::fs::remove_dir_all(dir).unwrap();
                table
            })
            .collect();
    let (header, base_rows) = &runs[0];
    let factor = header.iter().position(|h| h == "eta_factor").unwrap();
    let pattern = header.iter().position(|h| h == "pattern").unwrap();
    let without_factor = |r: &[f64]| [&r[..factor], &r[factor + 1..]].concat();
    for (b, s) in base_rows.iter().zip(&runs[1].1) {
        let expected = if s[pattern] <= 10.0 { 1.0 } else { 4.0 };
        assert_eq!(s[factor], expected, "eta_factor after pattern {}", s[pattern]);
        if s[pattern] <= 10.0 {
            assert_eq!(b, s, "before the boundary the runs agree");
        } else {
            assert!(b[2] != s[2], "after the boundary the rates are the same at pattern {}", s[pattern]);
        }
    }
    for (c, s) in runs[2].1.iter().zip(&runs[3].1) {
        assert_eq!(without_factor(c), without_factor(s), "×4 from the start differs from rates ×4");
    }
}

/// The feedback-alignment learner sends its errors through the microcircuit's fixed B_1: it
/// starts at the microcircuit's angle between W_2ᵀ and B_1, leaves it as it learns, and learns
/// differently from backprop, which has no such angle.
#[test]
fn feedback_alignment_uses_b_and_differs_from_backprop() {
    let mut cfg = fig2();
    let ExperimentConfig::Fig2(e) = &mut cfg.experiment else { unreachable!("fig2") };
    e.seeds = 1;
    e.learners = vec![Fig2Learner::Microcircuit, Fig2Learner::Backprop, Fig2Learner::FeedbackAlignment];
    let dir = out_dir("feedback-alignment");
    run_in(&dir, &cfg, false, &NoProgress).unwrap();
    let (header, micro) = read_csv(&dir.join("microcircuit.csv"));
    let (_, bp) = read_csv(&dir.join("backprop.csv"));
    let (_, fa) = read_csv(&dir.join("feedback-alignment.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (angle, error) = (col("angle_deg"), col("test_error"));
    assert_eq!(fa[0][angle], micro[0][angle], "the same W_2 and B_1 at the start");
    assert!(fa.last().unwrap()[angle] != fa[0][angle], "W_2 did not move");
    assert!(bp.iter().all(|r| r[angle].is_nan()), "backprop has no feedback angle");
    assert_eq!(fa[0][error], bp[0][error], "both start from the same network");
    assert!(fa.last().unwrap()[error] != bp.last().unwrap()[error], "feedback alignment learned as backprop did");
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(summary.contains("feedback_alignment_angle_deg_end_mean"), "{summary}");
    std::fs::remove_dir_all(dir).unwrap();
}
