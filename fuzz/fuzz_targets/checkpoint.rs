//! A checkpoint file: arbitrary bytes through the checkpoint reader, including the validation of
//! the stored configuration and the shape checks of the weights.

#![no_main]

use std::path::Path;

use apical_sim::checkpoint::Checkpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Checkpoint::from_bytes(data, Path::new("fuzz"));
});
