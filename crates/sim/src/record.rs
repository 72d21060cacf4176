//! Recording metrics over a run: a table of named columns written as CSV, and plots of it.

use std::fmt::Write as _;
use std::path::Path;

use apical_numerics::Real;
use apical_plot::{LinePlot, Series};

use crate::SimError;
use crate::files::write_atomic;

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

    /// Writes the table as CSV with a header line.
    pub fn write_csv(&self, path: &Path) -> Result<(), SimError> {
        let mut text = self.columns.join(",");
        text.push('\n');
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:e}")).collect();
            let _ = writeln!(text, "{}", cells.join(","));
        }
        write_atomic(path, text.as_bytes())?;
        Ok(())
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
    ) -> Result<(), SimError> {
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
        plot.save_png(path)?;
        Ok(())
    }
}
