//! `apical plot`: curves from the metrics tables of several runs on one set of axes, for example
//! `fig2-short` against `fig2` over the η × length both have run:
//!
//! ```text
//! apical plot --x equivalent_trials --y test_error_ema --log-y --out overlay.png \
//!     short=out/fig2-short/microcircuit.csv paper=out/fig2/microcircuit.csv
//! ```
//!
//! Each table gives one curve per y column: at every distinct x value the mean of y over the
//! rows with that x (over the seeds of a multi-seed run), NaN values left out; `--only seed=0`
//! keeps the rows of one seed.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use apical::plot::{LinePlot, Series};
use apical::sim::io::record::read_columns;

/// One table to plot, named in the legend.
#[derive(Debug, Clone)]
pub struct Table {
    /// The legend name.
    pub label: String,
    /// The CSV file.
    pub path: PathBuf,
}

/// Parses `LABEL=FILE`, or a bare `FILE` labelled by its name.
pub fn parse_table(text: &str) -> Result<Table, String> {
    let (label, path) = match text.split_once('=') {
        Some((label, path)) if !label.is_empty() && !path.is_empty() => (label.to_string(), PathBuf::from(path)),
        Some(_) => return Err(format!("'{text}' is not LABEL=FILE")),
        None => (text.to_string(), PathBuf::from(text)),
    };
    Ok(Table { label, path })
}

/// What to draw: the columns, the axes and the file.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// The column on the x axis.
    pub x: String,
    /// The columns on the y axis.
    pub ys: Vec<String>,
    /// Every x value is multiplied by this (1e-7 gives the paper's "×10^7" axis).
    pub x_scale: f64,
    /// A logarithmic y axis.
    pub log_y: bool,
    /// The plot's title.
    pub title: String,
    /// Only the rows whose column has this value (for example one seed of a multi-seed run).
    pub only: Option<(String, f64)>,
    /// Only the x range that every table reaches: the part that all runs have run.
    pub shared_x: bool,
}

/// Parses `COLUMN=VALUE` for [`Overlay::only`].
pub fn parse_only(text: &str) -> Result<(String, f64), String> {
    match text.split_once('=') {
        Some((column, value)) if !column.is_empty() => {
            let value = value.parse().map_err(|_| format!("'{value}' in '{text}' is not a number"))?;
            Ok((column.to_string(), value))
        }
        _ => Err(format!("'{text}' is not COLUMN=VALUE")),
    }
}

/// Draws the tables' curves into the PNG `out`.
pub fn plot(overlay: &Overlay, tables: &[Table], out: &Path) -> Result<()> {
    if !overlay.x_scale.is_finite() || overlay.x_scale <= 0.0 {
        bail!("--x-scale must be a finite number > 0, got {}", overlay.x_scale);
    }
    let mut series: Vec<Series> = Vec::new();
    for table in tables {
        for y in &overlay.ys {
            let mut names = vec![overlay.x.as_str(), y.as_str()];
            names.extend(overlay.only.iter().map(|(column, _)| column.as_str()));
            let mut columns = read_columns(&table.path, &names)?;
            if let Some((_, value)) = &overlay.only {
                let keep: Vec<bool> = columns[2].iter().map(|v| v == value).collect();
                for column in &mut columns {
                    let mut kept = keep.iter();
                    column.retain(|_| *kept.next().expect("one flag per row"));
                }
            }
            let points = mean_by_x(&columns[0], &columns[1]).into_iter().map(|(x, y)| (x * overlay.x_scale, y));
            let name = if overlay.ys.len() > 1 { format!("{}: {y}", table.label) } else { table.label.clone() };
            series.push(Series::new(name, points));
        }
    }
    if overlay.shared_x {
        let end =
            series.iter().map(|s| s.points.last().map_or(f64::NEG_INFINITY, |p| p.0)).fold(f64::INFINITY, f64::min);
        for s in &mut series {
            s.points.retain(|p| p.0 <= end);
        }
    }
    let scale = if overlay.x_scale == 1.0 { String::new() } else { format!(" (×{:e})", overlay.x_scale) };
    let plot = LinePlot {
        title: overlay.title.clone(),
        x_label: format!("{}{scale}", overlay.x),
        y_label: overlay.ys.join(", "),
        log_y: overlay.log_y,
        series,
        ..Default::default()
    };
    plot.save_png(out)?;
    Ok(())
}

/// The mean of `y` at each distinct `x`, in increasing x, rows with a NaN left out.
fn mean_by_x(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    let mut pairs: Vec<(f64, f64)> =
        x.iter().copied().zip(y.iter().copied()).filter(|(x, y)| !x.is_nan() && !y.is_nan()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut sums: Vec<(f64, f64, usize)> = Vec::new();
    for (x, y) in pairs {
        match sums.last_mut() {
            Some(last) if last.0 == x => {
                last.1 += y;
                last.2 += 1;
            }
            _ => sums.push((x, y, 1)),
        }
    }
    sums.into_iter().map(|(x, sum, n)| (x, sum / n as f64)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_average_the_rows_of_each_x_in_order() {
        let x = [10.0, 0.0, 10.0, -5.0, 0.0, 3.0];
        let y = [1.0, 2.0, 3.0, 4.0, f64::NAN, 5.0];
        assert_eq!(mean_by_x(&x, &y), [(-5.0, 4.0), (0.0, 2.0), (3.0, 5.0), (10.0, 2.0)]);
    }

    #[test]
    fn tables_are_label_equals_file_or_a_file() {
        let t = parse_table("short=a/b.csv").unwrap();
        assert_eq!((t.label.as_str(), t.path.as_path()), ("short", Path::new("a/b.csv")));
        assert_eq!(parse_table("a.csv").unwrap().label, "a.csv");
        assert_eq!(parse_table("=a.csv").unwrap_err(), "'=a.csv' is not LABEL=FILE");
        assert_eq!(parse_only("seed=2").unwrap(), ("seed".to_string(), 2.0));
        assert_eq!(parse_only("seed=two").unwrap_err(), "'two' in 'seed=two' is not a number");
        assert_eq!(parse_only("=2").unwrap_err(), "'=2' is not COLUMN=VALUE");
    }
}
