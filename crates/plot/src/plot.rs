//! The plot description: [`LinePlot`], its builder methods and the image
//! size limits.
//!
//! Drawing lives in the `render` module and writing files in the `output`
//! module; both add methods to [`LinePlot`].

use crate::series::Series;

/// The default width of a plot in pixels.
pub const DEFAULT_WIDTH: u32 = 900;

/// The default height of a plot in pixels.
pub const DEFAULT_HEIGHT: u32 = 560;

/// The smallest accepted width of a plot in pixels.
pub const MIN_WIDTH: u32 = 320;

/// The smallest accepted height of a plot in pixels.
pub const MIN_HEIGHT: u32 = 240;

/// A line plot of one or more series, with optional horizontal reference
/// lines.
///
/// Fields are public and can be set directly; the builder methods return the
/// plot for chaining.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    /// The title drawn above the plot; an empty title draws none.
    pub title: String,
    /// The label of the x axis.
    pub x_label: String,
    /// The label of the y axis.
    pub y_label: String,
    /// Whether the y axis is logarithmic; non-positive values are then skipped.
    pub log_y: bool,
    /// The curves, coloured in order from a fixed palette.
    pub series: Vec<Series>,
    /// Horizontal reference lines as `(name, y)`, drawn dashed in grey; an
    /// empty name gives no legend entry.
    pub hlines: Vec<(String, f64)>,
    /// The image size in pixels as `(width, height)`.
    pub size: (u32, u32),
}

impl Default for LinePlot {
    fn default() -> Self {
        Self {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            log_y: false,
            series: Vec::new(),
            hlines: Vec::new(),
            size: (DEFAULT_WIDTH, DEFAULT_HEIGHT),
        }
    }
}

impl LinePlot {
    /// Creates an empty plot with the given title and the default size.
    pub fn new(title: impl Into<String>) -> Self {
        Self { title: title.into(), ..Self::default() }
    }

    /// Sets the label of the x axis.
    pub fn x_label(mut self, label: impl Into<String>) -> Self {
        self.x_label = label.into();
        self
    }

    /// Sets the label of the y axis.
    pub fn y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = label.into();
        self
    }

    /// Chooses between a logarithmic and a linear y axis.
    pub fn log_y(mut self, log_y: bool) -> Self {
        self.log_y = log_y;
        self
    }

    /// Adds a series.
    pub fn series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Adds a horizontal reference line at `y`, such as a target value.
    pub fn hline(mut self, name: impl Into<String>, y: f64) -> Self {
        self.hlines.push((name.into(), y));
        self
    }

    /// Sets the image size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }
}
