//! Line plots of recorded time series, written as PNG or SVG files.
//!
//! Apical experiments record quantities over time, such as the squared apical
//! potential during a simulation or the test error over training. This crate
//! turns such recordings into plots a researcher can look at, with a title,
//! labelled axes, a legend and optional horizontal reference lines.
//!
//! Plots are robust against awkward data: non-finite points are skipped (and
//! break the line there), non-positive values are skipped on a logarithmic
//! axis, and empty or constant series still give a valid plot. Files are
//! written atomically: the image is drawn to a hidden temporary file in the
//! same directory and then renamed onto the final path, so an interrupted run
//! never leaves a half-written plot behind.
//!
//! The DejaVu Sans font is embedded in the crate, so text renders the same on
//! every machine without relying on system fonts.
//!
//! # Example
//!
//! ```no_run
//! use apical_plot::{LinePlot, Series};
//! use std::path::Path;
//!
//! let errors = [0.9, 0.5, 0.2, 0.08, 0.05];
//! let plot = LinePlot::new("Test error during training")
//!     .x_label("epoch")
//!     .y_label("test error")
//!     .log_y(true)
//!     .series(Series::from_values("dendritic microcircuit", errors))
//!     .hline("target", 0.1);
//! plot.save_png(Path::new("test_error.png"))?;
//! # Ok::<(), apical_plot::PlotError>(())
//! ```

mod axis;
mod font;
mod output;
mod plot;
mod region;
mod render;
mod series;

pub use output::PlotError;
pub use plot::{DEFAULT_HEIGHT, DEFAULT_WIDTH, LinePlot, MIN_HEIGHT, MIN_WIDTH};
pub use region::{MAX_CLASSES, RegionPlot};
pub use series::Series;
