//! Small data sets in MNIST's four IDX files, for tests and demonstrations that need MNIST's
//! format but not its images.
//!
//! Image `i` of a file has the label `(i + offset) · 7 mod c` (offset 0 for the training file, 3
//! for the test file, c the number of classes), and its pixels `p` with `p mod c` equal to the
//! label are bright (200 + i mod 50) while the others hold the pattern `p · i mod 37`, so that a
//! network can learn the labels from the pixels.

use std::path::Path;

use crate::mnist::{TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};

/// The size of a synthetic data set: the folder it is written to, its images and its classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout<'a> {
    /// The folder, inside the data folder, that holds the four files.
    pub folder: &'a str,
    /// The pixel rows of every image.
    pub rows: u32,
    /// The pixel columns of every image.
    pub cols: u32,
    /// The number of classes, 1 … 256 and not a multiple of 7, so that every class appears.
    pub classes: usize,
}

impl Layout<'_> {
    /// MNIST's layout: 28 × 28 images of 10 classes in `mnist/`.
    pub const MNIST: Layout<'static> = Layout { folder: "mnist", rows: 28, cols: 28, classes: 10 };
}

/// Writes `train` training and `test` test images of MNIST's layout with their labels as the four
/// uncompressed IDX files into `dir/mnist/`, creating the folder.
pub fn write_mnist(dir: &Path, train: usize, test: usize) -> std::io::Result<()> {
    write_idx(dir, Layout::MNIST, train, test)
}

/// Writes `train` training and `test` test images of `layout` with their labels as the four
/// uncompressed IDX files into `dir/<layout.folder>/`, creating the folder.
pub fn write_idx(dir: &Path, layout: Layout<'_>, train: usize, test: usize) -> std::io::Result<()> {
    let folder = dir.join(layout.folder);
    std::fs::create_dir_all(&folder)?;
    let size = layout.rows as usize * layout.cols as usize;
    let classes = layout.classes;
    if !(1..=256).contains(&classes) || classes.is_multiple_of(7) {
        return Err(std::io::Error::other(format!("{classes} classes: need 1 … 256, not a multiple of 7")));
    }
    for (images_name, labels_name, count, offset) in
        [(TRAIN_IMAGES, TRAIN_LABELS, train, 0), (TEST_IMAGES, TEST_LABELS, test, 3)]
    {
        let count_word = u32::try_from(count).map_err(std::io::Error::other)?;
        let header = [2051, count_word, layout.rows, layout.cols];
        let mut images: Vec<u8> = header.iter().flat_map(|w: &u32| w.to_be_bytes()).collect();
        let mut labels: Vec<u8> = [2049, count_word].iter().flat_map(|w: &u32| w.to_be_bytes()).collect();
        for i in 0..count {
            let label = (i + offset) * 7 % classes;
            labels.push(label as u8);
            images.extend(
                (0..size).map(|p| if p % classes == label { 200 + (i % 50) as u8 } else { (p * i % 37) as u8 }),
            );
        }
        std::fs::write(folder.join(images_name), images)?;
        std::fs::write(folder.join(labels_name), labels)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mnist::{Mnist, Split};

    #[test]
    fn the_files_load_with_the_announced_labels() {
        let dir = std::env::temp_dir().join(format!("apical-synthetic-{}", std::process::id()));
        write_mnist(&dir, 5_010, 20).unwrap();
        let data = Mnist::load(&dir.join("mnist")).unwrap();
        assert_eq!((data.len(Split::Train), data.len(Split::Validation), data.len(Split::Test)), (10, 5_000, 20));
        assert_eq!((data.dims(), data.classes()), ((28, 28), 10));
        assert_eq!(data.label(Split::Test, 1), 4 * 7 % 10);
        let pixels = data.pixels(Split::Test, 1);
        assert_eq!(pixels[8], 201);

        let layout = Layout { folder: "small", rows: 6, cols: 9, classes: 4 };
        write_idx(&dir, layout, 30, 8).unwrap();
        let data = Mnist::load_with(&dir.join("small"), 10).unwrap();
        assert_eq!((data.dims(), data.classes(), data.len(Split::Train)), ((6, 9), 4, 20));
        assert_eq!(data.label(Split::Test, 1), (4 * 7 % 4) as u8);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
