//! The MNIST handwritten digits, or any data set stored like them, read from the four standard
//! IDX files.
//!
//! [`Mnist::load`] reads `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` from one directory.
//! Each file may be stored plain or gzipped with a `.gz` suffix; when both
//! names exist the plain one is used. Whether a file is gzipped is decided by
//! its first two bytes (the gzip magic `1f 8b`), not by its name.
//!
//! The data are split as in Sacramento et al. (2018): 55 000 training images,
//! 5 000 validation images and the 10 000 test images. The validation split is
//! taken deterministically as the **last** 5 000 images of the training file,
//! so the training split is its first 55 000 images. No shuffling happens here.
//!
//! Images are kept as raw bytes (one byte per pixel, row-major rows × columns)
//! and are scaled to `[0, 1]` only when a batch is filled with
//! [`Mnist::fill_batch`].
//!
//! # Other data sets
//!
//! Nothing here is specific to MNIST's digits except the file names: images
//! may have any size (MNIST's are 28×28, and so are Fashion-MNIST's), the same
//! in the training and the test file, and the number of classes is one more
//! than the largest label of either file (10 for MNIST). [`Mnist::image_size`]
//! and [`Mnist::classes`] tell a network how many inputs and outputs it needs.
//!
//! # Limits
//!
//! Each file is read as a stream, decompressed on the fly, and its IDX header
//! is checked before its payload: the magic number (2051 for images, 2049 for
//! labels), then the dimensions and the item count. An image needs at least
//! one row and one column and may hold at most [`MAX_IMAGE_PIXELS`] pixels; a
//! file may announce at most [`MAX_ITEMS`] items and [`MAX_PAYLOAD_BYTES`]
//! bytes of pixels. The payload size follows from the header, and
//! at most that many bytes and one more are read, so memory is bounded by what
//! the header announces, never by the length of the (compressed) file: a gzip
//! bomb is refused after decompressing a few kilobytes past its payload. A file
//! shorter than its header announces is refused as truncated, and one with
//! anything after its payload is refused as having trailing data.
//!
//! An image file and its label file must hold the same number of items. No
//! split may be empty: a file of 0 images is refused, and so is a validation
//! size of 0 or one that takes every training image.
//!
//! [`parse_images`] and [`parse_labels`] read one file from any reader, such as
//! a byte slice, so that the parser can be tested or fuzzed without files.
//! Every error is one line that names the file and what is wrong with it; it
//! holds numbers and fixed text, never bytes copied from the file.

use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::DatasetError;

/// The validation size used by [`Mnist::load`], as in the paper.
pub const DEFAULT_VALIDATION: usize = 5_000;

/// The base name of the training image file.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// The base name of the training label file.
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// The base name of the test image file.
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
/// The base name of the test label file.
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// The base names of the four files [`Mnist::load`] expects in its directory.
///
/// Each file may instead carry a `.gz` suffix.
pub const EXPECTED_FILES: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// The most images (or labels) one IDX file may announce.
///
/// This is about 16 times the 60 000 images of the MNIST training file, so an
/// image file may announce at most 784 000 000 bytes of pixels, while a header
/// that announces the most an IDX header can (2^32 − 1 images, 3.4 TB) is
/// refused before anything is allocated.
pub const MAX_ITEMS: usize = 1_000_000;

/// The most pixels of one image: 256 × 256, 84 times MNIST's 784.
pub const MAX_IMAGE_PIXELS: usize = 1 << 16;

/// The most payload bytes one image file may announce: 1 GiB, 22 times the
/// 47 040 000 of the MNIST training file.
pub const MAX_PAYLOAD_BYTES: usize = 1 << 30;

/// The most memory reserved for a payload before its bytes arrive.
const INITIAL_RESERVE: usize = 16 << 20;

/// The IDX magic number of an unsigned-byte, three-dimensional file (images).
const IMAGES_MAGIC: u32 = 2051;
/// The IDX magic number of an unsigned-byte, one-dimensional file (labels).
const LABELS_MAGIC: u32 = 2049;
/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// One of the three parts of the data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training images: all of the training file except its last `validation` images.
    Train,
    /// The validation images: the last `validation` images of the training file.
    Validation,
    /// The images of the test file.
    Test,
}

impl Split {
    /// All three splits, in the order train, validation, test.
    pub const ALL: [Split; 3] = [Split::Train, Split::Validation, Split::Test];

    /// A lower-case name for the split, for logs and file names.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The images of one IDX image file: their size and their pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    /// The pixel rows of every image.
    pub rows: usize,
    /// The pixel columns of every image.
    pub cols: usize,
    /// The pixels of all images, row-major, `rows × cols` bytes an image.
    pub pixels: Vec<u8>,
}

impl Images {
    /// The number of images.
    pub fn count(&self) -> usize {
        self.pixels.len() / (self.rows * self.cols)
    }
}

/// An MNIST-like data set held in memory as raw bytes.
#[derive(Clone, Debug)]
pub struct Mnist {
    /// All images of the training file; the validation split is at the end.
    train_images: Vec<u8>,
    /// All labels of the training file.
    train_labels: Vec<u8>,
    /// All images of the test file.
    test_images: Vec<u8>,
    /// All labels of the test file.
    test_labels: Vec<u8>,
    /// How many images at the end of the training file form the validation split.
    validation: usize,
    /// The pixel rows and columns of every image.
    dims: (usize, usize),
    /// One more than the largest label.
    classes: usize,
}

impl Mnist {
    /// Loads MNIST from `dir` with the paper's split: 55 000 training,
    /// 5 000 validation (the last 5 000 images of the training file) and
    /// 10 000 test images.
    ///
    /// This is [`Mnist::load_with`] with a validation size of
    /// [`DEFAULT_VALIDATION`].
    ///
    /// # Errors
    ///
    /// Returns an error if a file is missing, unreadable or malformed; see
    /// [`Mnist::load_with`].
    pub fn load(dir: &Path) -> Result<Mnist, DatasetError> {
        Mnist::load_with(dir, DEFAULT_VALIDATION)
    }

    /// Loads MNIST from `dir`, keeping the last `validation` images of the
    /// training file as the validation split.
    ///
    /// # Errors
    ///
    /// Returns [`DatasetError::MissingFiles`] listing every expected file that
    /// exists neither plain nor gzipped, and otherwise an error naming the
    /// first file that cannot be read or decompressed, has the wrong IDX magic
    /// number, an image size out of bounds, a count above [`MAX_ITEMS`], a
    /// payload shorter than its header announces or data after it, or an image
    /// count different from its label file's (see [`parse_images`] and
    /// [`parse_labels`]), or holds no images. Returns
    /// [`DatasetError::SizeMismatch`] if the test images differ in size from
    /// the training images.
    /// Returns [`DatasetError::ValidationTooLarge`] if `validation` exceeds the
    /// number of training images, and [`DatasetError::EmptySplit`] if it is 0
    /// or equals that number, leaving the validation or the training split
    /// empty.
    pub fn load_with(dir: &Path, validation: usize) -> Result<Mnist, DatasetError> {
        let [train_images_path, train_labels_path, test_images_path, test_labels_path] = resolve_files(dir)?;

        let (train_images, train_labels) = read_pair(&train_images_path, &train_labels_path)?;
        let (test_images, test_labels) = read_pair(&test_images_path, &test_labels_path)?;
        let dims = (train_images.rows, train_images.cols);
        if (test_images.rows, test_images.cols) != dims {
            return Err(DatasetError::SizeMismatch {
                train: train_images_path,
                train_dims: dims,
                test: test_images_path,
                test_dims: (test_images.rows, test_images.cols),
            });
        }
        let largest = train_labels.iter().chain(&test_labels).max().copied().unwrap_or(0);

        if validation > train_labels.len() {
            return Err(DatasetError::ValidationTooLarge {
                path: train_images_path,
                validation,
                available: train_labels.len(),
            });
        }
        let empty = if validation == 0 {
            Some(Split::Validation)
        } else if validation == train_labels.len() {
            Some(Split::Train)
        } else {
            None
        };
        if let Some(split) = empty {
            return Err(DatasetError::EmptySplit {
                path: train_images_path,
                split,
                validation,
                available: train_labels.len(),
            });
        }

        Ok(Mnist {
            train_images: train_images.pixels,
            train_labels,
            test_images: test_images.pixels,
            test_labels,
            validation,
            dims,
            classes: usize::from(largest) + 1,
        })
    }

    /// The pixel rows and columns of every image.
    pub fn dims(&self) -> (usize, usize) {
        self.dims
    }

    /// The number of pixels of one image, rows × columns (784 for MNIST).
    pub fn image_size(&self) -> usize {
        self.dims.0 * self.dims.1
    }

    /// The number of classes: one more than the largest label of the training and the test file
    /// (10 for MNIST).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The number of images in `split`.
    pub fn len(&self, split: Split) -> usize {
        self.labels(split).len()
    }

    /// The labels of all images in `split`, in order, each below [`Mnist::classes`].
    pub fn labels(&self, split: Split) -> &[u8] {
        let train_count = self.train_labels.len() - self.validation;
        match split {
            Split::Train => &self.train_labels[..train_count],
            Split::Validation => &self.train_labels[train_count..],
            Split::Test => &self.test_labels,
        }
    }

    /// The label, below [`Mnist::classes`], of image `i` of `split`.
    ///
    /// # Panics
    ///
    /// Panics if `i >= self.len(split)`.
    pub fn label(&self, split: Split, i: usize) -> u8 {
        let labels = self.labels(split);
        assert!(i < labels.len(), "image index {i} out of range for the {split} split of {} images", labels.len());
        labels[i]
    }

    /// The raw pixels (0..=255, row-major) of image `i` of `split`.
    ///
    /// # Panics
    ///
    /// Panics if `i >= self.len(split)`.
    pub fn pixels(&self, split: Split, i: usize) -> &[u8] {
        let count = self.len(split);
        assert!(i < count, "image index {i} out of range for the {split} split of {count} images");
        let size = self.image_size();
        let start = match split {
            Split::Train => i,
            Split::Validation => self.train_labels.len() - self.validation + i,
            Split::Test => i,
        } * size;
        let images = match split {
            Split::Train | Split::Validation => &self.train_images,
            Split::Test => &self.test_images,
        };
        &images[start..start + size]
    }

    /// Writes the images `indices` of `split`, scaled to `[0, 1]` (pixel / 255),
    /// into `out` as a column-major n × `indices.len()` matrix, n =
    /// [`Mnist::image_size`]: column `j` (entries `n * j .. n * (j + 1)`) is
    /// image `indices[j]`.
    ///
    /// # Panics
    ///
    /// Panics if `out.len() != n * indices.len()` or if an index is out of
    /// range for `split`.
    pub fn fill_batch(&self, split: Split, indices: &[usize], out: &mut [f64]) {
        let size = self.image_size();
        assert_eq!(
            out.len(),
            size * indices.len(),
            "fill_batch: output holds {} values, expected {size} x {} images",
            out.len(),
            indices.len()
        );
        for (column, &i) in out.chunks_exact_mut(size).zip(indices) {
            for (value, &pixel) in column.iter_mut().zip(self.pixels(split, i)) {
                *value = f64::from(pixel) / 255.0;
            }
        }
    }

    /// Writes one-hot targets for the images `indices` of `split` into `out`
    /// as a column-major c × `indices.len()` matrix, c = [`Mnist::classes`]:
    /// column `j` is `low` everywhere except `high` at row
    /// `label(split, indices[j])`.
    ///
    /// # Panics
    ///
    /// Panics if `out.len() != c * indices.len()` or if an index is out of
    /// range for `split`.
    pub fn fill_one_hot(&self, split: Split, indices: &[usize], low: f64, high: f64, out: &mut [f64]) {
        let classes = self.classes;
        assert_eq!(
            out.len(),
            classes * indices.len(),
            "fill_one_hot: output holds {} values, expected {classes} x {} images",
            out.len(),
            indices.len()
        );
        for (column, &i) in out.chunks_exact_mut(classes).zip(indices) {
            column.fill(low);
            column[usize::from(self.label(split, i))] = high;
        }
    }

    /// The number of images at the end of the training file that form the
    /// validation split.
    pub fn validation_size(&self) -> usize {
        self.validation
    }
}

/// Finds each expected file in `dir`, preferring the plain name over the
/// `.gz` name, and reports all missing files at once.
fn resolve_files(dir: &Path) -> Result<[PathBuf; 4], DatasetError> {
    let mut found = Vec::with_capacity(EXPECTED_FILES.len());
    let mut missing = Vec::new();
    for name in EXPECTED_FILES {
        let plain = dir.join(name);
        let gzipped = dir.join(format!("{name}.gz"));
        if plain.is_file() {
            found.push(plain);
        } else if gzipped.is_file() {
            found.push(gzipped);
        } else {
            missing.push(name.to_string());
        }
    }
    if !missing.is_empty() {
        return Err(DatasetError::MissingFiles { dir: dir.to_path_buf(), missing });
    }
    Ok(found.try_into().expect("one path was found for each of the four expected files"))
}

/// Reads an image file and its label file and checks that they agree.
fn read_pair(images_path: &Path, labels_path: &Path) -> Result<(Images, Vec<u8>), DatasetError> {
    let images = parse_images(images_path, open(images_path)?)?;
    let labels = parse_labels(labels_path, open(labels_path)?)?;
    let image_count = images.count();
    if image_count != labels.len() {
        return Err(DatasetError::CountMismatch {
            images: images_path.to_path_buf(),
            image_count,
            labels: labels_path.to_path_buf(),
            label_count: labels.len(),
        });
    }
    if image_count == 0 {
        return Err(DatasetError::NoImages { path: images_path.to_path_buf() });
    }
    Ok((images, labels))
}

/// Opens a file for reading.
fn open(path: &Path) -> Result<File, DatasetError> {
    File::open(path).map_err(|source| DatasetError::Io { path: path.to_path_buf(), source })
}

/// Parses an IDX image file, plain or gzipped, from `reader` and returns its
/// images.
///
/// `path` only names the source in error messages; nothing is opened, so a
/// fuzz target can pass arbitrary bytes (`&[u8]` is a reader) under any name.
/// At most the header and the payload it announces, plus one byte, are
/// decompressed and read; see the [module documentation](self) for the limits.
///
/// # Errors
///
/// Returns an error naming `path` if the data cannot be read or decompressed,
/// have the wrong IDX magic number, a short header, an image of no rows or
/// columns or of more than [`MAX_IMAGE_PIXELS`] pixels, more than
/// [`MAX_ITEMS`] images or [`MAX_PAYLOAD_BYTES`] bytes of pixels, a payload
/// shorter than its header announces, or data after that payload.
pub fn parse_images(path: &Path, reader: impl Read) -> Result<Images, DatasetError> {
    let mut idx = IdxReader::new(path, reader)?;
    let [count, rows, cols] = idx.header(IMAGES_MAGIC, "images")?;
    let pixels = u64::from(rows) * u64::from(cols);
    if pixels == 0 || pixels > MAX_IMAGE_PIXELS as u64 {
        return Err(DatasetError::BadDimensions { path: path.to_path_buf(), rows, cols, max: MAX_IMAGE_PIXELS });
    }
    let size = pixels as usize;
    let bytes = u64::from(count) * pixels;
    if usize::try_from(count).is_ok_and(|n| n <= MAX_ITEMS) && bytes > MAX_PAYLOAD_BYTES as u64 {
        return Err(DatasetError::PayloadTooLarge {
            path: path.to_path_buf(),
            count,
            rows,
            cols,
            bytes,
            max: MAX_PAYLOAD_BYTES,
        });
    }
    let pixels = idx.payload(count, size, "images")?;
    Ok(Images { rows: rows as usize, cols: cols as usize, pixels })
}

/// Parses an IDX label file, plain or gzipped, from `reader` and returns its
/// labels; any byte is a label.
///
/// As for [`parse_images`], `path` only names the source in error messages.
///
/// # Errors
///
/// Returns an error naming `path` if the data cannot be read or decompressed,
/// have the wrong IDX magic number, a short header, more than [`MAX_ITEMS`]
/// labels, a payload shorter than its header announces, or data after that
/// payload.
pub fn parse_labels(path: &Path, reader: impl Read) -> Result<Vec<u8>, DatasetError> {
    let mut idx = IdxReader::new(path, reader)?;
    let [count] = idx.header(LABELS_MAGIC, "labels")?;
    idx.payload(count, 1, "labels")
}

/// An IDX file being read, decompressed on the fly if it is gzipped.
struct IdxReader<'a> {
    /// The file's (decompressed) bytes, from the start of its header.
    reader: Box<dyn Read + 'a>,
    /// The name of the file in error messages.
    path: &'a Path,
    /// Whether the file starts with the gzip magic bytes.
    gzipped: bool,
}

impl<'a> IdxReader<'a> {
    /// Looks at the first two bytes of `reader` to decide whether it is
    /// gzipped, and puts them back in front of the rest.
    ///
    /// The gzip decoder keeps one member's header at a time and refuses header
    /// fields (file name, comment) longer than 64 KiB, so decoding holds a
    /// bounded amount of memory besides the bytes read from it.
    fn new<R: Read + 'a>(path: &'a Path, mut reader: R) -> Result<IdxReader<'a>, DatasetError> {
        let mut start = Vec::with_capacity(GZIP_MAGIC.len());
        reader
            .by_ref()
            .take(GZIP_MAGIC.len() as u64)
            .read_to_end(&mut start)
            .map_err(|source| DatasetError::Io { path: path.to_path_buf(), source })?;
        let gzipped = start == GZIP_MAGIC;
        let whole = Cursor::new(start).chain(reader);
        let reader: Box<dyn Read + 'a> = if gzipped { Box::new(MultiGzDecoder::new(whole)) } else { Box::new(whole) };
        Ok(IdxReader { reader, path, gzipped })
    }

    /// The error for a failed read: a decompression error for a gzipped file
    /// (the decoder reports read errors of the underlying file the same way)
    /// and an I/O error for a plain one.
    fn read_error(&self, source: io::Error) -> DatasetError {
        let path = self.path.to_path_buf();
        if self.gzipped { DatasetError::Gzip { path, source } } else { DatasetError::Io { path, source } }
    }

    /// Reads the header: the big-endian magic number, which must be `magic`,
    /// followed by `N` big-endian 32-bit dimensions, which are returned.
    fn header<const N: usize>(&mut self, magic: u32, kind: &'static str) -> Result<[u32; N], DatasetError> {
        let needed = 4 * (N + 1);
        let mut bytes = Vec::with_capacity(needed);
        self.reader.by_ref().take(needed as u64).read_to_end(&mut bytes).map_err(|source| self.read_error(source))?;
        let word = |i: usize| u32::from_be_bytes([bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]]);
        // The magic number is checked before the header length, so that a short
        // file of the wrong kind is reported as such.
        if bytes.len() >= 4 && word(0) != magic {
            return Err(DatasetError::BadMagic {
                path: self.path.to_path_buf(),
                expected: magic,
                found: word(0),
                kind,
            });
        }
        if bytes.len() < needed {
            return Err(DatasetError::HeaderTooShort { path: self.path.to_path_buf(), len: bytes.len(), needed });
        }
        Ok(std::array::from_fn(|i| word(i + 1)))
    }

    /// Reads the payload of `count` items of `item_size` bytes that follow the
    /// header, and checks that nothing follows it.
    ///
    /// `count` is checked against [`MAX_ITEMS`] before anything is read, and no
    /// more than the payload and one further byte is ever read, however long
    /// the (decompressed) file is. At most 16 MiB is reserved up front; the
    /// rest grows with the bytes that actually arrive, so a short file that
    /// announces a large payload costs no more memory than it holds.
    fn payload(mut self, count: u32, item_size: usize, kind: &'static str) -> Result<Vec<u8>, DatasetError> {
        let len = usize::try_from(count)
            .ok()
            .filter(|&items| items <= MAX_ITEMS)
            .and_then(|items| items.checked_mul(item_size))
            .ok_or_else(|| DatasetError::TooManyItems { path: self.path.to_path_buf(), count, max: MAX_ITEMS, kind })?;
        let mut payload = Vec::with_capacity(len.min(INITIAL_RESERVE));
        self.reader.by_ref().take(len as u64).read_to_end(&mut payload).map_err(|source| self.read_error(source))?;
        if payload.len() < len {
            return Err(DatasetError::PayloadLength {
                path: self.path.to_path_buf(),
                expected: len as u64,
                found: payload.len() as u64,
            });
        }
        // Reading one more byte tells whether the file goes on; for a gzipped
        // file it also makes the decoder check the stream's trailer.
        let extra =
            io::copy(&mut self.reader.by_ref().take(1), &mut io::sink()).map_err(|source| self.read_error(source))?;
        if extra > 0 {
            return Err(DatasetError::TrailingData { path: self.path.to_path_buf(), expected: len as u64 });
        }
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    /// The pixels of one MNIST image and MNIST's classes, which the synthetic files below share.
    const IMAGE_SIZE: usize = 784;
    const NUM_CLASSES: usize = 10;
    use flate2::write::GzEncoder;
    use std::fs;
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("apical-datasets-{}-{name}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// An IDX image file of `count` images of size rows × cols; pixel `p` of
    /// image `i` is `(i + p) % 256`.
    fn idx_images(count: u32, rows: u32, cols: u32) -> Vec<u8> {
        let mut data = Vec::new();
        for word in [IMAGES_MAGIC, count, rows, cols] {
            data.extend_from_slice(&word.to_be_bytes());
        }
        let size = (rows * cols) as usize;
        for i in 0..count as usize {
            data.extend((0..size).map(|p| ((i + p) % 256) as u8));
        }
        data
    }

    /// An IDX label file holding `labels`.
    fn idx_labels(labels: &[u8]) -> Vec<u8> {
        let mut data = Vec::new();
        for word in [LABELS_MAGIC, labels.len() as u32] {
            data.extend_from_slice(&word.to_be_bytes());
        }
        data.extend_from_slice(labels);
        data
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// The labels `i % 10` for `count` images.
    fn cyclic_labels(count: usize) -> Vec<u8> {
        (0..count).map(|i| (i % 10) as u8).collect()
    }

    /// Writes a valid synthetic set of 20 training and 7 test images; the
    /// training files are gzipped when `gz` is true, the test files never.
    fn write_valid_set(dir: &Path, gz: bool) {
        let files = [
            (TRAIN_IMAGES, idx_images(20, 28, 28), gz),
            (TRAIN_LABELS, idx_labels(&cyclic_labels(20)), gz),
            (TEST_IMAGES, idx_images(7, 28, 28), false),
            (TEST_LABELS, idx_labels(&cyclic_labels(7)), false),
        ];
        for (name, data, gz) in files {
            if gz {
                fs::write(dir.join(format!("{name}.gz")), gzip(&data)).unwrap();
            } else {
                fs::write(dir.join(name), data).unwrap();
            }
        }
    }

    fn load_error(dir: &Path) -> String {
        let err = Mnist::load_with(dir, 5).unwrap_err().to_string();
        assert!(!err.contains('\n'), "error is not one line: {err}");
        err
    }

    #[test]
    fn loads_raw_and_gzipped_files_with_small_split() {
        for gz in [false, true] {
            let dir = TempDir::new("valid");
            write_valid_set(&dir.0, gz);
            let mnist = Mnist::load_with(&dir.0, 5).unwrap();
            assert_eq!(mnist.len(Split::Train), 15);
            assert_eq!(mnist.len(Split::Validation), 5);
            assert_eq!(mnist.len(Split::Test), 7);
            assert_eq!(mnist.validation_size(), 5);

            // The validation split is the tail of the training file.
            assert_eq!(mnist.label(Split::Train, 3), 3);
            assert_eq!(mnist.label(Split::Validation, 0), 5);
            assert_eq!(mnist.label(Split::Validation, 4), 9);
            assert_eq!(mnist.pixels(Split::Validation, 0)[0], 15);
            assert_eq!(mnist.pixels(Split::Train, 2)[1], 3);
            assert_eq!(mnist.pixels(Split::Test, 6)[0], 6);
            assert_eq!(mnist.pixels(Split::Test, 6).len(), IMAGE_SIZE);
        }
    }

    #[test]
    fn gzip_is_detected_by_magic_not_by_name() {
        let dir = TempDir::new("gzname");
        write_valid_set(&dir.0, false);
        // A gzipped file under the plain name, and a plain file under the gz name.
        fs::write(dir.0.join(TEST_IMAGES), gzip(&idx_images(7, 28, 28))).unwrap();
        fs::remove_file(dir.0.join(TEST_LABELS)).unwrap();
        fs::write(dir.0.join(format!("{TEST_LABELS}.gz")), idx_labels(&cyclic_labels(7))).unwrap();
        let mnist = Mnist::load_with(&dir.0, 5).unwrap();
        assert_eq!(mnist.len(Split::Test), 7);
    }

    #[test]
    fn plain_name_is_preferred_over_gz_name() {
        let dir = TempDir::new("prefer");
        write_valid_set(&dir.0, false);
        // A broken .gz next to a valid plain file must be ignored.
        fs::write(dir.0.join(format!("{TRAIN_IMAGES}.gz")), b"garbage").unwrap();
        assert!(Mnist::load_with(&dir.0, 5).is_ok());
    }

    #[test]
    fn fill_batch_and_one_hot_write_columns() {
        let dir = TempDir::new("batch");
        write_valid_set(&dir.0, false);
        let mnist = Mnist::load_with(&dir.0, 5).unwrap();

        let indices = [4, 1];
        let mut x = vec![f64::NAN; IMAGE_SIZE * 2];
        mnist.fill_batch(Split::Train, &indices, &mut x);
        assert_eq!(x[0], 4.0 / 255.0);
        assert_eq!(x[IMAGE_SIZE], 1.0 / 255.0);
        assert_eq!(x[255 - 4], 1.0); // Pixel 251 of image 4 is 255.
        assert!(x.iter().all(|&v| (0.0..=1.0).contains(&v)));

        let mut y = vec![f64::NAN; NUM_CLASSES * 2];
        mnist.fill_one_hot(Split::Validation, &indices, 0.1, 0.8, &mut y);
        // Validation images 4 and 1 are training-file images 19 and 16.
        for (row, &value) in y[..10].iter().enumerate() {
            assert_eq!(value, if row == 9 { 0.8 } else { 0.1 });
        }
        for (row, &value) in y[10..].iter().enumerate() {
            assert_eq!(value, if row == 6 { 0.8 } else { 0.1 });
        }
    }

    #[test]
    #[should_panic(expected = "fill_batch")]
    fn fill_batch_rejects_wrong_output_length() {
        let dir = TempDir::new("badbatch");
        write_valid_set(&dir.0, false);
        let mnist = Mnist::load_with(&dir.0, 5).unwrap();
        mnist.fill_batch(Split::Test, &[0, 1], &mut [0.0; IMAGE_SIZE]);
    }

    #[test]
    fn validation_larger_than_training_file_is_an_error() {
        let dir = TempDir::new("bigval");
        write_valid_set(&dir.0, false);
        assert!(Mnist::load_with(&dir.0, 19).is_ok());
        let err = Mnist::load_with(&dir.0, 21).unwrap_err().to_string();
        assert!(err.contains(TRAIN_IMAGES) && err.contains("21"), "{err}");
    }

    #[test]
    fn empty_splits_are_refused() {
        let dir = TempDir::new("emptysplit");
        write_valid_set(&dir.0, false);
        for (validation, split) in [(0, "validation"), (20, "train")] {
            let err = Mnist::load_with(&dir.0, validation).unwrap_err().to_string();
            assert!(err.contains(TRAIN_IMAGES) && err.contains("holds 20 images"), "{err}");
            assert!(err.contains(&format!("keeping {validation} of them")), "{err}");
            assert!(err.ends_with(&format!("leaves the {split} split empty")), "{err}");
        }

        // A test file of no images, with as many labels.
        fs::write(dir.0.join(TEST_IMAGES), idx_images(0, 28, 28)).unwrap();
        fs::write(dir.0.join(TEST_LABELS), idx_labels(&[])).unwrap();
        let err = load_error(&dir.0);
        assert!(err.contains(TEST_IMAGES) && err.contains("holds no images"), "{err}");

        // A training file of no images is refused as such, not for its validation size.
        let dir = TempDir::new("emptytrain");
        write_valid_set(&dir.0, true);
        fs::write(dir.0.join(format!("{TRAIN_IMAGES}.gz")), gzip(&idx_images(0, 28, 28))).unwrap();
        fs::write(dir.0.join(format!("{TRAIN_LABELS}.gz")), gzip(&idx_labels(&[]))).unwrap();
        let err = load_error(&dir.0);
        assert!(err.contains(TRAIN_IMAGES) && err.contains("holds no images"), "{err}");
    }

    #[test]
    fn wrong_magic_is_an_error() {
        let dir = TempDir::new("magic");
        write_valid_set(&dir.0, false);
        // Labels stored where the test images are expected.
        fs::write(dir.0.join(TEST_IMAGES), idx_labels(&cyclic_labels(7))).unwrap();
        let err = load_error(&dir.0);
        assert!(err.contains(TEST_IMAGES), "{err}");
        assert!(err.contains("2049") && err.contains("2051"), "{err}");
    }

    #[test]
    fn test_images_of_another_size_are_an_error() {
        let dir = TempDir::new("dims");
        write_valid_set(&dir.0, false);
        fs::write(dir.0.join(TEST_IMAGES), idx_images(7, 28, 27)).unwrap();
        let err = load_error(&dir.0);
        assert!(err.contains(TRAIN_IMAGES) && err.contains("28x28"), "{err}");
        assert!(err.contains(TEST_IMAGES) && err.contains("28x27"), "{err}");
    }

    #[test]
    fn images_of_any_size_load_with_the_classes_of_their_labels() {
        let dir = TempDir::new("anysize");
        let labels = |count: usize| (0..count).map(|i| (i % 4) as u8).collect::<Vec<_>>();
        fs::write(dir.0.join(TRAIN_IMAGES), idx_images(20, 5, 3)).unwrap();
        fs::write(dir.0.join(TRAIN_LABELS), idx_labels(&labels(20))).unwrap();
        fs::write(dir.0.join(TEST_IMAGES), gzip(&idx_images(7, 5, 3))).unwrap();
        // The largest label, 11, is in the test file only.
        fs::write(dir.0.join(TEST_LABELS), idx_labels(&[0, 1, 2, 3, 11, 0, 1])).unwrap();
        let data = Mnist::load_with(&dir.0, 5).unwrap();
        assert_eq!((data.dims(), data.image_size(), data.classes()), ((5, 3), 15, 12));
        assert_eq!(data.pixels(Split::Validation, 1), &(16..31).map(|p| p as u8).collect::<Vec<_>>()[..]);
        let mut y = vec![f64::NAN; 12];
        data.fill_one_hot(Split::Test, &[4], 0.0, 1.0, &mut y);
        assert_eq!(y.iter().position(|&v| v == 1.0), Some(11));
        let mut x = vec![f64::NAN; 30];
        data.fill_batch(Split::Train, &[0, 2], &mut x);
        assert_eq!((x[14], x[15]), (14.0 / 255.0, 2.0 / 255.0));
    }

    #[test]
    fn empty_and_oversized_images_are_refused_from_the_header() {
        let header = sized_images_header;
        for (rows, cols) in [(0, 28), (28, 0), (257, 256), (65_535, 65_535), (u32::MAX, u32::MAX)] {
            let err = parse_images(Path::new("odd"), header(1, rows, cols).as_slice()).unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "odd holds {rows}x{cols} images; an image needs at least one row and one column and at most 65536 pixels"
                )
            );
        }
        // 16 385 images of 256 × 256 pixels exceed 1 GiB; 16 384 fit and fail on their payload.
        let err = parse_images(Path::new("big"), header(16_385, 256, 256).as_slice()).unwrap_err().to_string();
        assert!(err.contains("16385 images of 256x256 pixels, 1073807360 bytes, more than the 1073741824"), "{err}");
        let err = parse_images(Path::new("big"), header(16_384, 256, 256).as_slice()).unwrap_err().to_string();
        assert!(err.contains("has 0 payload bytes but its header announces 1073741824"), "{err}");
    }

    #[test]
    fn truncated_payload_is_an_error() {
        for gz in [false, true] {
            let dir = TempDir::new("truncated");
            write_valid_set(&dir.0, false);
            let mut data = idx_images(20, 28, 28);
            data.truncate(data.len() - 100);
            let data = if gz { gzip(&data) } else { data };
            fs::write(dir.0.join(TRAIN_IMAGES), data).unwrap();
            let err = load_error(&dir.0);
            assert!(err.contains(TRAIN_IMAGES) && err.contains("truncated"), "{err}");
        }
    }

    #[test]
    fn truncated_gzip_stream_is_an_error() {
        let dir = TempDir::new("truncgz");
        write_valid_set(&dir.0, false);
        fs::remove_file(dir.0.join(TRAIN_LABELS)).unwrap();
        let mut data = gzip(&idx_labels(&cyclic_labels(20)));
        data.truncate(data.len() / 2);
        fs::write(dir.0.join(format!("{TRAIN_LABELS}.gz")), data).unwrap();
        let err = load_error(&dir.0);
        assert!(err.contains(TRAIN_LABELS) && err.contains("gzip"), "{err}");
    }

    #[test]
    fn short_header_is_an_error() {
        let dir = TempDir::new("header");
        write_valid_set(&dir.0, false);
        fs::write(dir.0.join(TEST_LABELS), &idx_labels(&[])[..6]).unwrap();
        let err = load_error(&dir.0);
        assert!(err.contains(TEST_LABELS) && err.contains("header"), "{err}");
    }

    #[test]
    fn count_mismatch_is_an_error() {
        let dir = TempDir::new("count");
        write_valid_set(&dir.0, false);
        fs::write(dir.0.join(TEST_LABELS), idx_labels(&cyclic_labels(6))).unwrap();
        let err = load_error(&dir.0);
        assert!(err.contains(TEST_IMAGES) && err.contains(TEST_LABELS), "{err}");
        assert!(err.contains("7 images") && err.contains("6 labels"), "{err}");
    }

    #[test]
    fn missing_files_are_listed() {
        let dir = TempDir::new("missing");
        write_valid_set(&dir.0, true);
        fs::remove_file(dir.0.join(format!("{TRAIN_LABELS}.gz"))).unwrap();
        fs::remove_file(dir.0.join(TEST_IMAGES)).unwrap();
        let err = load_error(&dir.0);
        assert!(err.contains(&dir.0.display().to_string()), "{err}");
        assert!(err.contains(TRAIN_LABELS) && err.contains(TEST_IMAGES), "{err}");
        assert!(!err.contains(TRAIN_IMAGES) && !err.contains(TEST_LABELS), "{err}");
        assert!(err.contains(".gz"), "{err}");

        let empty = TempDir::new("empty");
        let err = load_error(&empty.0);
        for name in EXPECTED_FILES {
            assert!(err.contains(name), "{err}");
        }
    }

    /// A gzip stream of `head` followed by `zeros` zero bytes, compressed
    /// without ever holding the zeros in memory.
    fn gzip_bomb(head: &[u8], zeros: u64) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(head).unwrap();
        io::copy(&mut io::repeat(0).take(zeros), &mut encoder).unwrap();
        encoder.finish().unwrap()
    }

    /// The header of an IDX image file announcing `count` images of 28×28.
    fn images_header(count: u32) -> Vec<u8> {
        sized_images_header(count, 28, 28)
    }

    /// The header of an IDX image file announcing `count` images of `rows` × `cols`.
    fn sized_images_header(count: u32, rows: u32, cols: u32) -> Vec<u8> {
        [IMAGES_MAGIC, count, rows, cols].iter().flat_map(|word| word.to_be_bytes()).collect()
    }

    #[test]
    fn gzip_bomb_is_refused_as_trailing_data() {
        let dir = TempDir::new("bomb");
        write_valid_set(&dir.0, true);
        // The header announces the 20 images the labels expect; 200 MB of zeros
        // follow, far more than the 15 680 payload bytes, in a file of well
        // under a megabyte.
        let bomb = gzip_bomb(&images_header(20), 200 << 20);
        assert!(bomb.len() < 1 << 20, "the bomb takes {} bytes", bomb.len());
        fs::write(dir.0.join(format!("{TRAIN_IMAGES}.gz")), bomb).unwrap();
        let err = load_error(&dir.0);
        assert!(err.contains(TRAIN_IMAGES) && err.contains("15680 payload bytes"), "{err}");
        assert!(err.contains("trailing data"), "{err}");
    }

    #[test]
    fn trailing_data_is_an_error() {
        for gz in [false, true] {
            let dir = TempDir::new("trailing");
            write_valid_set(&dir.0, false);
            let mut data = idx_labels(&cyclic_labels(20));
            data.push(0);
            let data = if gz { gzip(&data) } else { data };
            fs::write(dir.0.join(TRAIN_LABELS), data).unwrap();
            let err = load_error(&dir.0);
            assert!(err.contains(TRAIN_LABELS) && err.contains("trailing data"), "{err}");
            assert!(err.contains("20 payload bytes"), "{err}");
        }
    }

    #[test]
    fn short_payload_is_reported_with_both_lengths() {
        let mut data = idx_labels(&cyclic_labels(3));
        data[4..8].copy_from_slice(&10u32.to_be_bytes());
        let err = parse_labels(Path::new("short"), data.as_slice()).unwrap_err().to_string();
        assert!(err.starts_with("short has 3 payload bytes") && err.contains("announces 10"), "{err}");
        let err = parse_labels(Path::new("short.gz"), gzip(&data).as_slice()).unwrap_err().to_string();
        assert!(err.starts_with("short.gz has 3 payload bytes") && err.contains("announces 10"), "{err}");
    }

    #[test]
    fn absurd_counts_are_refused_from_the_header() {
        for count in [u32::MAX, MAX_ITEMS as u32 + 1] {
            // Only the header is given: a reader that went on to the payload
            // would report it as truncated instead.
            let err = parse_images(Path::new("huge"), images_header(count).as_slice()).unwrap_err().to_string();
            assert_eq!(err, format!("huge announces {count} images, more than the 1000000 this reader accepts"));
        }
        let mut labels = idx_labels(&[]);
        labels[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        let err = parse_labels(Path::new("huge"), gzip(&labels).as_slice()).unwrap_err().to_string();
        assert!(err.contains("4294967295 labels"), "{err}");
        // A count at the limit is accepted, so this header fails on its payload.
        labels[4..8].copy_from_slice(&(MAX_ITEMS as u32).to_be_bytes());
        let err = parse_labels(Path::new("max"), labels.as_slice()).unwrap_err().to_string();
        assert!(err.contains("has 0 payload bytes but its header announces 1000000"), "{err}");

        let dir = TempDir::new("absurd");
        write_valid_set(&dir.0, false);
        fs::write(dir.0.join(TEST_IMAGES), images_header(u32::MAX)).unwrap();
        let err = load_error(&dir.0);
        assert!(err.contains(TEST_IMAGES) && err.contains("4294967295 images"), "{err}");
    }

    #[test]
    fn train_count_mismatch_is_an_error() {
        let dir = TempDir::new("traincount");
        write_valid_set(&dir.0, true);
        fs::write(dir.0.join(format!("{TRAIN_LABELS}.gz")), gzip(&idx_labels(&cyclic_labels(21)))).unwrap();
        let err = load_error(&dir.0);
        assert!(err.contains(TRAIN_IMAGES) && err.contains(TRAIN_LABELS), "{err}");
        assert!(err.contains("20 images") && err.contains("21 labels"), "{err}");
    }

    #[test]
    fn errors_do_not_echo_bytes_of_damaged_files() {
        let hostile = b"\x1b[2J\r\n\x07\x00\x08evil\n";
        // A gzip header carrying a file name (flag 0x08) of control characters,
        // followed by bytes that are not deflate data.
        let mut named_gzip = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 0xff];
        named_gzip.extend_from_slice(b"\x1b]0;evil\x07\n\r");
        named_gzip.push(0);
        named_gzip.extend_from_slice(&[0xff; 16]);
        let damaged = [hostile.to_vec(), gzip(hostile), named_gzip, gzip(&[&images_header(7)[..], hostile].concat())];
        for data in damaged {
            let dir = TempDir::new("hostile");
            write_valid_set(&dir.0, false);
            fs::write(dir.0.join(TEST_IMAGES), data).unwrap();
            let err = load_error(&dir.0);
            assert!(err.contains(TEST_IMAGES), "{err}");
            assert!(!err.chars().any(char::is_control) && !err.contains("evil"), "{err:?}");
        }
    }

    /// Loads the real MNIST from `$APICAL_DATA_DIR/mnist` when the variable is set.
    #[test]
    fn real_mnist_from_env() {
        let Some(root) = std::env::var_os("APICAL_DATA_DIR") else {
            println!("skipped: APICAL_DATA_DIR is not set");
            return;
        };
        let mnist = Mnist::load(&Path::new(&root).join("mnist")).unwrap();
        assert_eq!((mnist.dims(), mnist.classes()), ((28, 28), NUM_CLASSES));
        assert_eq!(mnist.len(Split::Train), 55_000);
        assert_eq!(mnist.len(Split::Validation), 5_000);
        assert_eq!(mnist.len(Split::Test), 10_000);

        for split in Split::ALL {
            let (mut min, mut max) = (u8::MAX, u8::MIN);
            for i in 0..mnist.len(split) {
                for &p in mnist.pixels(split, i) {
                    min = min.min(p);
                    max = max.max(p);
                }
            }
            assert_eq!((min, max), (0, 255), "pixel range of the {split} split");
        }

        let mut counts = [0usize; NUM_CLASSES];
        for &label in mnist.labels(Split::Test) {
            counts[usize::from(label)] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "test counts {counts:?}");
    }
}
