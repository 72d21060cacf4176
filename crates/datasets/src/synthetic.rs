//! A small data set in MNIST's four IDX files, for tests and demonstrations that need MNIST's
//! format but not its images.
//!
//! Image `i` of a file has the label `(i + offset) · 7 mod 10` (offset 0 for the training file, 3
//! for the test file), and its pixels `p` with `p mod 10` equal to the label are bright
//! (200 + i mod 50) while the others hold the pattern `p · i mod 37`, so that a network can learn
//! the labels from the pixels.

use std::path::Path;

use crate::mnist::{IMAGE_SIZE, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};

/// Writes `train` training and `test` test images with their labels as the four uncompressed
/// IDX files into `dir/mnist/`, creating the folder.
pub fn write_mnist(dir: &Path, train: usize, test: usize) -> std::io::Result<()> {
    let mnist = dir.join("mnist");
    std::fs::create_dir_all(&mnist)?;
    for (images_name, labels_name, count, offset) in
        [(TRAIN_IMAGES, TRAIN_LABELS, train, 0), (TEST_IMAGES, TEST_LABELS, test, 3)]
    {
        let count_word = u32::try_from(count).map_err(std::io::Error::other)?;
        let mut images: Vec<u8> = [2051, count_word, 28, 28].iter().flat_map(|w: &u32| w.to_be_bytes()).collect();
        let mut labels: Vec<u8> = [2049, count_word].iter().flat_map(|w: &u32| w.to_be_bytes()).collect();
        for i in 0..count {
            let label = ((i + offset) * 7 % 10) as u8;
            labels.push(label);
            images.extend(
                (0..IMAGE_SIZE)
                    .map(|p| if p % 10 == usize::from(label) { 200 + (i % 50) as u8 } else { (p * i % 37) as u8 }),
            );
        }
        std::fs::write(mnist.join(images_name), images)?;
        std::fs::write(mnist.join(labels_name), labels)?;
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
        assert_eq!(data.label(Split::Test, 1), 4 * 7 % 10);
        let pixels = data.pixels(Split::Test, 1);
        assert_eq!(pixels[8], 201);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
