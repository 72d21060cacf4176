//! The Bars data set of the Latent Equilibrium paper (Haider et al., NeurIPS 2021, Fig. 3):
//! 3 × 3 images holding one bar of ones on zeros, in three classes.
//!
//! ```text
//! class 0, horizontal: one of the three rows is 1;
//! class 1, vertical:   one of the three columns is 1;
//! class 2, diagonal:   the main diagonal or the anti-diagonal is 1.
//! ```
//!
//! These are the eight patterns the public code of that paper trains, validates and tests on,
//! without noise. Pixels are numbered row by row.

use crate::labelled::Labelled;

/// The side of an image.
pub const SIDE: usize = 3;
/// The number of pixels.
pub const INPUTS: usize = SIDE * SIDE;
/// The number of classes: horizontal, vertical, diagonal.
pub const CLASSES: usize = 3;

/// The eight patterns, horizontal bars first, then vertical, then the two diagonals.
pub fn patterns() -> Labelled {
    let image = |on: &dyn Fn(usize, usize) -> bool| {
        (0..INPUTS).map(|p| if on(p / SIDE, p % SIDE) { 1.0 } else { 0.0 }).collect::<Vec<f64>>()
    };
    let mut samples = Vec::new();
    for k in 0..SIDE {
        samples.push((image(&|row, _| row == k), 0));
    }
    for k in 0..SIDE {
        samples.push((image(&|_, col| col == k), 1));
    }
    samples.push((image(&|row, col| row == col), 2));
    samples.push((image(&|row, col| row + col == SIDE - 1), 2));
    Labelled::new(INPUTS, CLASSES, samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_distinct_bars_of_three_pixels() {
        let data = patterns();
        assert_eq!(data.len(), 8);
        assert_eq!(data.class_counts(), vec![3, 3, 2]);
        for i in 0..data.len() {
            assert_eq!(data.input(i).iter().sum::<f64>(), 3.0);
            for j in 0..i {
                assert_ne!(data.input(i), data.input(j));
            }
        }
        assert_eq!(data.input(1), [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        assert_eq!(data.input(3), [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(data.input(7), [0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn a_vertical_bar_is_a_transposed_horizontal_one() {
        let data = patterns();
        for k in 0..SIDE {
            let (h, v) = (data.input(k), data.input(SIDE + k));
            for p in 0..INPUTS {
                assert_eq!(h[p], v[(p % SIDE) * SIDE + p / SIDE]);
            }
        }
    }
}
