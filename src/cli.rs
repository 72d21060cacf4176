//! Loading configurations for the command-line tool, with one-line errors that name the file,
//! line and field, and the `--set key=value` overrides that edit a configuration before it is
//! read (both in [`apical_sim::experiments::load`], shared with the Python package), the seeds of
//! `--seeds`, and the check that runs over several seeds train no seed twice.

use apical_sim::experiments::RunConfig;
pub use apical_sim::experiments::load::{
    Override, apply_overrides, config_tree, load_config, load_config_with, one_line, parse_config, parse_config_with,
    parse_toml, preset, preset_with, printable,
};

/// The most runs that one `--seeds` or one sweep may start.
pub const MAX_SEED_RUNS: u64 = 10_000;

/// Parses one seed: a non-negative integer that fits in 64 bits.
pub fn parse_seed(text: &str) -> Result<u64, String> {
    text.trim().parse().map_err(|_| format!("seeds are non-negative integers up to {}, got '{text}'", u64::MAX))
}

/// Parses `A..B` (B excluded) or `a,b,c` into at most [`MAX_SEED_RUNS`] distinct seeds, in the
/// order given.
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("'{text}' is not a range like 0..8 or a list like 1,4,7 of distinct seeds");
    let too_many = |n: u64| format!("'{text}' names {n} runs; --seeds runs at most {MAX_SEED_RUNS}");
    let seeds: Vec<u64> = match text.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (parse_seed(a)?, parse_seed(b)?);
            let n = b.saturating_sub(a);
            if n > MAX_SEED_RUNS {
                return Err(too_many(n));
            }
            (a..b).collect()
        }
        None => {
            let n = text.split(',').count() as u64;
            if n > MAX_SEED_RUNS {
                return Err(too_many(n));
            }
            text.split(',').map(parse_seed).collect::<Result<_, _>>()?
        }
    };
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if seeds.is_empty() || sorted.len() != seeds.len() {
        return Err(bad());
    }
    Ok(seeds)
}

/// Checks that runs of `cfg` from each of `seeds` repeat no seed. A Fig. 2 run covers its seed
/// and the `experiment.fig2.seeds − 1` after it, so with several seeds per run the runs' seeds
/// must lie at least that far apart.
pub fn check_disjoint_seeds(cfg: &RunConfig, seeds: &[u64]) -> Result<(), String> {
    let per_run = cfg.seeds_per_run();
    let mut sorted = seeds.to_vec();
    sorted.sort_unstable();
    match sorted.windows(2).find(|w| w[1] - w[0] < per_run) {
        Some(w) => Err(format!(
            "the runs of seeds {} and {} would repeat seeds: with experiment.fig2.seeds = {per_run} each run \
             covers its seed and the {} after it; set experiment.fig2.seeds = 1 for one seed per run",
            w[0],
            w[1],
            per_run - 1
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::{Override, check_disjoint_seeds, parse_config, preset, preset_with};

    /// The files of `fuzz/<kind>/config/`, sorted; none if the folder does not exist.
    fn inputs(kind: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(kind).join("config");
        let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
        let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        paths.into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect()
    }

    /// The inputs of the fuzz target `config`, replayed on the stable toolchain: every seed is a
    /// valid configuration, and every regression input, which once made the fuzz target fail or
    /// would have, loads if its name starts with `valid-` and is refused by the parser or by
    /// validation otherwise.
    #[test]
    fn fuzz_seeds_load_and_regressions_give_the_expected_result() {
        let seeds = inputs("seeds");
        assert!(seeds.len() >= 2, "the config seeds are missing");
        let load = |bytes: &[u8], path: &Path| -> anyhow::Result<()> {
            let text = std::str::from_utf8(bytes)?;
            parse_config(text, &path.display().to_string())?.validate()?;
            Ok(())
        };
        for (path, bytes) in seeds {
            if let Err(e) = load(&bytes, &path) {
                panic!("seed {} does not load: {e}", path.display());
            }
        }
        for (path, bytes) in inputs("regressions") {
            let valid = path.file_name().unwrap().to_string_lossy().starts_with("valid-");
            let loaded = load(&bytes, &path);
            assert_eq!(loaded.is_ok(), valid, "{}: {:?}", path.display(), loaded.err());
        }
    }

    /// Runs over several seeds may not repeat one: a Fig. 2 run of three seeds covers its own
    /// and the next two, so its runs must start three apart, and any spacing is fine for one seed
    /// per run.
    #[test]
    fn runs_over_seeds_repeat_no_seed() {
        let three = preset("fig2").unwrap();
        assert_eq!(three.seeds_per_run(), 3);
        let refused = check_disjoint_seeds(&three, &[4, 0, 2]).unwrap_err();
        assert!(refused.contains("seeds 0 and 2") && refused.contains("experiment.fig2.seeds = 1"), "{refused}");
        assert!(check_disjoint_seeds(&three, &[6, 0, 3]).is_ok());
        let one = preset_with("fig2", &[Override::parse("experiment.fig2.seeds=1").unwrap()]).unwrap();
        assert!(check_disjoint_seeds(&one, &[0, 1, 2]).is_ok());
        assert!(check_disjoint_seeds(&preset("fig1").unwrap(), &[0, 1, 2]).is_ok());
    }
}
