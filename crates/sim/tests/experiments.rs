//! The paper's continuous-time experiments, run in full through the library, with assertions on
//! the metrics they write.

use std::path::{Path, PathBuf};

use apical_sim::checkpoint::Checkpoint;
use apical_sim::experiments::{NoProgress, RunContext, run};
use apical_sim::presets::{PRESETS, preset};

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apical-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Reads a metrics CSV into its header and rows.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    (header, rows)
}

fn column(header: &[String], rows: &[Vec<f64>], name: &str) -> Vec<f64> {
    let j = header.iter().position(|h| h == name).unwrap();
    rows.iter().map(|r| r[j]).collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

#[test]
fn fig_s1_learns_the_self_predicting_state() {
    let cfg = preset("fig-s1").unwrap();
    let dir = out_dir("fig-s1");
    let ctx = RunContext { out_dir: dir.clone(), data_dir: None, resume: false, progress: &NoProgress };
    let report = run(&cfg, &ctx).unwrap();
    let (header, rows) = read_csv(&dir.join("metrics.csv"));
    let apical = column(&header, &rows, "apical_sq");
    let mismatch = column(&header, &rows, "mismatch");
    let (dist_pi, dist_ip) = (column(&header, &rows, "dist_pi"), column(&header, &rows, "dist_ip"));
    let last = rows.len() - 1;
    // Noise-free probes: both quantities fall by at least two orders of magnitude.
    assert!(apical[0] / apical[last] >= 100.0, "‖v_A‖²: {} → {}", apical[0], apical[last]);
    assert!(mismatch[0] / mismatch[last] >= 100.0, "mismatch: {} → {}", mismatch[0], mismatch[last]);
    // The lateral weights approach spec §5.
    assert!(dist_pi[last] < 0.5 * dist_pi[0] && dist_ip[last] < 0.6 * dist_ip[0], "{report}");
    for file in &report.files {
        assert!(std::fs::metadata(file).unwrap().len() > 0, "{}", file.display());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fig1_apical_error_appears_with_the_target_and_vanishes_as_w_learns() {
    let cfg = preset("fig1").unwrap();
    let dir = out_dir("fig1");
    let ctx = RunContext { out_dir: dir.clone(), data_dir: None, resume: false, progress: &NoProgress };
    run(&cfg, &ctx).unwrap();
    let (header, rows) = read_csv(&dir.join("metrics.csv"));
    let t = column(&header, &rows, "time_s");
    let apical = column(&header, &rows, "apical_sq");
    let error = column(&header, &rows, "output_error");
    let window = |x: &[f64], from: f64, to: f64| {
        let v: Vec<f64> = x.iter().zip(&t).filter(|(_, t)| **t >= from && **t < to).map(|(v, _)| *v).collect();
        mean(&v)
    };
    let before = window(&apical, 0.5, 1.0);
    let onset = window(&apical, 1.0, 1.2);
    let late = window(&apical, 20.5, 21.0);
    assert!(onset > 4.0 * before, "apical error does not appear: {before} → {onset}");
    assert!(late < 0.3 * onset, "apical error does not vanish: {onset} → {late}");
    assert!(window(&error, 20.5, 21.0) < 0.05 * window(&error, 1.0, 1.2), "output does not reach the target");
    // After the target is gone, the output still produces it.
    assert!(window(&error, 23.5, 24.0) < 0.05 * window(&error, 1.0, 1.2), "output forgets the target");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shipped_configs_equal_the_presets() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    for (name, _) in PRESETS {
        let path = configs.join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let parsed: apical_sim::config::RunConfig = toml::from_str(&text).unwrap();
        assert_eq!(parsed, preset(name).unwrap(), "{} differs from the preset", path.display());
        parsed.validate().unwrap();
    }
}

#[test]
fn checkpoints_round_trip_and_refuse_damage() {
    let cfg = preset("quick").unwrap();
    let dir = out_dir("checkpoint");
    std::fs::create_dir_all(&dir).unwrap();
    let net = apical_sim::microcircuit::Microcircuit::new(&cfg).unwrap();
    let path = dir.join("ck.bin");
    let config = toml::to_string(&cfg).unwrap();
    let ck = Checkpoint { config, weights: net.weights.clone(), resume: vec![1, 2, 3] };
    ck.save(&path).unwrap();
    let (back, back_cfg) = Checkpoint::load(&path).unwrap();
    assert_eq!(back, ck);
    assert_eq!(back_cfg, cfg);
    // A truncated file is refused with its name in the message.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(e.contains("ck.bin") && e.contains("not a valid Apical checkpoint"), "{e}");
    // So is a checkpoint whose weights do not fit its configuration.
    let mut wrong = cfg.clone();
    wrong.network.sizes[1] = 21;
    let bad = Checkpoint { config: toml::to_string(&wrong).unwrap(), weights: net.weights.clone(), resume: vec![] };
    bad.save(&path).unwrap();
    let e = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(e.contains("w_up_1") && e.contains("(21, 30)"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `cfg` with f64 and with f32 weights and traces, and returns, for every column of
/// `metrics.csv`, the largest difference between the two runs over all rows, relative to the
/// largest magnitude the column takes in the f64 run.
fn f32_deviations(name: &str, cfg: &apical_sim::config::RunConfig) -> Vec<(String, f64)> {
    let mut f32_cfg = cfg.clone();
    f32_cfg.plasticity.precision = apical_sim::config::Precision::F32;
    let mut tables = Vec::new();
    for (tag, c) in [("f64", cfg), ("f32", &f32_cfg)] {
        let dir = out_dir(&format!("{name}-{tag}"));
        let ctx = RunContext { out_dir: dir.clone(), data_dir: None, resume: false, progress: &NoProgress };
        run(c, &ctx).unwrap();
        tables.push(read_csv(&dir.join("metrics.csv")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
    let ((header, a), (_, b)) = (&tables[0], &tables[1]);
    assert_eq!(a.len(), b.len(), "{name}: both runs record the same rows");
    let mut out = Vec::new();
    for (j, col) in header.iter().enumerate() {
        let scale = a.iter().map(|r| r[j].abs()).fold(0.0, f64::max);
        let diff = a.iter().zip(b).map(|(x, y)| (x[j] - y[j]).abs()).fold(0.0, f64::max);
        out.push((col.clone(), if scale > 0.0 { diff / scale } else { diff }));
    }
    out
}

/// f32 storage reproduces the f64 runs of Fig. S1 (the `quick` preset, 5 000 patterns) and Fig. 1
/// (shortened to 2.4 s) to within 0.1 % of each metric's largest value (the largest deviation
/// measured is 3e-5); the same noise drives both runs, so they differ only by rounding. The runs
/// do differ: f32 really rounds.
#[test]
fn f32_storage_stays_within_a_thousandth_of_f64() {
    let mut fig1 = preset("fig1").unwrap();
    let apical_sim::experiments::ExperimentConfig::Fig1(e) = &mut fig1.experiment else { unreachable!("fig1") };
    e.duration_ms = 2400.0;
    e.target_on_ms = 400.0;
    e.target_off_ms = 2000.0;
    for (name, cfg) in [("fig-s1-precision", preset("quick").unwrap()), ("fig1-precision", fig1)] {
        let deviations = f32_deviations(name, &cfg);
        for (col, d) in &deviations {
            assert!(*d <= 1e-3, "{name}: {col} differs by {d:.2e} of its largest value");
        }
        assert!(deviations.iter().any(|(_, d)| *d > 0.0), "{name}: the f32 run is identical to the f64 run");
    }
}
