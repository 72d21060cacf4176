//! Reproducible random streams.
//!
//! Runs use the named generator xoshiro256++ rather than `StdRng`, whose algorithm may change
//! between versions of `rand`. A run's seed is split into independent streams with
//! [`stream`]: stream `k` of seed `s` is seeded by a SplitMix64 hash of (s, k), so the weights,
//! the noise and the patterns of a run never share random numbers, and a run's results do not
//! depend on how many other runs are in flight.

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use crate::Real;

/// The generator used everywhere.
pub type Rng = rand::rngs::Xoshiro256PlusPlus;

/// Names of the independent streams of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Initial weights.
    Weights = 1,
    /// Membrane noise.
    Noise = 2,
    /// Training inputs.
    Inputs = 3,
    /// Held-out test inputs.
    TestInputs = 4,
    /// The teacher network or other target generator.
    Teacher = 5,
    /// Shuffling of training examples.
    Shuffle = 6,
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of stream `stream` of a run seeded with `seed`.
pub fn stream_seed(seed: u64, stream: Stream) -> u64 {
    splitmix64(splitmix64(seed) ^ (stream as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93))
}

/// A generator for stream `stream` of a run seeded with `seed`.
pub fn stream(seed: u64, stream: Stream) -> Rng {
    Rng::seed_from_u64(stream_seed(seed, stream))
}

/// Fills `out` with independent standard Gaussian samples scaled by `scale`.
pub fn fill_gaussian(rng: &mut Rng, scale: Real, out: &mut [Real]) {
    for x in out {
        let z: Real = StandardNormal.sample(rng);
        *x = scale * z;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = stream(7, Stream::Noise).random();
        let b: u64 = stream(7, Stream::Noise).random();
        let c: u64 = stream(7, Stream::Weights).random();
        let d: u64 = stream(8, Stream::Noise).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn gaussian_has_unit_variance() {
        let mut rng = stream(1, Stream::Noise);
        let mut x = vec![0.0; 200_000];
        fill_gaussian(&mut rng, 2.0, &mut x);
        let m = crate::stats::mean(&x);
        let var = x.iter().map(|v| (v - m) * (v - m)).sum::<Real>() / x.len() as Real;
        assert!(m.abs() < 0.02, "mean {m}");
        assert!((var - 4.0).abs() < 0.05, "variance {var}");
    }
}
