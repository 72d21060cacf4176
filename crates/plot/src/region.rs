//! Decision-region maps: [`RegionPlot`], the class a classifier gives every cell of a square
//! grid over the plane, drawn as coloured cells with optional labelled points on top.

use std::error::Error;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::font::FONT_FAMILY;
use crate::output::{PlotError, save_png};

/// Light class colours for the cells and strong ones for the points, by class.
const CELL_COLOURS: [RGBColor; 4] =
    [RGBColor(0xae, 0xc7, 0xe8), RGBColor(0xff, 0xbb, 0x78), RGBColor(0x98, 0xdf, 0x8a), RGBColor(0xff, 0x98, 0x96)];
const POINT_COLOURS: [RGBColor; 4] =
    [RGBColor(0x1f, 0x77, 0xb4), RGBColor(0xff, 0x7f, 0x0e), RGBColor(0x2c, 0xa0, 0x2c), RGBColor(0xd6, 0x27, 0x28)];

/// The most classes a region plot colours apart.
pub const MAX_CLASSES: usize = CELL_COLOURS.len();

/// A map of the classes a classifier assigns over `[0, extent]²`.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionPlot {
    /// The title drawn above the map.
    pub title: String,
    /// The class names for the legend.
    pub classes: Vec<String>,
    /// The number of cells along each side.
    pub side: usize,
    /// The side length of the square, which starts at the origin.
    pub extent: f64,
    /// The class of every cell, row after row from the bottom (`y` slowest); a class at or
    /// above [`MAX_CLASSES`] leaves its cell white.
    pub cells: Vec<usize>,
    /// Points `(x, y, class)` drawn on top, such as the test samples.
    pub points: Vec<(f64, f64, usize)>,
    /// The image size in pixels as `(width, height)`.
    pub size: (u32, u32),
}

impl RegionPlot {
    /// Writes the map as a PNG image to `path`, atomically.
    ///
    /// # Panics
    /// If `cells` does not hold `side²` classes.
    pub fn save_png(&self, path: &Path) -> Result<(), PlotError> {
        assert_eq!(self.cells.len(), self.side * self.side, "cells of a {0}×{0} grid", self.side);
        save_png(path, self.size, |root| self.render(root))
    }

    fn render<DB>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), Box<dyn Error>>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT_FAMILY, 20))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..self.extent, 0.0..self.extent)?;
        chart.configure_mesh().disable_mesh().x_desc("x").y_desc("y").label_style((FONT_FAMILY, 13)).draw()?;
        let cell = self.extent / self.side as f64;
        chart.draw_series(self.cells.iter().enumerate().filter(|(_, c)| **c < MAX_CLASSES).map(|(i, &c)| {
            let (x, y) = ((i % self.side) as f64 * cell, (i / self.side) as f64 * cell);
            Rectangle::new([(x, y), (x + cell, y + cell)], CELL_COLOURS[c].filled())
        }))?;
        for (class, name) in self.classes.iter().enumerate().take(MAX_CLASSES) {
            let colour = POINT_COLOURS[class];
            chart
                .draw_series(
                    self.points
                        .iter()
                        .filter(|p| p.2 == class)
                        .map(|&(x, y, _)| Circle::new((x, y), 2, colour.filled())),
                )?
                .label(name.as_str())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT_FAMILY, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_class_map_is_a_png() {
        let dir = std::env::temp_dir().join(format!("apical-region-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("regions.png");
        let side = 20;
        let plot = RegionPlot {
            title: "two halves".into(),
            classes: vec!["left".into(), "right".into()],
            side,
            extent: 1.0,
            cells: (0..side * side).map(|i| usize::from(i % side >= side / 2)).collect(),
            points: vec![(0.2, 0.5, 0), (0.8, 0.5, 1)],
            size: (500, 500),
        };
        plot.save_png(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 2_000);
        let small = RegionPlot { size: (10, 10), ..plot };
        assert!(matches!(small.save_png(&dir.join("small.png")), Err(PlotError::InvalidSize { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
