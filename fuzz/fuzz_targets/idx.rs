//! An MNIST IDX file, plain or gzipped: arbitrary bytes through both the image and the label
//! parser.

#![no_main]

use std::path::Path;

use apical_datasets::mnist::{parse_images, parse_labels};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_images(Path::new("fuzz"), data);
    let _ = parse_labels(Path::new("fuzz"), data);
});
