//! Checkpoints written by earlier versions of Apical read, write and run again exactly.
//!
//! The fixture `fixtures/fig-s1-format-1/` was written before `apical-sim` was split into
//! layers: a short `fig-s1` run of a 4-3-2 network and its checkpoint (format version 1), whose
//! configuration it stores.

use std::path::{Path, PathBuf};

use apical_sim::checkpoint::Checkpoint;
use apical_sim::experiments::{NoProgress, RunContext, run};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fig-s1-format-1").join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apical-checkpoint-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_earlier_checkpoint_reads_and_writes_the_same_bytes() {
    let path = fixture("checkpoint.bin");
    let (checkpoint, cfg) = Checkpoint::load(&path).unwrap();
    assert_eq!(cfg.experiment.name(), "fig-s1");
    assert_eq!(cfg.network.sizes, [4, 3, 2]);
    assert_eq!(cfg.seed, 7);
    assert!(cfg.network.bias);
    // The stored configuration text is what this version writes for the configuration it reads.
    assert_eq!(toml::to_string(&cfg).unwrap(), checkpoint.config);

    let dir = scratch("rewrite");
    let copy = dir.join("checkpoint.bin");
    checkpoint.save(&copy).unwrap();
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&path).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_earlier_run_repeats_bit_for_bit() {
    let (_, cfg) = Checkpoint::load(&fixture("checkpoint.bin")).unwrap();
    let dir = scratch("rerun");
    let ctx = RunContext { out_dir: dir.clone(), data_dir: None, resume: false, progress: &NoProgress };
    run(&cfg, &ctx).unwrap();
    for file in ["checkpoint.bin", "metrics.csv"] {
        let again = std::fs::read(dir.join(file)).unwrap();
        assert!(again == std::fs::read(fixture(file)).unwrap(), "{file} differs from the earlier run's");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
