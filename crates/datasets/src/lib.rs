//! Data sets and input sources for Apical, a simulator of the dendritic
//! cortical microcircuits of Sacramento et al. (NeurIPS 2018).
//!
//! The crate has these modules:
//!
//! - [`mnist`] reads the MNIST handwritten digits, or any data set stored the
//!   same way, from the four standard IDX files (plain or gzipped) and splits
//!   them as in the paper into 55 000 training, 5 000 validation (the last
//!   5 000 images of the training file) and 10 000 test images; the validation
//!   size is a parameter. Images may have any size and the labels name the
//!   classes. Batches are written as column-major matrices of pixels scaled to
//!   `[0, 1]` and of one-hot targets.
//! - [`teacher`] builds the random teacher network of the paper's Fig. 2
//!   (sizes 30-20-10, weights from U(−1, 1), gains [2, 10]) that turns input
//!   patterns into regression targets.
//! - [`patterns`] draws reproducible, checkpointable streams of random input
//!   patterns and held-out test sets.
//! - [`yin_yang`] generates the Yin-Yang data set (Kriener et al., 2021) from a seed, and
//!   [`bars`] holds the eight 3 × 3 bar images of the Latent Equilibrium paper; both are
//!   [`Labelled`] sets of inputs with classes.
//! - [`synthetic`] writes small learnable data sets in MNIST's IDX files, of
//!   any image size and number of classes, for tests that need the format
//!   without the real images.
//!
//! All randomness comes from a seeded [`rand::rngs::Xoshiro256PlusPlus`], so
//! results are reproducible. Errors from reading files are returned as
//! [`DatasetError`], whose messages are one line naming the file at fault.
//!
//! # Examples
//!
//! Targets for the teacher task:
//!
//! ```
//! use apical_datasets::patterns::{InputDistribution, PatternStream};
//! use apical_datasets::teacher::Teacher;
//!
//! let mut teacher = Teacher::paper(1);
//! let mut inputs = PatternStream::new(teacher.input_size(), InputDistribution::symmetric(), 2);
//! let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
//!
//! let mut r0 = vec![0.0; teacher.input_size()];
//! let mut target = vec![0.0; teacher.output_size()];
//! inputs.next_into(&mut r0);
//! teacher.rate(&r0, sigmoid, &mut target);
//! assert!(target.iter().all(|&r| (0.0..=1.0).contains(&r)));
//! ```
//!
//! A batch of MNIST images; the caller decides where the files are:
//!
//! ```no_run
//! use std::path::Path;
//! use apical_datasets::mnist::{Mnist, Split};
//!
//! let mnist = Mnist::load(Path::new("data/mnist"))?;
//! assert_eq!(mnist.len(Split::Train), 55_000);
//! assert_eq!((mnist.dims(), mnist.classes()), ((28, 28), 10));
//!
//! let indices = [0, 1, 2];
//! let mut images = vec![0.0; mnist.image_size() * indices.len()];
//! let mut targets = vec![0.0; mnist.classes() * indices.len()];
//! mnist.fill_batch(Split::Train, &indices, &mut images);
//! mnist.fill_one_hot(Split::Train, &indices, 0.1, 0.8, &mut targets);
//! # Ok::<(), apical_datasets::DatasetError>(())
//! ```

pub mod bars;
mod error;
mod labelled;
pub mod mnist;
pub mod patterns;
pub mod synthetic;
pub mod teacher;
pub mod yin_yang;

pub use error::DatasetError;
pub use labelled::Labelled;
pub use mnist::{Mnist, Split};
pub use patterns::{InputDistribution, PatternStream};
pub use teacher::Teacher;
