//! What a run saves: its configuration and learned state, kept apart, in the checkpoint file
//! format of `io::codec`.
//!
//! Loading trusts nothing in the file: the stored configuration is parsed and validated as a
//! configuration file is, and every weight matrix and trace is checked against the shapes that
//! configuration needs, so that the engines never meet a checkpoint they cannot run.

use std::path::Path;

use apical_numerics::Element;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::engine::config::Stage;
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

    /// Reads a checkpoint, parses and validates its configuration as a configuration file is,
    /// and checks that its weights fit that configuration.
    pub fn load(path: &Path) -> Result<(Checkpoint, RunConfig), CheckpointError> {
        codec::read_file::<Checkpoint>(path, "checkpoint")?.checked(path)
    }

    /// Decodes a checkpoint from the whole content of its file and checks it as [`load`] does;
    /// `path` names the file in errors. The fuzz target `checkpoint` calls it directly.
    ///
    /// [`load`]: Checkpoint::load
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<(Checkpoint, RunConfig), CheckpointError> {
        codec::decode_file::<Checkpoint>(bytes, path, "checkpoint")?.checked(path)
    }

    /// Parses and validates the stored configuration and checks the weights against it.
    fn checked(self, path: &Path) -> Result<(Checkpoint, RunConfig), CheckpointError> {
        let invalid = |problem: String| CheckpointError::Invalid { path: codec::shown(path), problem };
        let config: RunConfig = toml::from_str(&self.config).map_err(|e| {
            let place = e.span().map(|span| place(&self.config, span.start)).unwrap_or_default();
            invalid(format!("its stored configuration does not parse{place}: {}", codec::printable(e.message().trim())))
        })?;
        config.validate().map_err(|e| {
            let (field, problem) = (codec::printable(&e.field), codec::printable(&e.problem));
            invalid(format!("its stored configuration is invalid: {field}: {problem}"))
        })?;
        let shape = Shape { sizes: config.network.sizes.clone(), bias: config.network.bias };
        self.check_shapes(&shape, path)?;
        Ok((self, config))
    }

    /// Checks every weight matrix and trace against the shapes a network needs, and that each
    /// holds as many values as its shape says.
    ///
    /// # Panics
    ///
    /// If `shape` has no layers; a validated configuration has at least two.
    pub fn check_shapes(&self, shape: &Shape, path: &Path) -> Result<(), CheckpointError> {
        let invalid = |problem: String| CheckpointError::Invalid { path: codec::shown(path), problem };
        let w = &self.weights;
        let depth = shape.depth();
        for (kind, found, needed) in [
            ("w_up", w.up.len(), depth),
            ("w_down", w.down.len(), depth - 1),
            ("w_ip", w.ip.len(), depth - 1),
            ("w_pi", w.pi.len(), depth - 1),
        ] {
            if found != needed {
                return Err(invalid(format!("{found} {kind} matrices for a network that needs {needed}")));
            }
        }
        // The same order as `Shape::named_shapes`: bottom-up first, then the three kinds of
        // each hidden layer.
        let synapses = w.up.iter().chain((0..w.down.len()).flat_map(|i| [&w.down[i], &w.ip[i], &w.pi[i]]));
        for ((name, expected), s) in shape.named_shapes().into_iter().zip(synapses) {
            for (label, m) in [(name.clone(), &s.w), (format!("{name} (trace)"), &s.trace)] {
                if m.shape() != expected {
                    let path = codec::shown(path);
                    return Err(CheckpointError::Shape { path, name: label, expected, found: m.shape() });
                }
                if expected.0.checked_mul(expected.1) != Some(m.as_slice().len()) {
                    let (rows, cols) = expected;
                    let values = m.as_slice().len();
                    return Err(invalid(format!("weight matrix {label} holds {values} values for {rows}×{cols}")));
                }
            }
        }
        Ok(())
    }
}

/// Where byte `offset` of `text` lies, as `, line L, column C`.
fn place(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(", line {line}, column {column}")
}

/// The weights, resume payload and configuration stored in `path` by an earlier run of the same
/// configuration. `same_run` maps a configuration to the parts that must match: it clears the
/// fields a resumed run may change, which `may_change` names for the error message.
pub(crate) fn load_resume<T: DeserializeOwned>(
    cfg: &RunConfig,
    path: &Path,
    same_run: impl Fn(&RunConfig) -> RunConfig,
    may_change: &str,
) -> Result<(Weights, T, RunConfig), SimError> {
    let (checkpoint, stored) = Checkpoint::load(path)?;
    if same_run(&stored) != same_run(cfg) {
        return Err(SimError::Other(format!(
            "--resume: {} was written with another configuration (only {may_change} may change)",
            path.display()
        )));
    }
    if checkpoint.resume.is_empty() {
        return Err(SimError::Other(format!("--resume: {} holds no resume state", path.display())));
    }
    let progress = codec::decode(&checkpoint.resume, path, "resume state")?;
    Ok((checkpoint.weights, progress, stored))
}

/// Refuses to resume a run that has done more (`done`) than the configuration's length asks for.
pub(crate) fn check_length(done: u64, length: u64, field: &str, path: &Path) -> Result<(), SimError> {
    if done > length {
        return Err(SimError::Other(format!(
            "--resume: {} is {done} into the run, beyond {field} = {length}",
            path.display()
        )));
    }
    Ok(())
}

/// Refuses to resume at training pattern `done` under a schedule whose stages up to that
/// pattern differ from the stored run's: stages that start later may change, which extends a run.
pub(crate) fn check_schedule(stored: &[Stage], schedule: &[Stage], done: u64, path: &Path) -> Result<(), SimError> {
    let past = |s: &[Stage]| s.iter().take_while(|s| s.from_pattern <= done).copied().collect::<Vec<_>>();
    if past(stored) != past(schedule) {
        return Err(SimError::Other(format!(
            "--resume: {} was trained to pattern {done} under another plasticity.schedule (only stages after it may change)",
            path.display()
        )));
    }
    Ok(())
}

/// Saves a checkpoint with the experiment's resume payload to `path` (atomically). Weights
/// stored in f32 are written as f64, which converts back to the same bits.
pub(crate) fn save_checkpoint<T: Element>(
    cfg: &RunConfig,
    weights: &Weights<T>,
    resume: Vec<u8>,
    path: &Path,
) -> Result<(), SimError> {
    let config =
        toml::to_string(cfg).map_err(|e| SimError::Other(format!("cannot serialise the configuration: {e}")))?;
    Checkpoint { config, weights: weights.cast(), resume }.save(path)
}
