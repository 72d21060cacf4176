//! Loading configurations for the command-line tool, with one-line errors that name the file,
//! line and field.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use apical_sim::{config::RunConfig, presets};

/// Parses a TOML configuration; `source` names it in errors as `source:line:column`.
pub fn parse_config(text: &str, source: &str) -> Result<RunConfig> {
    toml::from_str::<RunConfig>(text).map_err(|e| {
        let place = e
            .span()
            .map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!(":{line}:{column}")
            })
            .unwrap_or_default();
        anyhow!("{source}{place}: {}", e.message().trim().replace('\n', " "))
    })
}

/// Reads and validates a configuration file. A relative `init.weights` path is taken from the
/// file's folder.
pub fn load_config(path: &Path) -> Result<RunConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut cfg = parse_config(&text, &path.display().to_string())?;
    if let Some(w) = &cfg.init.weights
        && w.is_relative()
    {
        cfg.init.weights = Some(path.parent().unwrap_or(Path::new(".")).join(w));
    }
    cfg.validate().with_context(|| path.display().to_string())?;
    Ok(cfg)
}

/// The preset `name`, or an error listing the known ones.
pub fn preset(name: &str) -> Result<RunConfig> {
    presets::preset(name).ok_or_else(|| {
        let known: Vec<&str> = presets::PRESETS.iter().map(|(n, _)| *n).collect();
        anyhow!("unknown preset '{name}' (known: {})", known.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::parse_config;

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
}
