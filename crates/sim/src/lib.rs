//! Network assembly, engines, experiments, recording and checkpoints of Apical, a simulator of
//! the dendritic cortical microcircuits of Sacramento, Ponte Costa, Bengio & Senn (NeurIPS 2018).
//!
//! The crate has three layers, each a folder, whose imports run one way only:
//! `experiments` → `engine` → `io` (a test reads every `use crate::` path to keep it so).
//!
//! * [`engine`]: the model's configuration ([`engine::config`]), weight shapes and initial
//!   weights ([`network`]), the continuous-time engine (explicit Euler, Euler–Maruyama noise,
//!   always-on plasticity through τ_w traces) with the fixed-point steady-state solver
//!   ([`microcircuit`]), and the batched two-step dynamics of the MNIST runs ([`two_step`]).
//! * [`experiments`]: the run configuration ([`config`]) composing the model with one experiment,
//!   the paper's experiments, [`presets`], saved runs ([`checkpoint`]) and MNIST [`summary`].
//! * [`io`]: atomic writes ([`files`]), the checkpoint codec, NumPy weight files ([`npy`]) and
//!   metrics tables ([`record`]).
//! * [`verify`]: the steady-state updates compared with the backprop oracle (spec §6), on top.
//!
//! The modules are also re-exported at the crate root, so `apical_sim::microcircuit` and
//! `apical_sim::engine::microcircuit` name the same module.
//!
//! ```
//! use apical_sim::{microcircuit::Microcircuit, presets};
//!
//! // The Fig. 1 network starts in the self-predicting state: with no target the apical
//! // compartments are silent at the steady state.
//! // `Microcircuit` alone is `Microcircuit<f64>`; `Microcircuit::<f32>` stores its weights and
//! // traces in f32.
//! let cfg = presets::preset("fig1").unwrap();
//! let mut net: Microcircuit = Microcircuit::new(&cfg).unwrap();
//! net.set_input(&vec![0.5; cfg.network.sizes[0]]);
//! net.settle(1e-13, 1000).expect("converges");
//! assert!(net.apical_sq_norm() < 1e-20);
//! ```

pub mod engine;
pub mod experiments;
pub mod io;
pub mod verify;

pub use engine::{microcircuit, network, two_step};
pub use experiments::error::SimError;
pub use experiments::{checkpoint, config, presets, summary};
pub use io::{files, npy, record};
