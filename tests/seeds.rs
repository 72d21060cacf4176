//! `apical run --seeds`: seeds run in parallel give exactly what each seed gives alone.

mod common;

use std::path::{Path, PathBuf};

use common::{apical, error_line, temp_dir};

use apical::sim::experiments::ExperimentConfig;
use apical::sim::presets::preset;

/// The `quick` preset cut down to a few patterns, written as `tiny.toml` in `dir`.
fn tiny_config(dir: &Path) -> PathBuf {
    let mut cfg = preset("quick").unwrap();
    let ExperimentConfig::FigS1(e) = &mut cfg.experiment else { panic!("quick is a fig-s1 run") };
    e.patterns = 6;
    e.record_every = 2;
    e.probes = 3;
    let path = dir.join("tiny.toml");
    std::fs::write(&path, toml::to_string(&cfg).unwrap()).unwrap();
    path
}

#[test]
fn parallel_seeds_are_bit_identical_to_sequential_runs() {
    let dir = temp_dir("identical");
    let config = tiny_config(&dir);
    let config = config.to_str().unwrap();
    let out = apical(&["run", config, "--seeds", "0..3", "--threads", "2", "--out", "parallel"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    for seed in 0..3 {
        assert!(stdout.contains(&format!("seed {seed}: fig-s1 results")), "{stdout}");
        let alone = format!("alone-{seed}");
        let out = apical(&["run", config, "--seed", &seed.to_string(), "--out", &alone], &dir);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        for file in ["metrics.csv", "checkpoint.bin"] {
            let parallel = std::fs::read(dir.join(format!("parallel/seed-{seed}")).join(file)).unwrap();
            let sequential = std::fs::read(dir.join(&alone).join(file)).unwrap();
            assert!(parallel == sequential, "seed {seed}: {file} differs between the parallel and the lone run");
        }
    }
    // Different seeds really are different runs, so the comparison above can fail.
    let a = std::fs::read(dir.join("parallel/seed-0/metrics.csv")).unwrap();
    let b = std::fs::read(dir.join("parallel/seed-1/metrics.csv")).unwrap();
    assert_ne!(a, b);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_seed_lists_are_refused_with_one_line() {
    let dir = temp_dir("refused");
    for (spec, ok) in [("0..4", true), ("2,7,9", true), ("3..3", false), ("1,1", false), ("a..b", false), ("", false)] {
        let line = error_line(&apical(&["run", "--preset", "quick", "--seeds", spec, "--seed", "1"], &dir));
        assert!(line.contains("--seed"), "--seeds with --seed must be refused: {line}");
        let line = error_line(&apical(&["run", "--preset", "no-such-preset", "--seeds", spec], &dir));
        if ok {
            assert!(line.contains("unknown preset"), "{spec}: {line}");
        } else {
            assert!(line.contains("--seeds"), "{spec}: {line}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A Fig. 2 run covers its seed and the `experiment.fig2.seeds − 1` after it, so `--seeds 0..3`
/// with three seeds per run would train seeds 1 and 2 twice. It is refused before any folder is
/// made; one seed per run, or runs three seeds apart, run.
#[test]
fn seeds_that_fig2_runs_would_repeat_are_refused() {
    let dir = temp_dir("overlap");
    let run = |per_run: &str, seeds: &str| {
        let per_run = format!("experiment.fig2.seeds={per_run}");
        let mut args = vec!["run", "--preset", "fig2", "--seeds", seeds, "--out", "out", "-q", "--set", &per_run];
        for set in [
            "experiment.fig2.patterns=20",
            "experiment.fig2.record_every=10",
            "experiment.fig2.checkpoint_every=10",
            "experiment.fig2.test_patterns=2",
            "experiment.fig2.trace_patterns=1",
            "experiment.fig2.learners=[\"backprop\"]",
        ] {
            args.extend(["--set", set]);
        }
        apical(&args, &dir)
    };
    let line = error_line(&run("3", "0..3"));
    assert!(line.contains("--seeds: the runs of seeds 0 and 1 would repeat seeds"), "{line}");
    assert!(line.contains("set experiment.fig2.seeds = 1"), "{line}");
    assert!(!dir.join("out").exists());
    for (per_run, seeds, folders) in
        [("1", "0..3", ["seed-0", "seed-1", "seed-2"].as_slice()), ("3", "0,3", &["seed-0", "seed-3"])]
    {
        let out = run(per_run, seeds);
        assert!(out.status.success(), "{per_run} {seeds}: {}", String::from_utf8_lossy(&out.stderr));
        for folder in folders {
            assert!(dir.join("out").join(folder).join("summary.json").is_file(), "{per_run} {seeds}: {folder}");
        }
        std::fs::remove_dir_all(dir.join("out")).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
