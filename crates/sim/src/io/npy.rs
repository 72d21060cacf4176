//! NumPy interchange: weight matrices as `.npy` files and `.npz` archives.
//!
//! Python users load what the simulator writes with `numpy.load`, and a configuration can name an
//! `.npz` file, written by the simulator or by `numpy.savez`, as the initial weights.
//!
//! * [`write_npy`] writes NPY format version 1.0 with dtype `'<f8'` (little-endian f64), shape
//!   `(nrows, ncols)` and `'fortran_order': True`, so the column-major buffer of a [`Matrix`] is
//!   written as it is; NumPy loads it as an ordinary 2-D array. The header is padded so that the
//!   data start at a multiple of 64 bytes, as NumPy does.
//! * [`write_npz`] writes, through the `zip` crate, an archive with one stored member `<name>.npy`
//!   per matrix, as `numpy.savez` does. Names must be unique, non-empty and use only `A–Z`, `a–z`,
//!   `0–9` and `_`. Every member carries the timestamp 1980-01-01 00:00, so the same weights give
//!   the same bytes. Both writers go through [`write_atomic`]: no reader sees a half-written file.
//! * [`read_npy`] and [`read_npz`] accept what NumPy writes for real 1-D and 2-D arrays: NPY
//!   versions 1.0, 2.0 and 3.0; dtypes `'<f8'` and `'<f4'` (widened to f64 exactly); either
//!   `fortran_order` (C-ordered data are transposed); shapes `(n, m)`, read as an n × m matrix,
//!   and `(n,)`, read as an n × 1 column; archive members stored or deflated, so that files of
//!   `numpy.savez_compressed` load too.
//!
//! A member is inflated no further than the size its ZIP entry declares, its CRC-32 is checked, and
//! its NPY header must account for exactly the bytes it holds. Malformed input gives an
//! [`NpyError`] whose message is one line naming the file, the member for archives, and the
//! problem, such as `weights.npz: member 'w_up_1': unsupported dtype '<i8' (expected '<f8' or
//! '<f4')`.
//!
//! # Names used by the simulator
//!
//! Layers are counted from k = 0 (input) to k = N (output) as in the paper, and matrix names count
//! k from 1. With b = 1 when a bias input is enabled (its weights are the last column) and b = 0
//! otherwise, a weight file holds
//!
//! ```text
//! w_up_k     W_k      n_k     × (n_{k−1} + b)    k = 1 … N
//! w_down_k   B_k      n_k     × n_{k+1}          k = 1 … N−1
//! w_ip_k     W^IP_k   n_{k+1} × (n_k + b)        k = 1 … N−1
//! w_pi_k     W^PI_k   n_k     × n_{k+1}          k = 1 … N−1
//! ```
//!
//! In Python, `np.load("weights.npz")["w_up_1"]` is then the n_1 × (n_0 + b) matrix W_1.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader, Cursor, Read, Seek, Write};
use std::path::{Path, PathBuf};

use apical_numerics::Matrix;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZIP64_BYTES_THR, ZipArchive, ZipWriter};

use crate::io::files::write_atomic;

/// The first six bytes of every NPY file.
const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// NPY headers are padded so that the data start at a multiple of this many bytes.
const NPY_ALIGN: usize = 64;

/// An NPY or NPZ file could not be read or written.
///
/// The message is one line: the file, then the archive member if there is one, then the problem.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}{}", .path.display(), member_prefix(.member), .kind)]
pub struct NpyError {
    /// The file that was read or written.
    pub path: PathBuf,
    /// The archive member, without its `.npy` suffix, when the problem lies inside one.
    pub member: Option<String>,
    /// What went wrong.
    pub kind: NpyErrorKind,
}

/// The text that names an archive member in an error message, or nothing; control characters are
/// escaped so that the message stays on one line.
fn member_prefix(member: &Option<String>) -> String {
    member.as_ref().map(|name| format!("member '{}': ", name.escape_debug())).unwrap_or_default()
}

impl NpyError {
    fn new(path: &Path, kind: NpyErrorKind) -> Self {
        NpyError { path: path.to_path_buf(), member: None, kind }
    }

    fn in_member(path: &Path, member: &str, kind: NpyErrorKind) -> Self {
        NpyError { path: path.to_path_buf(), member: Some(member.to_string()), kind }
    }
}

/// The problems an [`NpyError`] reports.
#[derive(Debug, thiserror::Error)]
pub enum NpyErrorKind {
    /// The operating system reported an error.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The data do not begin with the NPY magic string.
    #[error("not an NPY file (bad magic string)")]
    BadMagic,
    /// The NPY format version is not 1.0, 2.0 or 3.0.
    #[error("unsupported NPY version {0}.{1} (expected 1.0, 2.0 or 3.0)")]
    UnsupportedVersion(u8, u8),
    /// The NPY header dictionary could not be parsed.
    #[error("malformed NPY header: {0}")]
    BadHeader(String),
    /// The element type is not little-endian f8 or f4.
    #[error("unsupported dtype '{0}' (expected '<f8' or '<f4')")]
    UnsupportedDtype(String),
    /// The array does not have one or two dimensions.
    #[error("unsupported shape {0} (expected 1 or 2 dimensions)")]
    UnsupportedShape(String),
    /// The file ends before the data it announces.
    #[error("truncated data: expected {expected} bytes, found {found}")]
    Truncated {
        /// The number of bytes the header announces.
        expected: usize,
        /// The number of bytes present.
        found: usize,
    },
    /// Bytes follow the array data.
    #[error("{0} unexpected bytes after the array data")]
    TrailingBytes(usize),
    /// The archive is damaged or uses what the `zip` crate cannot read, such as an unsupported
    /// compression method, or two members have the same name; the text says which.
    #[error("{0}")]
    Zip(String),
    /// An archive member is not an `.npy` file.
    #[error("not an .npy member")]
    NotNpyMember,
    /// Two arrays to be written have the same name.
    #[error("duplicate array name '{0}'")]
    DuplicateName(String),
    /// An array name is empty or contains characters other than `A–Z`, `a–z`, `0–9` and `_`.
    #[error("invalid array name '{0}' (names must be non-empty and use only A-Z, a-z, 0-9 and _)")]
    InvalidName(String),
}

/// The message of a `zip` crate error.
fn zip_error(error: impl ToString) -> NpyErrorKind {
    NpyErrorKind::Zip(error.to_string())
}

/// Writes a matrix as an NPY 1.0 file of dtype `'<f8'` and shape `(nrows, ncols)`.
///
/// The header declares `'fortran_order': True`, so the column-major buffer is written unchanged;
/// `numpy.load` returns an ordinary 2-D array of that shape. The file is replaced atomically.
pub fn write_npy(path: &Path, m: &Matrix) -> Result<(), NpyError> {
    write_atomic(path, &encode_npy(m)).map_err(|e| NpyError::new(path, e.source.into()))
}

/// Writes named matrices into an uncompressed `.npz` archive, as `numpy.savez` does.
///
/// Each matrix becomes the member `<name>.npy` (see [`write_npy`] for its format), in the given
/// order. Names must be unique, non-empty and use only `A–Z`, `a–z`, `0–9` and `_`; they are
/// checked before anything is written. The file is replaced atomically.
pub fn write_npz(path: &Path, arrays: &[(&str, &Matrix)]) -> Result<(), NpyError> {
    let mut seen = HashSet::new();
    for &(name, _) in arrays {
        if !is_valid_name(name) {
            return Err(NpyError::new(path, NpyErrorKind::InvalidName(name.to_string())));
        }
        if !seen.insert(name) {
            return Err(NpyError::new(path, NpyErrorKind::DuplicateName(name.to_string())));
        }
    }
    let members: Vec<(String, Vec<u8>)> =
        arrays.iter().map(|&(name, m)| (format!("{name}.npy"), encode_npy(m))).collect();
    let bytes = encode_zip(&members).map_err(|kind| NpyError::new(path, kind))?;
    write_atomic(path, &bytes).map_err(|e| NpyError::new(path, e.source.into()))
}

/// Reads a matrix from an NPY file.
///
/// A 2-D array of shape `(n, m)` becomes an n × m matrix and a 1-D array of length n an n × 1
/// matrix. Dtypes `'<f8'` and `'<f4'` and both memory orders are accepted.
pub fn read_npy(path: &Path) -> Result<Matrix, NpyError> {
    let bytes = fs::read(path).map_err(|e| NpyError::new(path, e.into()))?;
    read_npy_from(path, &bytes)
}

/// Reads a matrix from the whole content of an NPY file, as [`read_npy`] does once it has read
/// the file; `path` only names the file in errors. The fuzz target `npz` calls it directly.
pub fn read_npy_from(path: &Path, bytes: &[u8]) -> Result<Matrix, NpyError> {
    decode_npy(bytes).map_err(|kind| NpyError::new(path, kind))
}

/// Reads every array of an `.npz` archive, stored or deflated, in archive order.
///
/// The names are returned without their `.npy` suffix. Each member must be an array that
/// [`read_npy`] accepts, and no name may occur twice.
pub fn read_npz(path: &Path) -> Result<Vec<(String, Matrix)>, NpyError> {
    let file = File::open(path).map_err(|e| NpyError::new(path, e.into()))?;
    // A folder opens like a file on some systems, and the archive reader would then report a
    // failed seek; say what is wrong instead.
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(NpyError::new(path, io::Error::new(io::ErrorKind::IsADirectory, "is a folder, not a file").into()));
    }
    read_npz_from(path, BufReader::new(file))
}

/// True when a name is non-empty and uses only ASCII letters, digits and underscores.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The bytes of an NPY 1.0 file holding the matrix in Fortran (column-major) order.
fn encode_npy(m: &Matrix) -> Vec<u8> {
    let dict = format!("{{'descr': '<f8', 'fortran_order': True, 'shape': ({}, {}), }}", m.nrows(), m.ncols());
    // The magic string, two version bytes and two length bytes precede the header, which ends in
    // a newline; spaces before the newline make the total a multiple of NPY_ALIGN.
    let unpadded = NPY_MAGIC.len() + 2 + 2 + dict.len() + 1;
    let header = format!("{dict}{}\n", " ".repeat((NPY_ALIGN - unpadded % NPY_ALIGN) % NPY_ALIGN));
    let header_len = u16::try_from(header.len()).expect("a 2-D header is far shorter than 64 KiB");
    let preamble = [NPY_MAGIC, &[1, 0], &header_len.to_le_bytes(), header.as_bytes()].concat();
    preamble.into_iter().chain(m.as_slice().iter().flat_map(|x| x.to_le_bytes())).collect()
}

/// The bytes of a ZIP archive with the given members, all stored without compression and with
/// the timestamp 1980-01-01 00:00; members of 4 GiB or more get ZIP64 fields.
fn encode_zip(members: &[(String, Vec<u8>)]) -> Result<Vec<u8>, NpyErrorKind> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(DateTime::default());
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in members {
        zip.start_file(name, options.large_file(data.len() as u64 >= ZIP64_BYTES_THR)).map_err(zip_error)?;
        zip.write_all(data)?;
    }
    Ok(zip.finish().map_err(zip_error)?.into_inner())
}

/// Parses a complete NPY file.
fn decode_npy(bytes: &[u8]) -> Result<Matrix, NpyErrorKind> {
    let rest = bytes.strip_prefix(NPY_MAGIC).ok_or(NpyErrorKind::BadMagic)?;
    let in_preamble = || bad_header("the file ends inside the preamble");
    let &[major, minor, ..] = rest else { return Err(in_preamble()) };
    // Version 1.0 stores the header length in two bytes; 2.0 and 3.0 (a UTF-8 header) in four.
    let width = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => return Err(NpyErrorKind::UnsupportedVersion(major, minor)),
    };
    let length_bytes = rest.get(2..2 + width).ok_or_else(in_preamble)?;
    let header_len = length_bytes.iter().rev().fold(0, |len, &b| len << 8 | usize::from(b));
    let rest = &rest[2 + width..];
    if rest.len() < header_len {
        return Err(bad_header(format!("header of {header_len} bytes, but only {} follow", rest.len())));
    }
    let (header, data) = rest.split_at(header_len);

    let (descr, fortran_order, shape) = parse_header(header)?;
    let size = match descr {
        "<f8" => 8,
        "<f4" => 4,
        other => return Err(NpyErrorKind::UnsupportedDtype(other.to_string())),
    };
    let (nrows, ncols) = match shape[..] {
        [n] => (n, 1),
        [n, m] => (n, m),
        _ => return Err(NpyErrorKind::UnsupportedShape(python_tuple(&shape))),
    };
    let expected = nrows
        .checked_mul(ncols)
        .and_then(|count| count.checked_mul(size))
        .ok_or_else(|| bad_header(format!("shape {} is too large", python_tuple(&shape))))?;
    match data.len().cmp(&expected) {
        Ordering::Less => return Err(NpyErrorKind::Truncated { expected, found: data.len() }),
        Ordering::Greater => return Err(NpyErrorKind::TrailingBytes(data.len() - expected)),
        Ordering::Equal => {}
    }
    let values: Vec<f64> = if size == 8 {
        data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()
    } else {
        data.chunks_exact(4).map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes")))).collect()
    };
    if fortran_order || nrows.min(ncols) <= 1 {
        // Fortran order is column-major already, and an array with at most one row or column is
        // laid out the same in both orders. Building an empty array of many columns element by
        // element would loop once per column for nothing.
        Matrix::from_column_major(nrows, ncols, values).map_err(|e| bad_header(e.to_string()))
    } else {
        // C order holds row i at values[i * ncols..(i + 1) * ncols].
        Ok(Matrix::from_fn(nrows, ncols, |i, j| values[i * ncols + j]))
    }
}

/// Formats a shape as Python writes a tuple: `()`, `(3,)` or `(2, 3, 4)`.
fn python_tuple(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

fn bad_header(message: impl Into<String>) -> NpyErrorKind {
    NpyErrorKind::BadHeader(message.into())
}

/// Parses the Python dictionary literal of an NPY header, such as
/// `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`, into the dtype, the memory order
/// and the shape. Exactly the keys `descr`, `fortran_order` and `shape` must occur, as NumPy
/// requires. Control characters are refused, so that error messages quoting the header stay on
/// one line.
fn parse_header(bytes: &[u8]) -> Result<(&str, bool, Vec<usize>), NpyErrorKind> {
    let text = std::str::from_utf8(bytes).map_err(|_| bad_header("the header is not UTF-8"))?.trim();
    if text.chars().any(char::is_control) {
        return Err(bad_header("control characters in the header"));
    }
    let body =
        text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).ok_or_else(|| bad_header("expected '{...}'"))?;
    let body = body.trim_end().strip_suffix(',').unwrap_or(body);
    // Items are separated by the commas outside the parentheses of the shape.
    let mut depth = 0;
    let items = body.split(|c| {
        depth += i32::from(c == '(') - i32::from(c == ')');
        c == ',' && depth == 0
    });
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    for item in items.filter(|_| !body.trim().is_empty()) {
        let Some((key, value)) = item.split_once(':') else {
            return Err(bad_header(format!("expected 'key: value', found '{}'", item.trim())));
        };
        let (key, value) = (quoted(key)?, value.trim());
        let duplicate = match key {
            "descr" => descr.replace(quoted(value)?).is_some(),
            "fortran_order" => fortran_order
                .replace(match value {
                    "True" => true,
                    "False" => false,
                    _ => return Err(bad_header(format!("expected True or False, found '{value}'"))),
                })
                .is_some(),
            "shape" => shape.replace(python_shape(value)?).is_some(),
            _ => return Err(bad_header(format!("unexpected key '{key}'"))),
        };
        if duplicate {
            return Err(bad_header(format!("duplicate key '{key}'")));
        }
    }
    let missing = |key: &str| bad_header(format!("missing key '{key}'"));
    Ok((
        descr.ok_or_else(|| missing("descr"))?,
        fortran_order.ok_or_else(|| missing("fortran_order"))?,
        shape.ok_or_else(|| missing("shape"))?,
    ))
}

/// The text of a string in single or double quotes; NPY headers contain no escapes.
fn quoted(text: &str) -> Result<&str, NpyErrorKind> {
    let text = text.trim();
    let unquote = |q| text.strip_prefix(q).and_then(|t| t.strip_suffix(q));
    unquote('\'')
        .or_else(|| unquote('"'))
        .ok_or_else(|| bad_header(format!("expected a quoted string, found '{text}'")))
}

/// A tuple of non-negative integers: `()`, `(3,)`, `(3, 4)` or `(3, 4,)`.
fn python_shape(text: &str) -> Result<Vec<usize>, NpyErrorKind> {
    let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) else {
        return Err(bad_header(format!("expected a tuple, found '{text}'")));
    };
    let inner = inner.trim_end().strip_suffix(',').unwrap_or(inner);
    let dimension = |n: &str| n.trim().parse().map_err(|_| bad_header(format!("invalid dimension '{}'", n.trim())));
    inner.split(',').filter(|_| !inner.trim().is_empty()).map(dimension).collect()
}

/// Reads every array of an `.npz` archive from `reader`, as [`read_npz`] does once it has opened
/// the file; `path` only names the file in errors. The fuzz target `npz` calls it directly.
pub fn read_npz_from(path: &Path, reader: impl Read + Seek) -> Result<Vec<(String, Matrix)>, NpyError> {
    let mut archive = ZipArchive::new(reader).map_err(|e| NpyError::new(path, zip_error(e)))?;
    if archive.has_duplicate_names() {
        return Err(NpyError::new(path, zip_error("two members have the same name")));
    }
    let entries: Vec<String> = archive
        .file_names()
        .map(|entry| entry.map(String::from))
        .collect::<Result<_, _>>()
        .map_err(|e| NpyError::new(path, zip_error(e)))?;
    let mut out = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let Some(name) = entry.strip_suffix(".npy") else {
            return Err(NpyError::in_member(path, entry, NpyErrorKind::NotNpyMember));
        };
        let error = |kind| NpyError::in_member(path, name, kind);
        let member = archive.by_index(index).map_err(|e| error(zip_error(e)))?;
        // Asking for one byte more than the entry declares reads to the end of the member, where
        // the zip crate checks the CRC-32; the crate refuses data beyond the declared size, so
        // neither a damaged size field nor a zip bomb makes the buffer grow further.
        let (size, mut data) = (member.size(), Vec::new());
        member
            .take(size.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| error(zip_error(format!("cannot extract: {e}"))))?;
        out.push((name.to_string(), decode_npy(&data).map_err(error)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty directory for one test, removed again when the test ends.
    struct TempDir(PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn temp_dir(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("apical-npy-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Asserts that two matrices have the same shape and bit-identical entries.
    fn assert_bits_eq(a: &Matrix, b: &Matrix) {
        assert_eq!(a.shape(), b.shape());
        let bits = |m: &Matrix| m.as_slice().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(a), bits(b));
    }

    /// Matrices with awkward values and shapes, including empty ones.
    fn samples() -> Vec<(&'static str, Matrix)> {
        let special = [0.0, -0.0, 1.5, f64::MIN_POSITIVE / 3.0, f64::MAX, f64::NEG_INFINITY, f64::NAN, 1e-300];
        vec![
            ("w_up_1", Matrix::from_fn(3, 5, |i, j| (i as f64 - 1.3) * (j as f64 + 0.7) / 3.0)),
            ("w_down_1", Matrix::from_fn(2, 4, |i, j| special[i * 4 + j])),
            ("one", Matrix::from_fn(1, 1, |_, _| std::f64::consts::PI)),
            ("no_columns", Matrix::zeros(4, 0)),
            ("empty", Matrix::zeros(0, 0)),
            ("column", Matrix::from_fn(6, 1, |i, _| i as f64)),
        ]
    }

    /// An NPY file built by hand from a header dictionary and raw data.
    fn npy_by_hand(version: u8, dict: &str, data: &[u8]) -> Vec<u8> {
        let header = format!("{dict}\n");
        let len = header.len() as u32;
        let len = if version == 1 { (len as u16).to_le_bytes().to_vec() } else { len.to_le_bytes().to_vec() };
        [NPY_MAGIC, &[version, 0], &len, header.as_bytes(), data].concat()
    }

    /// The message of an error, checked to be one line that begins with the file name.
    fn one_line(path: &Path, error: NpyError) -> String {
        let message = error.to_string();
        assert!(message.starts_with(&path.display().to_string()), "{message}");
        assert!(!message.contains('\n'), "{message}");
        message
    }

    #[test]
    fn npy_round_trip_is_bit_exact() {
        let dir = temp_dir("npy-round-trip");
        for (name, m) in samples() {
            let path = dir.0.join(format!("{name}.npy"));
            write_npy(&path, &m).unwrap();
            assert_bits_eq(&read_npy(&path).unwrap(), &m);
        }
        // No temporary file is left behind.
        assert!(fs::read_dir(&dir.0).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp")));
    }

    #[test]
    fn npy_header_is_aligned_fortran_ordered_version_1() {
        let bytes = encode_npy(&Matrix::zeros(3, 7));
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let data_start = 10 + usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!(data_start % 64, 0);
        assert_eq!(bytes.len(), data_start + 3 * 7 * 8);
        let header = std::str::from_utf8(&bytes[10..data_start]).unwrap();
        assert!(header.starts_with("{'descr': '<f8', 'fortran_order': True, 'shape': (3, 7), }"));
        assert!(header.ends_with(" \n"));
    }

    #[test]
    fn npz_round_trip_keeps_names_order_and_bits() {
        let dir = temp_dir("npz-round-trip");
        let path = dir.0.join("weights.npz");
        let arrays = samples();
        let refs: Vec<(&str, &Matrix)> = arrays.iter().map(|(n, m)| (*n, m)).collect();
        write_npz(&path, &refs).unwrap();
        let back = read_npz(&path).unwrap();
        assert_eq!(back.len(), arrays.len());
        for ((name, m), (back_name, back_m)) in arrays.iter().zip(&back) {
            assert_eq!(name, back_name);
            assert_bits_eq(m, back_m);
        }
        // Writing again replaces the file, and the same weights give the same bytes.
        let first = fs::read(&path).unwrap();
        write_npz(&path, &refs).unwrap();
        assert_eq!(fs::read(&path).unwrap(), first);
        // An archive without members is valid too.
        write_npz(&path, &[]).unwrap();
        assert!(read_npz(&path).unwrap().is_empty());
    }

    #[test]
    fn c_ordered_f4_is_transposed_into_column_major() {
        let dir = temp_dir("c-order-f4");
        let path = dir.0.join("c.npy");
        // Row-major data of [[1, 2, 3], [4, 5, 6]] as little-endian f32.
        let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        fs::write(&path, npy_by_hand(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", &data)).unwrap();
        let m = read_npy(&path).unwrap();
        assert_eq!(m.shape(), (2, 3));
        assert_eq!(m.as_slice(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(m.get(1, 2), 6.0);

        // An f4 value is widened exactly, not rounded to a decimal.
        let data = 0.1f32.to_le_bytes();
        fs::write(&path, npy_by_hand(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", &data)).unwrap();
        assert_eq!(read_npy(&path).unwrap().get(0, 0), f64::from(0.1f32));
    }

    #[test]
    fn one_dimensional_version_2_file_reads_as_a_column() {
        let dir = temp_dir("one-dimensional");
        let path = dir.0.join("v.npy");
        let dict = "{\"descr\": \"<f8\", \"shape\": (3,), \"fortran_order\": False}";
        let data: Vec<u8> = [7.0f64, 8.0, 9.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        fs::write(&path, npy_by_hand(2, dict, &data)).unwrap();
        let m = read_npy(&path).unwrap();
        assert_eq!(m.shape(), (3, 1));
        assert_eq!(m.as_slice(), &[7.0, 8.0, 9.0]);
    }

    /// An archive written the way `numpy.savez_compressed` writes one: to a stream, so that a data
    /// descriptor follows each member, and with ZIP64 fields in the local headers.
    fn streamed_zip(members: &[(&str, Vec<u8>, CompressionMethod)]) -> Vec<u8> {
        let mut zip = ZipWriter::new_stream(Vec::new());
        for (name, npy, method) in members {
            zip.start_file(*name, SimpleFileOptions::default().compression_method(*method).large_file(true)).unwrap();
            zip.write_all(npy).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn deflated_members_with_data_descriptors_read_back() {
        let a = Matrix::from_fn(5, 3, |i, j| (i * 3 + j) as f64 * 0.25 - 1.0);
        let b = Matrix::from_fn(2, 2, |i, j| if i == j { 1.0 } else { -0.5 });
        let zip = streamed_zip(&[
            ("w_up_1.npy", encode_npy(&a), CompressionMethod::Deflated),
            ("w_pi_1.npy", encode_npy(&b), CompressionMethod::Stored),
        ]);
        let dir = temp_dir("deflated");
        let path = dir.0.join("compressed.npz");
        fs::write(&path, &zip).unwrap();
        let back = read_npz(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].0, "w_up_1");
        assert_bits_eq(&back[0].1, &a);
        assert_eq!(back[1].0, "w_pi_1");
        assert_bits_eq(&back[1].1, &b);
    }

    #[test]
    fn npy_errors_name_the_file_and_the_problem() {
        let dir = temp_dir("npy-errors");
        let path = dir.0.join("w.npy");
        let message = |bytes: &[u8]| {
            fs::write(&path, bytes).unwrap();
            one_line(&path, read_npy(&path).unwrap_err())
        };

        let full = encode_npy(&Matrix::zeros(10, 10));
        let truncated = &full[..full.len() - 400];
        assert!(message(truncated).ends_with("w.npy: truncated data: expected 800 bytes, found 400"));
        assert!(message(&full[..20]).contains("malformed NPY header: header of"));
        assert!(message(b"PK\x03\x04 not numpy").ends_with("not an NPY file (bad magic string)"));
        assert!(message(b"").ends_with("not an NPY file (bad magic string)"));
        assert!(message(b"\x93NUMPY\x04\x00\x10\x00").contains("unsupported NPY version 4.0"));

        let i8_file = npy_by_hand(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", &[0; 8]);
        assert!(message(&i8_file).ends_with("unsupported dtype '<i8' (expected '<f8' or '<f4')"));
        let big_endian = npy_by_hand(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", &[0; 8]);
        assert!(message(&big_endian).contains("unsupported dtype '>f8'"));
        let cube = npy_by_hand(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2, 2), }", &[0; 64]);
        assert!(message(&cube).ends_with("unsupported shape (2, 2, 2) (expected 1 or 2 dimensions)"));
        let scalar = npy_by_hand(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &[0; 8]);
        assert!(message(&scalar).contains("unsupported shape ()"));
        let huge =
            npy_by_hand(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", &[]);
        assert!(message(&huge).contains("is too large"));
        let missing = npy_by_hand(1, "{'descr': '<f8', 'shape': (1,), }", &[0; 8]);
        assert!(message(&missing).contains("missing key 'fortran_order'"));
        let garbled = npy_by_hand(1, "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (1,), }", &[0; 8]);
        assert!(message(&garbled).contains("expected True or False, found 'Maybe'"));
        let trailing = [encode_npy(&Matrix::zeros(1, 1)), vec![0; 3]].concat();
        assert!(message(&trailing).ends_with("3 unexpected bytes after the array data"));

        let missing_file = dir.0.join("absent.npy");
        let error = read_npy(&missing_file).unwrap_err();
        assert!(matches!(error.kind, NpyErrorKind::Io(_)));
        one_line(&missing_file, error);
    }

    #[test]
    fn a_folder_is_not_read_as_an_archive() {
        let dir = temp_dir("npz-folder");
        let path = dir.0.join("weights.npz");
        fs::create_dir(&path).unwrap();
        let e = read_npz(&path).unwrap_err();
        assert!(e.to_string().ends_with("weights.npz: is a folder, not a file"), "{e}");
    }

    #[test]
    fn npz_errors_name_the_file_member_and_problem() {
        let dir = temp_dir("npz-errors");
        let path = dir.0.join("weights.npz");
        let message = |bytes: &[u8]| {
            fs::write(&path, bytes).unwrap();
            one_line(&path, read_npz(&path).unwrap_err())
        };

        assert!(message(b"hello").ends_with("weights.npz: invalid Zip archive: Could not find EOCD"));
        let npy = encode_npy(&Matrix::zeros(2, 2));
        assert!(message(&npy).ends_with("weights.npz: invalid Zip archive: Could not find EOCD"));

        let i8_file = npy_by_hand(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", &[0; 8]);
        let zip = encode_zip(&[("w_up_1.npy".into(), i8_file)]).unwrap();
        assert!(
            message(&zip).ends_with("weights.npz: member 'w_up_1': unsupported dtype '<i8' (expected '<f8' or '<f4')")
        );

        let good = encode_zip(&[("w_up_1.npy".into(), encode_npy(&Matrix::zeros(3, 3)))]).unwrap();
        assert!(message(&good[..good.len() - 10]).contains("weights.npz: invalid Zip archive: Unexpected end"));
        let mut corrupted = good.clone();
        corrupted[100] ^= 0x40;
        assert!(message(&corrupted).ends_with("weights.npz: member 'w_up_1': cannot extract: Invalid checksum"));
        // A central directory offset of 0xFFFFFFFF in the 22-byte end record calls for ZIP64
        // records, which this archive lacks.
        let mut offset_damaged = good.clone();
        let end = offset_damaged.len() - 22;
        offset_damaged[end + 16..end + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(message(&offset_damaged).contains("weights.npz: invalid Zip archive: "));

        let one = encode_npy(&Matrix::zeros(1, 1));
        let mut twice = encode_zip(&[("a.npy".into(), one.clone()), ("b.npy".into(), one)]).unwrap();
        // The zip crate refuses to write two members of the same name, so the second is renamed.
        while let Some(pos) = twice.windows(5).position(|w| w == b"b.npy") {
            twice[pos] = b'a';
        }
        assert!(message(&twice).ends_with("weights.npz: two members have the same name"));
        let text = encode_zip(&[("notes.txt".into(), b"hi".to_vec())]).unwrap();
        assert!(message(&text).ends_with("member 'notes.txt': not an .npy member"));
    }

    #[test]
    fn invalid_or_duplicate_names_are_refused_before_writing() {
        let dir = temp_dir("names");
        let path = dir.0.join("weights.npz");
        let m = Matrix::zeros(2, 2);
        let cases: [(&[(&str, &Matrix)], &str); 4] = [
            (&[("w_up_1", &m), ("w_up_1", &m)], "duplicate array name 'w_up_1'"),
            (&[("", &m)], "invalid array name ''"),
            (&[("w-up", &m)], "invalid array name 'w-up'"),
            (&[("dir/w", &m)], "invalid array name 'dir/w'"),
        ];
        for (arrays, expected) in cases {
            let message = one_line(&path, write_npz(&path, arrays).unwrap_err());
            assert!(message.contains(expected), "{message}");
        }
        assert_eq!(fs::read_dir(&dir.0).unwrap().count(), 0);

        let message = write_npy(&dir.0.join("missing").join("w.npy"), &m).unwrap_err().to_string();
        assert!(message.contains("missing"), "{message}");
    }

    #[test]
    fn an_empty_c_ordered_array_of_many_columns_reads_at_once() {
        // The input of `fuzz/regressions/npz/valid-empty-c-order.npy`: 0 × 10^18 in C order. It
        // has no values, and reading it once looped 10^18 times in unoptimised builds.
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 1000000000000000000), }";
        let m = decode_npy(&npy_by_hand(1, dict, &[])).unwrap();
        assert_eq!(m.shape(), (0, 1_000_000_000_000_000_000));
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }";
        let m = decode_npy(&npy_by_hand(1, dict, &[0, 0, 128, 63, 0, 0, 0, 64])).unwrap();
        assert_eq!((m.shape(), m.as_slice()), ((1, 2), &[1.0, 2.0][..]));
    }

    #[test]
    fn damaged_files_give_errors_not_panics() {
        let npy = encode_npy(&Matrix::from_fn(2, 3, |i, j| (i + j) as f64));
        let npz = encode_zip(&[("a.npy".into(), npy.clone()), ("b.npy".into(), npy.clone())]).unwrap();
        let deflated = streamed_zip(&[("c.npy", npy.clone(), CompressionMethod::Deflated)]);
        let path = Path::new("damaged.npz");

        for len in 0..npy.len() {
            assert!(decode_npy(&npy[..len]).is_err());
        }
        for file in [&npz, &deflated] {
            for len in 0..file.len() {
                assert!(read_npz_from(path, Cursor::new(&file[..len])).is_err());
            }
            // Flipping any one byte must not panic; it may be harmless, as in a timestamp.
            for pos in 0..file.len() {
                for flip in [0x01, 0x80, 0xFF] {
                    let mut damaged = file.clone();
                    damaged[pos] ^= flip;
                    let _ = read_npz_from(path, Cursor::new(&damaged));
                }
            }
        }
        for pos in 0..npy.len() {
            let mut damaged = npy.clone();
            damaged[pos] ^= 0xFF;
            let _ = decode_npy(&damaged);
        }
    }
}
