//! The Yin-Yang data set (Kriener, Göltz, Petrovici et al., 2021), generated from its published
//! description.
//!
//! Points (x, y) are drawn uniformly from the unit square and kept if they lie in the disc of
//! radius R = 0.5 around (0.5, 0.5). With the two small dots of radius r = 0.1 centred at
//! (0.25, 0.5) and (0.75, 0.5), and d_left, d_right the distances to those centres, a point is
//!
//! ```text
//! dot (class 2)  if d_left < r or d_right < r;
//! yin (class 1)  else if d_right ≤ r, or r < d_left ≤ R/2, or (y > R and d_right > R/2);
//! yang (class 0) otherwise.
//! ```
//!
//! The class numbers are those of the published generator. Every sample first draws its class
//! uniformly, then draws points until one falls in that class (rejection sampling), so the
//! classes are balanced in expectation although the dots cover a far smaller area. The input is
//! (x, y, 1 − x, 1 − y), so that every input has the same mean.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::labelled::Labelled;

/// The radius R of the yin-yang disc.
pub const R_BIG: f64 = 0.5;
/// The radius r of the two dots.
pub const R_SMALL: f64 = 0.1;
/// The number of inputs, (x, y, 1 − x, 1 − y).
pub const INPUTS: usize = 4;
/// The number of classes: yang, yin, dot.
pub const CLASSES: usize = 3;
/// The class names, by class number.
pub const CLASS_NAMES: [&str; CLASSES] = ["yang", "yin", "dot"];

/// The class of the point (x, y), or `None` outside the yin-yang disc.
pub fn class_of(x: f64, y: f64) -> Option<usize> {
    if (x - R_BIG).hypot(y - R_BIG) > R_BIG {
        return None;
    }
    let d_right = (x - 1.5 * R_BIG).hypot(y - R_BIG);
    let d_left = (x - 0.5 * R_BIG).hypot(y - R_BIG);
    if d_right < R_SMALL || d_left < R_SMALL {
        return Some(2);
    }
    let yin = d_right <= R_SMALL || (d_left > R_SMALL && d_left <= 0.5 * R_BIG) || (y > R_BIG && d_right > 0.5 * R_BIG);
    Some(usize::from(yin))
}

/// The network input of the point (x, y).
pub fn input_of(x: f64, y: f64) -> Vec<f64> {
    vec![x, y, 1.0 - x, 1.0 - y]
}

/// `size` samples drawn with the generator seeded by `seed`.
pub fn generate(size: usize, seed: u64) -> Labelled {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let samples = (0..size)
        .map(|_| {
            let goal = rng.random_range(0..CLASSES);
            loop {
                let (x, y) = (rng.random::<f64>() * 2.0 * R_BIG, rng.random::<f64>() * 2.0 * R_BIG);
                if class_of(x, y) == Some(goal) {
                    return (input_of(x, y), goal);
                }
            }
        })
        .collect::<Vec<_>>();
    Labelled::new(INPUTS, CLASSES, samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classes_are_balanced() {
        let data = generate(6_000, 42);
        for count in data.class_counts() {
            // One third ± 3.3 standard deviations of a binomial share (σ ≈ 61 samples).
            assert!((1_800..=2_200).contains(&count), "class count {count} of 6000");
        }
    }

    #[test]
    fn every_sample_lies_in_its_region_with_mirrored_inputs() {
        let data = generate(3_000, 7);
        for i in 0..data.len() {
            let v = data.input(i);
            assert_eq!(class_of(v[0], v[1]), Some(data.label(i)));
            assert!((v[0] + v[2] - 1.0).abs() < 1e-15 && (v[1] + v[3] - 1.0).abs() < 1e-15);
        }
    }

    #[test]
    fn the_geometry_matches_the_description() {
        // Outside the disc, the centres of the dots, the upper and lower halves away from them.
        assert_eq!(class_of(0.02, 0.02), None);
        assert_eq!(class_of(0.25, 0.5), Some(2));
        assert_eq!(class_of(0.75, 0.5), Some(2));
        assert_eq!(class_of(0.75 + 0.099, 0.5), Some(2));
        assert_eq!(class_of(0.25, 0.5 + 0.15), Some(1), "the yin bulge around the left dot");
        assert_eq!(class_of(0.75, 0.5 + 0.15), Some(0), "the yang bulge around the right dot");
        assert_eq!(class_of(0.5, 0.95), Some(1), "the top");
        assert_eq!(class_of(0.5, 0.05), Some(0), "the bottom");
        // The disc is divided into halves of equal area: yin = yang by point symmetry about the
        // centre, and each dot covers π r².
        let (mut counts, n) = ([0usize; 4], 400);
        for i in 0..n {
            for j in 0..n {
                let (x, y) = ((i as f64 + 0.5) / n as f64, (j as f64 + 0.5) / n as f64);
                counts[class_of(x, y).unwrap_or(3)] += 1;
            }
        }
        let area = |c: usize| counts[c] as f64 / (n * n) as f64;
        let dot = 2.0 * std::f64::consts::PI * R_SMALL * R_SMALL;
        let half = (std::f64::consts::PI * R_BIG * R_BIG - dot) / 2.0;
        assert!((area(2) - dot).abs() < 2e-3, "dots {} vs {dot}", area(2));
        assert!((area(0) - half).abs() < 2e-3 && (area(1) - half).abs() < 2e-3, "{counts:?}");
    }

    #[test]
    fn a_seed_gives_the_same_samples() {
        assert_eq!(generate(100, 3), generate(100, 3));
        assert_ne!(generate(100, 3), generate(100, 4));
    }
}
