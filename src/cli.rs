//! Loading configurations for the command-line tool, with one-line errors that name the file,
//! line and field.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
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
        let start = e.span().map_or(0, |span| span.start.min(text.len()));
        anyhow!("{source}{place}: {}", clearer(e.message().trim(), text, start).replace('\n', " "))
    })
}

/// The parser's message for a table that must hold exactly one of its kinds (such as
/// `[experiment]`) names neither the table nor the rule; this one does. Other messages are kept.
fn clearer(message: &str, text: &str, start: usize) -> String {
    let found = if message.starts_with("wanted exactly 1 element, found 0") {
        "none"
    } else if message.starts_with("wanted exactly 1 element, more than 1") {
        "several"
    } else {
        return message.to_string();
    };
    let key: String = text
        .get(start..)
        .unwrap_or_default()
        .trim_start_matches(['[', ' '])
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    format!("[{key}] must hold exactly one kind, as one table [{key}.<kind>]; found {found}")
}

/// Reads and validates a configuration file. A relative `init.weights` path is taken from the
/// file's folder.
pub fn load_config(path: &Path) -> Result<RunConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut cfg = parse_config(&text, &path.display().to_string())?;
    if cfg.init.weights.as_ref().is_some_and(|w| w.as_os_str().is_empty()) {
        bail!("{}: init.weights: the path is empty", path.display());
    }
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
