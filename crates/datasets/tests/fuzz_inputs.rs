//! The inputs of the fuzz target `idx`, replayed on the stable toolchain.
//!
//! Every seed under `fuzz/seeds/idx/` is a valid image file (its name starts with `images`) or
//! label file (`labels`), plain or gzipped, and must parse as such; every input under
//! `fuzz/regressions/idx/` once made the fuzz target fail and must now be refused by both
//! parsers, which the fuzz target calls on every input.

use std::path::{Path, PathBuf};

use apical_datasets::mnist::{parse_images, parse_labels};

/// The files of `fuzz/<kind>/idx/`, sorted; none if the folder does not exist.
fn inputs(kind: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz").join(kind).join("idx");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths.into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect()
}

#[test]
fn idx_seeds_parse_and_regressions_are_refused() {
    let seeds = inputs("seeds");
    assert!(seeds.len() >= 4, "the idx seeds are missing");
    for (path, bytes) in seeds {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let parsed = if name.starts_with("images") {
            parse_images(&path, &bytes[..]).map(|_| ())
        } else {
            parse_labels(&path, &bytes[..]).map(|_| ())
        };
        if let Err(e) = parsed {
            panic!("seed {name} does not parse: {e}");
        }
    }
    for (path, bytes) in inputs("regressions") {
        assert!(parse_images(&path, &bytes[..]).is_err(), "{} parses as images", path.display());
        assert!(parse_labels(&path, &bytes[..]).is_err(), "{} parses as labels", path.display());
    }
}
