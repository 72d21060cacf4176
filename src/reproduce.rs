//! `apical reproduce mnist`: the paper's MNIST table, every row over every seed.
//!
//! Each row of the table is a preset. The command plans one sweep folder per row,
//! `<out>/<preset>/`, from the preset, the seeds and the `--set` overrides (the same for every
//! row), runs all their runs on this machine in parallel, as `apical sweep run` does (a finished
//! run is skipped and an interrupted one continues from its checkpoint), and then prints the
//! table: each row's test error of the model with the best validation error, mean ± sd over its
//! finished seeds, beside the paper's. The table is also written to `<out>/table.md`.
//!
//! The row folders are ordinary sweeps: they can go to a cluster instead
//! (`sbatch <out>/<preset>/sbatch.sh`, see docs/cluster.md), after which `--table-only` prints
//! the table of what has finished without running anything.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use apical::cli::{Override, parse_seeds};
use apical::numerics::stats::{mean, sd};
use apical::sim::files::write_atomic;

use crate::sweep;

/// One row of a results table: a preset and the paper's test error for it.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// The preset that runs the row.
    pub preset: &'static str,
    /// What the row is, in the paper's words.
    pub what: &'static str,
    /// The paper's test error (%).
    pub paper_pct: f64,
}

/// The paper's MNIST results (its Fig. 3 and text), one preset each.
pub const MNIST_TABLE: [Row; 5] = [
    Row { preset: "mnist", what: "784-500-500-10 microcircuit", paper_pct: 1.96 },
    Row { preset: "mnist-backprop", what: "backprop, same network", paper_pct: 1.53 },
    Row { preset: "mnist-shallow", what: "shallow learner", paper_pct: 8.4 },
    Row { preset: "mnist-frozen-hidden", what: "W_2 frozen", paper_pct: 2.11 },
    Row {
        preset: "mnist-learned-feedback",
        what: "784-1000-10, every weight plastic incl. top-down, random start",
        paper_pct: 2.48,
    },
];

/// What `apical reproduce mnist` was asked to do.
#[derive(Debug)]
pub struct Request<'a> {
    /// The folder that receives one sweep folder per row and the table.
    pub out: &'a Path,
    /// The seeds, as `--seeds` takes them.
    pub seeds: &'a str,
    /// Overrides applied to every row.
    pub overrides: &'a [Override],
    /// The folder holding data sets.
    pub data_dir: Option<PathBuf>,
    /// Worker threads.
    pub threads: Option<u16>,
    /// Show no progress.
    pub quiet: bool,
    /// Only print the table of the runs that have finished.
    pub table_only: bool,
}

/// Plans, runs and tabulates the MNIST table (module docs).
pub fn mnist(request: &Request<'_>) -> Result<()> {
    parse_seeds(request.seeds).map_err(|e| anyhow!("--seeds: {e}"))?;
    let dirs: Vec<PathBuf> = MNIST_TABLE.iter().map(|row| request.out.join(row.preset)).collect();
    let mut outcome = Ok(());
    if !request.table_only {
        for (row, dir) in MNIST_TABLE.iter().zip(&dirs) {
            let text = sweep_file(row.preset, request.seeds, request.overrides)?;
            let source = request.out.join(format!("{}.sweep.toml", row.preset));
            sweep::plan_text(&text, &source, dir)?;
        }
        outcome = sweep::run_sweeps(&dirs, request.data_dir.clone(), request.threads, request.quiet);
    }
    let table = table(&MNIST_TABLE, &dirs)?;
    say!("{table}");
    write_atomic(&request.out.join("table.md"), table.as_bytes())?;
    outcome
}

/// The sweep file of one row: its preset over the seeds, with the overrides as its one point.
fn sweep_file(preset: &str, seeds: &str, overrides: &[Override]) -> Result<String> {
    let mut file = toml::Table::new();
    file.insert("preset".into(), preset.into());
    file.insert("seeds".into(), seeds.into());
    if !overrides.is_empty() {
        let point: toml::Table = overrides.iter().map(|o| (o.key.join("."), o.value.clone())).collect();
        file.insert("points".into(), toml::Value::Array(vec![toml::Value::Table(point)]));
    }
    Ok(toml::to_string(&file)?)
}

/// The table of `rows`, whose sweeps are in `dirs`, as Markdown.
fn table(rows: &[Row], dirs: &[PathBuf]) -> Result<String> {
    let mut text = String::from(
        "| run | preset | paper (MNIST) | test error | best validation error | seeds |\n|---|---|---|---|---|---|\n",
    );
    for (row, dir) in rows.iter().zip(dirs) {
        let (done, total) = if dir.join("manifest.tsv").exists() { sweep::finished_values(dir)? } else { (vec![], 0) };
        let column = |key: &str| -> Vec<f64> { done.iter().filter_map(|v| v.get(key).copied()).collect() };
        let cell = |xs: Vec<f64>| match xs.len() {
            0 => "—".to_string(),
            1 => format!("{:.2} %", xs[0]),
            _ => format!("{:.2} ± {:.2} %", mean(&xs), sd(&xs)),
        };
        writeln!(
            text,
            "| {} | {} | {} % | {} | {} | {} of {total} |",
            row.what,
            row.preset,
            row.paper_pct,
            cell(column("test_error_of_best_pct")),
            cell(column("best_validation_error_pct")),
            done.len()
        )?;
    }
    text.push_str(
        "\nTest error of the model with the best validation error, mean ± sd over the finished seeds; \
         paper: Sacramento et al. (2018).\n",
    );
    Ok(text)
}
