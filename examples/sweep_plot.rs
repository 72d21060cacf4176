//! Plots one result of a sweep against a numeric setting on a log10 axis, one curve per value
//! of another setting, from the `summary.csv` that `apical sweep summary` writes, and prints
//! the plotted means with their standard deviations over seeds.
//!
//! ```text
//! cargo run --release --example sweep_plot -- SUMMARY.csv X_COLUMN SERIES_COLUMN VALUE_COLUMN OUT.png
//! ```
//!
//! For the Bars sweep of `docs/results.md`: `X_COLUMN` is `experiment.classify.pattern_ms`,
//! `SERIES_COLUMN` is `network.neuron` and `VALUE_COLUMN` is `test_accuracy`. Only finished runs
//! (`status` done) count.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use apical::plot::{LinePlot, Series};

fn main() -> ExitCode {
    match plot(&std::env::args().skip(1).collect::<Vec<_>>()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn plot(args: &[String]) -> anyhow::Result<()> {
    let [csv_path, x_col, series_col, value_col, out] = args else {
        bail!("usage: sweep_plot SUMMARY.csv X_COLUMN SERIES_COLUMN VALUE_COLUMN OUT.png");
    };
    let mut reader = csv::Reader::from_path(csv_path).with_context(|| format!("cannot read {csv_path}"))?;
    let header = reader.headers().with_context(|| format!("{csv_path}: no header"))?.clone();
    let column =
        |name: &str| header.iter().position(|h| h == name).with_context(|| format!("{csv_path} has no column {name}"));
    let (x_i, series_i, value_i, status_i) =
        (column(x_col)?, column(series_col)?, column(value_col)?, column("status")?);
    // Values by series, then by x (as its bits, which order positive numbers by size).
    let mut groups: BTreeMap<String, BTreeMap<u64, Vec<f64>>> = BTreeMap::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{csv_path}: row {}", line + 2))?;
        if &record[status_i] != "done" {
            continue;
        }
        let number = |i: usize| {
            record[i]
                .parse::<f64>()
                .with_context(|| format!("{csv_path}: row {}: {} is no number", line + 2, &record[i]))
        };
        let x = number(x_i)?;
        if !(x > 0.0 && x.is_finite()) {
            bail!("{csv_path}: row {}: {x_col} = {x} has no logarithm", line + 2);
        }
        let name = record[series_i].trim_matches('"').to_string();
        groups.entry(name).or_default().entry(x.to_bits()).or_default().push(number(value_i)?);
    }
    if groups.is_empty() {
        bail!("{csv_path} holds no finished run");
    }
    let mut plot = LinePlot::new(format!("{value_col} against {x_col} (mean over seeds)"))
        .x_label(format!("log10 {x_col}"))
        .y_label(value_col.as_str());
    println!("{series_col}\t{x_col}\t{value_col} mean\tsd\tseeds");
    for (name, by_x) in &groups {
        let mut points = Vec::new();
        for (&bits, values) in by_x {
            let x = f64::from_bits(bits);
            let n = values.len() as f64;
            let mean = values.iter().sum::<f64>() / n;
            let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
            println!("{name}\t{x}\t{mean:.4}\t{sd:.4}\t{}", values.len());
            points.push((x.log10(), mean));
        }
        plot = plot.series(Series::new(name.as_str(), points));
    }
    plot.save_png(Path::new(out))?;
    println!("wrote {out}");
    Ok(())
}
