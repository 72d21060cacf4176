//! The checkpoint file format: a run's saved state on disk, whatever it holds.
//!
//! A checkpoint file in format version 2 is laid out as follows, every integer little-endian:
//!
//! | bytes      | content                                                                |
//! |------------|------------------------------------------------------------------------|
//! | 0 .. 8     | the magic `APICALCK`                                                   |
//! | 8 .. 12    | the format version, a `u32` (2)                                        |
//! | 12 .. 20   | the length of the payload in bytes, a `u64`                            |
//! | 20 .. 24   | the CRC-32 of the payload (the IEEE polynomial of gzip and zip), a `u32` |
//! | 24 ..      | the payload                                                            |
//!
//! The payload is the bincode encoding (standard configuration: variable-length integers, via
//! serde) of the content; what a run saves is `experiments::checkpoint::Checkpoint`. Format
//! version 1 was the magic, the version and the payload, with neither length nor checksum; such
//! files are still read, and every file is written in version 2. Files of any other version are
//! refused. The codec lives in this module alone, so that it can be swapped without touching the
//! engines; the version is raised whenever the layout changes.
//!
//! Reading is bounded. A file larger than [`MAX_FILE_BYTES`] is refused by its size before it
//! is read. The payload length must match the bytes that follow the header, and the checksum is
//! compared before anything is decoded, so that a damaged or truncated file is refused as such
//! and never reaches the decoder. The decoder runs with bincode's byte limit set to the same
//! maximum: a length field may not announce more memory than a checkpoint may hold, so a forged
//! length is refused before anything is allocated for it.
//!
//! Errors are one line naming the file. They never quote the file's bytes, and text that comes
//! from the file (such as a stored configuration's parse error) passes through [`printable`]
//! first.

use std::io::Read;
use std::path::Path;

use bincode::de::read::Reader;
use bincode::error::DecodeError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::io::files::{WriteError, write_atomic};

const MAGIC: &[u8; 8] = b"APICALCK";

/// The current format version, in which every file is written.
pub const FORMAT_VERSION: u32 = 2;

/// The first format version, without payload length or checksum, which is still read.
const FORMAT_VERSION_1: u32 = 1;

/// The largest checkpoint file that is read or written, in bytes (1 GiB). It is also the byte
/// limit of the decoder, which counts the memory of what it decodes. The paper's MNIST network
/// (784-500-500-10) with its traces takes about 23 MB.
pub const MAX_FILE_BYTES: usize = 1 << 30;

/// The size of the version 2 header: magic, version, payload length and checksum.
const HEADER_BYTES: usize = 24;

/// The size of the version 1 header: magic and version.
const HEADER_BYTES_1: usize = 12;

/// The longest text taken from a file that an error message quotes, in characters.
const MAX_QUOTED_CHARS: usize = 200;

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

/// The configuration that decodes: bincode's standard one, limited to [`MAX_FILE_BYTES`].
fn decode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_FILE_BYTES>()
}

/// Encodes a value with the checkpoint codec.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, bincode::config::standard()).expect("in-memory encoding cannot fail")
}

/// Decodes a value encoded by [`encode`]; `path` and `what` name it in the error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], path: &Path, what: &str) -> Result<T, CheckpointError> {
    let invalid = |problem: String| CheckpointError::Invalid { path: shown(path), problem };
    let mut reader = Tracked { bytes, at: 0, overrun: None };
    let value = bincode::serde::decode_from_reader(&mut reader, decode_config())
        .map_err(|e| invalid(format!("cannot decode the {what}: {}", explain(&e, &reader))))?;
    if reader.at != bytes.len() {
        return Err(invalid(format!("{} unexpected bytes follow the {what}", bytes.len() - reader.at)));
    }
    Ok(value)
}

/// Writes `value` as a checkpoint file in the current format version, atomically.
pub fn write_file<T: Serialize>(path: &Path, value: &T) -> Result<(), WriteError> {
    let payload = encode(value);
    if payload.len() > MAX_FILE_BYTES - HEADER_BYTES {
        let problem = format!(
            "the checkpoint would be {} bytes, more than the {MAX_FILE_BYTES} bytes a checkpoint may hold",
            payload.len() + HEADER_BYTES
        );
        return Err(WriteError { path: path.to_path_buf(), source: std::io::Error::other(problem) });
    }
    let mut bytes = Vec::with_capacity(HEADER_BYTES + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&checksum(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    write_atomic(path, &bytes)
}

/// Reads a checkpoint file written by [`write_file`] (or in format version 1); `what` names its
/// content in errors.
pub fn read_file<T: DeserializeOwned>(path: &Path, what: &str) -> Result<T, CheckpointError> {
    decode_file(&read_bounded(path)?, path, what)
}

/// Decodes the whole content of a checkpoint file, as [`read_file`] does once it has read the
/// file; `path` and `what` name it in errors. The fuzz target `checkpoint` calls it directly.
pub fn decode_file<T: DeserializeOwned>(bytes: &[u8], path: &Path, what: &str) -> Result<T, CheckpointError> {
    let invalid = |problem: String| CheckpointError::Invalid { path: shown(path), problem };
    if bytes.len() < HEADER_BYTES_1 || &bytes[..8] != MAGIC {
        return Err(invalid("it does not start with the checkpoint magic bytes".into()));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("four bytes"));
    let payload = match version {
        FORMAT_VERSION_1 => &bytes[HEADER_BYTES_1..],
        FORMAT_VERSION => checked_payload(bytes).map_err(invalid)?,
        _ => {
            return Err(invalid(format!(
                "format version {version}, this build reads versions {FORMAT_VERSION_1} to {FORMAT_VERSION}"
            )));
        }
    };
    decode(payload, path, what)
}

/// Replaces what could disturb a one-line message in text taken from a file: line breaks and
/// tabs become spaces, other control and text-direction characters become U+FFFD, and text
/// beyond 200 characters is cut off with an ellipsis.
pub fn printable(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_QUOTED_CHARS {
            out.push('…');
            break;
        }
        out.push(match c {
            '\n' | '\r' | '\t' => ' ',
            c if disturbs(c) => '\u{FFFD}',
            c => c,
        });
    }
    out
}

/// A path as error messages show it, with control and text-direction characters replaced.
pub fn shown(path: &Path) -> String {
    path.display().to_string().chars().map(|c| if disturbs(c) { '\u{FFFD}' } else { c }).collect()
}

/// Whether a character must not reach a terminal from an error line: a control character, or
/// one that reorders the text around it.
fn disturbs(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The CRC-32 of `bytes`.
fn checksum(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

/// Reads a whole file that is no larger than [`MAX_FILE_BYTES`], refusing a larger one by its
/// size before reading it.
fn read_bounded(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    let io = |source| CheckpointError::Io { path: shown(path), source };
    let too_large = |size: u64| CheckpointError::Invalid {
        path: shown(path),
        problem: format!("it is {size} bytes, more than the {MAX_FILE_BYTES} bytes a checkpoint may hold"),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > MAX_FILE_BYTES as u64 {
        return Err(too_large(size));
    }
    // The file may grow after its size was read; reading one byte past the limit notices that.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// The payload of a version 2 file, once its length and checksum are found to match.
fn checked_payload(bytes: &[u8]) -> Result<&[u8], String> {
    if bytes.len() < HEADER_BYTES {
        return Err("the file ends inside its header".into());
    }
    let announced = u64::from_le_bytes(bytes[12..20].try_into().expect("eight bytes"));
    let stored = u32::from_le_bytes(bytes[20..24].try_into().expect("four bytes"));
    let payload = &bytes[HEADER_BYTES..];
    let present = payload.len() as u64;
    if announced > present {
        return Err(format!("the file ends early: its header announces {announced} bytes but only {present} follow"));
    }
    if announced < present {
        return Err(format!("{} unexpected bytes follow the end the header announces", present - announced));
    }
    if checksum(payload) != stored {
        return Err("checksum mismatch: the file is damaged".into());
    }
    Ok(payload)
}

/// The bytes being decoded, where the decoder stands in them, and the size of a read that ran
/// past their end.
struct Tracked<'a> {
    bytes: &'a [u8],
    at: usize,
    overrun: Option<usize>,
}

impl Reader for Tracked<'_> {
    fn read(&mut self, out: &mut [u8]) -> Result<(), DecodeError> {
        let rest = &self.bytes[self.at..];
        if out.len() > rest.len() {
            self.overrun = Some(out.len());
            return Err(DecodeError::UnexpectedEnd { additional: out.len() - rest.len() });
        }
        out.copy_from_slice(&rest[..out.len()]);
        self.at += out.len();
        Ok(())
    }

    fn peek_read(&mut self, n: usize) -> Option<&[u8]> {
        self.bytes[self.at..].get(..n)
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.bytes.len());
    }
}

/// The widest fixed-size value bincode reads at once (a `u128`); a longer read is the content
/// of a string or byte array whose length a length field announced.
const WIDEST_VALUE: usize = 16;

/// A decoding error as a plain sentence that quotes none of the file's bytes.
fn explain(error: &DecodeError, reader: &Tracked<'_>) -> String {
    let remaining = reader.bytes.len() - reader.at;
    match error {
        DecodeError::UnexpectedEnd { .. } => match reader.overrun {
            Some(wanted) if wanted > WIDEST_VALUE => {
                format!("a length field claims {wanted} bytes but only {remaining} remain")
            }
            _ => "the file ends early".into(),
        },
        DecodeError::LimitExceeded => {
            format!("a length field claims more than the {MAX_FILE_BYTES} bytes a checkpoint may hold")
        }
        DecodeError::OutsideUsizeRange(n) => {
            format!("a length field claims {n} elements, more than memory can address")
        }
        DecodeError::InvalidIntegerType { .. } => "an integer field is wider than its type allows".into(),
        DecodeError::NonZeroTypeIsZero { .. } => "a field that may not be zero is zero".into(),
        DecodeError::UnexpectedVariant { type_name, found, .. } => {
            format!("variant number {found} of {type_name} does not exist")
        }
        DecodeError::Utf8 { .. } => "a text field is not valid UTF-8".into(),
        DecodeError::InvalidCharEncoding(_) => "a character field is not valid UTF-8".into(),
        DecodeError::InvalidBooleanValue(_) => "a boolean field is neither 0 nor 1".into(),
        DecodeError::ArrayLengthMismatch { required, found } => {
            format!("an array has {found} elements where {required} are required")
        }
        // The remaining errors (a serde message such as a missing field, and kinds of value a
        // checkpoint does not hold) can carry text from the file, so they are made printable.
        other => printable(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Sample {
        name: String,
        values: Vec<f64>,
    }

    fn sample() -> Sample {
        Sample { name: "weights".into(), values: vec![1.0, -2.5, 3.25] }
    }

    fn decode_sample(bytes: &[u8]) -> Result<Sample, String> {
        decode(bytes, Path::new("sample.bin"), "sample").map_err(|e| e.to_string())
    }

    #[test]
    fn encodes_and_decodes_the_same_value() {
        assert_eq!(decode_sample(&encode(&sample())).unwrap(), sample());
    }

    #[test]
    fn a_huge_length_is_refused_before_anything_is_allocated() {
        // A string length of 2^60 in bincode's variable-length integers: marker 253, then a u64.
        let mut bytes = vec![253];
        bytes.extend_from_slice(&(1u64 << 60).to_le_bytes());
        let e = decode_sample(&bytes).unwrap_err();
        assert!(e.contains("sample.bin") && e.contains("a length field claims more than the 1073741824 bytes"), "{e}");
    }

    #[test]
    fn a_length_beyond_the_end_names_both_sizes() {
        let mut bytes = encode(&sample());
        // The name's length is its first byte; 100 is below the limit but beyond the end.
        bytes[0] = 100;
        let e = decode_sample(&bytes).unwrap_err();
        let remain = bytes.len() - 1;
        assert!(e.contains(&format!("a length field claims 100 bytes but only {remain} remain")), "{e}");
    }

    #[test]
    fn truncation_and_trailing_bytes_are_refused_in_plain_words() {
        let bytes = encode(&sample());
        for end in 0..bytes.len() {
            let e = decode_sample(&bytes[..end]).unwrap_err();
            assert!(e.contains("sample.bin is not a valid Apical checkpoint: cannot decode the sample: "), "{e}");
            assert!(!e.contains("UnexpectedEnd"), "{e}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_sample(&longer).unwrap_err().ends_with("1 unexpected bytes follow the sample"));
    }

    #[test]
    fn text_from_a_file_loses_its_control_characters() {
        let text = "line\none\ttab \u{1b}[31mred\u{7} \u{202E}reversed";
        let shown = printable(text);
        assert!(!shown.chars().any(disturbs), "{shown:?}");
        assert!(shown.starts_with("line one tab \u{FFFD}[31mred\u{FFFD} \u{FFFD}reversed"), "{shown:?}");
        let long = printable(&"x".repeat(1000));
        assert_eq!(long.chars().count(), MAX_QUOTED_CHARS + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn a_file_too_large_is_refused_by_its_size() {
        let dir = std::env::temp_dir().join(format!("apical-codec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.bin");
        let file = std::fs::File::create(&path).unwrap();
        // A sparse file: its size is set without writing its bytes.
        file.set_len(MAX_FILE_BYTES as u64 + 1).unwrap();
        let e = read_file::<Sample>(&path, "sample").unwrap_err().to_string();
        assert!(e.contains("big.bin") && e.contains("it is 1073741825 bytes, more than the 1073741824 bytes"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
