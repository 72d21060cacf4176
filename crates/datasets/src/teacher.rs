//! The random teacher network of Fig. 2 of Sacramento et al. (2018).
//!
//! A teacher with layer sizes `n_0, n_1, …, n_N` and gains `k_1, …, k_N`
//! maps an input rate vector `r_0` to output voltages by
//!
//! ```text
//! u_1 = k_1 W_1 r_0                  (φ is not applied to the input)
//! u_l = k_l W_l φ(u_{l-1})           for l = 2, …, N
//! ```
//!
//! and the target rate is `φ(u_N)`. The weights are drawn independently from
//! U(−1, 1) with a seeded [`Xoshiro256PlusPlus`]. The paper's teacher has sizes
//! 30-20-10 and gains [2, 10] ([`PAPER_SIZES`], [`PAPER_GAINS`]).
//!
//! This crate has no numeric dependencies, so the rate function φ is passed in
//! as a closure.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// The teacher's layer sizes in the paper: 30 inputs, 20 hidden, 10 outputs.
pub const PAPER_SIZES: [usize; 3] = [30, 20, 10];
/// The teacher's per-layer gains in the paper.
pub const PAPER_GAINS: [f64; 2] = [2.0, 10.0];

/// A fixed random feedforward network that produces regression targets.
#[derive(Clone, Debug)]
pub struct Teacher {
    /// The layer sizes `n_0, …, n_N`, input first.
    sizes: Vec<usize>,
    /// The gains `k_1, …, k_N`; `gains[l]` scales the weighted sum of layer `l + 1`.
    gains: Vec<f64>,
    /// The weight matrices, row-major; see [`Teacher::weights`].
    weights: Vec<Vec<f64>>,
    /// Scratch for the voltages of the current hidden layer.
    voltages: Vec<f64>,
    /// Scratch for the rates of the previous hidden layer.
    rates: Vec<f64>,
}

impl Teacher {
    /// Creates a teacher with layer sizes `sizes` (input first) and gains
    /// `gains` (one per weight layer), drawing every weight from U(−1, 1)
    /// with a [`Xoshiro256PlusPlus`] seeded by `seed`.
    ///
    /// The weights are drawn layer by layer, each matrix in row-major order,
    /// so the same sizes and seed always give the same weights.
    ///
    /// # Panics
    ///
    /// Panics if `sizes` has fewer than two entries, if a size is zero, or if
    /// `gains.len() != sizes.len() - 1`.
    pub fn new(sizes: &[usize], gains: &[f64], seed: u64) -> Teacher {
        check_shape(sizes, gains);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let weights = sizes
            .windows(2)
            .map(|pair| (0..pair[0] * pair[1]).map(|_| rng.random_range(-1.0..1.0)).collect())
            .collect();
        Teacher::from_weights(sizes, gains, weights)
    }

    /// The teacher of the paper's Fig. 2: sizes 30-20-10, gains [2, 10].
    pub fn paper(seed: u64) -> Teacher {
        Teacher::new(&PAPER_SIZES, &PAPER_GAINS, seed)
    }

    /// Creates a teacher with the given weights, laid out as described in
    /// [`Teacher::weights`].
    ///
    /// # Panics
    ///
    /// Panics if `sizes` has fewer than two entries, if a size is zero, if
    /// `gains.len() != sizes.len() - 1`, or if the weights do not have one
    /// matrix of `sizes[l + 1] * sizes[l]` entries per layer `l`.
    pub fn from_weights(sizes: &[usize], gains: &[f64], weights: Vec<Vec<f64>>) -> Teacher {
        check_shape(sizes, gains);
        assert_eq!(weights.len(), sizes.len() - 1, "teacher needs one weight matrix per layer");
        for (l, w) in weights.iter().enumerate() {
            assert_eq!(
                w.len(),
                sizes[l + 1] * sizes[l],
                "weight matrix {l} must hold {} x {} entries",
                sizes[l + 1],
                sizes[l]
            );
        }
        // Only hidden layers need scratch; the input and output use the caller's slices.
        let hidden = sizes[1..sizes.len() - 1].iter().copied().max().unwrap_or(0);
        Teacher {
            sizes: sizes.to_vec(),
            gains: gains.to_vec(),
            weights,
            voltages: vec![0.0; hidden],
            rates: vec![0.0; hidden],
        }
    }

    /// The number of inputs, `sizes[0]`.
    pub fn input_size(&self) -> usize {
        self.sizes[0]
    }

    /// The number of outputs, the last entry of `sizes`.
    pub fn output_size(&self) -> usize {
        self.sizes[self.sizes.len() - 1]
    }

    /// The layer sizes, input first.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// The gains, one per weight layer.
    pub fn gains(&self) -> &[f64] {
        &self.gains
    }

    /// The weight matrices, one per layer. Matrix `l` maps layer `l` (size
    /// `n_in = sizes[l]`) to layer `l + 1` (size `sizes[l + 1]`) and is stored
    /// row-major: `weights()[l][i * n_in + j]` is the weight from unit `j` of
    /// layer `l` to unit `i` of layer `l + 1`. The gains are not folded in.
    pub fn weights(&self) -> &[Vec<f64>] {
        &self.weights
    }

    /// Computes the output voltages `u_N` for the input rates `r0` and writes
    /// them into `out`. The rate function `phi` is applied to every hidden
    /// layer, but neither to the input nor to the output. Does not allocate.
    ///
    /// # Panics
    ///
    /// Panics if `r0.len() != self.input_size()` or
    /// `out.len() != self.output_size()`.
    pub fn voltage(&mut self, r0: &[f64], phi: impl Fn(f64) -> f64, out: &mut [f64]) {
        assert_eq!(r0.len(), self.input_size(), "teacher input size mismatch");
        assert_eq!(out.len(), self.output_size(), "teacher output size mismatch");
        let layers = self.weights.len();
        for l in 0..layers {
            let n_out = self.sizes[l + 1];
            let input = if l == 0 { r0 } else { &self.rates[..self.sizes[l]] };
            let target = if l + 1 == layers { &mut *out } else { &mut self.voltages[..n_out] };
            weighted_sum(&self.weights[l], self.gains[l], input, target);
            if l + 1 < layers {
                for (r, &u) in self.rates[..n_out].iter_mut().zip(&self.voltages) {
                    *r = phi(u);
                }
            }
        }
    }

    /// Computes the target rates `φ(u_N)` for the input rates `r0` and writes
    /// them into `out`. Does not allocate.
    ///
    /// # Panics
    ///
    /// Panics if `r0.len() != self.input_size()` or
    /// `out.len() != self.output_size()`.
    pub fn rate(&mut self, r0: &[f64], phi: impl Fn(f64) -> f64, out: &mut [f64]) {
        self.voltage(r0, &phi, out);
        for value in out.iter_mut() {
            *value = phi(*value);
        }
    }
}

/// Checks the shape contract shared by the constructors.
fn check_shape(sizes: &[usize], gains: &[f64]) {
    assert!(sizes.len() >= 2, "teacher needs at least two layer sizes");
    assert!(sizes.iter().all(|&n| n > 0), "teacher layer sizes must be positive");
    assert_eq!(gains.len(), sizes.len() - 1, "teacher needs one gain per weight layer");
}

/// Writes `y = k W x` for a row-major matrix `W` of `y.len()` rows.
fn weighted_sum(w: &[f64], k: f64, x: &[f64], y: &mut [f64]) {
    for (yi, row) in y.iter_mut().zip(w.chunks_exact(x.len())) {
        *yi = k * row.iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relu(x: f64) -> f64 {
        x.max(0.0)
    }

    #[test]
    fn tiny_teacher_matches_hand_computation() {
        // Sizes 2-2-1, gains [2, 3].
        let weights = vec![vec![1.0, -1.0, 0.5, 0.25], vec![2.0, -4.0]];
        let mut teacher = Teacher::from_weights(&[2, 2, 1], &[2.0, 3.0], weights);
        let r0 = [1.0, 2.0];
        // u_1 = 2 * [1 - 2, 0.5 + 0.5] = [-2, 2]; φ(u_1) = [0, 2].
        // u_2 = 3 * (2 * 0 - 4 * 2) = -24.
        let mut out = [0.0];
        teacher.voltage(&r0, relu, &mut out);
        assert_eq!(out, [-24.0]);
        teacher.rate(&r0, relu, &mut out);
        assert_eq!(out, [0.0]);
        // The input is not passed through φ: a negative input still counts.
        teacher.voltage(&[-1.0, 0.0], relu, &mut out);
        // u_1 = 2 * [-1, -0.5] = [-2, -1]; φ(u_1) = [0, 0]; u_2 = 0.
        assert_eq!(out, [0.0]);
        let mut single = Teacher::from_weights(&[2, 1], &[2.0], vec![vec![1.0, 1.0]]);
        single.voltage(&[-1.0, -2.0], relu, &mut out);
        assert_eq!(out, [-6.0]);
    }

    #[test]
    fn deep_teacher_uses_every_layer() {
        let weights = vec![vec![1.0], vec![2.0], vec![3.0], vec![-1.0]];
        let mut teacher = Teacher::from_weights(&[1, 1, 1, 1, 1], &[1.0, 1.0, 1.0, 0.5], weights);
        let mut out = [0.0];
        teacher.voltage(&[1.0], |x| x + 1.0, &mut out);
        // u = 1 -> φ 2 -> 4 -> φ 5 -> 15 -> φ 16 -> -8.
        assert_eq!(out, [-8.0]);
    }

    #[test]
    fn same_seed_same_weights_and_different_seeds_differ() {
        let a = Teacher::paper(7);
        let b = Teacher::paper(7);
        let c = Teacher::paper(8);
        assert_eq!(a.weights(), b.weights());
        assert_ne!(a.weights(), c.weights());
        assert_eq!(a.input_size(), 30);
        assert_eq!(a.output_size(), 10);
        assert_eq!(a.weights()[0].len(), 20 * 30);
        assert_eq!(a.weights()[1].len(), 10 * 20);
        let all: Vec<f64> = a.weights().iter().flatten().copied().collect();
        assert!(all.iter().all(|w| (-1.0..1.0).contains(w)));
        assert!(all.iter().any(|&w| w < -0.5) && all.iter().any(|&w| w > 0.5));
    }

    #[test]
    #[should_panic(expected = "one gain per weight layer")]
    fn gain_count_must_match() {
        Teacher::new(&[3, 2, 1], &[1.0], 0);
    }
}
