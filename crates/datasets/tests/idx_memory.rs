//! Checks that the IDX parser reads and allocates no more than a file's header
//! announces, however much data follows it.
//!
//! The allocations of each test thread are counted by a global allocator that
//! wraps the system one, so the tests of this file do not disturb each other.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Read, Write};
use std::path::Path;

use apical_datasets::DatasetError;
use apical_datasets::mnist::{parse_images, parse_labels};
use flate2::Compression;
use flate2::write::GzEncoder;

thread_local! {
    /// The bytes allocated by this thread and not yet freed.
    static LIVE: Cell<usize> = const { Cell::new(0) };
    /// The highest value of `LIVE` since it was last reset.
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// Adds `size` bytes to this thread's live allocations.
fn allocated(size: usize) {
    // The thread-locals need no destructor, so they stay usable to the end of
    // the thread; `try_with` only guards against that changing.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + size;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

/// Removes `size` bytes from this thread's live allocations; memory allocated
/// by another thread may be freed here, hence the saturation.
fn freed(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
}

/// The system allocator, counting the bytes each thread holds.
struct Counting;

// Implementing an allocator needs `unsafe`; each method only forwards to the
// system allocator with the caller's arguments and updates the counters.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        allocated(layout.size());
        // SAFETY: The caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        allocated(layout.size());
        // SAFETY: The caller's contract for `alloc_zeroed` is passed on unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        freed(layout.size());
        // SAFETY: The caller's contract for `dealloc` is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        freed(layout.size());
        allocated(new_size);
        // SAFETY: The caller's contract for `realloc` is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the most bytes this thread held at
/// once during the call, beyond what it held before.
fn peak_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let result = f();
    (result, PEAK.with(Cell::get) - before)
}

/// The 16-byte header of an IDX image file announcing `count` images of 28×28.
fn images_header(count: u32) -> Vec<u8> {
    [2051u32, count, 28, 28].iter().flat_map(|word| word.to_be_bytes()).collect()
}

/// 200 MB: the zeros that follow a small header in the bombs below.
const BOMB_ZEROS: u64 = 200 << 20;

/// The bytes a header announcing 3 images implies: the header and the payload.
const THREE_IMAGES: usize = 16 + 3 * 784;

/// Decoder buffers and bookkeeping allowed on top of what the header announces;
/// a reader that followed the stream instead would hold 200 MB.
const SLACK: usize = 256 << 10;

#[test]
fn gzip_bomb_is_refused_after_little_reading_and_allocation() {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&images_header(3)).unwrap();
    io::copy(&mut io::repeat(0).take(BOMB_ZEROS), &mut encoder).unwrap();
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 1 << 20, "the bomb takes {} bytes", bomb.len());

    let mut rest = bomb.as_slice();
    let (result, peak) = peak_allocation(|| parse_images(Path::new("bomb.gz"), &mut rest));
    assert!(matches!(result, Err(DatasetError::TrailingData { expected: 2352, .. })), "{result:?}");
    assert!(peak < THREE_IMAGES + SLACK, "parsing the bomb held {peak} bytes at once");
    // Decompressing 2 369 bytes takes a few buffers of compressed input, not
    // the whole stream, which would expand to 200 MB.
    let consumed = bomb.len() - rest.len();
    assert!(consumed < bomb.len() / 2, "read {consumed} of the bomb's {} bytes", bomb.len());
}

#[test]
fn plain_stream_is_read_only_up_to_its_payload() {
    let header = images_header(3);
    let mut zeros = io::repeat(0).take(BOMB_ZEROS);
    let (result, peak) = peak_allocation(|| parse_images(Path::new("endless"), header.as_slice().chain(&mut zeros)));
    assert!(matches!(result, Err(DatasetError::TrailingData { expected: 2352, .. })), "{result:?}");
    assert!(peak < THREE_IMAGES + SLACK, "parsing the stream held {peak} bytes at once");
    // The payload and the one byte that shows the stream goes on.
    assert_eq!(BOMB_ZEROS - zeros.limit(), 3 * 784 + 1);
}

#[test]
fn absurd_count_is_refused_before_allocating() {
    let mut labels = Vec::new();
    for word in [2049u32, u32::MAX] {
        labels.extend_from_slice(&word.to_be_bytes());
    }
    let mut zeros = io::repeat(0).take(BOMB_ZEROS);
    let (result, peak) = peak_allocation(|| parse_labels(Path::new("huge"), labels.as_slice().chain(&mut zeros)));
    assert!(matches!(result, Err(DatasetError::TooManyItems { count: u32::MAX, .. })), "{result:?}");
    assert!(peak < SLACK, "refusing the header held {peak} bytes at once");
    assert_eq!(zeros.limit(), BOMB_ZEROS, "the payload was read");
}
