//! Streams of random input patterns, for example for the teacher task.
//!
//! A [`PatternStream`] draws an endless sequence of input vectors from an
//! [`InputDistribution`] with a seeded [`Xoshiro256PlusPlus`]. Its whole state,
//! including the generator, is serialisable, so a checkpointed stream resumes
//! exactly where it stopped. [`test_set`] draws a held-out set of patterns
//! from a generator seeded with `seed ^ TEST_SEED_SALT`, so that the held-out
//! patterns come from a different random sequence than the training stream
//! with the same seed.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::DatasetError;

/// The constant XOR-ed into the seed of [`test_set`], so that the held-out
/// patterns never repeat the training stream of the same seed.
///
/// A training stream seeded with `seed ^ TEST_SEED_SALT` would reproduce the
/// test set of `seed`; do not derive training seeds that way.
pub const TEST_SEED_SALT: u64 = 0x7E57_5E7D_A7A5_E7C0;

/// The distribution from which each input component is drawn independently.
///
/// Serde uses the externally tagged form with snake-case variant names, for
/// example `{ uniform = { low = -1.0, high = 1.0 } }` in TOML. Unknown fields
/// are rejected. (An internally tagged form is avoided because non
/// self-describing formats such as bincode, used for checkpoints, cannot
/// read it.)
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum InputDistribution {
    /// The uniform distribution on `[low, high)`.
    Uniform {
        /// The lower bound (inclusive).
        low: f64,
        /// The upper bound (exclusive up to floating-point rounding, unless equal to `low`).
        high: f64,
    },
}

impl InputDistribution {
    /// U(−1, 1), the default.
    pub fn symmetric() -> InputDistribution {
        InputDistribution::Uniform { low: -1.0, high: 1.0 }
    }

    /// U(0, 1).
    pub fn unit() -> InputDistribution {
        InputDistribution::Uniform { low: 0.0, high: 1.0 }
    }

    /// Checks that the parameters are finite and ordered (`low <= high`).
    ///
    /// # Errors
    ///
    /// Returns [`DatasetError::InvalidDistribution`] describing the problem.
    pub fn validate(&self) -> Result<(), DatasetError> {
        match *self {
            InputDistribution::Uniform { low, high } => {
                if !(low.is_finite() && high.is_finite()) {
                    return Err(DatasetError::InvalidDistribution(format!(
                        "uniform bounds must be finite, got low = {low}, high = {high}"
                    )));
                }
                if low > high {
                    return Err(DatasetError::InvalidDistribution(format!(
                        "uniform bounds must satisfy low <= high, got low = {low}, high = {high}"
                    )));
                }
                Ok(())
            }
        }
    }

    /// Draws one value.
    fn sample(&self, rng: &mut Xoshiro256PlusPlus) -> f64 {
        match *self {
            InputDistribution::Uniform { low, high } => low + (high - low) * rng.random::<f64>(),
        }
    }
}

impl Default for InputDistribution {
    fn default() -> InputDistribution {
        InputDistribution::symmetric()
    }
}

/// An endless, reproducible stream of random input patterns of a fixed size.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PatternStream {
    /// The number of components of each pattern.
    dim: usize,
    /// The distribution of each component.
    dist: InputDistribution,
    /// The generator; its state is part of the checkpoint.
    rng: Xoshiro256PlusPlus,
}

impl PatternStream {
    /// Creates a stream of `dim`-dimensional patterns drawn from `dist`, with
    /// a [`Xoshiro256PlusPlus`] seeded by `seed`.
    pub fn new(dim: usize, dist: InputDistribution, seed: u64) -> PatternStream {
        PatternStream { dim, dist, rng: Xoshiro256PlusPlus::seed_from_u64(seed) }
    }

    /// The number of components of each pattern.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The distribution of each component.
    pub fn distribution(&self) -> InputDistribution {
        self.dist
    }

    /// Writes the next pattern into `out`.
    ///
    /// # Panics
    ///
    /// Panics if `out.len() != self.dim()`.
    pub fn next_into(&mut self, out: &mut [f64]) {
        assert_eq!(out.len(), self.dim, "pattern output size mismatch");
        for value in out.iter_mut() {
            *value = self.dist.sample(&mut self.rng);
        }
    }
}

/// Draws `count` held-out patterns of size `dim` from `dist`.
///
/// The generator is seeded with `seed ^ TEST_SEED_SALT` (see
/// [`TEST_SEED_SALT`]), so the set differs from the training stream
/// `PatternStream::new(dim, dist, seed)` while being reproducible.
pub fn test_set(dim: usize, dist: InputDistribution, count: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut stream = PatternStream::new(dim, dist, seed ^ TEST_SEED_SALT);
    (0..count)
        .map(|_| {
            let mut pattern = vec![0.0; dim];
            stream.next_into(&mut pattern);
            pattern
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(stream: &mut PatternStream, count: usize) -> Vec<f64> {
        let mut all = Vec::new();
        let mut pattern = vec![0.0; stream.dim()];
        for _ in 0..count {
            stream.next_into(&mut pattern);
            all.extend_from_slice(&pattern);
        }
        all
    }

    #[test]
    fn values_stay_in_bounds() {
        for (dist, low, high) in [
            (InputDistribution::symmetric(), -1.0, 1.0),
            (InputDistribution::unit(), 0.0, 1.0),
            (InputDistribution::Uniform { low: 2.0, high: 5.0 }, 2.0, 5.0),
        ] {
            let values = draw(&mut PatternStream::new(30, dist, 1), 200);
            assert!(values.iter().all(|v| (low..high).contains(v)));
            // The whole range is used, not just a corner of it.
            let mid = 0.5 * (low + high);
            assert!(values.iter().any(|&v| v < mid - 0.4 * (high - low)));
            assert!(values.iter().any(|&v| v > mid + 0.4 * (high - low)));
        }
        assert_eq!(InputDistribution::default(), InputDistribution::symmetric());
        let degenerate = InputDistribution::Uniform { low: 3.0, high: 3.0 };
        assert!(draw(&mut PatternStream::new(4, degenerate, 1), 3).iter().all(|&v| v == 3.0));
    }

    #[test]
    fn streams_are_deterministic() {
        let dist = InputDistribution::symmetric();
        let a = draw(&mut PatternStream::new(5, dist, 42), 10);
        let b = draw(&mut PatternStream::new(5, dist, 42), 10);
        let c = draw(&mut PatternStream::new(5, dist, 43), 10);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(test_set(5, dist, 10, 42), test_set(5, dist, 10, 42));
    }

    #[test]
    fn test_set_differs_from_training_stream() {
        let dist = InputDistribution::symmetric();
        let train = draw(&mut PatternStream::new(5, dist, 42), 1000);
        let test = test_set(5, dist, 10, 42);
        assert_eq!(test.len(), 10);
        for pattern in &test {
            assert_eq!(pattern.len(), 5);
            assert!(!train.chunks_exact(5).any(|t| t == pattern.as_slice()));
        }
    }

    #[test]
    fn serialised_stream_resumes_where_it_stopped() {
        let mut stream = PatternStream::new(3, InputDistribution::unit(), 9);
        draw(&mut stream, 4);
        let config = bincode::config::standard();
        let bytes = bincode::serde::encode_to_vec(&stream, config).unwrap();
        let (mut restored, _): (PatternStream, _) = bincode::serde::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(draw(&mut stream, 5), draw(&mut restored, 5));
    }

    #[test]
    fn distribution_deserialises_strictly() {
        #[derive(Deserialize)]
        struct Config {
            input: InputDistribution,
        }
        let config: Config = toml::from_str("input = { uniform = { low = 0.0, high = 1.0 } }").unwrap();
        assert_eq!(config.input, InputDistribution::unit());
        let unknown = toml::from_str::<Config>("input = { uniform = { low = 0.0, high = 1.0, mid = 0.5 } }");
        assert!(unknown.is_err());
        let unknown_variant = toml::from_str::<Config>("input = { normal = { low = 0.0, high = 1.0 } }");
        assert!(unknown_variant.is_err());
        let table: Config = toml::from_str("[input.uniform]\nlow = -1.0\nhigh = 1.0\n").unwrap();
        assert_eq!(table.input, InputDistribution::symmetric());
        assert!(unknown.is_err());
        let text = toml::to_string(&InputDistribution::symmetric()).unwrap();
        assert_eq!(toml::from_str::<InputDistribution>(&text).unwrap(), InputDistribution::symmetric());
    }

    #[test]
    fn validate_rejects_bad_bounds() {
        assert!(InputDistribution::symmetric().validate().is_ok());
        let reversed = InputDistribution::Uniform { low: 1.0, high: -1.0 };
        assert!(reversed.validate().unwrap_err().to_string().contains("low <= high"));
        let infinite = InputDistribution::Uniform { low: 0.0, high: f64::INFINITY };
        assert!(infinite.validate().is_err());
    }
}
