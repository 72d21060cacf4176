//! Axis ranges and ticks: padded linear and logarithmic ranges around the
//! data, tick positions at round numbers, compact tick labels, and the
//! plotters axis type that draws exactly these ticks.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// The smallest and largest of a set of finite values.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bounds {
    min_max: Option<(f64, f64)>,
}

impl Bounds {
    /// Includes `v` in the bounds.
    pub(crate) fn add(&mut self, v: f64) {
        self.min_max = Some(match self.min_max {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    }
}

/// Returns a range around `bounds` widened by `margin` of its span on both
/// sides, or a sensible range for empty or constant data.
pub(crate) fn padded_linear_range(bounds: Bounds, margin: f64) -> Range<f64> {
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
pub(crate) fn padded_log_range(bounds: Bounds, margin: f64) -> Range<f64> {
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
pub(crate) fn tick_budget(pixels: u32, spacing: u32) -> usize {
    ((pixels / spacing) as usize).clamp(3, 12)
}

/// An axis whose tick positions are chosen by this crate rather than by
/// plotters.
pub(crate) struct TickedAxis<R> {
    /// The mapping from values to pixels (linear or logarithmic).
    pub(crate) coord: R,
    /// The ticks to draw.
    pub(crate) ticks: Ticks,
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
pub(crate) struct Ticks {
    /// Labelled ticks with bold grid lines.
    pub(crate) bold: Vec<f64>,
    /// Unlabelled ticks with light grid lines.
    light: Vec<f64>,
    /// The spacing of labelled ticks, or `None` if labels should be precise
    /// relative to each value (logarithmic ticks).
    step: Option<f64>,
}

impl Ticks {
    /// Formats a tick value with just enough digits to tell ticks apart.
    pub(crate) fn format(&self, v: f64) -> String {
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
pub(crate) fn linear_ticks(range: &Range<f64>, budget: usize) -> Ticks {
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
pub(crate) fn log_ticks(range: &Range<f64>, budget: usize) -> Ticks {
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
