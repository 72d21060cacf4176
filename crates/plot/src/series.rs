//! Series of points: the public [`Series`] and its reduction to drawable
//! segments, together with the axis ranges that fit them.

use std::ops::Range;

use crate::axis::{Bounds, padded_linear_range, padded_log_range};
use crate::plot::LinePlot;

/// One named curve of a plot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The name shown in the legend; an empty name gives no legend entry.
    pub name: String,
    /// The `(x, y)` points, drawn in the given order.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// Creates a series from `(x, y)` points.
    pub fn new(name: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        Self { name: name.into(), points: points.into_iter().collect() }
    }

    /// Creates a series from y values, using their indices 0, 1, 2, … as x.
    pub fn from_values(name: impl Into<String>, values: impl IntoIterator<Item = f64>) -> Self {
        Self::new(name, values.into_iter().enumerate().map(|(i, y)| (i as f64, y)))
    }
}

/// A series reduced to its drawable points, split into connected segments.
pub(crate) struct PreparedSeries {
    pub(crate) name: String,
    pub(crate) segments: Vec<Vec<(f64, f64)>>,
}

/// The drawable content of a plot and the axis ranges that fit it.
pub(crate) struct PreparedData {
    pub(crate) series: Vec<PreparedSeries>,
    pub(crate) hlines: Vec<(String, f64)>,
    pub(crate) x_range: Range<f64>,
    pub(crate) y_range: Range<f64>,
}

impl PreparedData {
    /// Filters out points that cannot be drawn and computes the axis ranges.
    pub(crate) fn new(plot: &LinePlot) -> Self {
        let drawable_y = |y: f64| y.is_finite() && (!plot.log_y || y > 0.0);
        let mut x_bounds = Bounds::default();
        let mut y_bounds = Bounds::default();

        let series = plot
            .series
            .iter()
            .map(|s| {
                let mut segments = Vec::new();
                let mut current = Vec::new();
                for &(x, y) in &s.points {
                    if x.is_finite() && drawable_y(y) {
                        x_bounds.add(x);
                        y_bounds.add(y);
                        current.push((x, y));
                    } else if !current.is_empty() {
                        // A skipped point breaks the line rather than being
                        // bridged, so gaps in the data stay visible.
                        segments.push(std::mem::take(&mut current));
                    }
                }
                if !current.is_empty() {
                    segments.push(current);
                }
                PreparedSeries { name: s.name.clone(), segments }
            })
            .collect();

        let hlines: Vec<(String, f64)> = plot.hlines.iter().filter(|(_, y)| drawable_y(*y)).cloned().collect();
        for (_, y) in &hlines {
            y_bounds.add(*y);
        }

        let x_range = padded_linear_range(x_bounds, 0.02);
        let y_range = if plot.log_y { padded_log_range(y_bounds, 0.05) } else { padded_linear_range(y_bounds, 0.05) };
        Self { series, hlines, x_range, y_range }
    }
}
