//! What a run saves: its configuration and learned state, kept apart, in the checkpoint file
//! format of `io::codec`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::network::{Shape, Weights};
use crate::experiments::config::RunConfig;
use crate::experiments::error::SimError;
use crate::io::codec::{self, CheckpointError};

/// What a checkpoint holds: configuration and learned state are kept apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The run's configuration as TOML.
    pub config: String,
    /// Every weight matrix with its trace.
    pub weights: Weights,
    /// What the experiment needs to continue (its own bincode payload), empty if nothing.
    pub resume: Vec<u8>,
}

impl Checkpoint {
    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<(), SimError> {
        codec::write_file(path, self)?;
        Ok(())
    }

    /// Reads a checkpoint and checks that its weights fit its configuration.
    pub fn load(path: &Path) -> Result<(Checkpoint, RunConfig), CheckpointError> {
        let checkpoint: Checkpoint = codec::read_file(path, "checkpoint")?;
        let config: RunConfig = toml::from_str(&checkpoint.config).map_err(|e| CheckpointError::Invalid {
            path: path.display().to_string(),
            problem: format!("stored configuration: {e}"),
        })?;
        let shape = Shape { sizes: config.network.sizes.clone(), bias: config.network.bias };
        checkpoint.check_shapes(&shape, path)?;
        Ok((checkpoint, config))
    }

    /// Checks every weight matrix against the shapes a network needs.
    pub fn check_shapes(&self, shape: &Shape, path: &Path) -> Result<(), CheckpointError> {
        let expected = shape.named_shapes();
        let found = self.weights.named();
        if expected.len() != found.len() {
            return Err(CheckpointError::Invalid {
                path: path.display().to_string(),
                problem: format!("{} weight matrices for a network that needs {}", found.len(), expected.len()),
            });
        }
        for ((name, want), (_, m)) in expected.into_iter().zip(found) {
            if m.shape() != want {
                let path = path.display().to_string();
                return Err(CheckpointError::Shape { path, name, expected: want, found: m.shape() });
            }
        }
        Ok(())
    }
}

/// Saves a run's final checkpoint with no resume payload and returns its path.
pub(crate) fn save_final(cfg: &RunConfig, weights: &Weights, dir: &Path) -> Result<PathBuf, SimError> {
    let path = dir.join("checkpoint.bin");
    save_checkpoint(cfg, weights, Vec::new(), &path)?;
    Ok(path)
}

/// Saves a checkpoint with the experiment's resume payload to `path` (atomically).
pub(crate) fn save_checkpoint(
    cfg: &RunConfig,
    weights: &Weights,
    resume: Vec<u8>,
    path: &Path,
) -> Result<(), SimError> {
    let config =
        toml::to_string(cfg).map_err(|e| SimError::Other(format!("cannot serialise the configuration: {e}")))?;
    Checkpoint { config, weights: weights.clone(), resume }.save(path)
}
