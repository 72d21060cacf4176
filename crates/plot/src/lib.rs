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

use std::error::Error;
use std::fs;
use std::io;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use plotters::coord::Shift;
use plotters::coord::combinators::LogCoord;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// The default width of a plot in pixels.
pub const DEFAULT_WIDTH: u32 = 900;

/// The default height of a plot in pixels.
pub const DEFAULT_HEIGHT: u32 = 560;

/// The smallest accepted width of a plot in pixels.
pub const MIN_WIDTH: u32 = 320;

/// The smallest accepted height of a plot in pixels.
pub const MIN_HEIGHT: u32 = 240;

/// The DejaVu Sans font, embedded so that text renders without system fonts.
const DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The font family name under which the embedded font is registered.
const FONT_FAMILY: &str = "sans-serif";

/// Series colours (the Tableau 10 palette without its grey, which is reserved
/// for reference lines).
const PALETTE: [RGBColor; 9] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// The colour of horizontal reference lines.
const REFERENCE_GREY: RGBColor = RGBColor(0x60, 0x60, 0x60);

/// An error raised while writing a plot.
///
/// Its `Display` output is a single line naming the path and the cause.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// A file-system operation on the plot file or its directory failed.
    #[error("cannot write plot {}: {error}", path.display())]
    Io {
        /// The path the plot was to be written to.
        path: PathBuf,
        /// The underlying I/O error.
        error: io::Error,
    },
    /// The plotting library failed to draw or encode the image.
    #[error("cannot draw plot {}: {message}", path.display())]
    Draw {
        /// The path the plot was to be written to.
        path: PathBuf,
        /// A one-line description of what went wrong.
        message: String,
    },
    /// The requested image size is below [`MIN_WIDTH`] × [`MIN_HEIGHT`].
    #[error(
        "cannot write plot {}: image size {width}x{height} is below the minimum {MIN_WIDTH}x{MIN_HEIGHT}",
        path.display()
    )]
    InvalidSize {
        /// The path the plot was to be written to.
        path: PathBuf,
        /// The requested width in pixels.
        width: u32,
        /// The requested height in pixels.
        height: u32,
    },
}

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

    /// Writes the plot as a PNG image to `path`, atomically.
    ///
    /// The image is drawn to a hidden temporary file in the same directory,
    /// which is then renamed onto `path`, replacing any existing file.
    pub fn save_png(&self, path: &Path) -> Result<(), PlotError> {
        self.save_with(path, "png", |tmp, size| {
            let root = BitMapBackend::new(tmp, size).into_drawing_area();
            self.render(&root)?;
            root.present()?;
            Ok(())
        })
    }

    /// Writes the plot as an SVG image to `path`, atomically.
    ///
    /// Text is stored as SVG text elements with the `sans-serif` font family,
    /// so the viewer's font is used for display.
    pub fn save_svg(&self, path: &Path) -> Result<(), PlotError> {
        self.save_with(path, "svg", |tmp, size| {
            let root = SVGBackend::new(tmp, size).into_drawing_area();
            self.render(&root)?;
            root.present()?;
            Ok(())
        })
    }

    /// Validates the size, then draws with `draw` to a temporary file and
    /// renames it onto `path`.
    fn save_with<F>(&self, path: &Path, extension: &str, draw: F) -> Result<(), PlotError>
    where
        F: FnOnce(&Path, (u32, u32)) -> Result<(), Box<dyn Error>>,
    {
        let (width, height) = self.size;
        if width < MIN_WIDTH || height < MIN_HEIGHT {
            return Err(PlotError::InvalidSize { path: path.to_path_buf(), width, height });
        }
        if !font_available() {
            return Err(PlotError::Draw {
                path: path.to_path_buf(),
                message: "the embedded DejaVu Sans font could not be loaded".to_string(),
            });
        }
        write_atomically(path, extension, |tmp| {
            // Plotting is a side task of long simulations, so a panic inside
            // the plotting library is turned into an error rather than
            // allowed to abort the run.
            match panic::catch_unwind(AssertUnwindSafe(|| draw(tmp, self.size))) {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(payload) => Err(format!("plotting panicked: {}", panic_message(&*payload))),
            }
        })
    }

    /// Draws the whole plot onto `root`.
    fn render<DB>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), Box<dyn Error>>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let data = PreparedData::new(self);
        let (width, height) = self.size;
        let x_axis = TickedAxis {
            ticks: linear_ticks(&data.x_range, tick_budget(width, 90)),
            coord: RangedCoordf64::from(data.x_range.clone()),
        };
        let y_budget = tick_budget(height, 55);
        if self.log_y {
            let y_axis = TickedAxis {
                ticks: log_ticks(&data.y_range, y_budget),
                coord: LogCoord::from(data.y_range.clone().log_scale()),
            };
            self.draw_chart(root, &data, x_axis, y_axis)
        } else {
            let y_axis = TickedAxis {
                ticks: linear_ticks(&data.y_range, y_budget),
                coord: RangedCoordf64::from(data.y_range.clone()),
            };
            self.draw_chart(root, &data, x_axis, y_axis)
        }
    }

    /// Draws the axes, reference lines, series and legend, with the y axis
    /// given by `y_coord` (linear or logarithmic).
    fn draw_chart<DB, Y>(
        &self,
        root: &DrawingArea<DB, Shift>,
        data: &PreparedData,
        x_axis: TickedAxis<RangedCoordf64>,
        y_axis: TickedAxis<Y>,
    ) -> Result<(), Box<dyn Error>>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
        Y: Ranged<ValueType = f64>,
    {
        // The tick lists are cloned because the axes move into the chart.
        let x_ticks = x_axis.ticks.clone();
        let y_ticks = y_axis.ticks.clone();
        // Text, lines and spacing scale with the image, relative to the
        // default size, so small and large plots keep their proportions.
        let (width, height) = self.size;
        let scale = (f64::from(width) / f64::from(DEFAULT_WIDTH))
            .min(f64::from(height) / f64::from(DEFAULT_HEIGHT))
            .clamp(0.6, 3.0);
        let px = |v: f64| (v * scale).round().max(1.0) as u32;
        let pxi = |v: f64| px(v) as i32;
        let tick_font = (FONT_FAMILY, px(13.0)).into_font();
        let desc_font = (FONT_FAMILY, px(16.0)).into_font();
        let line_width = px(2.0);

        // The y label area must fit the widest tick label plus the rotated
        // axis description.
        let widest_y_tick = y_ticks.bold.iter().map(|&v| y_ticks.format(v).chars().count()).max().unwrap_or(1);
        let y_desc_space = if self.y_label.is_empty() { 0.0 } else { 26.0 };
        let y_area = px(widest_y_tick as f64 * 8.0 + 16.0 + y_desc_space);
        let x_area = px(if self.x_label.is_empty() { 30.0 } else { 50.0 });

        let mut builder = ChartBuilder::on(root);
        builder.margin(px(14.0)).margin_right(px(24.0)).x_label_area_size(x_area).y_label_area_size(y_area);
        if !self.title.is_empty() {
            builder.caption(&self.title, (FONT_FAMILY, px(22.0)));
        }
        let mut chart = builder.build_cartesian_2d(x_axis, y_axis)?;

        let x_formatter = |v: &f64| x_ticks.format(*v);
        let y_formatter = |v: &f64| y_ticks.format(*v);
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_label_formatter(&x_formatter)
            .y_label_formatter(&y_formatter)
            .label_style(tick_font)
            .axis_desc_style(desc_font)
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(BLACK.mix(0.04))
            .axis_style(BLACK.mix(0.8))
            .draw()?;

        let mut has_legend = false;
        let x_span = data.x_range.clone();

        for (name, y) in &data.hlines {
            let style = ShapeStyle::from(&REFERENCE_GREY).stroke_width(line_width);
            let line = vec![(x_span.start, *y), (x_span.end, *y)];
            let annotation = chart.draw_series(DashedLineSeries::new(line, pxi(10.0), pxi(6.0), style))?;
            if !name.is_empty() {
                has_legend = true;
                annotation.label(name.as_str()).legend(move |(x, y)| {
                    // The legend sample shows two dashes to match the line.
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (pxi(8.0), 0)], style)
                        + PathElement::new(vec![(pxi(12.0), 0), (pxi(20.0), 0)], style)
                });
            }
        }

        for (index, series) in data.series.iter().enumerate() {
            let colour = PALETTE[index % PALETTE.len()];
            let style = ShapeStyle::from(&colour).stroke_width(line_width);
            let mut labelled = false;
            for segment in &series.segments {
                let annotation = if segment.len() == 1 {
                    // A lone point has no line to draw, so it gets a marker.
                    chart.draw_series(std::iter::once(Circle::new(segment[0], pxi(3.0), colour.filled())))?
                } else {
                    chart.draw_series(LineSeries::new(segment.iter().copied(), style))?
                };
                if !labelled && !series.name.is_empty() {
                    labelled = true;
                    has_legend = true;
                    annotation
                        .label(series.name.as_str())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + pxi(20.0), y)], style));
                }
            }
            if !labelled && !series.name.is_empty() {
                // A series without drawable points still gets a legend entry,
                // so it is visible that it was recorded but empty.
                has_legend = true;
                chart
                    .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                    .label(format!("{} (no data)", series.name))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + pxi(20.0), y)], style));
            }
        }

        if has_legend {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .margin(px(10.0))
                .legend_area_size(px(30.0))
                .label_font((FONT_FAMILY, px(14.0)))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .draw()?;
        }
        Ok(())
    }
}

/// Registers the embedded font once and reports whether that succeeded.
fn font_available() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| register_font(FONT_FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok())
}

/// Extracts a readable message from a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Runs `draw` on a hidden temporary file next to `path`, then renames it onto
/// `path`; the temporary file is removed on failure.
///
/// The temporary name ends in `.{extension}` because the PNG encoder picks
/// the image format from the file extension.
fn write_atomically<F>(path: &Path, extension: &str, draw: F) -> Result<(), PlotError>
where
    F: FnOnce(&Path) -> Result<(), String>,
{
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io_error = |error: io::Error| PlotError::Io { path: path.to_path_buf(), error };

    let file_name = path
        .file_name()
        .ok_or_else(|| io_error(io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name")))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let metadata = fs::metadata(dir).map_err(|e| {
        io_error(io::Error::new(e.kind(), format!("directory {} is not accessible: {e}", dir.display())))
    })?;
    if !metadata.is_dir() {
        return Err(io_error(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{} is not a directory", dir.display()),
        )));
    }

    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{}.{}-{unique}.tmp.{extension}", file_name.to_string_lossy(), std::process::id()));

    let result = draw(&tmp)
        .map_err(|message| PlotError::Draw { path: path.to_path_buf(), message: message.replace(['\n', '\r'], " ") })
        .and_then(|()| {
            // Flushing to disk before the rename makes the plot survive a
            // crash of the whole machine, not only of the process.
            fs::OpenOptions::new().write(true).open(&tmp).and_then(|file| file.sync_all()).map_err(io_error)
        })
        .and_then(|()| fs::rename(&tmp, path).map_err(io_error));
    if result.is_err() {
        // The temporary file may not exist, so a failure here is expected.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A series reduced to its drawable points, split into connected segments.
struct PreparedSeries {
    name: String,
    segments: Vec<Vec<(f64, f64)>>,
}

/// The drawable content of a plot and the axis ranges that fit it.
struct PreparedData {
    series: Vec<PreparedSeries>,
    hlines: Vec<(String, f64)>,
    x_range: Range<f64>,
    y_range: Range<f64>,
}

impl PreparedData {
    /// Filters out points that cannot be drawn and computes the axis ranges.
    fn new(plot: &LinePlot) -> Self {
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

/// The smallest and largest of a set of finite values.
#[derive(Debug, Clone, Copy, Default)]
struct Bounds {
    min_max: Option<(f64, f64)>,
}

impl Bounds {
    /// Includes `v` in the bounds.
    fn add(&mut self, v: f64) {
        self.min_max = Some(match self.min_max {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    }
}

/// Returns a range around `bounds` widened by `margin` of its span on both
/// sides, or a sensible range for empty or constant data.
fn padded_linear_range(bounds: Bounds, margin: f64) -> Range<f64> {
    let Some((lo, hi)) = bounds.min_max else {
        return 0.0..1.0;
    };
    // Working with halves avoids overflow for values near `f64::MAX`.
    let half_span = hi / 2.0 - lo / 2.0;
    let pad = if half_span > 0.0 {
        2.0 * half_span * margin
    } else if lo != 0.0 {
        lo.abs() * 0.1
    } else {
        1.0
    };
    let start = (lo - pad).max(f64::MIN);
    let end = (hi + pad).min(f64::MAX);
    if start < end { start..end } else { lo - 1.0..lo + 1.0 }
}

/// Returns a positive range around `bounds` widened by `margin` of its span
/// in log space, or a sensible range for empty or constant data.
fn padded_log_range(bounds: Bounds, margin: f64) -> Range<f64> {
    let Some((lo, hi)) = bounds.min_max else {
        return 0.1..10.0;
    };
    let (log_lo, log_hi) = (lo.log10(), hi.log10());
    let pad = if log_hi > log_lo { (log_hi - log_lo) * margin } else { 0.5 };
    let start = 10f64.powf(log_lo - pad).max(f64::MIN_POSITIVE);
    let end = 10f64.powf(log_hi + pad).min(f64::MAX);
    if start < end { start..end } else { f64::MIN_POSITIVE..f64::MAX }
}

/// How many labelled ticks fit along an axis of `pixels`, one per `spacing`.
fn tick_budget(pixels: u32, spacing: u32) -> usize {
    ((pixels / spacing) as usize).clamp(3, 12)
}

/// An axis whose tick positions are chosen by this crate rather than by
/// plotters.
struct TickedAxis<R> {
    /// The mapping from values to pixels (linear or logarithmic).
    coord: R,
    /// The ticks to draw.
    ticks: Ticks,
}

impl<R: Ranged<ValueType = f64>> Ranged for TickedAxis<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.coord.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() { self.ticks.light.clone() } else { self.ticks.bold.clone() }
    }

    fn range(&self) -> Range<f64> {
        self.coord.range()
    }
}

/// The tick positions of one axis and how to label them.
#[derive(Debug, Clone)]
struct Ticks {
    /// Labelled ticks with bold grid lines.
    bold: Vec<f64>,
    /// Unlabelled ticks with light grid lines.
    light: Vec<f64>,
    /// The spacing of labelled ticks, or `None` if labels should be precise
    /// relative to each value (logarithmic ticks).
    step: Option<f64>,
}

impl Ticks {
    /// Formats a tick value with just enough digits to tell ticks apart.
    fn format(&self, v: f64) -> String {
        let resolution = self.step.unwrap_or(v.abs() / 100.0);
        format_number(v, resolution)
    }
}

/// Formats `v` with just enough digits to distinguish values `resolution`
/// apart, switching to scientific notation for very large or small numbers.
fn format_number(v: f64, resolution: f64) -> String {
    let magnitude = v.abs();
    if v == 0.0 || !v.is_finite() || (resolution > 0.0 && magnitude < resolution * 1e-6) {
        return if v.is_finite() { "0".to_string() } else { v.to_string() };
    }
    let resolution = if resolution > 0.0 && resolution.is_finite() { resolution } else { magnitude / 100.0 };
    if (1e-3..1e5).contains(&magnitude) {
        let decimals = (-resolution.log10()).ceil().clamp(0.0, 15.0) as usize;
        trim_zeros(&format!("{v:.decimals$}"))
    } else {
        let digits = (magnitude.log10().floor() - resolution.log10().floor()).clamp(0.0, 15.0);
        let text = format!("{v:.digits$e}", digits = digits as usize);
        match text.split_once('e') {
            Some((mantissa, exponent)) => format!("{}e{exponent}", trim_zeros(mantissa)),
            None => text,
        }
    }
}

/// Removes trailing zeros after a decimal point, and the point if it is left
/// bare.
fn trim_zeros(text: &str) -> String {
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text.to_string() }
}

/// Chooses evenly spaced ticks at round numbers (1, 2 or 5 times a power of
/// ten), at most about `budget` of them, with light ticks in between.
fn linear_ticks(range: &Range<f64>, budget: usize) -> Ticks {
    let empty = Ticks { bold: Vec::new(), light: Vec::new(), step: None };
    let span = range.end - range.start;
    if !(span.is_finite() && span > 0.0) {
        return empty;
    }
    let (step, mantissa) = nice_step(span / budget as f64);
    if !(step.is_finite() && step > 0.0) {
        return empty;
    }
    let subdivisions = if mantissa == 2.0 { 4.0 } else { 5.0 };
    let bold = multiples_in(range, step, 100);
    let light = multiples_in(range, step / subdivisions, 500);
    Ticks { step: Some(step), bold, light }
}

/// Rounds `raw` up to 1, 2 or 5 times a power of ten, returning the step and
/// its mantissa.
fn nice_step(raw: f64) -> (f64, f64) {
    let power = 10f64.powf(raw.log10().floor());
    let ratio = raw / power;
    let mantissa = if ratio <= 1.0 {
        1.0
    } else if ratio <= 2.0 {
        2.0
    } else if ratio <= 5.0 {
        5.0
    } else {
        10.0
    };
    (mantissa * power, mantissa)
}

/// Lists the integer multiples of `step` within `range`, or nothing if there
/// would be more than `limit`.
fn multiples_in(range: &Range<f64>, step: f64, limit: usize) -> Vec<f64> {
    let first = (range.start / step).ceil();
    let last = (range.end / step).floor();
    if !(first.is_finite() && last.is_finite()) || last - first > limit as f64 {
        return Vec::new();
    }
    let mut values = Vec::new();
    let mut k = first;
    while k <= last {
        values.push(k * step);
        k += 1.0;
    }
    values
}

/// Returns exactly 10^`exponent`, as parsed from decimal text.
fn pow10(exponent: i32) -> f64 {
    format!("1e{exponent}").parse().unwrap_or(f64::NAN)
}

/// Chooses ticks for a logarithmic axis over a positive `range`: powers of
/// ten when the range spans several decades, otherwise round numbers within
/// it.
fn log_ticks(range: &Range<f64>, budget: usize) -> Ticks {
    let (lo, hi) = (range.start, range.end);
    let first = lo.log10().ceil();
    let last = hi.log10().floor();
    if !(first.is_finite() && last.is_finite()) {
        return linear_ticks(range, budget);
    }
    let (first, last) = (first as i32, last as i32);
    let within = |v: &f64| *v >= lo && *v <= hi;
    let multiples = |mantissas: &[f64]| -> Vec<f64> {
        (first - 1..=last).flat_map(|e| mantissas.iter().map(move |&m| m * pow10(e))).filter(within).collect()
    };
    let all_digits = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];

    let decades = last - first + 1;
    if decades >= 2 {
        let stride = (decades as usize).div_ceil(budget).max(1);
        let bold: Vec<f64> = (first..=last).step_by(stride).map(pow10).collect();
        let light = if stride == 1 { multiples(&all_digits) } else { (first..=last).map(pow10).collect() };
        return Ticks { bold, light, step: None };
    }
    for mantissas in [&[1.0, 2.0, 5.0][..], &all_digits[..]] {
        let bold = multiples(mantissas);
        if bold.len() >= 3 {
            return Ticks { bold, light: multiples(&all_digits), step: None };
        }
    }
    // The range is too narrow for round numbers at each decade, so ticks are
    // evenly spaced as on a linear axis.
    linear_ticks(range, budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

    /// Creates a fresh, empty directory for one test.
    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("apical-plot-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Checks that `path` holds a PNG of at least `min_bytes` and that no
    /// temporary files were left next to it.
    fn assert_png(path: &Path, min_bytes: usize) {
        let bytes = fs::read(path).unwrap();
        assert!(bytes.starts_with(PNG_SIGNATURE), "{} is not a PNG", path.display());
        assert!(bytes.len() > min_bytes, "{} has only {} bytes", path.display(), bytes.len());
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp."))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    fn decaying(rate: f64) -> Vec<(f64, f64)> {
        (0..200)
            .map(|i| {
                let t = f64::from(i) * 0.5;
                (t, (-rate * t).exp() + 1e-4)
            })
            .collect()
    }

    #[test]
    fn embedded_font_registers() {
        assert!(font_available());
    }

    #[test]
    fn two_series_with_log_y_make_a_png() {
        let dir = temp_dir("two-series");
        let path = dir.join("potential.png");
        LinePlot::new("Squared apical potential")
            .x_label("time (ms)")
            .y_label("squared apical potential")
            .log_y(true)
            .series(Series::new("layer 1", decaying(0.05)))
            .series(Series::new("layer 2", decaying(0.1)))
            .hline("tolerance", 1e-3)
            .save_png(&path)
            .unwrap();
        assert_png(&path, 10_000);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn awkward_series_still_make_pngs() {
        let dir = temp_dir("awkward");
        let cases: Vec<(&str, bool, Vec<Series>)> = vec![
            ("no-series", false, vec![]),
            ("empty", false, vec![Series::new("empty", [])]),
            ("empty-log", true, vec![Series::new("empty", [])]),
            ("constant", false, vec![Series::from_values("c", [3.0; 10])]),
            ("constant-zero", false, vec![Series::from_values("z", [0.0; 10])]),
            ("constant-log", true, vec![Series::from_values("c", [3.0; 10])]),
            ("single-point", false, vec![Series::new("p", [(1.0, 2.0)])]),
            ("all-nan", false, vec![Series::from_values("nan", [f64::NAN, f64::INFINITY])]),
            ("some-nan", true, vec![Series::from_values("gaps", [1.0, f64::NAN, 0.5, 0.2, -1.0, 0.1, 0.05])]),
            ("non-positive-log", true, vec![Series::from_values("neg", [0.0, -1.0, -2.0])]),
            ("huge", false, vec![Series::new("huge", [(-f64::MAX, -f64::MAX), (f64::MAX, f64::MAX)])]),
            ("tiny-log", true, vec![Series::from_values("tiny", [5e-324, 1e-300, f64::MAX])]),
            ("narrow", false, vec![Series::from_values("narrow", [1.0, 1.0 + 1e-12, 1.0 - 1e-12])]),
        ];
        for (name, log_y, series) in cases {
            let path = dir.join(format!("{name}.png"));
            let plot = LinePlot { title: format!("case {name}"), log_y, series, ..LinePlot::default() };
            plot.save_png(&path).unwrap_or_else(|e| panic!("case {name}: {e}"));
            assert_png(&path, 2_000);
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn svg_is_written() {
        let dir = temp_dir("svg");
        let path = dir.join("plot.svg");
        LinePlot::new("SVG").series(Series::new("a", decaying(0.1))).save_svg(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("<svg"));
        assert!(text.contains("SVG"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn existing_file_is_replaced() {
        let dir = temp_dir("replace");
        let path = dir.join("plot.png");
        fs::write(&path, b"old").unwrap();
        LinePlot::new("new").series(Series::from_values("a", [1.0, 2.0])).save_png(&path).unwrap();
        assert_png(&path, 2_000);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_path() {
        let dir = temp_dir("missing");
        let path = dir.join("does-not-exist").join("plot.png");
        let error = LinePlot::new("x").save_png(&path).unwrap_err();
        assert!(matches!(
            &error,
            PlotError::Io { error, .. } if error.kind() == io::ErrorKind::NotFound
        ));
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(!message.contains('\n'), "{message}");
        assert!(!path.exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn too_small_size_is_an_error() {
        let dir = temp_dir("small");
        let path = dir.join("plot.png");
        let error = LinePlot::new("x").size(10, 10).save_png(&path).unwrap_err();
        assert!(matches!(error, PlotError::InvalidSize { .. }));
        assert!(!path.exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn minimum_size_draws() {
        let dir = temp_dir("min-size");
        let path = dir.join("plot.png");
        LinePlot::new("a rather long title for such a small image")
            .x_label("x")
            .y_label("y")
            .series(Series::new("a", decaying(0.1)))
            .hline("h", 0.5)
            .size(MIN_WIDTH, MIN_HEIGHT)
            .save_png(&path)
            .unwrap();
        assert_png(&path, 1_000);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn numbers_are_formatted_compactly() {
        assert_eq!(format_number(0.30000000000000004, 0.1), "0.3");
        assert_eq!(format_number(1500.0, 500.0), "1500");
        assert_eq!(format_number(2e-5, 2e-7), "2e-5");
        assert_eq!(format_number(1e-17, 0.1), "0");
        assert_eq!(format_number(2.5e6, 5e5), "2.5e6");
        assert_eq!(format_number(-0.25, 0.05), "-0.25");
    }

    #[test]
    fn ticks_cover_their_ranges() {
        let linear = linear_ticks(&(0.0..1.0), 10);
        assert_eq!(linear.bold.len(), 11);
        let log = log_ticks(&(1e-5..1.0), 10);
        assert_eq!(log.bold.len(), 6);
        // A range within one decade still gets labelled ticks.
        assert!(log_ticks(&(2.0..8.0), 10).bold.len() >= 3);
        assert!(log_ticks(&(0.95..1.05), 10).bold.len() >= 2);
    }
}
