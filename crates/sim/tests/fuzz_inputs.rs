//! The inputs of the fuzz targets `checkpoint` and `npz`, replayed on the stable toolchain.
//!
//! Every seed under `fuzz/seeds/<target>/` is a valid file and must load. Every input under
//! `fuzz/regressions/<target>/` once made a fuzz target fail, or would have: it must now load if
//! its name starts with `valid-`, and be refused with an error otherwise. Both go through the
//! entry functions the fuzz targets call, so that the readers are exercised on these inputs
//! without a nightly toolchain.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use apical_sim::checkpoint::Checkpoint;
use apical_sim::io::npy::{read_npy_from, read_npz_from};

/// The files of `fuzz/<kind>/<target>/`, sorted; none if the folder does not exist.
fn inputs(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz").join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths.into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect()
}

/// Whether a regression input is valid and must load.
fn valid(path: &Path) -> bool {
    path.file_name().unwrap().to_string_lossy().starts_with("valid-")
}

#[test]
fn checkpoint_seeds_load_and_regressions_give_the_expected_result() {
    let seeds = inputs("seeds", "checkpoint");
    assert!(seeds.len() >= 2, "the checkpoint seeds are missing");
    for (path, bytes) in seeds {
        if let Err(e) = Checkpoint::from_bytes(&bytes, &path) {
            panic!("seed {} does not load: {e}", path.display());
        }
    }
    for (path, bytes) in inputs("regressions", "checkpoint") {
        let loaded = Checkpoint::from_bytes(&bytes, &path);
        assert_eq!(loaded.is_ok(), valid(&path), "{}: {:?}", path.display(), loaded.err());
    }
}

/// Reads an input as the fuzz target `npz` does, through both readers, and returns the result
/// of the one its extension names: `.npy` files are single arrays, all others archives.
fn read_npz_or_npy(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let npz = read_npz_from(path, Cursor::new(bytes)).map(|_| ()).map_err(|e| e.to_string());
    let npy = read_npy_from(path, bytes).map(|_| ()).map_err(|e| e.to_string());
    if path.extension().is_some_and(|e| e == "npy") { npy } else { npz }
}

#[test]
fn npz_seeds_load_and_regressions_give_the_expected_result() {
    let seeds = inputs("seeds", "npz");
    assert!(seeds.len() >= 2, "the npz seeds are missing");
    for (path, bytes) in seeds {
        if let Err(e) = read_npz_or_npy(&path, &bytes) {
            panic!("seed {} does not load: {e}", path.display());
        }
    }
    for (path, bytes) in inputs("regressions", "npz") {
        let loaded = read_npz_or_npy(&path, &bytes);
        assert_eq!(loaded.is_ok(), valid(&path), "{}: {:?}", path.display(), loaded.err());
    }
}
