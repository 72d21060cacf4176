//! NumPy interchange: weight matrices as `.npy` files and `.npz` archives.
//!
//! Python users load what the simulator writes with `numpy.load`, and a configuration can name an
//! `.npz` file, written by the simulator or by `numpy.savez`, as the initial weights.
//!
//! # Files written
//!
//! * [`write_npy`] writes NPY format version 1.0 with dtype `'<f8'` (little-endian f64) and
//!   shape `(nrows, ncols)`. The header says `'fortran_order': True`, so the column-major buffer
//!   of a [`Matrix`] is written as it is, without a transpose. NumPy loads such a file as an
//!   ordinary 2-D array of the right shape (it is merely Fortran-contiguous in memory). The header
//!   is padded with spaces and ends in a newline so that the data start at a multiple of 64 bytes,
//!   as NumPy does.
//! * [`write_npz`] writes a ZIP archive with one stored (uncompressed) member `<name>.npy` per
//!   matrix, as `numpy.savez` does. Names must be unique, non-empty and use only `A–Z`, `a–z`,
//!   `0–9` and `_`, so that they are valid Python identifiers and file names everywhere. Every
//!   member carries the fixed timestamp 1980-01-01 00:00, so the same weights give the same bytes.
//!
//! Both writers assemble the file in memory, write it to a temporary file `.<name>.tmp` in the
//! same directory and rename it into place, so a reader never sees a half-written file.
//!
//! # Files read
//!
//! [`read_npy`] and [`read_npz`] accept what NumPy writes for real 1-D and 2-D arrays:
//!
//! * NPY versions 1.0, 2.0 and 3.0 (the last two have a 4-byte header length);
//! * dtypes `'<f8'` and `'<f4'`, the latter converted to f64 exactly;
//! * `fortran_order` True or False (C-ordered data are transposed into column-major order);
//! * shapes `(n, m)`, read as an n × m matrix, and `(n,)`, read as an n × 1 column;
//! * ZIP members that are stored or deflated, so both `numpy.savez` and `numpy.savez_compressed`
//!   files load. Members are found through the central directory, because local headers may hold
//!   zero sizes when a data descriptor follows the data. ZIP64 archives (more than 65 535 members
//!   or 4 GiB) are rejected with a clear error.
//!
//! Every offset and length is checked against the file size, and malformed input gives an
//! [`NpyError`] whose message is one line naming the file, the member for archives, and the
//! problem, for example `weights.npz: member 'w_up_1': unsupported dtype '<i8' (expected '<f8' or
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

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use apical_numerics::Matrix;
use flate2::Crc;
use flate2::read::DeflateDecoder;

/// The first six bytes of every NPY file.
const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// NPY headers are padded so that the data start at a multiple of this many bytes.
const NPY_ALIGN: usize = 64;

/// The signature of a ZIP local file header.
const LOCAL_HEADER_SIG: u32 = 0x0403_4b50;

/// The signature of a ZIP central directory entry.
const CENTRAL_ENTRY_SIG: u32 = 0x0201_4b50;

/// The signature of the ZIP end-of-central-directory record.
const END_OF_CENTRAL_DIR_SIG: u32 = 0x0605_4b50;

/// The fixed sizes of the ZIP records, without their variable-length fields.
const LOCAL_HEADER_LEN: usize = 30;
const CENTRAL_ENTRY_LEN: usize = 46;
const END_OF_CENTRAL_DIR_LEN: usize = 22;

/// ZIP version 2.0, which is what readers need for stored and deflated members.
const ZIP_VERSION: u16 = 20;

/// The MS-DOS date 1980-01-01, the earliest a ZIP archive can record.
const DOS_DATE_1980_01_01: u16 = (1 << 5) | 1;

/// The ZIP compression methods this module understands.
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATED: u16 = 8;

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

/// The text that names an archive member in an error message, or nothing.
fn member_prefix(member: &Option<String>) -> String {
    match member {
        Some(name) => format!("member '{name}': "),
        None => String::new(),
    }
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
    /// The file has no ZIP end-of-central-directory record.
    #[error("not a zip archive")]
    NotZip,
    /// The ZIP structure is inconsistent.
    #[error("malformed zip archive: {0}")]
    BadZip(String),
    /// The archive needs ZIP64 extensions, which this module does not support.
    #[error("zip64 archives are not supported (more than 65535 members or 4 GiB)")]
    Zip64,
    /// A member uses a compression method other than stored or deflated.
    #[error("unsupported compression method {0} (expected 0, stored, or 8, deflated)")]
    UnsupportedCompression(u16),
    /// The CRC-32 of a member does not match its data.
    #[error("CRC-32 mismatch: recorded {recorded:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// The checksum recorded in the archive.
        recorded: u32,
        /// The checksum of the data.
        computed: u32,
    },
    /// An archive member is not an `.npy` file.
    #[error("not an .npy member")]
    NotNpyMember,
    /// Two archive members have the same name.
    #[error("duplicate array name '{0}'")]
    DuplicateName(String),
    /// An array name is empty or contains characters other than `A–Z`, `a–z`, `0–9` and `_`.
    #[error("invalid array name '{0}' (names must be non-empty and use only A-Z, a-z, 0-9 and _)")]
    InvalidName(String),
}

/// Writes a matrix as an NPY 1.0 file of dtype `'<f8'` and shape `(nrows, ncols)`.
///
/// The header declares `'fortran_order': True`, so the column-major buffer is written unchanged;
/// `numpy.load` returns an ordinary 2-D array of that shape. The file is replaced atomically.
pub fn write_npy(path: &Path, m: &Matrix) -> Result<(), NpyError> {
    write_atomically(path, &encode_npy(m)).map_err(|e| NpyError::new(path, e.into()))
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
    write_atomically(path, &bytes).map_err(|e| NpyError::new(path, e.into()))
}

/// Reads a matrix from an NPY file.
///
/// A 2-D array of shape `(n, m)` becomes an n × m matrix and a 1-D array of length n an n × 1
/// matrix. Dtypes `'<f8'` and `'<f4'` and both memory orders are accepted.
pub fn read_npy(path: &Path) -> Result<Matrix, NpyError> {
    let bytes = fs::read(path).map_err(|e| NpyError::new(path, e.into()))?;
    decode_npy(&bytes).map_err(|kind| NpyError::new(path, kind))
}

/// Reads every array of an `.npz` archive, stored or deflated, in archive order.
///
/// The names are returned without their `.npy` suffix. Each member must be an array that
/// [`read_npy`] accepts, and no name may occur twice.
pub fn read_npz(path: &Path) -> Result<Vec<(String, Matrix)>, NpyError> {
    let bytes = fs::read(path).map_err(|e| NpyError::new(path, e.into()))?;
    decode_npz(path, &bytes)
}

/// True when a name is non-empty and uses only ASCII letters, digits and underscores.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Writes the bytes to a temporary file next to `path`, flushes it to disk and renames it.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let Some(file_name) = path.file_name() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file"));
    };
    let tmp = path.with_file_name(format!(".{}.tmp", file_name.to_string_lossy()));
    let result = File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        // The temporary file is useless after a failure, and it may not even exist.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The bytes of an NPY 1.0 file holding the matrix in Fortran (column-major) order.
fn encode_npy(m: &Matrix) -> Vec<u8> {
    let dict = format!("{{'descr': '<f8', 'fortran_order': True, 'shape': ({}, {}), }}", m.nrows(), m.ncols());
    // The magic string, two version bytes and two length bytes precede the header, which ends in
    // a newline; spaces before the newline make the total a multiple of NPY_ALIGN.
    let unpadded = NPY_MAGIC.len() + 2 + 2 + dict.len() + 1;
    let padding = (NPY_ALIGN - unpadded % NPY_ALIGN) % NPY_ALIGN;
    let header = format!("{dict}{}\n", " ".repeat(padding));
    let header_len = u16::try_from(header.len()).expect("a 2-D header is far shorter than 64 KiB");

    let mut out = Vec::with_capacity(unpadded + padding + 8 * m.as_slice().len());
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in m.as_slice() {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// The element types the readers accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F8,
    F4,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::F8 => 8,
            Dtype::F4 => 4,
        }
    }
}

/// The contents of an NPY header dictionary.
#[derive(Debug)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses a complete NPY file.
fn decode_npy(bytes: &[u8]) -> Result<Matrix, NpyErrorKind> {
    if !bytes.starts_with(NPY_MAGIC) {
        return Err(NpyErrorKind::BadMagic);
    }
    let (major, minor) = match bytes.get(6..8) {
        Some(&[major, minor]) => (major, minor),
        _ => return Err(NpyErrorKind::BadHeader("the file ends inside the preamble".into())),
    };
    // Version 1.0 stores the header length in two bytes; 2.0 and 3.0 (a UTF-8 header) in four.
    let (header_len, header_start): (Option<usize>, usize) = match (major, minor) {
        (1, 0) => (u16_at(bytes, 8).map(usize::from), 10),
        (2, 0) | (3, 0) => (u32_at(bytes, 8).map(|n| n as usize), 12),
        _ => return Err(NpyErrorKind::UnsupportedVersion(major, minor)),
    };
    let Some(header_len) = header_len else {
        return Err(NpyErrorKind::BadHeader("the file ends inside the preamble".into()));
    };
    let Some(header_bytes) = header_start.checked_add(header_len).and_then(|end| bytes.get(header_start..end)) else {
        let found = bytes.len() - header_start;
        return Err(NpyErrorKind::BadHeader(format!("header of {header_len} bytes, but only {found} follow")));
    };
    let data = &bytes[header_start + header_len..];

    let header = parse_header(header_bytes)?;
    let dtype = match header.descr.as_str() {
        "<f8" => Dtype::F8,
        "<f4" => Dtype::F4,
        other => return Err(NpyErrorKind::UnsupportedDtype(other.to_string())),
    };
    let (nrows, ncols) = match header.shape[..] {
        [n] => (n, 1),
        [n, m] => (n, m),
        _ => return Err(NpyErrorKind::UnsupportedShape(python_tuple(&header.shape))),
    };
    let expected = nrows
        .checked_mul(ncols)
        .and_then(|count| count.checked_mul(dtype.size()))
        .ok_or_else(|| NpyErrorKind::BadHeader(format!("shape {} is too large", python_tuple(&header.shape))))?;
    if data.len() < expected {
        return Err(NpyErrorKind::Truncated { expected, found: data.len() });
    }
    if data.len() > expected {
        return Err(NpyErrorKind::TrailingBytes(data.len() - expected));
    }

    let values: Vec<f64> = match dtype {
        Dtype::F8 => data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect(),
        Dtype::F4 => {
            data.chunks_exact(4).map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes")))).collect()
        }
    };
    if header.fortran_order || ncols == 1 {
        // Fortran order is column-major already, and a single column is the same in both orders.
        Matrix::from_column_major(nrows, ncols, values).map_err(|e| NpyErrorKind::BadHeader(e.to_string()))
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

/// Parses the Python dictionary literal of an NPY header, such as
/// `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`.
///
/// Exactly the keys `descr`, `fortran_order` and `shape` must occur, as NumPy requires.
fn parse_header(bytes: &[u8]) -> Result<Header, NpyErrorKind> {
    let mut cursor = Cursor { bytes, pos: 0 };
    let mut descr = None;
    let mut fortran_order = None;
    let mut shape = None;
    cursor.expect(b'{')?;
    while !cursor.eat(b'}') {
        let key = cursor.string()?;
        cursor.expect(b':')?;
        let duplicate = match key.as_str() {
            "descr" => descr.replace(cursor.string()?).is_some(),
            "fortran_order" => fortran_order.replace(cursor.boolean()?).is_some(),
            "shape" => shape.replace(cursor.tuple()?).is_some(),
            _ => return Err(bad_header(format!("unexpected key '{key}'"))),
        };
        if duplicate {
            return Err(bad_header(format!("duplicate key '{key}'")));
        }
        if !cursor.eat(b',') {
            cursor.expect(b'}')?;
            break;
        }
    }
    cursor.skip_whitespace();
    if cursor.pos != bytes.len() {
        return Err(bad_header("unexpected text after the dictionary"));
    }
    let missing = |key: &str| bad_header(format!("missing key '{key}'"));
    Ok(Header {
        descr: descr.ok_or_else(|| missing("descr"))?,
        fortran_order: fortran_order.ok_or_else(|| missing("fortran_order"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
    })
}

fn bad_header(message: impl Into<String>) -> NpyErrorKind {
    NpyErrorKind::BadHeader(message.into())
}

/// A position in the text of an NPY header, with the few parsing steps a header needs.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn skip_whitespace(&mut self) {
        while self.bytes.get(self.pos).is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Consumes `byte`, after any whitespace, and tells whether it was there.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        if self.bytes.get(self.pos) == Some(&byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), NpyErrorKind> {
        if self.eat(byte) { Ok(()) } else { Err(bad_header(format!("expected '{}'", char::from(byte)))) }
    }

    /// A string in single or double quotes; NPY headers contain no escapes.
    fn string(&mut self) -> Result<String, NpyErrorKind> {
        self.skip_whitespace();
        let quote = match self.bytes.get(self.pos) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(bad_header("expected a quoted string")),
        };
        let start = self.pos + 1;
        let Some(len) = self.bytes[start..].iter().position(|&b| b == quote) else {
            return Err(bad_header("unterminated string"));
        };
        self.pos = start + len + 1;
        Ok(String::from_utf8_lossy(&self.bytes[start..start + len]).into_owned())
    }

    /// A run of letters, digits and underscores, such as `True` or `42`.
    fn word(&mut self) -> &str {
        self.skip_whitespace();
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            self.pos += 1;
        }
        // The run is ASCII, so it is valid UTF-8.
        std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or_default()
    }

    fn boolean(&mut self) -> Result<bool, NpyErrorKind> {
        match self.word() {
            "True" => Ok(true),
            "False" => Ok(false),
            other => Err(bad_header(format!("expected True or False, found '{other}'"))),
        }
    }

    /// A tuple of non-negative integers: `()`, `(3,)`, `(3, 4)` or `(3, 4,)`.
    fn tuple(&mut self) -> Result<Vec<usize>, NpyErrorKind> {
        self.expect(b'(')?;
        let mut items = Vec::new();
        while !self.eat(b')') {
            let word = self.word();
            let n = word.parse().map_err(|_| bad_header(format!("invalid dimension '{word}'")))?;
            items.push(n);
            if !self.eat(b',') {
                self.expect(b')')?;
                break;
            }
        }
        Ok(items)
    }
}

/// Appends a little-endian u16.
fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends a little-endian u32.
fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Converts a size or offset to the 32 bits a plain ZIP field holds, refusing the value
/// 0xFFFFFFFF, which announces a ZIP64 field.
fn zip_u32(value: usize) -> Result<u32, NpyErrorKind> {
    u32::try_from(value).ok().filter(|&v| v != u32::MAX).ok_or(NpyErrorKind::Zip64)
}

/// The bytes of a ZIP archive with the given members, all stored without compression.
fn encode_zip(members: &[(String, Vec<u8>)]) -> Result<Vec<u8>, NpyErrorKind> {
    let count = u16::try_from(members.len()).ok().filter(|&n| n != u16::MAX).ok_or(NpyErrorKind::Zip64)?;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in members {
        let mut crc = Crc::new();
        crc.update(data);
        let crc = crc.sum();
        let size = zip_u32(data.len())?;
        let name_len = u16::try_from(name.len()).map_err(|_| NpyErrorKind::InvalidName(name.clone()))?;
        let offset = zip_u32(out.len())?;

        put_u32(&mut out, LOCAL_HEADER_SIG);
        put_u16(&mut out, ZIP_VERSION); // Version needed to extract.
        put_u16(&mut out, 0); // Flags.
        put_u16(&mut out, METHOD_STORED);
        put_u16(&mut out, 0); // Time 00:00:00.
        put_u16(&mut out, DOS_DATE_1980_01_01);
        put_u32(&mut out, crc);
        put_u32(&mut out, size); // Compressed size.
        put_u32(&mut out, size); // Uncompressed size.
        put_u16(&mut out, name_len);
        put_u16(&mut out, 0); // Extra field length.
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);

        put_u32(&mut central, CENTRAL_ENTRY_SIG);
        put_u16(&mut central, ZIP_VERSION); // Version made by (MS-DOS, 2.0).
        put_u16(&mut central, ZIP_VERSION); // Version needed to extract.
        put_u16(&mut central, 0); // Flags.
        put_u16(&mut central, METHOD_STORED);
        put_u16(&mut central, 0); // Time.
        put_u16(&mut central, DOS_DATE_1980_01_01);
        put_u32(&mut central, crc);
        put_u32(&mut central, size); // Compressed size.
        put_u32(&mut central, size); // Uncompressed size.
        put_u16(&mut central, name_len);
        put_u16(&mut central, 0); // Extra field length.
        put_u16(&mut central, 0); // Comment length.
        put_u16(&mut central, 0); // Disk number.
        put_u16(&mut central, 0); // Internal attributes.
        put_u32(&mut central, 0); // External attributes.
        put_u32(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = zip_u32(out.len())?;
    let central_size = zip_u32(central.len())?;
    zip_u32(out.len() + central.len())?;
    out.extend_from_slice(&central);

    put_u32(&mut out, END_OF_CENTRAL_DIR_SIG);
    put_u16(&mut out, 0); // This disk.
    put_u16(&mut out, 0); // The disk where the central directory starts.
    put_u16(&mut out, count); // Entries on this disk.
    put_u16(&mut out, count); // Entries in total.
    put_u32(&mut out, central_size);
    put_u32(&mut out, central_offset);
    put_u16(&mut out, 0); // Comment length.
    Ok(out)
}

/// A little-endian u16 at `pos`, if the bytes reach that far.
fn u16_at(bytes: &[u8], pos: usize) -> Option<u16> {
    let b = bytes.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// A little-endian u32 at `pos`, if the bytes reach that far.
fn u32_at(bytes: &[u8], pos: usize) -> Option<u32> {
    let b = bytes.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn bad_zip(message: impl Into<String>) -> NpyErrorKind {
    NpyErrorKind::BadZip(message.into())
}

/// What the central directory records about one member.
#[derive(Debug)]
struct ZipEntry {
    name: String,
    flags: u16,
    method: u16,
    crc: u32,
    compressed_size: usize,
    size: usize,
    local_offset: usize,
}

/// Finds the end-of-central-directory record, which ends the archive apart from a comment of
/// at most 65 535 bytes.
fn find_end_of_central_dir(bytes: &[u8]) -> Option<usize> {
    let last = bytes.len().checked_sub(END_OF_CENTRAL_DIR_LEN)?;
    let first = last.saturating_sub(usize::from(u16::MAX));
    (first..=last).rev().find(|&pos| u32_at(bytes, pos) == Some(END_OF_CENTRAL_DIR_SIG))
}

/// Reads the central directory of a ZIP archive.
fn central_directory(bytes: &[u8]) -> Result<Vec<ZipEntry>, NpyErrorKind> {
    let Some(end) = find_end_of_central_dir(bytes) else {
        return Err(if u32_at(bytes, 0) == Some(LOCAL_HEADER_SIG) {
            bad_zip("end of central directory not found (the file is truncated or damaged)")
        } else {
            NpyErrorKind::NotZip
        });
    };
    // The record has its fixed length, as find_end_of_central_dir checked.
    let field16 = |offset| u16_at(bytes, end + offset).unwrap_or_default();
    let field32 = |offset| u32_at(bytes, end + offset).unwrap_or_default();
    let (disk, central_disk, entries_here, entries) = (field16(4), field16(6), field16(8), field16(10));
    let (central_size, central_offset) = (field32(12), field32(16));
    if entries == u16::MAX || central_size == u32::MAX || central_offset == u32::MAX {
        return Err(NpyErrorKind::Zip64);
    }
    if disk != 0 || central_disk != 0 || entries_here != entries {
        return Err(bad_zip("multi-disk archives are not supported"));
    }
    let start = central_offset as usize;
    let Some(directory) =
        start.checked_add(central_size as usize).filter(|&stop| stop <= end).map(|stop| &bytes[start..stop])
    else {
        return Err(bad_zip("the central directory lies outside the file"));
    };

    let mut out = Vec::with_capacity(usize::from(entries));
    let mut pos = 0;
    for _ in 0..entries {
        if u32_at(directory, pos) != Some(CENTRAL_ENTRY_SIG) || directory.len() - pos < CENTRAL_ENTRY_LEN {
            return Err(bad_zip("bad central directory entry"));
        }
        let field16 = |offset| u16_at(directory, pos + offset).unwrap_or_default();
        let field32 = |offset| u32_at(directory, pos + offset).unwrap_or_default();
        let (compressed_size, size, local_offset) = (field32(20), field32(24), field32(42));
        if [compressed_size, size, local_offset].contains(&u32::MAX) {
            return Err(NpyErrorKind::Zip64);
        }
        let name_start = pos + CENTRAL_ENTRY_LEN;
        let name_end = name_start + usize::from(field16(28));
        let next = name_end + usize::from(field16(30)) + usize::from(field16(32));
        let Some(name) = directory.get(name_start..name_end).filter(|_| next <= directory.len()) else {
            return Err(bad_zip("central directory entry runs past the directory"));
        };
        out.push(ZipEntry {
            name: String::from_utf8_lossy(name).into_owned(),
            flags: field16(8),
            method: field16(10),
            crc: field32(16),
            compressed_size: compressed_size as usize,
            size: size as usize,
            local_offset: local_offset as usize,
        });
        pos = next;
    }
    Ok(out)
}

/// The uncompressed bytes of one member, checked against its size and CRC-32.
fn member_data(bytes: &[u8], entry: &ZipEntry) -> Result<Vec<u8>, NpyErrorKind> {
    if entry.flags & 1 != 0 {
        return Err(bad_zip("encrypted members are not supported"));
    }
    // The local header repeats the name and may carry a different extra field (NumPy writes a
    // ZIP64 one there), so its own lengths locate the data. Its sizes may be zero, so the
    // central directory's are used.
    let local = entry.local_offset;
    if u32_at(bytes, local) != Some(LOCAL_HEADER_SIG) || bytes.len() - local < LOCAL_HEADER_LEN {
        return Err(bad_zip("bad local file header"));
    }
    let name_len = usize::from(u16_at(bytes, local + 26).unwrap_or_default());
    let extra_len = usize::from(u16_at(bytes, local + 28).unwrap_or_default());
    let data_start = local + LOCAL_HEADER_LEN + name_len + extra_len;
    let Some(raw) = data_start.checked_add(entry.compressed_size).and_then(|data_end| bytes.get(data_start..data_end))
    else {
        let found = bytes.len().saturating_sub(data_start);
        return Err(bad_zip(format!("member data of {} bytes, but only {found} follow", entry.compressed_size)));
    };

    let data = match entry.method {
        METHOD_STORED => {
            if entry.size != entry.compressed_size {
                return Err(bad_zip("a stored member has different compressed and uncompressed sizes"));
            }
            raw.to_vec()
        }
        METHOD_DEFLATED => {
            // Reading one byte more than announced detects data that inflate to more.
            let mut data = Vec::new();
            DeflateDecoder::new(raw)
                .take(entry.size as u64 + 1)
                .read_to_end(&mut data)
                .map_err(|e| bad_zip(format!("cannot inflate: {e}")))?;
            if data.len() != entry.size {
                return Err(bad_zip(format!("inflated {} bytes, but {} are recorded", data.len(), entry.size)));
            }
            data
        }
        method => return Err(NpyErrorKind::UnsupportedCompression(method)),
    };
    let mut crc = Crc::new();
    crc.update(&data);
    if crc.sum() != entry.crc {
        return Err(NpyErrorKind::CrcMismatch { recorded: entry.crc, computed: crc.sum() });
    }
    Ok(data)
}

/// Parses a complete `.npz` archive; `path` only names the file in errors.
fn decode_npz(path: &Path, bytes: &[u8]) -> Result<Vec<(String, Matrix)>, NpyError> {
    let entries = central_directory(bytes).map_err(|kind| NpyError::new(path, kind))?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for entry in &entries {
        let Some(name) = entry.name.strip_suffix(".npy") else {
            return Err(NpyError::in_member(path, &entry.name, NpyErrorKind::NotNpyMember));
        };
        if !seen.insert(name) {
            return Err(NpyError::new(path, NpyErrorKind::DuplicateName(name.to_string())));
        }
        let matrix = member_data(bytes, entry)
            .and_then(|data| decode_npy(&data))
            .map_err(|kind| NpyError::in_member(path, name, kind))?;
        out.push((name.to_string(), matrix));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::DeflateEncoder;

    /// A fresh, empty directory for one test, removed again when the test ends.
    struct TempDir(PathBuf);

    impl std::ops::Deref for TempDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

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
        let mut out = NPY_MAGIC.to_vec();
        out.extend_from_slice(&[version, 0]);
        let header = format!("{dict}\n");
        if version == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn f8_bytes(values: &[f64]) -> Vec<u8> {
        values.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn npy_round_trip_is_bit_exact() {
        let dir = temp_dir("npy-round-trip");
        for (name, m) in samples() {
            let path = dir.join(format!("{name}.npy"));
            write_npy(&path, &m).unwrap();
            assert_bits_eq(&read_npy(&path).unwrap(), &m);
        }
        // No temporary file is left behind.
        assert!(fs::read_dir(&*dir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp")));
    }

    #[test]
    fn npy_header_is_aligned_fortran_ordered_version_1() {
        let bytes = encode_npy(&Matrix::zeros(3, 7));
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        let data_start = 10 + header_len;
        assert_eq!(data_start % 64, 0);
        assert_eq!(bytes.len(), data_start + 3 * 7 * 8);
        let header = std::str::from_utf8(&bytes[10..data_start]).unwrap();
        assert!(header.starts_with("{'descr': '<f8', 'fortran_order': True, 'shape': (3, 7), }"));
        assert!(header.ends_with(" \n"));
    }

    #[test]
    fn npz_round_trip_keeps_names_order_and_bits() {
        let dir = temp_dir("npz-round-trip");
        let path = dir.join("weights.npz");
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
        let path = dir.join("c.npy");
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
        let path = dir.join("v.npy");
        let dict = "{\"descr\": \"<f8\", \"shape\": (3,), \"fortran_order\": False}";
        fs::write(&path, npy_by_hand(2, dict, &f8_bytes(&[7.0, 8.0, 9.0]))).unwrap();
        let m = read_npy(&path).unwrap();
        assert_eq!(m.shape(), (3, 1));
        assert_eq!(m.as_slice(), &[7.0, 8.0, 9.0]);
    }

    /// Appends a local header, the data, and a central directory entry to a hand-built archive.
    /// Like NumPy's `savez_compressed`, the local header carries an extra field that the central
    /// entry lacks; with `descriptor` the local sizes are zero and a data descriptor follows.
    fn push_member(zip: &mut Vec<u8>, central: &mut Vec<u8>, name: &str, npy: &[u8], method: u16, descriptor: bool) {
        let mut crc = Crc::new();
        crc.update(npy);
        let stored = if method == METHOD_DEFLATED {
            let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(npy).unwrap();
            encoder.finish().unwrap()
        } else {
            npy.to_vec()
        };
        let (flags, local_sizes) = if descriptor { (8, 0) } else { (0, stored.len() as u32) };
        let offset = zip.len() as u32;
        put_u32(zip, LOCAL_HEADER_SIG);
        for value in [20, flags, method, 0, DOS_DATE_1980_01_01] {
            put_u16(zip, value);
        }
        put_u32(zip, if descriptor { 0 } else { crc.sum() });
        put_u32(zip, local_sizes);
        put_u32(zip, if descriptor { 0 } else { npy.len() as u32 });
        put_u16(zip, name.len() as u16);
        put_u16(zip, 20);
        zip.extend_from_slice(name.as_bytes());
        // A ZIP64 extra field: tag 1, 16 bytes of sizes.
        put_u16(zip, 1);
        put_u16(zip, 16);
        zip.extend_from_slice(&(npy.len() as u64).to_le_bytes());
        zip.extend_from_slice(&(stored.len() as u64).to_le_bytes());
        zip.extend_from_slice(&stored);
        if descriptor {
            for value in [0x0807_4b50, crc.sum(), stored.len() as u32, npy.len() as u32] {
                put_u32(zip, value);
            }
        }

        put_u32(central, CENTRAL_ENTRY_SIG);
        for value in [20, 20, flags, method, 0, DOS_DATE_1980_01_01] {
            put_u16(central, value);
        }
        for value in [crc.sum(), stored.len() as u32, npy.len() as u32] {
            put_u32(central, value);
        }
        for value in [name.len() as u16, 0, 0, 0, 0] {
            put_u16(central, value);
        }
        put_u32(central, 0);
        put_u32(central, offset);
        central.extend_from_slice(name.as_bytes());
    }

    /// Ends a hand-built archive with its central directory and end record.
    fn finish_zip(mut zip: Vec<u8>, central: Vec<u8>, entries: u16) -> Vec<u8> {
        let offset = zip.len() as u32;
        zip.extend_from_slice(&central);
        put_u32(&mut zip, END_OF_CENTRAL_DIR_SIG);
        for value in [0, 0, entries, entries] {
            put_u16(&mut zip, value);
        }
        put_u32(&mut zip, central.len() as u32);
        put_u32(&mut zip, offset);
        put_u16(&mut zip, 0);
        zip
    }

    #[test]
    fn deflated_members_with_data_descriptors_read_back() {
        let a = Matrix::from_fn(5, 3, |i, j| (i * 3 + j) as f64 * 0.25 - 1.0);
        let b = Matrix::from_fn(2, 2, |i, j| if i == j { 1.0 } else { -0.5 });
        let (mut zip, mut central) = (Vec::new(), Vec::new());
        push_member(&mut zip, &mut central, "w_up_1.npy", &encode_npy(&a), METHOD_DEFLATED, true);
        push_member(&mut zip, &mut central, "w_pi_1.npy", &encode_npy(&b), METHOD_STORED, false);
        let zip = finish_zip(zip, central, 2);

        let dir = temp_dir("deflated");
        let path = dir.join("compressed.npz");
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
        let path = dir.join("w.npy");
        let message = |bytes: &[u8]| {
            fs::write(&path, bytes).unwrap();
            let message = read_npy(&path).unwrap_err().to_string();
            assert!(message.starts_with(&path.display().to_string()), "{message}");
            assert!(!message.contains('\n'), "{message}");
            message
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

        let missing_file = dir.join("absent.npy");
        let error = read_npy(&missing_file).unwrap_err();
        assert!(matches!(error.kind, NpyErrorKind::Io(_)));
        assert!(error.to_string().starts_with(&missing_file.display().to_string()));
    }

    #[test]
    fn npz_errors_name_the_file_member_and_problem() {
        let dir = temp_dir("npz-errors");
        let path = dir.join("weights.npz");
        let message = |bytes: &[u8]| {
            fs::write(&path, bytes).unwrap();
            let message = read_npz(&path).unwrap_err().to_string();
            assert!(message.starts_with(&path.display().to_string()), "{message}");
            assert!(!message.contains('\n'), "{message}");
            message
        };

        assert!(message(b"hello").ends_with("weights.npz: not a zip archive"));
        assert!(message(&encode_npy(&Matrix::zeros(2, 2))).ends_with("weights.npz: not a zip archive"));

        let i8_file = npy_by_hand(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", &[0; 8]);
        let zip = encode_zip(&[("w_up_1.npy".into(), i8_file)]).unwrap();
        assert!(
            message(&zip).ends_with("weights.npz: member 'w_up_1': unsupported dtype '<i8' (expected '<f8' or '<f4')")
        );

        let good = encode_zip(&[("w_up_1.npy".into(), encode_npy(&Matrix::zeros(3, 3)))]).unwrap();
        assert!(message(&good[..good.len() - 10]).contains("end of central directory not found"));
        let mut corrupted = good.clone();
        corrupted[100] ^= 0x40;
        assert!(message(&corrupted).contains("member 'w_up_1': CRC-32 mismatch"));
        let mut zip64 = good.clone();
        let end = zip64.len() - END_OF_CENTRAL_DIR_LEN;
        zip64[end + 16..end + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(message(&zip64).ends_with("zip64 archives are not supported (more than 65535 members or 4 GiB)"));

        let twice = encode_zip(&vec![("a.npy".into(), encode_npy(&Matrix::zeros(1, 1))); 2]).unwrap();
        assert!(message(&twice).ends_with("duplicate array name 'a'"));
        let text = encode_zip(&[("notes.txt".into(), b"hi".to_vec())]).unwrap();
        assert!(message(&text).ends_with("member 'notes.txt': not an .npy member"));
    }

    #[test]
    fn invalid_or_duplicate_names_are_refused_before_writing() {
        let dir = temp_dir("names");
        let path = dir.join("weights.npz");
        let m = Matrix::zeros(2, 2);
        let cases: [(&[(&str, &Matrix)], &str); 4] = [
            (&[("w_up_1", &m), ("w_up_1", &m)], "duplicate array name 'w_up_1'"),
            (&[("", &m)], "invalid array name ''"),
            (&[("w-up", &m)], "invalid array name 'w-up'"),
            (&[("dir/w", &m)], "invalid array name 'dir/w'"),
        ];
        for (arrays, expected) in cases {
            let message = write_npz(&path, arrays).unwrap_err().to_string();
            assert!(message.starts_with(&path.display().to_string()), "{message}");
            assert!(message.contains(expected), "{message}");
        }
        assert_eq!(fs::read_dir(&*dir).unwrap().count(), 0);

        let message = write_npy(&dir.join("missing").join("w.npy"), &m).unwrap_err().to_string();
        assert!(message.contains("missing"), "{message}");
    }

    #[test]
    fn damaged_files_give_errors_not_panics() {
        let npy = encode_npy(&Matrix::from_fn(2, 3, |i, j| (i + j) as f64));
        let npz = encode_zip(&[("a.npy".into(), npy.clone()), ("b.npy".into(), npy.clone())]).unwrap();
        let (mut zip, mut central) = (Vec::new(), Vec::new());
        push_member(&mut zip, &mut central, "c.npy", &npy, METHOD_DEFLATED, true);
        let deflated = finish_zip(zip, central, 1);
        let path = Path::new("damaged.npz");

        for len in 0..npy.len() {
            assert!(decode_npy(&npy[..len]).is_err());
        }
        for file in [&npz, &deflated] {
            for len in 0..file.len() {
                assert!(decode_npz(path, &file[..len]).is_err());
            }
            // Flipping any one byte must not panic; it may be harmless, as in a timestamp.
            for pos in 0..file.len() {
                for flip in [0x01, 0x80, 0xFF] {
                    let mut damaged = file.clone();
                    damaged[pos] ^= flip;
                    let _ = decode_npz(path, &damaged);
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
