//! The error of a run: every lower layer's error, each already one line.

use crate::engine::config::ConfigError;
use crate::engine::microcircuit::Diverged;
use crate::engine::network::WeightFileError;
use crate::io::codec::CheckpointError;
use crate::io::files::WriteError;
use crate::io::npy::NpyError;

/// Everything that can end a run, each with a one-line message naming the file, field or step.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A configuration value is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The simulation diverged.
    #[error(transparent)]
    Diverged(#[from] Diverged),
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A plot could not be written.
    #[error(transparent)]
    Plot(#[from] apical_plot::PlotError),
    /// A data set could not be read.
    #[error(transparent)]
    Dataset(#[from] apical_datasets::DatasetError),
    /// The weight file of `init.weights` cannot be read or does not fit the network.
    #[error("init.weights: {0}")]
    WeightFile(#[from] WeightFileError),
    /// A NumPy file could not be read or written.
    #[error(transparent)]
    Npy(#[from] NpyError),
    /// A checkpoint could not be read.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The run stopped after a resume checkpoint because its progress asked it to.
    #[error("{experiment} stopped after its checkpoint at {at}; continue it with --resume")]
    Stopped {
        /// The experiment.
        experiment: String,
        /// Where it stopped, e.g. `pattern 200` or `t = 500 ms`.
        at: String,
    },
    /// Anything else, already phrased as one line.
    #[error("{0}")]
    Other(String),
}
