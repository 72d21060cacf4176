//! Data sets other than MNIST, through the real binary: a small IDX set of 12 × 9 images and four
//! classes that the test writes itself is learned by the microcircuit and by the learned-feedback
//! network, a network that does not fit the data is refused in one line, and
//! `apical reproduce mnist` runs the whole MNIST table on a tiny synthetic set.

mod common;

use std::path::Path;

use apical::numerics::stats;
use apical_datasets::synthetic::{Layout, write_idx, write_mnist};
use common::{apical, error_line, temp_dir};

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The value `key` of a run's `summary.json`.
fn value(run: &Path, key: &str) -> f64 {
    let text = std::fs::read_to_string(run.join("summary.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["values"][key].as_f64().unwrap_or_else(|| panic!("{key} in {}", run.display()))
}

/// 12 × 9 images of four classes in `data/small/`: 700 training images, of which 100 validate,
/// and 200 test images.
const SMALL: Layout<'static> = Layout { folder: "small", rows: 12, cols: 9, classes: 4 };

/// The arguments that run an MNIST preset on the small set for five epochs into `out`, with the
/// overrides `set` (its network's sizes, at least).
fn small_args<'a>(preset: &'a str, set: &[&'a str], out: &'a str) -> Vec<&'a str> {
    let mut args = vec!["run", "--preset", preset, "--data", "data", "--out", out, "-q"];
    let small =
        ["experiment.mnist.data_folder=small", "experiment.mnist.validation_images=100", "experiment.mnist.epochs=5"];
    for value in small.iter().chain(set) {
        args.extend(["--set", value]);
    }
    args
}

#[test]
fn a_small_idx_set_of_another_size_is_learned_and_a_misfit_network_is_refused() {
    let dir = temp_dir("small-idx");
    write_idx(&dir.join("data"), SMALL, 700, 200).unwrap();
    // Chance is 75 % wrong. The microcircuit with one hidden layer (the rates of `mnist`'s W_1
    // and W_3) and the learned-feedback network, which starts from random lateral and top-down
    // weights, both learn the set.
    let micro = [
        "network.sizes=[108,40,4]",
        "plasticity.eta_up=[10.0,0.025]",
        "plasticity.eta_ip=[0.025]",
        "plasticity.eta_pi=[0.0]",
    ];
    ok(&apical(&small_args("mnist", &micro, "micro"), &dir));
    ok(&apical(&small_args("mnist-learned-feedback", &["network.sizes=[108,40,4]"], "learned"), &dir));
    for run in ["micro", "learned"] {
        let test = value(&dir.join(run), "test_error_of_best_pct");
        assert!(test <= 5.0, "{run}: test error {test} %");
        assert_eq!(value(&dir.join(run), "training_images"), 600.0);
        assert_eq!(value(&dir.join(run), "epochs"), 5.0);
    }

    // `apical eval` measures a model on the data set it learned, and refuses to compare models
    // of different data sets.
    let stdout = ok(&apical(&["eval", "micro/best.bin", "learned/best.bin", "--data", "data"], &dir));
    let test = value(&dir.join("micro"), "test_error_of_best_pct");
    assert!(stdout.lines().nth(1).unwrap().ends_with(&format!("{test:.2} %")), "{stdout}");
    let other = [&micro[..], &["experiment.mnist.validation_images=50", "experiment.mnist.epochs=1"]].concat();
    ok(&apical(&small_args("mnist", &other, "other"), &dir));
    let line = error_line(&apical(&["eval", "micro/best.bin", "other/best.bin", "--data", "data"], &dir));
    assert!(line.ends_with("eval compares models on one data set"), "{line}");

    let line = error_line(&apical(&small_args("mnist", &["network.sizes=[784,30,20,4]"], "bad-in"), &dir));
    assert!(
        line.ends_with("network.sizes starts with 784 inputs, but the images in small have 12x9 = 108 pixels"),
        "{line}"
    );
    let line = error_line(&apical(&small_args("mnist", &["network.sizes=[108,30,20,10]"], "bad-out"), &dir));
    assert!(
        line.ends_with("network.sizes ends with 10 outputs, but the labels in small name 4 classes (0 … 3)"),
        "{line}"
    );
    assert!(!dir.join("bad-in").exists() && !dir.join("bad-out").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reproduce_runs_every_row_of_the_mnist_table_and_prints_it_beside_the_paper() {
    let dir = temp_dir("reproduce");
    write_mnist(&dir.join("data"), 300, 100).unwrap();
    let args = [
        "reproduce",
        "mnist",
        "--out",
        "rep",
        "--seeds",
        "0,1",
        "--data",
        "data",
        "--set",
        "experiment.mnist.epochs=1",
        "--set",
        "experiment.mnist.validation_images=100",
        "--set",
        "experiment.mnist.train_images=100",
        "-q",
    ];
    let stdout = ok(&apical(&args, &dir));
    let rows = [
        ("mnist", "1.96 %"),
        ("mnist-backprop", "1.53 %"),
        ("mnist-shallow", "8.4 %"),
        ("mnist-frozen-hidden", "2.11 %"),
        ("mnist-learned-feedback", "2.48 %"),
    ];
    for (preset, paper) in rows {
        for seed in [0, 1] {
            let run = dir.join(format!("rep/{preset}/runs/p0-seed{seed}"));
            assert_eq!(value(&run, "epochs"), 1.0, "{preset}");
            assert_eq!(value(&run, "training_images"), 100.0, "{preset}");
        }
        // The row's mean ± sd of the two seeds' test errors, beside the paper's.
        let tests: Vec<f64> = (0..2)
            .map(|seed| value(&dir.join(format!("rep/{preset}/runs/p0-seed{seed}")), "test_error_of_best_pct"))
            .collect();
        let (mean, sd) = (stats::mean(&tests), stats::sd(&tests));
        let row = stdout.lines().find(|l| l.contains(&format!("| {preset} |"))).unwrap_or_else(|| panic!("{stdout}"));
        assert!(row.contains(&format!("| {paper} | {mean:.2} ± {sd:.2} % |")), "{row}");
        assert!(row.ends_with("| 2 of 2 |"), "{row}");
    }
    assert_eq!(std::fs::read_to_string(dir.join("rep/table.md")).unwrap(), stdout[stdout.find("| run |").unwrap()..]);

    // Run again, every run is skipped; --table-only runs nothing and prints the same table.
    let again = ok(&apical(&args, &dir));
    assert_eq!(again.matches("finished before; skipped").count(), 10, "{again}");
    let table = ok(&apical(&["reproduce", "mnist", "--out", "rep", "--table-only"], &dir));
    assert_eq!(table, std::fs::read_to_string(dir.join("rep/table.md")).unwrap());
    // Other settings are refused rather than mixed into the same folders.
    let line = error_line(&apical(&[&args[..], &["--set", "experiment.mnist.batch_size=5"]].concat(), &dir));
    assert!(line.contains("holds another sweep's plan"), "{line}");
    let line = error_line(&apical(&["reproduce", "mnist", "--out", "bad", "--seeds", "3..1"], &dir));
    assert!(line.starts_with("error: --seeds: '3..1'"), "{line}");
    let line = error_line(&apical(&["reproduce", "mnist", "--out", "bad", "--set", "experiment.mnist.epochs=0"], &dir));
    assert!(line.contains("experiment.mnist"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}
