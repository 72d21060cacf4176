//! Norms, angles and summary statistics.

use crate::Real;

/// Σ xᵢ².
pub fn sq_norm(x: &[Real]) -> Real {
    x.iter().map(|v| v * v).sum()
}

/// Σ (xᵢ − yᵢ)².
///
/// # Panics
/// If the slices differ in length.
pub fn sq_distance(x: &[Real], y: &[Real]) -> Real {
    assert_eq!(x.len(), y.len(), "sq_distance: length mismatch");
    x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// The cosine of the angle between two vectors (0 if either is zero).
///
/// # Panics
/// If the slices differ in length.
pub fn cosine(x: &[Real], y: &[Real]) -> Real {
    assert_eq!(x.len(), y.len(), "cosine: length mismatch");
    let d: Real = x.iter().zip(y).map(|(a, b)| a * b).sum();
    let n = (sq_norm(x) * sq_norm(y)).sqrt();
    if n > 0.0 { d / n } else { 0.0 }
}

/// The angle between two vectors in degrees.
pub fn angle_degrees(x: &[Real], y: &[Real]) -> Real {
    cosine(x, y).clamp(-1.0, 1.0).acos().to_degrees()
}

/// The arithmetic mean (NaN for an empty slice).
pub fn mean(x: &[Real]) -> Real {
    x.iter().sum::<Real>() / x.len() as Real
}

/// The sample standard deviation (n − 1 in the denominator; 0 for fewer than two values).
pub fn sd(x: &[Real]) -> Real {
    if x.len() < 2 {
        return 0.0;
    }
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<Real>() / (x.len() - 1) as Real).sqrt()
}

/// Two classifiers compared item by item on the same items: on how many each alone is wrong.
/// With no items both figures are NaN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairedErrors {
    /// Items that only the first classifier gets wrong.
    pub only_a: usize,
    /// Items that only the second classifier gets wrong.
    pub only_b: usize,
    /// All items.
    pub n: usize,
}

impl PairedErrors {
    /// Counts from one flag per item for each classifier, true where it is wrong.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn new(a: &[bool], b: &[bool]) -> PairedErrors {
        assert_eq!(a.len(), b.len(), "PairedErrors: length mismatch");
        let count = |f: fn(bool, bool) -> bool| a.iter().zip(b).filter(|&(&x, &y)| f(x, y)).count();
        PairedErrors { only_a: count(|x, y| x && !y), only_b: count(|x, y| !x && y), n: a.len() }
    }

    /// The first classifier's error minus the second's, in percentage points: 100 (b − c)/n with
    /// b = `only_a`, c = `only_b`.
    pub fn difference_pct(&self) -> Real {
        100.0 * (self.only_a as Real - self.only_b as Real) / self.n as Real
    }

    /// The standard error of [`Self::difference_pct`] when the items are a random sample:
    /// 100 √(b + c − (b − c)²/n) / n, the paired (Wald) estimate from the same counts of
    /// disagreements as McNemar's test. Only the items on which the two disagree contribute.
    pub fn standard_error_pct(&self) -> Real {
        let (b, c, n) = (self.only_a as Real, self.only_b as Real, self.n as Real);
        100.0 * (b + c - (b - c) * (b - c) / n).max(0.0).sqrt() / n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_values() {
        assert_eq!(sq_norm(&[3.0, 4.0]), 25.0);
        assert!((angle_degrees(&[1.0, 0.0], &[1.0, 1.0]) - 45.0).abs() < 1e-12);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
        assert!((sd(&[1.0, 2.0, 3.0, 4.0]) - 1.2909944487358056).abs() < 1e-15);
        assert_eq!(mean(&[1.0, 2.0]), 1.5);
    }

    #[test]
    fn paired_errors_count_disagreements() {
        let a = [true, true, false, false, true, false, false, false];
        let b = [true, false, true, false, false, false, false, false];
        let p = PairedErrors::new(&a, &b);
        assert_eq!(p, PairedErrors { only_a: 2, only_b: 1, n: 8 });
        // 3/8 − 2/8 = 12.5 points. The per-item differences are +1, +1, −1 and five 0s: their
        // mean is 1/8 and their variance 3/8 − 1/64 = 23/64, so the mean's standard error is
        // √(23/64)/√8 = √(23/8)/8.
        assert!((p.difference_pct() - 12.5).abs() < 1e-12);
        assert!((p.standard_error_pct() - 100.0 * (23.0_f64 / 8.0).sqrt() / 8.0).abs() < 1e-12);
        let same = PairedErrors::new(&a, &a);
        assert_eq!((same.difference_pct(), same.standard_error_pct()), (0.0, 0.0));
    }
}
