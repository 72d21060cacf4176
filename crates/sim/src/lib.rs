//! Network assembly, engines, experiments, recording and checkpoints of Apical, a simulator of
//! the dendritic cortical microcircuits of Sacramento, Ponte Costa, Bengio & Senn (NeurIPS 2018).
//!
//! * [`config`]: the TOML run configuration and its validation.
//! * [`network`]: weight shapes, random and self-predicting initialisation, weight files.
//! * [`microcircuit`]: the continuous-time engine (explicit Euler, Euler–Maruyama noise,
//!   always-on plasticity through τ_w traces) and the fixed-point steady-state solver.
//! * [`two_step`]: the simplified two-step dynamics of the MNIST runs, batched as matrix columns.
//! * [`experiments`] and [`presets`]: the paper's experiments as data.
//! * [`record`], [`checkpoint`], [`npy`]: metrics, checkpoints and NumPy weight files.
//! * [`summary`]: the best model, validation means and comparisons of MNIST runs, read back
//!   from their metrics.
//! * [`verify`]: the steady-state updates compared with the backprop oracle (spec §6).
//!
//! ```
//! use apical_sim::{microcircuit::Microcircuit, presets};
//!
//! // The Fig. 1 network starts in the self-predicting state: with no target the apical
//! // compartments are silent at the steady state.
//! let cfg = presets::preset("fig1").unwrap();
//! let mut net = Microcircuit::new(&cfg).unwrap();
//! net.set_input(&vec![0.5; cfg.network.sizes[0]]);
//! net.settle(1e-13, 1000).expect("converges");
//! assert!(net.apical_sq_norm() < 1e-20);
//! ```

pub mod checkpoint;
pub mod config;
pub mod experiments;
pub mod files;
pub mod microcircuit;
pub mod network;
pub mod npy;
pub mod presets;
pub mod record;
pub mod summary;
pub mod two_step;
pub mod verify;

/// Everything that can end a run, each with a one-line message naming the file, field or step.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A configuration value is invalid.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The simulation diverged.
    #[error(transparent)]
    Diverged(#[from] microcircuit::Diverged),
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] files::WriteError),
    /// A plot could not be written.
    #[error(transparent)]
    Plot(#[from] apical_plot::PlotError),
    /// A data set could not be read.
    #[error(transparent)]
    Dataset(#[from] apical_datasets::DatasetError),
    /// A weight file does not fit the network.
    #[error(transparent)]
    WeightFile(#[from] network::WeightFileError),
    /// A NumPy file could not be read or written.
    #[error(transparent)]
    Npy(#[from] npy::NpyError),
    /// A checkpoint could not be read.
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    /// Anything else, already phrased as one line.
    #[error("{0}")]
    Other(String),
}
