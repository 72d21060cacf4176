//! End-to-end runs of the classification presets through the real binary: short runs that
//! must reach what seeds 0–5 all reach, and a resumed run that continues bit-identically.

#[allow(dead_code)]
mod common;

use std::path::Path;

use common::{apical, temp_dir};

/// Runs `apical run --preset <preset>` with the overrides into `dir/<out>` and returns its
/// `summary.json`.
fn run(dir: &Path, preset: &str, out: &str, sets: &[&str], resume: bool) -> serde_json::Value {
    let mut args = vec!["run", "--preset", preset, "--out", out, "--quiet"];
    for set in sets {
        args.extend(["--set", set]);
    }
    if resume {
        args.push("--resume");
    }
    let output = apical(&args, dir);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&std::fs::read_to_string(dir.join(out).join("summary.json")).unwrap()).unwrap()
}

fn value(summary: &serde_json::Value, key: &str) -> f64 {
    summary["values"][key].as_f64().unwrap_or_else(|| panic!("summary.json has no number {key}"))
}

#[test]
fn a_short_yin_yang_run_beats_chance_and_maps_its_decision_regions() {
    let dir = temp_dir("classify-yinyang");
    let sets = [
        "experiment.classify.task.yin-yang.train=600",
        "experiment.classify.task.yin-yang.validation=200",
        "experiment.classify.task.yin-yang.test=200",
        "experiment.classify.epochs=3",
    ];
    let summary = run(&dir, "yinyang", "yy", &sets, false);
    // Three classes: chance is 1/3; seeds 0-5 reach a best validation accuracy of 0.71-0.765.
    assert!(value(&summary, "best_validation_accuracy") >= 0.5, "{summary}");
    assert!(value(&summary, "best_epoch") >= 1.0, "{summary}");
    assert_eq!(value(&summary, "unsettled"), 0.0);
    let metrics = std::fs::read_to_string(dir.join("yy/metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 1 + 4, "a header and rows for epochs 0-3:\n{metrics}");
    let png = std::fs::read(dir.join("yy/regions.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn latent_equilibrium_learns_bars_at_10_ms_where_the_dendritic_model_fails_and_resumes_bit_identically() {
    let dir = temp_dir("classify-bars");
    let le = "network.neuron=latent-equilibrium";
    let summary = run(&dir, "bars", "full", &[le, "experiment.classify.epochs=300"], false);
    // Seeds 0-5 all classify the eight patterns without error after 300 epochs of 10 ms.
    assert_eq!(value(&summary, "final_test_accuracy"), 1.0, "{summary}");
    let dendritic =
        run(&dir, "bars", "dendritic", &["network.neuron=dendritic", "experiment.classify.epochs=300"], false);
    // The paper's neurons, with the same 10 ms patterns and rates, end at 0.25-0.375 for seeds
    // 0-5, no better than a constant answer (3/8).
    assert!(value(&dendritic, "final_test_accuracy") <= 0.5, "{dendritic}");

    run(&dir, "bars", "split", &[le, "experiment.classify.epochs=120"], false);
    let resumed = run(&dir, "bars", "split", &[le, "experiment.classify.epochs=300"], true);
    let metrics = |out: &str| std::fs::read_to_string(dir.join(out).join("metrics.csv")).unwrap();
    assert_eq!(metrics("split"), metrics("full"));
    assert_eq!(resumed["values"], summary["values"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
