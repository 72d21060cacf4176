//! Checkpoints written by earlier versions of Apical still load and run again (to rounding: see
//! `RERUN_TOLERANCE`), and damaged or forged checkpoints are refused with one clear line.
//!
//! The fixture `fixtures/fig-s1-format-1/` was written before `apical-sim` was split into
//! layers: a short `fig-s1` run of a 4-3-2 network and its checkpoint (format version 1), whose
//! configuration it stores.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use apical_numerics::Matrix;
use apical_sim::checkpoint::Checkpoint;
use apical_sim::experiments::{NoProgress, RunContext, run};
use apical_sim::io::codec;
use proptest::prelude::*;

/// The size of a format version 2 header: magic, version, payload length, checksum.
const HEADER: usize = 24;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fig-s1-format-1").join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apical-checkpoint-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The fixture's checkpoint saved again, in the current format, as `name` in `dir`.
fn saved_fixture(dir: &Path, name: &str) -> (PathBuf, Vec<u8>) {
    let (checkpoint, _) = Checkpoint::load(&fixture("checkpoint.bin")).unwrap();
    let path = dir.join(name);
    checkpoint.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

/// A version 2 file holding `payload`, with a correct length and checksum, as a forger would
/// write it.
fn forge(payload: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(payload);
    let mut bytes = b"APICALCK".to_vec();
    bytes.extend_from_slice(&2u32.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc.sum().to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// Writes `bytes` to `path` and loads it; an error must be one line of printable text naming
/// the file.
fn load_bytes(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).unwrap();
    let line = Checkpoint::load(path).map(|_| ()).map_err(|e| e.to_string());
    if let Err(line) = &line {
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(line.contains(name), "the error does not name the file: {line}");
        assert!(!line.chars().any(char::is_control), "control characters in the error: {line:?}");
    }
    line
}

/// Writes `bytes` to `path`, loads it, and returns the error line.
fn refusal(path: &Path, bytes: &[u8]) -> String {
    match load_bytes(path, bytes) {
        Ok(()) => panic!("{} was accepted", path.display()),
        Err(line) => line,
    }
}

/// A small deterministic generator (xorshift64) for the positions of bit flips.
struct Positions(u64);

impl Positions {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn an_earlier_checkpoint_loads_and_is_written_in_the_current_format() {
    let path = fixture("checkpoint.bin");
    let (checkpoint, cfg) = Checkpoint::load(&path).unwrap();
    assert_eq!(cfg.experiment.name(), "fig-s1");
    assert_eq!(cfg.network.sizes, [4, 3, 2]);
    assert_eq!(cfg.seed, 7);
    assert!(cfg.network.bias);
    // The stored configuration text is what this version writes for the configuration it reads,
    // but for the fields added since, which take their defaults.
    let added = ["\n[[plasticity.schedule]]\nfrom_pattern = 0\nfactor = 1.0\n", "checkpoint_every = 10000\n"];
    let current = toml::to_string(&cfg).unwrap();
    let without_added = added.iter().fold(current, |text, field| text.replacen(field, "", 1));
    assert_eq!(without_added, checkpoint.config);

    let dir = scratch("rewrite");
    let (copy, written) = saved_fixture(&dir, "checkpoint.bin");
    let old = std::fs::read(&path).unwrap();
    assert_eq!(&old[8..12], &1u32.to_le_bytes());
    assert_eq!(&written[8..12], &codec::FORMAT_VERSION.to_le_bytes());
    assert_eq!(codec::FORMAT_VERSION, 2);
    // Only the header changes: the payload (configuration, weights, resume state) is encoded
    // byte for byte as the earlier version encoded it.
    assert_eq!(&written[HEADER..], &old[12..]);
    assert_eq!(written, forge(&old[12..]));
    let (again, again_cfg) = Checkpoint::load(&copy).unwrap();
    assert_eq!(again, checkpoint);
    assert_eq!(again_cfg, cfg);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The relative tolerance within which a rerun of the fixture reproduces the earlier run's metrics,
/// weights and traces.
///
/// The fixture was written when φ was evaluated element by element with libm; the engines now
/// evaluate it over whole populations with `apical_numerics::vmath`, within 2 ulp of libm for the
/// fixture's logistic (3 for the soft rectifier), a relative 6.7e-16 at most. The fixture's run
/// takes 400 steps (4 patterns of 10 ms at dt = 0.1 ms) whose leaky dynamics damp an earlier
/// difference rather than amplify it, so even a worst-case difference of 3 ulp in every rate of
/// every step, added up, stays below 400 × 6.7e-16 ≈ 2.7e-13 of the values it feeds; the metrics
/// are squared norms and distances, which at most double that. 1e-12 leaves a margin of about two
/// over the sum and is still four orders of magnitude below any change of the model that would
/// show in a metric.
const RERUN_TOLERANCE: f64 = 1e-12;

/// The largest difference between two equally long lists, relative to `scale(a, b)`.
fn largest_relative_difference(a: &[f64], b: &[f64], scale: impl Fn(f64, f64) -> f64) -> f64 {
    assert_eq!(a.len(), b.len(), "the lists differ in length");
    a.iter().zip(b).map(|(&a, &b)| if a == b { 0.0 } else { (a - b).abs() / scale(a, b) }).fold(0.0, f64::max)
}

/// A rerun of an earlier run gives the same metrics, weights and traces within [`RERUN_TOLERANCE`]
/// (every metric relative to its own size, every weight and trace relative to the largest entry of
/// its matrix, as a weight near zero is the difference of larger terms) and stores the same
/// configuration. The comparison was exact before the rate functions were vectorised; it is now
/// bounded by their ulp error (see [`RERUN_TOLERANCE`]). Since runs became resumable, the table
/// has an `eta_factor` column and the checkpoint a resume state, which the earlier run lacks.
#[test]
fn an_earlier_run_repeats_within_rounding() {
    let (earlier, cfg) = Checkpoint::load(&fixture("checkpoint.bin")).unwrap();
    let dir = scratch("rerun");
    let ctx = RunContext { out_dir: dir.clone(), data_dir: None, resume: false, progress: &NoProgress };
    run(&cfg, &ctx).unwrap();
    let table = |text: String| -> (String, Vec<Vec<f64>>) {
        let mut lines = text.lines();
        let header = lines.next().expect("a header line").to_string();
        (header, lines.map(|l| l.split(',').map(|x| x.parse().expect("a number")).collect()).collect())
    };
    let (header, mut rows) = table(std::fs::read_to_string(dir.join("metrics.csv")).unwrap());
    let (earlier_header, earlier_rows) = table(std::fs::read_to_string(fixture("metrics.csv")).unwrap());
    // The table has gained the column eta_factor (all 1 here) at its end; the rest is the same.
    assert_eq!(header, format!("{earlier_header},eta_factor"));
    for row in &mut rows {
        assert_eq!(row.pop(), Some(1.0), "the learning-rate factor of a run without a schedule");
    }
    assert_eq!(rows.len(), earlier_rows.len(), "metrics.csv has another number of rows than the earlier run's");
    let relative = |a: f64, b: f64| a.abs().max(b.abs());
    let metrics = largest_relative_difference(&rows.concat(), &earlier_rows.concat(), relative);
    eprintln!("largest relative difference of a metric: {metrics:e}");
    assert!(metrics <= RERUN_TOLERANCE, "metrics.csv differs from the earlier run's by {metrics:e}");

    // The new checkpoint is written in the current format and adds a resume state; its
    // configuration is the earlier one and its weights and traces are the same.
    let (again, again_cfg) = Checkpoint::load(&dir.join("checkpoint.bin")).unwrap();
    assert_eq!(again_cfg, cfg, "the checkpoint stores another configuration than the earlier run's");
    let all = |w: &apical_sim::network::Weights| -> Vec<(Matrix, Matrix)> {
        let w = w.clone();
        w.up.into_iter().chain(w.down).chain(w.ip).chain(w.pi).map(|s| (s.w, s.trace)).collect()
    };
    let (now, then) = (all(&again.weights), all(&earlier.weights));
    assert_eq!(now.len(), then.len());
    let mut worst: f64 = 0.0;
    for ((w, trace), (w_then, trace_then)) in now.iter().zip(&then) {
        for (a, b) in [(w, w_then), (trace, trace_then)] {
            assert_eq!(a.shape(), b.shape());
            let largest = b.as_slice().iter().fold(0.0, |m: f64, x| m.max(x.abs()));
            worst = worst.max(largest_relative_difference(a.as_slice(), b.as_slice(), |_, _| largest));
        }
    }
    eprintln!("largest difference of a weight or trace, relative to its matrix: {worst:e}");
    assert!(worst <= RERUN_TOLERANCE, "the weights or traces differ from the earlier run's by {worst:e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_huge_length_field_is_refused_at_once() {
    let dir = scratch("huge");
    let (path, bytes) = saved_fixture(&dir, "huge.bin");
    let payload = &bytes[HEADER..];
    // The payload starts with the length of the configuration text, a variable-length integer:
    // marker 251 and a u16, as the text is between 251 and 65 535 bytes long.
    assert_eq!(payload[0], 251);
    for claim in [1u64 << 60, u64::MAX, 1 << 31] {
        // Marker 253 announces a u64.
        let mut forged = vec![253];
        forged.extend_from_slice(&claim.to_le_bytes());
        forged.extend_from_slice(&payload[3..]);
        let start = Instant::now();
        let line = refusal(&path, &forge(&forged));
        assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
        assert!(line.contains("a length field claims more than the 1073741824 bytes a checkpoint may hold"), "{line}");
    }
    // A length below the limit but beyond the end is refused with both sizes.
    let mut forged = vec![252];
    forged.extend_from_slice(&100_000u32.to_le_bytes());
    forged.extend_from_slice(&payload[3..]);
    let line = refusal(&path, &forge(&forged));
    let remain = payload.len() - 3;
    assert!(line.contains(&format!("a length field claims 100000 bytes but only {remain} remain")), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_flipped_bit_is_refused() {
    let dir = scratch("flips");
    let (path, bytes) = saved_fixture(&dir, "flipped.bin");
    let mut positions = Positions(0x5EED_0FA9_1CA1);
    // Every bit of the header, and 400 bits of the payload drawn at random.
    let header_bits = 0..HEADER * 8;
    let payload_bits: Vec<usize> = (0..400).map(|_| HEADER * 8 + positions.below((bytes.len() - HEADER) * 8)).collect();
    for bit in header_bits.chain(payload_bits) {
        let mut damaged = bytes.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        let line = refusal(&path, &damaged);
        if bit >= 20 * 8 {
            assert!(line.ends_with("checksum mismatch: the file is damaged"), "bit {bit}: {line}");
        }
    }
    // Ten bits flipped at once, at random places, twenty times over.
    for _ in 0..20 {
        let mut damaged = bytes.clone();
        for _ in 0..10 {
            let bit = HEADER * 8 + positions.below((bytes.len() - HEADER) * 8);
            damaged[bit / 8] ^= 1 << (bit % 8);
        }
        if damaged != bytes {
            let line = refusal(&path, &damaged);
            assert!(line.ends_with("checksum mismatch: the file is damaged"), "{line}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_truncated_checkpoint_is_refused_in_plain_words() {
    let dir = scratch("truncated");
    let (path, bytes) = saved_fixture(&dir, "short.bin");
    let n = bytes.len();
    for end in [0, 5, 11, 12, 20, 23] {
        let line = refusal(&path, &bytes[..end]);
        assert!(line.contains("short.bin is not a valid Apical checkpoint: "), "{line}");
    }
    for end in [24, 25, n / 2, n - 8, n - 1] {
        let line = refusal(&path, &bytes[..end]);
        let announced = n - HEADER;
        let present = end - HEADER;
        assert!(
            line.ends_with(&format!(
                "the file ends early: its header announces {announced} bytes but only {present} follow"
            )),
            "{line}"
        );
    }
    // A version 1 file has no length field; bincode finds its end instead.
    let old = std::fs::read(fixture("checkpoint.bin")).unwrap();
    for end in [12, 13, 100, old.len() / 2, old.len() - 1] {
        let line = refusal(&path, &old[..end]);
        assert!(line.contains("cannot decode the checkpoint: "), "{line}");
        assert!(line.ends_with("the file ends early") || line.contains("a length field claims"), "{line}");
    }
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"tail");
    let line = refusal(&path, &longer);
    assert!(line.ends_with("4 unexpected bytes follow the end the header announces"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stored_configuration_is_validated_like_a_configuration_file() {
    let dir = scratch("config");
    let (checkpoint, cfg) = Checkpoint::load(&fixture("checkpoint.bin")).unwrap();
    let path = dir.join("bad-config.bin");
    let save = |config: String| Checkpoint { config, ..checkpoint.clone() }.save(&path).unwrap();

    let mut empty = cfg.clone();
    empty.network.sizes = vec![];
    save(toml::to_string(&empty).unwrap());
    let line = refusal(&path, &std::fs::read(&path).unwrap());
    assert!(
        line.ends_with(
            "its stored configuration is invalid: network.sizes: needs at least an input and an output layer"
        ),
        "{line}"
    );

    let mut negative = cfg.clone();
    negative.dynamics.dt = -0.1;
    save(toml::to_string(&negative).unwrap());
    let line = refusal(&path, &std::fs::read(&path).unwrap());
    assert!(line.contains("dynamics.dt: must be a positive number, got -0.1"), "{line}");

    // Text from the file reaches the message without its control characters.
    let escape = format!("\"\\u001b]0;title\\u0007\\u001b[2J\\n\" = 1\n{}", checkpoint.config);
    save(escape);
    let line = refusal(&path, &std::fs::read(&path).unwrap());
    assert!(line.contains("its stored configuration does not parse, line 1, column 1: "), "{line}");
    let neuron = checkpoint.config.replace("neuron = \"dendritic\"", "neuron = \"\\u001b[31mred\\r\\nerror: forged\"");
    assert_ne!(neuron, checkpoint.config);
    save(neuron);
    let line = refusal(&path, &std::fs::read(&path).unwrap());
    assert!(line.contains("its stored configuration is invalid: network.neuron: "), "{line}");
    let broken = format!("{}\n[network\u{1b}[2J", checkpoint.config);
    save(broken);
    let line = refusal(&path, &std::fs::read(&path).unwrap());
    assert!(line.contains("its stored configuration does not parse, line "), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn weights_that_do_not_fit_are_refused_without_a_panic() {
    let dir = scratch("weights");
    let (checkpoint, _) = Checkpoint::load(&fixture("checkpoint.bin")).unwrap();
    let path = dir.join("weights.bin");

    let mut missing = checkpoint.clone();
    missing.weights.ip.clear();
    missing.save(&path).unwrap();
    let line = refusal(&path, &std::fs::read(&path).unwrap());
    assert!(line.ends_with("0 w_ip matrices for a network that needs 1"), "{line}");

    let mut trace = checkpoint.clone();
    trace.weights.down[0].trace = Matrix::zeros(2, 2);
    trace.save(&path).unwrap();
    let line = refusal(&path, &std::fs::read(&path).unwrap());
    assert!(line.contains("w_down_1 (trace) is (2, 2) but the network needs (3, 2)"), "{line}");

    // A matrix whose values do not fill its shape can only come from a forged file: bincode
    // encodes a matrix as its row count, column count and values.
    let (rows, cols) = checkpoint.weights.up[0].w.shape();
    let short = codec::encode(&(rows, cols, vec![0.5f64; rows * cols - 1]));
    let mut forged = checkpoint.clone();
    forged.weights.up[0].w = codec::decode(&short, &path, "matrix").unwrap();
    forged.save(&path).unwrap();
    let line = refusal(&path, &std::fs::read(&path).unwrap());
    let want = format!("weight matrix w_up_1 holds {} values for {rows}×{cols}", rows * cols - 1);
    assert!(line.ends_with(&want), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    /// Bytes overwritten anywhere in a checkpoint's payload, behind a correct length and
    /// checksum so that they reach the decoder and the checks after it, end in a checkpoint
    /// that passes every check or in one error line, never in a panic.
    #[test]
    fn forged_payloads_are_loaded_or_refused_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let dir = std::env::temp_dir().join(format!("apical-checkpoint-forged-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let old = std::fs::read(fixture("checkpoint.bin")).unwrap();
        let mut payload = old[12..].to_vec();
        for (at, byte) in edits {
            let i = at.index(payload.len());
            payload[i] = byte;
        }
        let _ = load_bytes(&dir.join("forged.bin"), &forge(&payload));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Random payloads behind a correct length and checksum are refused with one line.
    #[test]
    fn random_payloads_are_refused(payload in prop::collection::vec(any::<u8>(), 0..2000)) {
        let dir = std::env::temp_dir().join(format!("apical-checkpoint-random-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        refusal(&dir.join("random.bin"), &forge(&payload));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
