//! `apical summary` and `apical eval` on real MNIST runs: their figures are those the runs
//! reported.

mod common;

use std::path::PathBuf;

use common::{apical, error_line, temp_dir};

use apical::sim::experiments::ExperimentConfig;
use apical::sim::presets::preset;

/// The value after `label` in a run report, up to the end of its line.
fn reported<'a>(report: &'a str, label: &str) -> &'a str {
    let line = report.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("{report}"));
    line.trim_start()[label.len()..].trim()
}

#[test]
fn summary_and_eval_repeat_what_the_runs_reported() {
    let Some(data) = std::env::var_os("APICAL_DATA_DIR").map(PathBuf::from) else {
        eprintln!("note: APICAL_DATA_DIR is not set; skipping the summary of real MNIST runs");
        return;
    };
    let dir = temp_dir("summary");
    // A small network for three epochs of 1 000 images: the two seeds reach their lowest
    // validation error at different epochs.
    let mut cfg = preset("mnist").unwrap();
    cfg.network.sizes = vec![784, 20, 16, 10];
    let ExperimentConfig::Mnist(m) = &mut cfg.experiment else { panic!("mnist is an MNIST run") };
    m.epochs = 3;
    m.train_images = Some(1_000);
    std::fs::write(dir.join("tiny.toml"), toml::to_string(&cfg).unwrap()).unwrap();
    let data = data.to_str().unwrap();
    let out = apical(&["run", "tiny.toml", "--seeds", "0,1", "--data", data, "--out", "runs"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reports = String::from_utf8(out.stdout).unwrap();
    let (seed_0, seed_1) = reports.split_once("seed 1: ").unwrap();

    let out = apical(&["summary", "runs/seed-0", "runs/seed-1", "--last", "2", "--against", "runs/seed-0"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].contains("mean validation, last 2") && lines[0].ends_with("behind runs/seed-0"), "{table}");
    let mut tests = Vec::new();
    for (line, report, name) in [(lines[1], seed_0, "runs/seed-0"), (lines[2], seed_1, "runs/seed-1")] {
        let best = reported(report, "best validation error");
        let test = reported(report, "test error of the best model");
        assert!(line.starts_with(name) && line.contains(best) && line.contains(test), "{best}, {test}:\n{table}");
        tests.push(test.trim_end_matches(" %").parse::<f64>().unwrap());
    }
    assert_ne!(reported(seed_0, "best validation error"), reported(seed_1, "best validation error"));
    // A run is never behind itself; the other seed's count is at most the three epochs.
    assert!(lines[1].ends_with("at 0 of 3 epochs"), "{table}");
    assert!(lines[2].contains(" of 3 epochs"), "{table}");
    let mean = (tests[0] + tests[1]) / 2.0;
    assert!(lines[3].starts_with("mean ± sd (2 runs)") && lines[3].contains(&format!("{mean:.2} ± ")), "{table}");
    // The first epoch alone: its validation error is the best.
    let out = apical(&["summary", "runs/seed-0", "--epochs", "1"], &dir);
    let first = String::from_utf8(out.stdout).unwrap();
    let row: Vec<&str> = first.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!((row[0], row[1], row[4], row[5]), ("runs/seed-0", "1", "(epoch", "1)"), "{first}");
    let line = error_line(&apical(&["summary", "runs/seed-0", "--last", "0"], &dir));
    assert!(line.contains("--last"), "{line}");

    // `eval` measures the saved best models again: the same errors; against seed 0 the
    // differences of the errors, and for the test images the counts of images wrong for one
    // model only, which give the same difference.
    let best = ["runs/seed-0/best.bin", "runs/seed-1/best.bin"];
    let out = apical(&["eval", best[0], best[1], "--against", best[0], "--data", data], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    let mut validations = Vec::new();
    for (line, report, name) in [(lines[2], seed_0, best[0]), (lines[3], seed_1, best[1])] {
        let validation = reported(report, "best validation error").split(" (").next().unwrap();
        let test = reported(report, "test error of the best model");
        let row: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(row[0], name, "{table}");
        assert_eq!((format!("{} %", row[1]), format!("{} %", row[3])), (validation.to_string(), test.to_string()));
        validations.push(row[1].parse::<f64>().unwrap());
    }
    let itself: Vec<&str> = lines[2].split_whitespace().skip(5).collect();
    assert_eq!(itself, ["+0.00", "±", "0.00", "points", "+0.00", "±", "0.00", "points", "0", "/", "0"], "{table}");
    let row: Vec<&str> = lines[3].split_whitespace().collect();
    assert_eq!(row[5], format!("{:+.2}", validations[1] - validations[0]), "{table}");
    assert_eq!(row[9], format!("{:+.2}", tests[1] - tests[0]), "{table}");
    let (only_here, only_there): (f64, f64) =
        (row[row.len() - 3].parse().unwrap(), row[row.len() - 1].parse().unwrap());
    let images = 10_000.0;
    assert!(((only_here - only_there) / images * 100.0 - (tests[1] - tests[0])).abs() < 1e-9, "{table}");
    assert_ne!(only_here + only_there, 0.0, "{table}");
    let line = error_line(&apical(&["eval", best[0], "--data", "."], &dir));
    assert!(line.contains("mnist") && line.contains("train-images-idx3-ubyte"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}
