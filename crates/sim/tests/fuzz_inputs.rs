//! The inputs of the fuzz targets `checkpoint` and `npz`, replayed on the stable toolchain.
//!
//! Every seed under `fuzz/seeds/<target>/` is a valid file and must load; every input under
//! `fuzz/regressions/<target>/` once made a fuzz target fail and must now be refused with an
//! error. Both go through the entry functions the fuzz targets call, so that the readers are
//! exercised on these inputs without a nightly toolchain.

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

#[test]
fn checkpoint_seeds_load_and_regressions_are_refused() {
    let seeds = inputs("seeds", "checkpoint");
    assert!(seeds.len() >= 2, "the checkpoint seeds are missing");
    for (path, bytes) in seeds {
        if let Err(e) = Checkpoint::from_bytes(&bytes, &path) {
            panic!("seed {} does not load: {e}", path.display());
        }
    }
    for (path, bytes) in inputs("regressions", "checkpoint") {
        assert!(Checkpoint::from_bytes(&bytes, &path).is_err(), "{} loads", path.display());
    }
}

#[test]
fn npz_seeds_load_and_regressions_are_refused() {
    let seeds = inputs("seeds", "npz");
    assert!(seeds.len() >= 2, "the npz seeds are missing");
    for (path, bytes) in seeds {
        let loaded = match path.extension().and_then(|e| e.to_str()) {
            Some("npy") => read_npy_from(&path, &bytes).map(|_| ()),
            _ => read_npz_from(&path, Cursor::new(&bytes)).map(|_| ()),
        };
        if let Err(e) = loaded {
            panic!("seed {} does not load: {e}", path.display());
        }
    }
    for (path, bytes) in inputs("regressions", "npz") {
        assert!(read_npz_from(&path, Cursor::new(&bytes)).is_err(), "{} loads as .npz", path.display());
        assert!(read_npy_from(&path, &bytes).is_err(), "{} loads as .npy", path.display());
    }
}
