//! Drawing a [`LinePlot`] onto a plotters drawing area: the chart layout and
//! margins, the series colours and line styles, reference lines and the
//! legend.

use std::error::Error;

use plotters::coord::Shift;
use plotters::coord::combinators::LogCoord;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::axis::{TickedAxis, linear_ticks, log_ticks, tick_budget};
use crate::font::FONT_FAMILY;
use crate::plot::{DEFAULT_HEIGHT, DEFAULT_WIDTH, LinePlot};
use crate::series::PreparedData;

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

impl LinePlot {
    /// Draws the whole plot onto `root`.
    pub(crate) fn render<DB>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), Box<dyn Error>>
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
