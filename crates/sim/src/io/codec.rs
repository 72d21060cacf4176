//! The checkpoint file format: a run's saved state on disk, whatever it holds.
//!
//! A checkpoint file is the 8-byte magic `APICALCK`, a little-endian `u32` format version, and
//! the bincode (standard configuration, via serde) encoding of its content (what a run saves is
//! `experiments::checkpoint::Checkpoint`). The codec lives in this module alone, so that it can be
//! swapped without touching the engines; the version is raised whenever the layout changes, and
//! files of another version are refused.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::io::files::{WriteError, write_atomic};

const MAGIC: &[u8; 8] = b"APICALCK";

/// The current format version.
pub const FORMAT_VERSION: u32 = 1;

/// A checkpoint could not be read; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be read.
    #[error("cannot read checkpoint {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a checkpoint or is damaged.
    #[error("{path} is not a valid Apical checkpoint: {problem}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The weights do not fit the configuration stored with them or given by the user.
    #[error("{path}: weight matrix {name} is {found:?} but the network needs {expected:?} (rows, columns)")]
    Shape {
        /// The file.
        path: String,
        /// The matrix.
        name: String,
        /// The required shape.
        expected: (usize, usize),
        /// The shape found.
        found: (usize, usize),
    },
}

fn bincode_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes a value with the checkpoint codec.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, bincode_config()).expect("in-memory encoding cannot fail")
}

/// Decodes a value encoded by [`encode`]; `what` names it in the error.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], path: &Path, what: &str) -> Result<T, CheckpointError> {
    let invalid = |problem: String| CheckpointError::Invalid { path: path.display().to_string(), problem };
    let (value, used) = bincode::serde::decode_from_slice(bytes, bincode_config())
        .map_err(|e| invalid(format!("cannot decode the {what}: {e}")))?;
    if used != bytes.len() {
        return Err(invalid(format!("{} bytes after the {what}", bytes.len() - used)));
    }
    Ok(value)
}

/// Writes `value` as a checkpoint file, atomically.
pub fn write_file<T: Serialize>(path: &Path, value: &T) -> Result<(), WriteError> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend(encode(value));
    write_atomic(path, &bytes)
}

/// Reads a checkpoint file written by [`write_file`]; `what` names its content in errors.
pub fn read_file<T: DeserializeOwned>(path: &Path, what: &str) -> Result<T, CheckpointError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io { path: name.clone(), source })?;
    let invalid = |problem: &str| CheckpointError::Invalid { path: name.clone(), problem: problem.into() };
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(invalid("it does not start with the checkpoint magic bytes"));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("four bytes"));
    if version != FORMAT_VERSION {
        return Err(invalid(&format!("format version {version}, this build reads version {FORMAT_VERSION}")));
    }
    decode(&bytes[12..], path, what)
}
