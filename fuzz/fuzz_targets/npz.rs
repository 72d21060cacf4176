//! A weight file: arbitrary bytes through the `.npz` reader, and through the `.npy` reader on
//! their own.

#![no_main]

use std::io::Cursor;
use std::path::Path;

use apical_sim::io::npy::{read_npy_from, read_npz_from};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_npz_from(Path::new("fuzz"), Cursor::new(data));
    let _ = read_npy_from(Path::new("fuzz"), data);
});
