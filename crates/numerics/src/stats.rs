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
}
