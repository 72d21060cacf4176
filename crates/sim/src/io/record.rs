//! Recording metrics over a run: a table of named columns written as CSV, and plots of it.

use std::fmt::Write as _;
use std::path::Path;

use apical_numerics::Real;
use apical_plot::{LinePlot, PlotError, Series};

use crate::io::files::{WriteError, write_atomic};

/// A table of metrics, one row per recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorder {
    columns: Vec<String>,
    rows: Vec<Vec<Real>>,
}

impl Recorder {
    /// An empty table with the given column names.
    pub fn new(columns: &[&str]) -> Self {
        Recorder { columns: columns.iter().map(|c| c.to_string()).collect(), rows: Vec::new() }
    }

    /// Appends a row.
    ///
    /// # Panics
    /// If the row does not have one value per column.
    pub fn push(&mut self, row: Vec<Real>) {
        assert_eq!(row.len(), self.columns.len(), "recorder: row length");
        self.rows.push(row);
    }

    /// The rows recorded so far.
    pub fn rows(&self) -> &[Vec<Real>] {
        &self.rows
    }

    /// The values of one column.
    ///
    /// # Panics
    /// If there is no such column.
    pub fn column(&self, name: &str) -> Vec<Real> {
        let j = self.index(name);
        self.rows.iter().map(|r| r[j]).collect()
    }

    fn index(&self, name: &str) -> usize {
        self.columns.iter().position(|c| c == name).unwrap_or_else(|| panic!("recorder: no column '{name}'"))
    }

    /// Writes the table as CSV with a header line. Every value is written with the fewest digits
    /// that read back to the same number: in plain decimal notation (epoch 3 as `3`, an error of
    /// 2.5 % as `2.5`), and in scientific notation outside 10⁻⁴ ≤ |v| < 10¹⁵, where plain
    /// decimals would run long.
    pub fn write_csv(&self, path: &Path) -> Result<(), WriteError> {
        let mut text = self.columns.join(",");
        text.push('\n');
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|&v| csv_number(v)).collect();
            let _ = writeln!(text, "{}", cells.join(","));
        }
        write_atomic(path, text.as_bytes())
    }

    /// Plots columns `ys` against column `x` as a PNG.
    pub fn plot(
        &self,
        path: &Path,
        title: &str,
        x: &str,
        ys: &[(&str, &str)],
        y_label: &str,
        log_y: bool,
    ) -> Result<(), PlotError> {
        let xs = self.column(x);
        let series =
            ys.iter().map(|(col, label)| Series::new(*label, xs.iter().copied().zip(self.column(col)))).collect();
        let plot = LinePlot {
            title: title.into(),
            x_label: x.into(),
            y_label: y_label.into(),
            log_y,
            series,
            ..Default::default()
        };
        plot.save_png(path)
    }
}

/// A metrics table that cannot be read back, as one line naming the file and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {what}")]
pub struct ReadError {
    /// The file.
    pub path: String,
    /// What is wrong with it.
    pub what: String,
}

/// Reads the named columns of a CSV table as [`Recorder::write_csv`] writes it (a header line,
/// then one line of numbers per row; `NaN` is a number), in the order of `names`. A missing
/// file, column or cell, and a cell that is not a number, are errors naming the file, the line
/// and the column.
pub fn read_columns(path: &Path, names: &[&str]) -> Result<Vec<Vec<Real>>, ReadError> {
    let bad = |what: String| ReadError { path: path.display().to_string(), what };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it ({e})")))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let index = names
        .iter()
        .map(|name| header.iter().position(|c| c == name).ok_or_else(|| bad(format!("no column '{name}'"))))
        .collect::<Result<Vec<usize>, _>>()?;
    let mut columns = vec![Vec::new(); names.len()];
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        for (column, (&j, name)) in columns.iter_mut().zip(index.iter().zip(names)) {
            let cell = cells.get(j).copied().unwrap_or_default();
            let value = cell
                .parse()
                .map_err(|_| bad(format!("line {}: '{cell}' in column '{name}' is not a number", i + 2)))?;
            column.push(value);
        }
    }
    Ok(columns)
}

/// A value as [`Recorder::write_csv`] writes it.
fn csv_number(v: Real) -> String {
    let plain = v == 0.0 || (1e-4..1e15).contains(&v.abs());
    if plain || !v.is_finite() { format!("{v}") } else { format!("{v:e}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_numbers_are_short_and_read_back_exactly() {
        assert_eq!(csv_number(3.0), "3");
        assert_eq!(csv_number(2.5), "2.5");
        assert_eq!(csv_number(0.0), "0");
        assert_eq!(csv_number(-1.25e-7), "-1.25e-7");
        assert_eq!(csv_number(3e20), "3e20");
        for v in [1.0 / 3.0, 12.276363636363635, 1e-4, 9.99e-5, 1e15, -2.0e-300, 0.1 + 0.2, Real::MAX] {
            assert_eq!(csv_number(v).parse::<Real>().unwrap().to_bits(), v.to_bits(), "{v}");
        }
    }

    #[test]
    fn the_csv_has_a_header_and_one_line_per_row() {
        let dir = std::env::temp_dir().join(format!("apical-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut rec = Recorder::new(&["epoch", "error_pct"]);
        rec.push(vec![1.0, 5.14]);
        rec.push(vec![2.0, 3.5]);
        let path = dir.join("metrics.csv");
        rec.write_csv(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "epoch,error_pct\n1,5.14\n2,3.5\n");
        assert_eq!(read_columns(&path, &["error_pct", "epoch"]).unwrap(), [vec![5.14, 3.5], vec![1.0, 2.0]]);
        let missing = read_columns(&path, &["epoch", "loss"]).unwrap_err().to_string();
        assert_eq!(missing, format!("{}: no column 'loss'", path.display()));
        std::fs::write(&path, "epoch,error_pct\n1,5.14\n2,x\n").unwrap();
        let bad = read_columns(&path, &["error_pct"]).unwrap_err().to_string();
        assert_eq!(bad, format!("{}: line 3: 'x' in column 'error_pct' is not a number", path.display()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
