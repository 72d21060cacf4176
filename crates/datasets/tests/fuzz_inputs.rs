//! The inputs of the fuzz target `idx`, replayed on the stable toolchain.
//!
//! Every seed under `fuzz/seeds/idx/` is a valid image file (its name starts with `images`) or
//! label file (`labels`), plain or gzipped, and must parse as such. Every input under
//! `fuzz/regressions/idx/` once made the fuzz target fail, or would have: the parser its name
//! names (after an optional `valid-`) must accept it if the name starts with `valid-`, and
//! refuse it otherwise. Both parsers see every input, as in the fuzz target.

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

/// Runs both parsers on an input, as the fuzz target does, and returns the result of the one its
/// name names: `images…` image files, all others label files.
fn parse(name: &str, path: &Path, bytes: &[u8]) -> Result<(), String> {
    let images = parse_images(path, bytes).map(|_| ()).map_err(|e| e.to_string());
    let labels = parse_labels(path, bytes).map(|_| ()).map_err(|e| e.to_string());
    if name.starts_with("images") { images } else { labels }
}

#[test]
fn idx_seeds_parse_and_regressions_give_the_expected_result() {
    let seeds = inputs("seeds");
    assert!(seeds.len() >= 4, "the idx seeds are missing");
    for (path, bytes) in seeds {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Err(e) = parse(&name, &path, &bytes) {
            panic!("seed {name} does not parse: {e}");
        }
    }
    for (path, bytes) in inputs("regressions") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (valid, kind) = match name.strip_prefix("valid-") {
            Some(kind) => (true, kind),
            None => (false, name.as_str()),
        };
        let parsed = parse(kind, &path, &bytes);
        assert_eq!(parsed.is_ok(), valid, "{name}: {:?}", parsed.err());
    }
}
