//! Writing plots to files: [`PlotError`], the PNG and SVG backends, and
//! atomic writing through a temporary file that is renamed into place.

use std::error::Error;
use std::fs;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, IntoDrawingArea, SVGBackend};

use crate::font::font_available;
use crate::plot::{LinePlot, MIN_HEIGHT, MIN_WIDTH};

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

impl LinePlot {
    /// Writes the plot as a PNG image to `path`, atomically.
    ///
    /// The image is drawn to a hidden temporary file in the same directory,
    /// which is then renamed onto `path`, replacing any existing file.
    pub fn save_png(&self, path: &Path) -> Result<(), PlotError> {
        save_png(path, self.size, |root| self.render(root))
    }

    /// Writes the plot as an SVG image to `path`, atomically.
    ///
    /// Text is stored as SVG text elements with the `sans-serif` font family,
    /// so the viewer's font is used for display.
    pub fn save_svg(&self, path: &Path) -> Result<(), PlotError> {
        save_with(path, self.size, "svg", |tmp, size| {
            let root = SVGBackend::new(tmp, size).into_drawing_area();
            self.render(&root)?;
            root.present()?;
            Ok(())
        })
    }
}

/// Draws a PNG image of `size` with `render` and writes it to `path` atomically.
pub(crate) fn save_png(
    path: &Path,
    size: (u32, u32),
    render: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), Box<dyn Error>>,
) -> Result<(), PlotError> {
    save_with(path, size, "png", |tmp, size| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        render(&root)?;
        root.present()?;
        Ok(())
    })
}

/// Validates the size, then draws with `draw` to a temporary file and
/// renames it onto `path`.
fn save_with<F>(path: &Path, size: (u32, u32), extension: &str, draw: F) -> Result<(), PlotError>
where
    F: FnOnce(&Path, (u32, u32)) -> Result<(), Box<dyn Error>>,
{
    let (width, height) = size;
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
        match panic::catch_unwind(AssertUnwindSafe(|| draw(tmp, size))) {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(payload) => Err(format!("plotting panicked: {}", panic_message(&*payload))),
        }
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::Series;

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
}
