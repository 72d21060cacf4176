//! Loading run configurations with one-line errors that name the file, line and field, and the
//! `key=value` overrides (`apical run --set`, `Config.set` in Python) that edit a configuration's
//! TOML tree before it is read. The command-line tool and the Python package both load
//! configurations through this module, so they accept and refuse the same files with the same
//! messages, and both print an error as the one line that [`one_line`] makes of it.

use std::fmt;
use std::path::Path;

use crate::experiments::{config::RunConfig, presets};
use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

/// Parses a TOML configuration; `source` names it in errors as `source:line:column`.
pub fn parse_config(text: &str, source: &str) -> Result<RunConfig> {
    parse_toml(text, source)
}

/// Parses TOML text into `T`; `source` names it in errors as `source:line:column`.
pub fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, source: &str) -> Result<T> {
    toml::from_str::<T>(text).map_err(|e| {
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
    load_config_with(path, &[])
}

/// Reads a configuration file, applies `overrides` in order and validates the result. A relative
/// `init.weights` path, from the file or an override, is taken from the file's folder.
pub fn load_config_with(path: &Path, overrides: &[Override]) -> Result<RunConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_config_with(&text, &path.display().to_string(), path.parent().unwrap_or(Path::new(".")), overrides)
}

/// Parses a TOML configuration named `source` in errors, applies `overrides` in order and
/// validates the result. A relative `init.weights` path is taken from `folder`.
pub fn parse_config_with(text: &str, source: &str, folder: &Path, overrides: &[Override]) -> Result<RunConfig> {
    let mut cfg = parse_config(text, source)?;
    if !overrides.is_empty() {
        let mut tree: toml::Table = toml::from_str(text).with_context(|| source.to_string())?;
        cfg = apply_overrides(&mut tree, overrides, "--set ")?;
    }
    if cfg.init.weights.as_ref().is_some_and(|w| w.as_os_str().is_empty()) {
        bail!("{source}: init.weights: the path is empty");
    }
    if let Some(w) = &cfg.init.weights
        && w.is_relative()
    {
        cfg.init.weights = Some(folder.join(w));
    }
    cfg.validate().with_context(|| with_overrides(source, overrides))?;
    Ok(cfg)
}

/// The preset `name`, or an error listing the known ones.
pub fn preset(name: &str) -> Result<RunConfig> {
    presets::preset(name).ok_or_else(|| {
        let known: Vec<&str> = presets::PRESETS.iter().map(|(n, _)| *n).collect();
        anyhow!("unknown preset '{name}' (known: {})", known.join(", "))
    })
}

/// The preset `name` with `overrides` applied in order, validated.
pub fn preset_with(name: &str, overrides: &[Override]) -> Result<RunConfig> {
    let cfg = preset(name)?;
    if overrides.is_empty() {
        return Ok(cfg);
    }
    let cfg = apply_overrides(&mut config_tree(&cfg)?, overrides, "--set ")?;
    cfg.validate().with_context(|| with_overrides(&format!("preset {name}"), overrides))?;
    Ok(cfg)
}

/// Names a configuration and the overrides applied to it, for errors.
fn with_overrides(source: &str, overrides: &[Override]) -> String {
    let sets: Vec<String> = overrides.iter().map(|o| format!(" --set {o}")).collect();
    format!("{source}{}", sets.concat())
}

/// A configuration as a TOML value tree, as its file would hold it.
pub fn config_tree(cfg: &RunConfig) -> Result<toml::Table> {
    toml::Table::try_from(cfg).context("cannot serialise the configuration")
}

/// One override of a configuration value, `key=value`: a dotted key such as `plasticity.eta_up`
/// and a TOML value such as `[0.01, 0.005]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The key's parts, outermost table first.
    pub key: Vec<String>,
    /// The new value.
    pub value: toml::Value,
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key.join("."), self.value)
    }
}

impl Override {
    /// Parses `key=value`. The value is read as TOML (`1000`, `0.5`, `[0.01, 0.005]`, `"text"`,
    /// `{ low = 0.0, high = 1.0 }`); a single word that is no TOML value, such as `dendritic`, is
    /// taken as a string.
    pub fn parse(text: &str) -> Result<Override, String> {
        let Some((key, value)) = text.split_once('=') else {
            return Err(format!("'{text}' is not key=value, such as plasticity.tau_w=30"));
        };
        Ok(Override { key: parse_key(key.trim())?, value: parse_value(value.trim())? })
    }

    /// An override of `key`, a dotted key, with `value`.
    pub fn new(key: &str, value: toml::Value) -> Result<Override, String> {
        Ok(Override { key: parse_key(key)?, value })
    }

    /// Sets the value in `tree`. Every table on the way must exist already; only the last key
    /// may be new, as for an optional field that the configuration leaves out.
    fn apply(&self, tree: &mut toml::Table) -> Result<(), String> {
        let (last, tables) = self.key.split_last().expect("a parsed key has at least one part");
        let mut table = tree;
        for (depth, part) in tables.iter().enumerate() {
            let here = self.key[..=depth].join(".");
            let holds = |t: &toml::Table| t.keys().cloned().collect::<Vec<_>>().join(", ");
            let known = holds(table);
            match table.get_mut(part) {
                Some(toml::Value::Table(next)) => table = next,
                Some(_) => return Err(format!("{here} is a value, not a table")),
                None if depth == 0 => return Err(format!("the configuration has no table {here}")),
                None => {
                    let parent = self.key[..depth].join(".");
                    return Err(format!("the configuration has no table {here} ({parent} holds {known})"));
                }
            }
        }
        table.insert(last.clone(), self.value.clone());
        Ok(())
    }
}

/// Parses a dotted key: non-empty parts of letters, digits, `_` and `-`.
fn parse_key(key: &str) -> Result<Vec<String>, String> {
    let parts: Vec<String> = key.split('.').map(str::to_string).collect();
    let good = |p: &String| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !parts.iter().all(good) {
        return Err(format!("'{key}' is not a dotted key such as plasticity.eta_up"));
    }
    Ok(parts)
}

/// Parses a TOML value, or takes a single word that is none as a string.
fn parse_value(text: &str) -> Result<toml::Value, String> {
    let parsed = if text.contains(['\n', '\r']) {
        None
    } else {
        toml::from_str::<toml::Table>(&format!("value = {text}")).ok().filter(|t| t.len() == 1)
    };
    match parsed.and_then(|mut t| t.remove("value")) {
        Some(value) => Ok(value),
        None if !text.is_empty() && text.chars().all(|c| c.is_alphanumeric() || "_-./+:@".contains(c)) => {
            Ok(toml::Value::String(text.to_string()))
        }
        None => Err(format!("'{text}' is not a TOML value such as 30, 0.5, [0.01, 0.005] or \"text\"")),
    }
}

/// Applies `overrides` in order to a configuration's value tree and reads the result as a
/// configuration, with the same checks as a file's. After each override the tree is read again,
/// so that an unknown key or a bad value is reported with the override that brought it,
/// `prefix` before it; the caller validates the final configuration.
pub fn apply_overrides(tree: &mut toml::Table, overrides: &[Override], prefix: &str) -> Result<RunConfig> {
    let mut cfg = None;
    for o in overrides {
        o.apply(tree).map_err(|e| anyhow!("{prefix}{o}: {e}"))?;
        let read = RunConfig::deserialize(toml::Value::Table(tree.clone()))
            .map_err(|e| anyhow!("{prefix}{o}: {}", e.message().trim().replace('\n', " ")))?;
        cfg = Some(read);
    }
    match cfg {
        Some(cfg) => Ok(cfg),
        None => RunConfig::deserialize(toml::Value::Table(tree.clone())).context("cannot read the configuration"),
    }
}

/// An error and its causes on one line. Many messages already end with their cause, which is
/// then not repeated.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain().map(|c| c.to_string()) {
        if line.is_empty() {
            line = cause;
        } else if !line.contains(&cause) {
            line = format!("{line}: {cause}");
        }
    }
    printable(&line)
}

/// `text` made safe for a terminal: line breaks and tabs become spaces and every other control
/// character (such as the escape that starts a terminal command) is shown escaped, as `\u{1b}`.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}
