//! The error type shared by every module of this crate.

use std::path::PathBuf;

use crate::mnist::Split;

/// Everything that can go wrong while loading or configuring a data set.
///
/// Every variant renders as one line that names the offending file (where there
/// is one) and says what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// One or more of the expected files exist neither plain nor with a `.gz` suffix.
    #[error(
        "missing MNIST files in {}: expected {} (each may also be gzipped with a .gz suffix)",
        dir.display(),
        missing.join(", ")
    )]
    MissingFiles {
        /// The directory that was searched.
        dir: PathBuf,
        /// The base names of the files that were not found.
        missing: Vec<String>,
    },

    /// A file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// A file starts with the gzip magic bytes but does not decompress.
    #[error("cannot decompress {} (corrupt or truncated gzip data): {source}", path.display())]
    Gzip {
        /// The file that failed to decompress.
        path: PathBuf,
        /// The underlying decoder error.
        source: std::io::Error,
    },

    /// A file is too short to hold its IDX header.
    #[error(
        "{} is too short for an IDX header: {len} bytes, need at least {needed}",
        path.display()
    )]
    HeaderTooShort {
        /// The offending file.
        path: PathBuf,
        /// The (decompressed) length of the file in bytes.
        len: usize,
        /// The length of the header that was expected.
        needed: usize,
    },

    /// A file's IDX magic number is not the one expected for its kind.
    #[error("{} has IDX magic number {found}, expected {expected} ({kind})", path.display())]
    BadMagic {
        /// The offending file.
        path: PathBuf,
        /// The magic number that was expected.
        expected: u32,
        /// The magic number found in the file.
        found: u32,
        /// What the file should contain, for example "images".
        kind: &'static str,
    },

    /// An image file's images have no pixels or more than the reader accepts.
    #[error(
        "{} holds {rows}x{cols} images; an image needs at least one row and one column and at most {max} pixels",
        path.display()
    )]
    BadDimensions {
        /// The offending file.
        path: PathBuf,
        /// The number of rows given in the header.
        rows: u32,
        /// The number of columns given in the header.
        cols: u32,
        /// The most pixels of one image.
        max: usize,
    },

    /// An image file's header announces more bytes of pixels than the reader accepts.
    #[error(
        "{} announces {count} images of {rows}x{cols} pixels, {bytes} bytes, more than the {max} this reader accepts",
        path.display()
    )]
    PayloadTooLarge {
        /// The offending file.
        path: PathBuf,
        /// The number of images announced by the header.
        count: u32,
        /// The number of rows given in the header.
        rows: u32,
        /// The number of columns given in the header.
        cols: u32,
        /// The bytes of pixels announced.
        bytes: u64,
        /// The most bytes of pixels one file may announce.
        max: usize,
    },

    /// The test images differ in size from the training images.
    #[error(
        "{} holds {}x{} images but {} holds {}x{} images; both files need images of one size",
        train.display(), train_dims.0, train_dims.1, test.display(), test_dims.0, test_dims.1
    )]
    SizeMismatch {
        /// The training image file.
        train: PathBuf,
        /// The rows and columns of its images.
        train_dims: (usize, usize),
        /// The test image file.
        test: PathBuf,
        /// The rows and columns of its images.
        test_dims: (usize, usize),
    },

    /// A file's header announces more items than the reader accepts.
    #[error("{} announces {count} {kind}, more than the {max} this reader accepts", path.display())]
    TooManyItems {
        /// The offending file.
        path: PathBuf,
        /// The number of items announced by the header.
        count: u32,
        /// The most items one file may announce.
        max: usize,
        /// What the file holds, for example "images".
        kind: &'static str,
    },

    /// A file's payload is shorter than its header says.
    #[error(
        "{} has {found} payload bytes but its header announces {expected} (truncated or corrupt file)",
        path.display()
    )]
    PayloadLength {
        /// The offending file.
        path: PathBuf,
        /// The payload length implied by the header.
        expected: u64,
        /// The payload length actually present.
        found: u64,
    },

    /// A file goes on past the payload its header announces.
    #[error(
        "{} holds more than the {expected} payload bytes its header announces (trailing data)",
        path.display()
    )]
    TrailingData {
        /// The offending file.
        path: PathBuf,
        /// The payload length implied by the header.
        expected: u64,
    },

    /// An image file and its label file hold different numbers of items.
    #[error(
        "{} holds {image_count} images but {} holds {label_count} labels",
        images.display(),
        labels.display()
    )]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// The number of images in it.
        image_count: usize,
        /// The label file.
        labels: PathBuf,
        /// The number of labels in it.
        label_count: usize,
    },

    /// An image file holds no images, which would leave its splits empty.
    #[error("{} holds no images; every split needs at least one", path.display())]
    NoImages {
        /// The image file.
        path: PathBuf,
    },

    /// The validation size leaves the training or the validation split empty.
    #[error(
        "{} holds {available} images; keeping {validation} of them for validation leaves the {split} split empty",
        path.display()
    )]
    EmptySplit {
        /// The training image file.
        path: PathBuf,
        /// The split that would be empty.
        split: Split,
        /// The requested validation size.
        validation: usize,
        /// The number of images in the training file.
        available: usize,
    },

    /// The requested validation split is larger than the training file.
    #[error(
        "{} holds {available} images, too few for a validation split of {validation}",
        path.display()
    )]
    ValidationTooLarge {
        /// The training image file.
        path: PathBuf,
        /// The requested validation size.
        validation: usize,
        /// The number of images in the training file.
        available: usize,
    },

    /// An input distribution has invalid parameters.
    #[error("invalid input distribution: {0}")]
    InvalidDistribution(String),
}
