//! Numerical building blocks of the Apical microcircuit simulator.
//!
//! Everything here is model-agnostic: the crates above it give these pieces their meaning.
//!
//! * [`rate`]: the rate functions r = φ(u) with φ′ and φ⁻¹, computed without overflow for large |u|.
//! * [`vmath`]: eˣ, log(1 + x) and the rate functions over whole slices, vectorised with AVX-512 or
//!   AVX2 and FMA where the CPU has them, with the same results on every instruction set.
//! * [`Matrix`]: a dense column-major matrix of f64 or f32 ([`Element`]) that hands out [`faer`]
//!   views and serialises without faer.
//! * [`kernels`]: matrix–vector products into preallocated outputs, and the fused plasticity pass
//!   that updates a low-pass trace Δ and a weight matrix W in one sweep over memory,
//!
//!   ```text
//!   Δ ← Δ + (dt/τ_w) (post preᵀ − Δ),     W ← W + dt η Δ,
//!   ```
//!
//!   optionally computing the next product W x in the same sweep.
//! * [`LowPass`]: first-order low-pass filters τ dy/dt = x − y, stepped by explicit Euler.
//! * [`rng`]: named, reproducible random streams (xoshiro256++) and Gaussian noise.
//! * [`stats`]: norms, cosines, angles and mean ± sd.
//!
//! ```
//! use apical_numerics::{Matrix, kernels, rate::RateFn};
//!
//! // v = W r for a 2 × 3 weight matrix, then r = φ(v) with the logistic.
//! let w = Matrix::from_fn(2, 3, |i, j| (i + j) as f64 * 0.1);
//! let mut v = vec![0.0; 2];
//! kernels::gemv(&mut v, &w, &[1.0, 2.0, 3.0]);
//! assert!((v[1] - 0.1 * (1.0 + 2.0 * 2.0 + 3.0 * 3.0)).abs() < 1e-12);
//! let mut r = vec![0.0; 2];
//! RateFn::Logistic.apply(&v, &mut r);
//! assert!(r.iter().all(|&x| x > 0.5 && x < 1.0));
//! ```

mod element;
mod filter;
pub mod kernels;
mod matrix;
pub mod rate;
pub mod rng;
pub mod stats;
pub mod vmath;

pub use element::Element;
pub use filter::LowPass;
pub use matrix::{Matrix, ShapeError};

/// The floating-point type of every state, rate and potential, and of weights stored in f64 (the
/// default; see [`Element`] for f32 storage).
pub type Real = f64;
