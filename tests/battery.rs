//! A battery of bad inputs against the real binary: configuration files, MNIST data,
//! checkpoints, weight files and command lines.
//!
//! Every row of the table is one invocation of `apical` that must fail cleanly: a non-zero exit
//! status that is not a crash, exactly one line on standard error that starts with `error: ` and
//! holds no control characters and no panic message, nothing on standard output but the line a
//! run always ends with, and no change to any file. Each case runs in its own folder, which holds
//! the outputs of an earlier run and a sentinel file under `out/`; after the case the folder must
//! hold the same names with the same bytes. All cases run even when some fail, and the failures
//! are printed together as one table before the test fails.

// This test runs the binary its own way and needs only some of the shared helpers.
#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apical::sim::checkpoint::Checkpoint;
use common::temp_dir;
use flate2::Compression;
use flate2::write::GzEncoder;

/// How long one case may run; every case should fail within a fraction of a second.
const CASE_TIMEOUT: Duration = Duration::from_secs(4);

/// The number of cases run at the same time.
const WORKERS: usize = 2;

/// The fewest cases the table may hold.
const MIN_CASES: usize = 200;

/// Something a case puts into its folder before it runs.
enum Entry {
    /// A file with these bytes.
    File(Vec<u8>),
    /// An empty folder.
    Dir,
}

/// One row of the table: a command line and the files it needs.
struct Case {
    /// The group of inputs the row belongs to.
    category: &'static str,
    /// A short description of the bad input.
    name: String,
    /// The arguments of the binary.
    args: Vec<String>,
    /// Files and folders put into the case's folder, paths relative to it.
    entries: Vec<(String, Entry)>,
    /// Text the error line must contain, if any.
    expect: Option<String>,
}

impl Case {
    fn new(category: &'static str, name: impl Into<String>, args: &[&str]) -> Case {
        Case {
            category,
            name: name.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            entries: Vec::new(),
            expect: None,
        }
    }

    fn file(mut self, path: &str, bytes: impl Into<Vec<u8>>) -> Case {
        self.entries.push((path.to_string(), Entry::File(bytes.into())));
        self
    }

    fn dir(mut self, path: &str) -> Case {
        self.entries.push((path.to_string(), Entry::Dir));
        self
    }

    fn expect(mut self, text: &str) -> Case {
        self.expect = Some(text.to_string());
        self
    }
}

/// The files every case shares: configurations, data sets and checkpoints, written once.
struct Scratch {
    /// The root of everything the test writes.
    root: PathBuf,
    /// The outputs of a short, successful fig-s1 run, copied into every case's `out/`.
    previous: PathBuf,
    /// A valid MNIST data folder (`mnist/` inside) with enough training images for a run.
    good_data: PathBuf,
    /// A short fig-s1 configuration that runs in well under a second.
    short: String,
    /// A short fig1 configuration.
    fig1: String,
    /// A short fig2 configuration.
    fig2: String,
    /// A small MNIST configuration (784-20-10, one epoch).
    mnist: String,
    /// The path of the small MNIST configuration.
    mnist_path: PathBuf,
    /// The checkpoint of a small MNIST run, with its resume state.
    mnist_checkpoint: Vec<u8>,
    /// The best model of that run.
    mnist_best: PathBuf,
    /// The checkpoint of a small MNIST run of another width (784-21-10).
    mnist_other: Vec<u8>,
    /// The weights of the fig-s1 run as a `.npz` file.
    weights_npz: Vec<u8>,
}

/// Runs the binary in `dir` and checks that it succeeds.
fn succeed(args: &[&str], dir: &Path) {
    let out = common::apical(args, dir);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Replaces the value of `key` in the table `[section]` ("" for the top level) with `value`, or
/// removes the line when `value` is `None`. A key the table lacks is added after its header.
fn set(text: &str, section: &str, key: &str, value: Option<&str>) -> String {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut done = false;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            current = trimmed.trim_matches(|c| c == '[' || c == ']').to_string();
            out.push(line.to_string());
            // A key the table lacks goes right below its header.
            let table_has_key = lines[i + 1..]
                .iter()
                .take_while(|l| !l.trim().starts_with('['))
                .any(|l| l.split('=').next().is_some_and(|k| k.trim() == key));
            if current == section && !table_has_key && !done {
                if let Some(v) = value {
                    out.push(format!("{key} = {v}"));
                }
                done = true;
            }
            continue;
        }
        let is_key = line.split('=').next().is_some_and(|k| k.trim() == key) && line.contains('=');
        if current == section && is_key && !done {
            if let Some(v) = value {
                out.push(format!("{key} = {v}"));
            }
            done = true;
            continue;
        }
        out.push(line.to_string());
    }
    assert!(done, "no key {key} in [{section}]");
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// A deterministic stream of pseudo-random bytes.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

/// An IDX image file: magic, count, rows, columns, then `count` images of pseudo-random pixels.
fn idx_images(magic: u32, count: u32, rows: u32, cols: u32, images: usize) -> Vec<u8> {
    let mut bytes = [magic, count, rows, cols].iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<u8>>();
    bytes.extend(noise(images * 784, u64::from(count)));
    bytes
}

/// An IDX image file of `count` images of `rows` × `cols` pixels, all there.
fn idx_images_sized(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut bytes = [2051, count, rows, cols].iter().flat_map(|v: &u32| v.to_be_bytes()).collect::<Vec<u8>>();
    bytes.extend(noise((count * rows * cols) as usize, u64::from(count)));
    bytes
}

/// An IDX label file: magic, count, then labels 0, 1, …, 9, 0, … .
fn idx_labels(magic: u32, count: u32, labels: usize) -> Vec<u8> {
    let mut bytes = [magic, count].iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<u8>>();
    bytes.extend((0..labels).map(|i| (i % 10) as u8));
    bytes
}

/// `bytes` gzipped.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The CRC-32 of zip and gzip.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

/// One member of a hand-made zip archive.
struct Member {
    name: String,
    /// The bytes as stored in the archive (deflated if `deflated`).
    data: Vec<u8>,
    deflated: bool,
    /// The CRC-32 and uncompressed size the headers declare.
    crc: u32,
    size: u32,
}

impl Member {
    /// A stored member whose headers tell the truth.
    fn stored(name: &str, data: Vec<u8>) -> Member {
        Member { name: name.into(), crc: crc32(&data), size: data.len() as u32, data, deflated: false }
    }
}

/// A zip archive of `members`, written by hand so that its headers can lie.
fn zip(members: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let u16le = |v: u16| v.to_le_bytes();
    let u32le = |v: u32| v.to_le_bytes();
    for m in members {
        let offset = out.len() as u32;
        let method = if m.deflated { 8 } else { 0 };
        let common = [
            &u16le(20)[..],
            &u16le(0),
            &u16le(method),
            &u16le(0),
            &u16le(0x21),
            &u32le(m.crc),
            &u32le(m.data.len() as u32),
            &u32le(m.size),
            &u16le(m.name.len() as u16),
            &u16le(0),
        ]
        .concat();
        out.extend(u32le(0x0403_4b50));
        out.extend(&common);
        out.extend(m.name.as_bytes());
        out.extend(&m.data);
        central.extend(u32le(0x0201_4b50));
        central.extend(u16le(20));
        central.extend(&common);
        central.extend([&u16le(0)[..], &u16le(0), &u16le(0), &u32le(0), &u32le(offset)].concat());
        central.extend(m.name.as_bytes());
    }
    let (start, size) = (out.len() as u32, central.len() as u32);
    out.extend(central);
    out.extend(u32le(0x0605_4b50));
    let n = members.len() as u16;
    out.extend([&u16le(0)[..], &u16le(0), &u16le(n), &u16le(n), &u32le(size), &u32le(start), &u16le(0)].concat());
    out
}

/// An NPY 1.0 file with the given header dictionary and data.
fn npy_raw(dict: &str, data: &[u8]) -> Vec<u8> {
    let unpadded = 10 + dict.len() + 1;
    let header = format!("{dict}{}\n", " ".repeat((64 - unpadded % 64) % 64));
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

/// An NPY file of `rows × cols` little-endian f64 values, all `value`.
fn npy_f64(rows: usize, cols: usize, value: f64) -> Vec<u8> {
    let dict = format!("{{'descr': '<f8', 'fortran_order': True, 'shape': ({rows}, {cols}), }}");
    let data: Vec<u8> = (0..rows * cols).flat_map(|_| value.to_le_bytes()).collect();
    npy_raw(&dict, &data)
}

/// The small MNIST data set in `dir/mnist`: `train` training and `test` test images.
fn write_mnist(dir: &Path, train: usize, test: usize) {
    let mnist = dir.join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    std::fs::write(mnist.join("train-images-idx3-ubyte"), idx_images(2051, train as u32, 28, 28, train)).unwrap();
    std::fs::write(mnist.join("train-labels-idx1-ubyte"), idx_labels(2049, train as u32, train)).unwrap();
    std::fs::write(mnist.join("t10k-images-idx3-ubyte"), idx_images(2051, test as u32, 28, 28, test)).unwrap();
    std::fs::write(mnist.join("t10k-labels-idx1-ubyte"), idx_labels(2049, test as u32, test)).unwrap();
}

impl Scratch {
    /// Writes the shared files and runs the short runs whose outputs the cases use.
    fn new() -> Scratch {
        let root = temp_dir("battery");
        let preset = |name: &str| {
            let out = common::apical(&["config", "--preset", name], &root);
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap()
        };
        let mut short = preset("quick");
        for (key, value) in [("patterns", "20"), ("record_every", "10"), ("probes", "3")] {
            short = set(&short, "experiment.fig-s1", key, Some(value));
        }
        let mut fig1 = preset("fig1");
        for (key, value) in
            [("duration_ms", "30.0"), ("target_on_ms", "10.0"), ("target_off_ms", "20.0"), ("record_ms", "5.0")]
        {
            fig1 = set(&fig1, "experiment.fig1", key, Some(value));
        }
        let mut fig2 = preset("fig2");
        for (key, value) in [
            ("patterns", "4"),
            ("pattern_ms", "10.0"),
            ("record_every", "2"),
            ("test_patterns", "3"),
            ("trace_patterns", "2"),
            ("seeds", "1"),
        ] {
            fig2 = set(&fig2, "experiment.fig2", key, Some(value));
        }
        let mut mnist = preset("mnist-subset");
        mnist = set(&mnist, "network", "sizes", Some("[784, 20, 10]"));
        mnist = set(&mnist, "plasticity", "eta_up", Some("[0.1, 0.01]"));
        mnist = set(&mnist, "plasticity", "eta_ip", Some("[0.01]"));
        mnist = set(&mnist, "plasticity", "eta_pi", Some("[0.0]"));
        mnist = set(&mnist, "experiment.mnist", "epochs", Some("1"));
        mnist = set(&mnist, "experiment.mnist", "train_images", None);

        let good_data = root.join("good-data");
        write_mnist(&good_data, 5010, 10);
        let mnist_path = root.join("mnist.toml");
        std::fs::write(&mnist_path, &mnist).unwrap();
        std::fs::write(root.join("short.toml"), &short).unwrap();
        std::fs::write(root.join("other.toml"), mnist.replace("[784, 20, 10]", "[784, 21, 10]")).unwrap();
        let data = good_data.to_str().unwrap();
        succeed(&["run", "short.toml", "--out", "previous", "--quiet"], &root);
        succeed(&["run", "mnist.toml", "--data", data, "--out", "mnist-run", "--quiet"], &root);
        succeed(&["run", "other.toml", "--data", data, "--out", "other-run", "--quiet"], &root);
        succeed(&["export", "previous/checkpoint.bin", "--to", "weights.npz"], &root);
        let read = |path: &str| std::fs::read(root.join(path)).unwrap();
        Scratch {
            previous: root.join("previous"),
            mnist_checkpoint: read("mnist-run/checkpoint.bin"),
            mnist_best: root.join("mnist-run/best.bin"),
            mnist_other: read("other-run/checkpoint.bin"),
            weights_npz: read("weights.npz"),
            good_data,
            short,
            fig1,
            fig2,
            mnist,
            mnist_path,
            root,
        }
    }

    fn path(&self, name: &str) -> String {
        self.root.join(name).to_str().unwrap().to_string()
    }
}

/// Every file and folder under `dir`, with the bytes of the files.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut all = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            if path.is_dir() {
                all.insert(rel, None);
                stack.push(path);
            } else {
                all.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    all
}

/// Copies the files of `from` into `to`.
fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Runs one case in `dir` and returns what is wrong with its outcome, if anything.
fn run_case(case: &Case, dir: &Path, scratch: &Scratch) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    copy_files(&scratch.previous, &dir.join("out"));
    std::fs::write(dir.join("out/SENTINEL"), "a file that no failed command may touch\n").unwrap();
    for (path, entry) in &case.entries {
        let path = dir.join(path);
        match entry {
            Entry::File(bytes) => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, bytes).unwrap();
            }
            Entry::Dir => std::fs::create_dir_all(&path).unwrap(),
        }
    }
    let before = snapshot(dir);
    let logs = dir.with_extension("log");
    std::fs::create_dir_all(&logs).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_apical"))
        .args(&case.args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .env_remove("APICAL_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(logs.join("stdout")).unwrap())
        .stderr(std::fs::File::create(logs.join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > CASE_TIMEOUT {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&std::fs::read(logs.join("stdout")).unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&std::fs::read(logs.join("stderr")).unwrap()).into_owned();
    let mut problems = Vec::new();
    match status.map(|s| s.code()) {
        None => problems.push(format!("still running after {} s", CASE_TIMEOUT.as_secs())),
        Some(None) => problems.push("killed by a signal".into()),
        Some(Some(0)) => problems.push("exit status 0".into()),
        Some(Some(101)) => problems.push("exit status 101 (a panic)".into()),
        Some(Some(code)) if code >= 126 => problems.push(format!("exit status {code} (a crash)")),
        Some(Some(_)) => {}
    }
    let line = stderr.strip_suffix('\n').unwrap_or(&stderr);
    if line.contains('\n') || line.is_empty() {
        problems.push(format!("{} lines on stderr", stderr.lines().count()));
    }
    if stderr.contains("panicked") {
        problems.push("a panic message".into());
    }
    if line.chars().any(char::is_control) {
        problems.push("control characters on stderr".into());
    }
    if !line.starts_with("error: ") {
        problems.push("stderr does not start with 'error: '".into());
    }
    if let Some(expected) = &case.expect
        && !line.contains(expected.as_str())
    {
        problems.push(format!("the error does not contain '{expected}'"));
    }
    // A run of several seeds prints its wall time even when one fails; nothing else may appear.
    if stdout.lines().any(|l| !l.starts_with("wall time: ")) {
        problems.push(format!("stdout: {}", stdout.lines().next().unwrap_or_default()));
    }
    if status.is_some() {
        let after = snapshot(dir);
        for (path, bytes) in &after {
            match before.get(path) {
                None => problems.push(format!("created {}", path.display())),
                Some(old) if old != bytes => problems.push(format!("changed {}", path.display())),
                Some(_) => {}
            }
        }
        for path in before.keys().filter(|p| !after.contains_key(*p)) {
            problems.push(format!("removed {}", path.display()));
        }
    }
    if !problems.is_empty() {
        let first = stderr.lines().next().unwrap_or_default();
        problems.push(format!("stderr: {}", first.chars().take(160).collect::<String>()));
    }
    problems
}

/// Configuration files: malformed TOML, unknown and missing fields, wrong types and out-of-range
/// values, each row one edit of a short valid configuration.
fn config_cases(s: &Scratch, cases: &mut Vec<Case>) {
    const CAT: &str = "config";
    let data = s.good_data.to_str().unwrap().to_string();
    // A configuration `text` that must be refused; MNIST configurations get real data, so that
    // a value that passes validation would start a (short) run and the row would fail.
    let row = |name: String, text: String| {
        let mut args = vec!["run", "bad.toml", "--out", "out", "--quiet"];
        if text.contains("[experiment.mnist]") {
            args.extend(["--data", data.as_str()]);
        }
        Case::new(CAT, name, &args).file("bad.toml", text)
    };
    let bases = [("fig-s1", &s.short), ("fig1", &s.fig1), ("fig2", &s.fig2), ("mnist", &s.mnist)];

    // The file itself.
    cases.push(Case::new(CAT, "empty file", &["run", "bad.toml", "--out", "out"]).file("bad.toml", ""));
    cases.push(
        Case::new(CAT, "not UTF-8", &["run", "bad.toml", "--out", "out"])
            .file("bad.toml", b"seed = 0\n\xff\xfe[network]\n".to_vec()),
    );
    cases.push(Case::new(CAT, "a folder", &["run", "bad.toml", "--out", "out"]).dir("bad.toml"));
    cases.push(Case::new(CAT, "missing file", &["run", "absent.toml", "--out", "out"]).expect("absent.toml"));
    cases.push(Case::new(CAT, "binary garbage", &["run", "bad.toml", "--out", "out"]).file("bad.toml", noise(4096, 1)));

    // Malformed TOML.
    for (name, text) in [
        ("unterminated array", s.short.replace("[30, 20, 10]", "[30, 20, 10")),
        ("missing value", s.short.replace("seed = 0", "seed =")),
        ("unterminated string", s.short.replace("\"dendritic\"", "\"dendritic")),
        ("duplicate key", s.short.replace("seed = 0", "seed = 0\nseed = 1")),
        ("duplicate table", format!("{}\n[network]\nbias = true\n", s.short)),
        ("unclosed header", s.short.replace("[dynamics]", "[dynamics")),
        ("bare word", format!("{}\nhello\n", s.short)),
    ] {
        cases.push(row(format!("TOML: {name}"), text));
    }

    // Unknown fields at every level.
    for (base_name, base) in bases {
        let experiment = format!("experiment.{base_name}");
        for section in ["", "network", "network.phi", "network.conductances", "dynamics", "plasticity", "init"]
            .into_iter()
            .chain([experiment.as_str()])
        {
            if base_name != "fig-s1" && section != experiment {
                continue;
            }
            let text =
                if section.is_empty() { format!("bogus = 1\n{base}") } else { set(base, section, "bogus", Some("1")) };
            cases.push(row(format!("{base_name}: unknown field in [{section}]"), text));
        }
    }
    cases
        .push(row("unknown experiment".into(), s.short.replace("experiment.fig-s1", "experiment.fig9")).expect("fig9"));
    let no_experiment = s.short.split("[experiment.fig-s1]").next().unwrap().to_string();
    cases.push(row("empty [experiment]".into(), format!("{no_experiment}[experiment]\n")).expect("exactly one"));
    cases
        .push(row("experiment as a name".into(), no_experiment.replace("seed = 0", "seed = 0\nexperiment = \"fig1\"")));
    cases.push(row(
        "unknown input distribution".into(),
        s.short.replace("[experiment.fig-s1.inputs.uniform]", "[experiment.fig-s1.inputs.gaussian]"),
    ));
    cases.push(
        row("two experiments".into(), format!("{}\n[experiment.fig1]\nduration_ms = 1.0\n", s.short))
            .expect("exactly one"),
    );

    // Missing sections and fields.
    let cut_table = |text: &str, header: &str| {
        let start = text.find(header).unwrap();
        let end = text[start + header.len()..].find("\n[").map_or(text.len(), |i| start + header.len() + i + 1);
        format!("{}{}", &text[..start], &text[end..])
    };
    for header in ["[network]\n", "[network.phi]\n", "[plasticity]\n", "[init]\n"] {
        cases.push(row(format!("missing {}", header.trim()), cut_table(&s.short, header)));
    }
    cases.push(row("missing [experiment]".into(), no_experiment));
    for (section, key) in [
        ("network", "sizes"),
        ("plasticity", "eta_up"),
        ("plasticity", "eta_ip"),
        ("network.phi", "kind"),
        ("experiment.fig-s1", "patterns"),
        ("experiment.fig-s1", "record_every"),
    ] {
        cases.push(row(format!("missing {section}.{key}"), set(&s.short, section, key, None)));
    }
    cases.push(row("missing fig1.target_rates".into(), cut_table(&s.fig1, "[experiment.fig1.target_rates.uniform]\n")));
    cases.push(row("missing fig2.learners".into(), set(&s.fig2, "experiment.fig2", "learners", None)));
    cases.push(row("missing mnist.epochs".into(), set(&s.mnist, "experiment.mnist", "epochs", None)));

    // Wrong types.
    for (section, key, value) in [
        ("", "seed", "\"zero\""),
        ("", "seed", "1.5"),
        ("", "seed", "-1"),
        ("", "seed", "18446744073709551616"),
        ("", "seed", "1e300"),
        ("network", "sizes", "30"),
        ("network", "sizes", "[\"a\"]"),
        ("network", "sizes", "[30, -5, 10]"),
        ("network", "sizes", "[30, 1e12, 10]"),
        ("network", "sizes", "[30, 18446744073709551616, 10]"),
        ("network", "bias", "\"yes\""),
        ("network", "neuron", "5"),
        ("network.conductances", "g_b", "\"1.0\""),
        ("dynamics", "dt", "\"0.1\""),
        ("dynamics", "dt", "\"nan\""),
        ("dynamics", "noise", "1"),
        ("plasticity", "eta_up", "0.5"),
        ("plasticity", "eta_up", "[\"a\", 0.0]"),
        ("plasticity", "order", "true"),
        ("init", "range", "\"1.0\""),
        ("init", "lateral", "[]"),
        ("init", "weights", "5"),
        ("experiment.fig-s1", "patterns", "20.5"),
        ("experiment.fig-s1", "patterns", "\"20\""),
        ("experiment.fig-s1", "pattern_ms", "\"inf\""),
    ] {
        cases.push(row(format!("type: {section}.{key} = {value}"), set(&s.short, section, key, Some(value))));
    }
    cases.push(row(
        "type: phi as a string".into(),
        cut_table(&s.short, "[network.phi]\n").replace("[network]\n", "[network]\nphi = \"logistic\"\n"),
    ));

    // Bad names of things.
    for (section, key, value) in [
        ("network.phi", "kind", "\"nope\""),
        ("network.phi", "kind", "\"\""),
        ("network", "neuron", "\"nope\""),
        ("network", "neuron", "\"\""),
        ("dynamics", "noise", "\"gaussian\""),
        ("plasticity", "order", "\"backwards\""),
        ("init", "lateral", "\"mirror\""),
    ] {
        cases.push(row(format!("name: {section}.{key} = {value}"), set(&s.short, section, key, Some(value))));
    }
    cases.push(row(
        "name: fig2 learner".into(),
        set(&s.fig2, "experiment.fig2", "learners", Some("[\"microcircuit\", \"oracle\"]")),
    ));
    cases.push(row("name: mnist learner".into(), set(&s.mnist, "experiment.mnist", "learner", Some("\"sgd\""))));
    cases.push(row(
        "name: mnist hidden_rates".into(),
        set(&s.mnist, "experiment.mnist", "hidden_rates", Some("\"apical\"")),
    ));

    // Layer sizes and the lengths that depend on them.
    for value in ["[]", "[0]", "[30]", "[30, 0, 10]", "[0, 20, 10]", "[30, 1000000000000, 10]", "[30, 20, 10, 0]"] {
        cases.push(row(format!("network.sizes = {value}"), set(&s.short, "network", "sizes", Some(value))));
    }
    cases.push(row("fig-s1 without a hidden layer".into(), {
        let t = set(&s.short, "network", "sizes", Some("[30, 10]"));
        let t = set(&t, "plasticity", "eta_up", Some("[0.0]"));
        let t = set(&t, "plasticity", "eta_ip", Some("[]"));
        set(&t, "plasticity", "eta_pi", Some("[]"))
    }));
    for (key, value) in [
        ("eta_up", "[0.0]"),
        ("eta_up", "[0.0, 0.0, 0.0]"),
        ("eta_up", "[]"),
        ("eta_ip", "[]"),
        ("eta_ip", "[0.1, 0.1]"),
        ("eta_pi", "[0.1, 0.1]"),
        ("eta_down", "[0.1, 0.1]"),
        ("eta_up", "[nan, 0.0]"),
        ("eta_up", "[inf, 0.0]"),
        ("eta_ip", "[-inf]"),
        ("eta_pi", "[nan]"),
        ("eta_down", "[inf]"),
    ] {
        cases.push(row(format!("plasticity.{key} = {value}"), set(&s.short, "plasticity", key, Some(value))));
    }

    // Numbers of the model that no run can use: every value below is nonsense per the README and
    // the documentation of the field.
    let nan_inf = ["nan", "-nan", "inf", "-inf"];
    let mut model_rows: Vec<(&str, &str, Vec<&str>)> = vec![
        ("dynamics", "dt", vec!["0.0", "-0.1", "1e-300", "1e300"]),
        ("dynamics", "tau_0", vec!["-1.0"]),
        ("dynamics", "sigma", vec!["-0.1", "1e300"]),
        ("plasticity", "tau_w", vec!["0.0", "-30.0"]),
        ("plasticity", "learning_lag", vec!["-1.0"]),
        ("init", "range", vec!["-1.0", "1e300"]),
        ("network.phi", "gamma", vec![]),
        ("network.phi", "beta", vec![]),
        ("network.phi", "theta", vec![]),
    ];
    for g in ["g_lk", "g_b", "g_a", "g_d", "g_som", "g_som_i"] {
        model_rows.push(("network.conductances", g, vec!["-0.1"]));
    }
    for (section, key, values) in model_rows {
        let base = if section == "network.phi" { &s.fig2 } else { &s.short };
        for value in values.into_iter().chain(nan_inf) {
            cases.push(row(format!("{section}.{key} = {value}"), set(base, section, key, Some(value))));
        }
    }
    cases.push(row("g_lk + g_b = 0".into(), {
        let t = set(&s.short, "network.conductances", "g_lk", Some("0.0"));
        set(&t, "network.conductances", "g_b", Some("0.0"))
    }));

    // Numbers of the experiments.
    let huge = ["1000000000000", "18446744073709551615"];
    let count_rows: Vec<(&str, &String, &str, Vec<&str>)> = vec![
        ("fig-s1", &s.short, "patterns", [&["0", "-1", "nan"][..], &huge[..]].concat()),
        ("fig-s1", &s.short, "record_every", vec!["0", "-1"]),
        ("fig-s1", &s.short, "probes", [&["0", "-1"][..], &huge[..]].concat()),
        ("fig2", &s.fig2, "patterns", [&["0", "-1"][..], &huge[..]].concat()),
        ("fig2", &s.fig2, "record_every", vec!["0", "-1"]),
        ("fig2", &s.fig2, "test_patterns", [&["0", "-1"][..], &huge[..]].concat()),
        ("fig2", &s.fig2, "seeds", [&["0", "-1"][..], &huge[..]].concat()),
        ("fig2", &s.fig2, "trace_patterns", vec!["-1", "4"]),
        ("mnist", &s.mnist, "epochs", [&["0", "-1"][..], &huge[..]].concat()),
        ("mnist", &s.mnist, "batch_size", vec!["0", "-1", "18446744073709551615"]),
        ("mnist", &s.mnist, "train_images", vec!["0", "5", "-1", "1000000000000"]),
        ("mnist", &s.mnist, "validation_images", vec!["0", "-1", "5011", "1000000000000"]),
    ];
    for (name, base, key, values) in count_rows {
        let section = format!("experiment.{name}");
        for value in values {
            cases.push(row(format!("{section}.{key} = {value}"), set(base, &section, key, Some(value))));
        }
    }
    let real_rows: Vec<(&str, &String, &str, Vec<&str>)> = vec![
        ("fig-s1", &s.short, "pattern_ms", vec!["0.0", "-100.0", "0.01", "1e300", "1e-300"]),
        ("fig1", &s.fig1, "duration_ms", vec!["0.0", "-1.0", "1e300"]),
        ("fig1", &s.fig1, "target_on_ms", vec!["-1.0", "25.0"]),
        ("fig1", &s.fig1, "target_off_ms", vec!["5.0", "40.0"]),
        ("fig1", &s.fig1, "record_ms", vec!["0.0", "-5.0", "0.01", "1e-300"]),
        ("fig2", &s.fig2, "pattern_ms", vec!["0.0", "-10.0", "1e300"]),
        ("fig2", &s.fig2, "ema_weight", vec!["0.0", "-0.1", "1.5", "1e300"]),
        ("mnist", &s.mnist, "eta_decay", vec!["0.0", "-0.5"]),
    ];
    for (name, base, key, values) in real_rows {
        let section = format!("experiment.{name}");
        for value in values.into_iter().chain(nan_inf) {
            cases.push(row(format!("{section}.{key} = {value}"), set(base, &section, key, Some(value))));
        }
    }
    for (name, base, table) in [
        ("fig-s1 inputs", &s.short, "experiment.fig-s1.inputs.uniform"),
        ("fig1 inputs", &s.fig1, "experiment.fig1.inputs.uniform"),
        ("fig1 target_rates", &s.fig1, "experiment.fig1.target_rates.uniform"),
        ("fig2 inputs", &s.fig2, "experiment.fig2.inputs.uniform"),
    ] {
        for (key, value) in [("low", "nan"), ("high", "inf"), ("low", "5.0"), ("low", "-inf")] {
            cases.push(row(format!("{name}: {key} = {value}"), set(base, table, key, Some(value))));
        }
    }
    for (low, high) in [("0.0", "0.5"), ("0.5", "1.0"), ("-0.5", "0.5")] {
        let t = set(&s.fig1, "experiment.fig1.target_rates.uniform", "low", Some(low));
        let t = set(&t, "experiment.fig1.target_rates.uniform", "high", Some(high));
        cases.push(row(format!("fig1 target rates [{low}, {high}] outside (0, 1)"), t));
    }
    for (key, value) in [
        ("teacher_hidden", "[0]"),
        ("teacher_hidden", "[1000000000000]"),
        ("teacher_gains", "[2.0]"),
        ("teacher_gains", "[nan, 10.0]"),
        ("teacher_gains", "[2.0, inf]"),
        ("learners", "[]"),
        ("learners", "[\"shallow\", \"shallow\"]"),
    ] {
        cases.push(row(format!("experiment.fig2.{key} = {value}"), set(&s.fig2, "experiment.fig2", key, Some(value))));
    }
    for value in ["[0.8, 0.1]", "[0.0, 0.8]", "[0.1, 1.0]", "[nan, 0.8]", "[0.1]", "[0.1, 0.5, 0.8]"] {
        cases.push(row(
            format!("experiment.mnist.target_rates = {value}"),
            set(&s.mnist, "experiment.mnist", "target_rates", Some(value)),
        ));
    }
    cases.push(row("mnist: 100 inputs".into(), set(&s.mnist, "network", "sizes", Some("[100, 20, 10]"))));
    let backprop = set(&s.mnist, "experiment.mnist", "learner", Some("\"backprop\""));
    cases.push(
        row("mnist: backprop with plastic W^PI".into(), set(&backprop, "plasticity", "eta_pi", Some("[0.1]")))
            .expect("eta_pi and eta_down must be 0"),
    );
    cases.push(
        row("mnist: 100 inputs for 784 pixels".into(), set(&s.mnist, "network", "sizes", Some("[100, 20, 10]")))
            .expect("network.sizes starts with 100 inputs, but the images in mnist have 28x28 = 784 pixels"),
    );
    cases.push(
        row("mnist: 12 outputs for 10 classes".into(), set(&s.mnist, "network", "sizes", Some("[784, 20, 12]")))
            .expect("network.sizes ends with 12 outputs, but the labels in mnist name 10 classes"),
    );
    for folder in ["\"\"", "\".\"", "\"..\"", "\"../mnist\"", "\"a/b\"", "\"/abs\""] {
        cases.push(
            row(
                format!("experiment.mnist.data_folder = {folder}"),
                set(&s.mnist, "experiment.mnist", "data_folder", Some(folder)),
            )
            .expect("experiment.mnist.data_folder"),
        );
    }
    cases.push(
        row(
            "experiment.mnist.data_folder: absent".into(),
            set(&s.mnist, "experiment.mnist", "data_folder", Some("\"elsewhere\"")),
        )
        .expect("elsewhere"),
    );
    cases.push(row("mnist: random lateral weights".into(), set(&s.mnist, "init", "lateral", Some("\"random\""))));

    // The weight file a configuration names.
    let weights = |value: &str| set(&s.short, "init", "weights", Some(value));
    cases.push(row("init.weights: missing file".into(), weights("\"absent.npz\"")).expect("absent.npz"));
    cases.push(row("init.weights: a folder".into(), weights("\"w.npz\"")).dir("w.npz").expect("is a folder"));
    cases.push(row("init.weights: the empty path".into(), weights("\"\"")).expect("init.weights: the path is empty"));
    cases.push(row("init.weights: garbage".into(), weights("\"w.npz\"")).file("w.npz", noise(3000, 2)));
    cases.push(row("init.weights: under a file".into(), weights("\"out/SENTINEL/w.npz\"")));
}

/// MNIST data folders with one bad file each, read by `run` and by `eval`.
fn data_cases(s: &Scratch, cases: &mut Vec<Case>) {
    const CAT: &str = "mnist data";
    let images = |n: u32| idx_images(2051, n, 28, 28, n as usize);
    let labels = |n: u32| idx_labels(2049, n, n as usize);
    let good = [
        ("train-images-idx3-ubyte", images(10)),
        ("train-labels-idx1-ubyte", labels(10)),
        ("t10k-images-idx3-ubyte", images(10)),
        ("t10k-labels-idx1-ubyte", labels(10)),
    ];
    // A data folder `d/mnist` of the four small files with `changes` applied: a file replaced
    // (`Some`) or removed (`None`), by name (a `.gz` name adds a file).
    let folder = |name: &str, changes: Vec<(&str, Option<Vec<u8>>)>| {
        let mut case = Case::new(CAT, name, &["run", "--preset", "mnist-subset", "--data", "d", "--out", "out", "-q"]);
        for (file, bytes) in &good {
            if !changes.iter().any(|(f, _)| f == file) {
                case = case.file(&format!("d/mnist/{file}"), bytes.clone());
            }
        }
        for (file, bytes) in changes {
            if let Some(bytes) = bytes {
                case = case.file(&format!("d/mnist/{file}"), bytes);
            }
        }
        case
    };
    const TI: &str = "train-images-idx3-ubyte";
    const TL: &str = "train-labels-idx1-ubyte";
    const EI: &str = "t10k-images-idx3-ubyte";
    const EL: &str = "t10k-labels-idx1-ubyte";

    cases
        .push(Case::new(CAT, "no --data", &["run", "--preset", "mnist-subset", "--out", "out", "-q"]).expect("--data"));
    cases.push(Case::new(CAT, "--data missing", &["run", "--preset", "mnist-subset", "--data", "nowhere", "-q"]));
    cases.push(Case::new(
        CAT,
        "--data is a file",
        &["run", "--preset", "mnist-subset", "--data", "out/SENTINEL", "-q"],
    ));
    cases.push(
        Case::new(CAT, "mnist is a file", &["run", "--preset", "mnist-subset", "--data", "d", "-q"])
            .file("d/mnist", "x"),
    );
    cases.push(
        Case::new(CAT, "mnist is empty", &["run", "--preset", "mnist-subset", "--data", "d", "-q"]).dir("d/mnist"),
    );
    for file in EXPECTED {
        cases.push(folder(&format!("missing {file}"), vec![(file, None)]).expect(file));
        cases.push(folder(&format!("empty {file}"), vec![(file, Some(Vec::new()))]).expect(file));
        cases.push(folder(&format!("{file} is a folder"), vec![(file, None)]).dir(&format!("d/mnist/{file}")));
        cases.push(folder(&format!("{file}: garbage"), vec![(file, Some(noise(5000, 3)))]).expect(file));
        cases.push(folder(
            &format!("{file}: gzip garbage"),
            vec![(file, Some([&[0x1f, 0x8b][..], &noise(500, 4)].concat()))],
        ));
    }
    let truncated = |bytes: Vec<u8>, at: usize| bytes[..at].to_vec();
    for at in [3, 4, 8, 15] {
        cases.push(folder(&format!("train images cut at {at} bytes"), vec![(TI, Some(truncated(images(10), at)))]));
    }
    cases.push(folder("train images one byte short", vec![(TI, Some(truncated(images(10), 16 + 7839)))]));
    cases.push(folder("test labels one byte short", vec![(EL, Some(truncated(labels(10), 17)))]));
    cases.push(folder("train labels cut in the header", vec![(TL, Some(truncated(labels(10), 6)))]));
    cases.push(folder("trailing byte after the images", vec![(TI, Some([images(10), vec![0]].concat()))]));
    cases.push(folder("trailing bytes after the labels", vec![(EL, Some([labels(10), vec![1; 100]].concat()))]));
    cases.push(folder("images with the label magic", vec![(TI, Some(idx_images(2049, 10, 28, 28, 10)))]));
    cases.push(folder("labels with the image magic", vec![(TL, Some(idx_labels(2051, 10, 10)))]));
    cases.push(folder("images with magic 0", vec![(EI, Some(idx_images(0, 10, 28, 28, 10)))]));
    cases.push(folder("images of float type (0x0D)", vec![(TI, Some(idx_images(0x0D03, 10, 28, 28, 10)))]));
    cases.push(folder("images of 27 rows", vec![(TI, Some(idx_images(2051, 10, 27, 28, 10)))]));
    cases.push(folder("images of 0 columns", vec![(TI, Some(idx_images(2051, 10, 28, 0, 0)))]));
    cases.push(folder("images of 65535×65535", vec![(TI, Some(idx_images(2051, 10, 65535, 65535, 1)))]));
    cases.push(folder("images announcing 2^32-1", vec![(TI, Some(idx_images(2051, u32::MAX, 28, 28, 1)))]));
    cases.push(folder("images announcing 1000000", vec![(EI, Some(idx_images(2051, 1_000_000, 28, 28, 2)))]));
    cases.push(folder("labels announcing 2^32-1", vec![(TL, Some(idx_labels(2049, u32::MAX, 10)))]));
    cases.push(folder("no images at all", vec![(EI, Some(images(0))), (EL, Some(labels(0)))]));
    cases.push(folder("train: 10 images, 9 labels", vec![(TL, Some(labels(9)))]));
    cases.push(folder("test: 9 images, 10 labels", vec![(EI, Some(images(9)))]));
    cases.push(folder("label 10", vec![(TL, Some([&labels(10)[..17], &[10u8]].concat()))]));
    // With a validation split that fits, a label the network has no output for is named as such.
    let mut small_validation =
        folder("label 10 with 5 validation images", vec![(TL, Some([&labels(10)[..17], &[10u8]].concat()))]);
    small_validation.args.extend(["--set".into(), "experiment.mnist.validation_images=5".into()]);
    cases.push(
        small_validation.expect("network.sizes ends with 10 outputs, but the labels in mnist name 11 classes (0 … 10)"),
    );
    let mut small_images = folder(
        "20x20 images with 5 validation images",
        vec![(TI, Some(idx_images_sized(10, 20, 20))), (EI, Some(idx_images_sized(10, 20, 20)))],
    );
    small_images.args.extend(["--set".into(), "experiment.mnist.validation_images=5".into()]);
    cases.push(
        small_images.expect("network.sizes starts with 784 inputs, but the images in mnist have 20x20 = 400 pixels"),
    );
    cases.push(folder("test images of 28x27", vec![(EI, Some(idx_images_sized(10, 28, 27)))]).expect("28x27"));
    cases.push(folder("label 255", vec![(EL, Some([&labels(10)[..17], &[255u8]].concat()))]));
    cases.push(folder("fewer training images than validation", vec![]).expect("5000"));
    let gz = gzip(&images(10));
    cases.push(folder("gzip cut in half", vec![(TI, Some(gz[..gz.len() / 2].to_vec()))]));
    let mut bad_crc = gz.clone();
    let n = bad_crc.len();
    bad_crc[n - 6] ^= 0xff;
    cases.push(folder("gzip with a wrong CRC", vec![(TI, Some(bad_crc))]));
    let mut bad_deflate = gz.clone();
    bad_deflate[12] ^= 0xff;
    bad_deflate[13] ^= 0x55;
    cases.push(folder("gzip with a damaged stream", vec![(TI, Some(bad_deflate))]));
    cases.push(folder("gzip of garbage", vec![(TI, Some(gzip(&noise(5000, 5))))]));
    cases.push(folder("gzipped empty file", vec![(EL, Some(gzip(&[])))]));
    let gz_name = format!("{TI}.gz");
    cases.push(folder("only a bad .gz", vec![(TI, None), (gz_name.as_str(), Some(noise(100, 6)))]));
    // A gzip bomb: a valid header and payload followed by 200 MB of zeros, about 200 KB on disk.
    let bomb = {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(&images(10)).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..200 {
            encoder.write_all(&zeros).unwrap();
        }
        encoder.finish().unwrap()
    };
    assert!(bomb.len() < 1 << 20);
    cases.push(folder("gzip bomb after the payload", vec![(TI, Some(bomb.clone()))]));
    // A bomb whose header announces the most images a file may hold, and then only zeros.
    let count_bomb = {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        let header: Vec<u8> = [2051u32, 1_000_000, 28, 29].iter().flat_map(|v| v.to_be_bytes()).collect();
        encoder.write_all(&header).unwrap();
        encoder.write_all(&vec![0u8; 1 << 20]).unwrap();
        encoder.finish().unwrap()
    };
    cases.push(folder("gzip bomb with bad dimensions", vec![(TI, Some(count_bomb))]));

    // The same files read by `eval` for a valid saved model.
    let best = s.mnist_best.to_str().unwrap().to_string();
    let eval = |name: &str, file: &str, bytes: Vec<u8>| {
        let mut case = Case::new(CAT, format!("eval: {name}"), &["eval", &best, "--data", "d"]);
        for (f, b) in &good {
            case = case.file(&format!("d/mnist/{f}"), if *f == file { bytes.clone() } else { b.clone() });
        }
        case
    };
    cases.push(Case::new(CAT, "eval: no --data", &["eval", &best]).expect("--data"));
    cases.push(eval("empty test labels", EL, Vec::new()));
    cases.push(eval("truncated test images", EI, truncated(images(10), 100)));
    cases.push(eval("gzip bomb", TI, bomb));
    cases.push(eval("too few training images", TI, images(10)));
}

/// The four files of MNIST.
const EXPECTED: [&str; 4] =
    ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

/// Damaged checkpoints read by `eval`, `export` and `run --resume`.
fn checkpoint_cases(s: &Scratch, cases: &mut Vec<Case>) {
    const CAT: &str = "checkpoint";
    let good = &s.mnist_checkpoint;
    let n = good.len();
    let with_header = |version: u32, length: u64, crc: u32, payload: &[u8]| {
        let mut bytes = b"APICALCK".to_vec();
        bytes.extend(version.to_le_bytes());
        bytes.extend(length.to_le_bytes());
        bytes.extend(crc.to_le_bytes());
        bytes.extend(payload);
        bytes
    };
    let payload = &good[24..];
    let honest = |payload: &[u8]| with_header(2, payload.len() as u64, crc32(payload), payload);
    let flipped = |at: usize| {
        let mut bytes = good.clone();
        bytes[at] ^= 0x10;
        bytes
    };
    let mut bad: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        ("random bytes".into(), noise(2000, 7)),
        ("text".into(), b"seed = 0\n".to_vec()),
        ("magic only".into(), b"APICALCK".to_vec()),
        ("wrong magic".into(), [&b"APICALCX"[..], &good[8..]].concat()),
        ("version 0".into(), with_header(0, payload.len() as u64, crc32(payload), payload)),
        ("version 3".into(), with_header(3, payload.len() as u64, crc32(payload), payload)),
        ("version 2^32-1".into(), with_header(u32::MAX, payload.len() as u64, crc32(payload), payload)),
        ("version 1 label on a version 2 file".into(), with_header(1, payload.len() as u64, crc32(payload), payload)),
        ("length u64::MAX".into(), with_header(2, u64::MAX, crc32(payload), payload)),
        ("length 2^40".into(), with_header(2, 1 << 40, crc32(payload), payload)),
        ("length one too many".into(), with_header(2, payload.len() as u64 + 1, crc32(payload), payload)),
        ("length 0".into(), with_header(2, 0, crc32(payload), payload)),
        ("wrong CRC".into(), with_header(2, payload.len() as u64, crc32(payload) ^ 1, payload)),
        ("a trailing byte".into(), [good.as_slice(), &[0]].concat()),
        ("1000 trailing bytes".into(), [good.as_slice(), &noise(1000, 8)].concat()),
        ("random payload, honest header".into(), honest(&noise(5000, 9))),
        ("empty payload, honest header".into(), honest(&[])),
        ("huge string length, honest header".into(), honest(&[253, 255, 255, 255, 255, 255, 255, 255, 127])),
        ("payload and a byte, honest header".into(), honest(&[payload, &[0]].concat())),
        ("payload cut, honest header".into(), honest(&payload[..payload.len() / 2])),
    ];
    for at in [1, 8, 12, 19, 20, 23, 24, 25, n / 2, n - 1] {
        bad.push((format!("cut at {at} of {n} bytes"), good[..at].to_vec()));
    }
    for at in [0, 7, 8, 11, 12, 19, 20, 23, 24, 30, n / 3, n / 2, n - 1] {
        bad.push((format!("bit flip at byte {at}"), flipped(at)));
    }
    // Checkpoints that the codec accepts but whose content is wrong.
    let scratch_file = s.root.join("edited.bin");
    let edited = |edit: &dyn Fn(&mut Checkpoint)| {
        std::fs::write(&scratch_file, good).unwrap();
        let (mut ck, _) = Checkpoint::load(&scratch_file).unwrap();
        edit(&mut ck);
        ck.save(&scratch_file).unwrap();
        std::fs::read(&scratch_file).unwrap()
    };
    bad.push(("stored config not TOML".into(), edited(&|ck| ck.config = "sizes = [".into())));
    bad.push(("stored config empty".into(), edited(&|ck| ck.config.clear())));
    bad.push(("stored config invalid".into(), edited(&|ck| ck.config = ck.config.replace("dt = 0.1", "dt = -0.1"))));
    bad.push((
        "stored config with control characters".into(),
        edited(&|ck| ck.config = ck.config.replace("seed = 0", "seed = \"\u{1b}[2J\u{7}\"")),
    ));
    bad.push((
        "weights of another width".into(),
        edited(&|ck| ck.config = ck.config.replace("[784, 20, 10]", "[784, 21, 10]")),
    ));
    bad.push(("a weight matrix missing".into(), edited(&|ck| drop(ck.weights.up.pop()))));
    bad.push((
        "a trace of another shape".into(),
        edited(&|ck| ck.weights.ip[0].trace = ck.weights.pi[0].trace.clone()),
    ));

    let mnist = s.mnist_path.to_str().unwrap().to_string();
    let data = s.good_data.to_str().unwrap().to_string();
    let best = s.mnist_best.to_str().unwrap().to_string();
    for (name, bytes) in &bad {
        cases.push(
            Case::new(CAT, format!("eval: {name}"), &["eval", "x.bin", "--data", &data]).file("x.bin", bytes.clone()),
        );
        cases.push(
            Case::new(CAT, format!("export: {name}"), &["export", "x.bin", "--to", "w.npz"])
                .file("x.bin", bytes.clone()),
        );
        cases.push(
            Case::new(
                CAT,
                format!("resume: {name}"),
                &["run", &mnist, "--data", &data, "--out", "out", "--resume", "-q"],
            )
            .file("out/checkpoint.bin", bytes.clone()),
        );
    }
    for (name, bytes) in bad.iter().take(4) {
        cases.push(
            Case::new(CAT, format!("export to a folder: {name}"), &["export", "x.bin", "--to", "npy"])
                .file("x.bin", bytes.clone()),
        );
        cases.push(
            Case::new(CAT, format!("eval --against: {name}"), &["eval", &best, "--against", "x.bin", "--data", &data])
                .file("x.bin", bytes.clone()),
        );
    }
    // A resume state that does not decode, in a checkpoint that does.
    let cut_resume = edited(&|ck| ck.resume.truncate(ck.resume.len() / 2));
    let junk_resume = edited(&|ck| ck.resume = noise(64, 10));
    for (name, bytes) in [("cut resume state", cut_resume), ("random resume state", junk_resume)] {
        cases.push(
            Case::new(
                CAT,
                format!("resume: {name}"),
                &["run", &mnist, "--data", &data, "--out", "out", "--resume", "-q"],
            )
            .file("out/checkpoint.bin", bytes),
        );
    }
    // Valid checkpoints of other configurations; `out/checkpoint.bin` is a fig-s1 run's.
    cases.push(Case::new(
        CAT,
        "resume: a fig-s1 checkpoint",
        &["run", &mnist, "--data", &data, "--out", "out", "--resume", "-q"],
    ));
    cases.push(
        Case::new(
            CAT,
            "resume: an MNIST run of another width",
            &["run", &mnist, "--data", &data, "--out", "out", "--resume", "-q"],
        )
        .file("out/checkpoint.bin", s.mnist_other.clone()),
    );
    cases.push(
        Case::new(CAT, "resume: no checkpoint", &["run", &mnist, "--data", &data, "--out", "empty", "--resume", "-q"])
            .dir("empty"),
    );
    cases.push(Case::new(CAT, "eval: a fig-s1 checkpoint", &["eval", "out/checkpoint.bin"]).expect("fig-s1"));
    cases.push(Case::new(CAT, "eval: a folder", &["eval", "out"]));
    cases.push(Case::new(CAT, "eval: missing file", &["eval", "absent.bin"]).expect("absent.bin"));
    cases.push(Case::new(CAT, "export: missing file", &["export", "absent.bin", "--to", "w.npz"]).expect("absent.bin"));
    cases.push(Case::new(CAT, "export: a folder", &["export", "out", "--to", "w.npz"]));
    // `--resume` continues only the run whose checkpoint the folder holds, here a fig-s1 run of
    // seed 0: a run of another experiment, or the same run with another seed, is refused.
    let other_seed = s.short.replacen("seed = 0", "seed = 5", 1);
    assert_ne!(other_seed, s.short, "the short configuration names its seed");
    for (name, text) in [("fig-s1", &other_seed), ("fig1", &s.fig1), ("fig2", &s.fig2)] {
        cases.push(
            Case::new(
                CAT,
                format!("resume a {name} run from another run's checkpoint"),
                &["run", "c.toml", "--out", "out", "--resume", "-q"],
            )
            .file("c.toml", text.clone()),
        );
        cases.push(
            Case::new(
                CAT,
                format!("resume a {name} run from a bad file"),
                &["run", "c.toml", "--out", "out", "--resume", "-q"],
            )
            .file("c.toml", text.clone())
            .file("out/checkpoint.bin", noise(100, 11)),
        );
    }
}

/// Damaged `.npz` weight files named by `init.weights`.
fn npz_cases(s: &Scratch, cases: &mut Vec<Case>) {
    const CAT: &str = "npz";
    let config = set(&s.short, "init", "weights", Some("\"w.npz\""));
    let row = |name: &str, bytes: Vec<u8>| {
        Case::new(CAT, name, &["run", "c.toml", "--out", "out", "-q"])
            .file("c.toml", config.clone())
            .file("w.npz", bytes)
    };
    let good = &s.weights_npz;
    let n = good.len();
    cases.push(row("empty file", Vec::new()).expect("w.npz"));
    cases.push(row("text", b"w_up_1 = [[1, 2]]\n".to_vec()).expect("w.npz"));
    cases.push(row("random bytes", noise(4000, 12)).expect("w.npz"));
    cases.push(row("an .npy file, not an archive", npy_f64(20, 30, 0.1)));
    cases.push(row("a gzip file", gzip(good)));
    for at in [4, 30, n / 2, n - 22, n - 1] {
        cases.push(row(&format!("cut at {at} of {n} bytes"), good[..at].to_vec()));
    }
    // Archives written here, one bad member each.
    let member = |name: &str, npy: Vec<u8>| Member::stored(name, npy);
    let good_up = || npy_f64(20, 30, 0.1);
    for (name, members) in [
        ("unknown name", vec![member("w_foo_1.npy", good_up())]),
        ("layer 9", vec![member("w_up_9.npy", good_up())]),
        ("layer 0", vec![member("w_up_0.npy", good_up())]),
        ("negative layer", vec![member("w_up_-1.npy", good_up())]),
        ("huge layer", vec![member("w_up_99999999999999999999.npy", good_up())]),
        ("no .npy suffix", vec![member("w_up_1", good_up())]),
        ("a name with a slash", vec![member("../w_up_1.npy", good_up())]),
        ("twice the same name", vec![member("w_up_1.npy", good_up()), member("w_up_1.npy", good_up())]),
        ("transposed", vec![member("w_up_1.npy", npy_f64(30, 20, 0.1))]),
        ("one row too many", vec![member("w_up_1.npy", npy_f64(21, 30, 0.1))]),
        ("a column", vec![member("w_up_1.npy", npy_f64(20, 1, 0.1))]),
        ("an empty matrix", vec![member("w_up_1.npy", npy_f64(0, 0, 0.1))]),
        ("not an NPY file", vec![member("w_up_1.npy", noise(600, 13))]),
        ("an empty member", vec![member("w_up_1.npy", Vec::new())]),
        ("NPY version 9.9", vec![member("w_up_1.npy", [&b"\x93NUMPY\x09\x09"[..], &good_up()[8..]].concat())]),
        ("NPY header longer than the file", vec![member("w_up_1.npy", good_up()[..70].to_vec())]),
        ("NPY data cut", vec![member("w_up_1.npy", good_up()[..good_up().len() - 8].to_vec())]),
        ("NPY data and a byte", vec![member("w_up_1.npy", [good_up(), vec![0]].concat())]),
    ] {
        cases.push(row(&format!("member: {name}"), zip(&members)));
    }
    let raw = |dict: &str, data: Vec<u8>| zip(&[member("w_up_1.npy", npy_raw(dict, &data))]);
    let f8 = || (0..600).flat_map(|_| 0.1f64.to_le_bytes()).collect::<Vec<u8>>();
    for (name, dict, data) in [
        ("dtype <i8", "{'descr': '<i8', 'fortran_order': True, 'shape': (20, 30), }", f8()),
        ("dtype >f8", "{'descr': '>f8', 'fortran_order': True, 'shape': (20, 30), }", f8()),
        ("dtype <f2", "{'descr': '<f2', 'fortran_order': True, 'shape': (20, 30), }", f8()[..2400].to_vec()),
        ("dtype |b1", "{'descr': '|b1', 'fortran_order': True, 'shape': (20, 30), }", vec![1; 600]),
        ("dtype object", "{'descr': '|O', 'fortran_order': False, 'shape': (20, 30), }", f8()),
        ("dtype complex", "{'descr': '<c16', 'fortran_order': True, 'shape': (20, 30), }", f8()),
        ("structured dtype", "{'descr': [('a', '<f8')], 'fortran_order': True, 'shape': (20, 30), }", f8()),
        ("three dimensions", "{'descr': '<f8', 'fortran_order': True, 'shape': (20, 30, 1), }", f8()),
        ("a scalar", "{'descr': '<f8', 'fortran_order': True, 'shape': (), }", f8()[..8].to_vec()),
        ("a huge shape", "{'descr': '<f8', 'fortran_order': True, 'shape': (4294967296, 4294967296), }", f8()),
        ("an overflowing shape", "{'descr': '<f8', 'fortran_order': True, 'shape': (18446744073709551615, 2), }", f8()),
        ("a negative shape", "{'descr': '<f8', 'fortran_order': True, 'shape': (-20, 30), }", f8()),
        ("no shape", "{'descr': '<f8', 'fortran_order': True, }", f8()),
        ("no descr", "{'fortran_order': True, 'shape': (20, 30), }", f8()),
        ("fortran_order maybe", "{'descr': '<f8', 'fortran_order': maybe, 'shape': (20, 30), }", f8()),
        ("not a dictionary", "[1, 2, 3]", f8()),
        ("an unclosed dictionary", "{'descr': '<f8', 'fortran_order': True, 'shape': (20, 30), ", f8()),
        ("an unknown key", "{'descr': '<f8', 'fortran_order': True, 'shape': (20, 30), 'extra': 1, }", f8()),
    ] {
        cases.push(row(&format!("member: {name}"), raw(dict, data)));
    }
    // Headers of the archive that lie about a member.
    let mut lying_crc = member("w_up_1.npy", good_up());
    lying_crc.crc ^= 1;
    cases.push(row("member with a wrong CRC", zip(&[lying_crc])));
    let mut lying_size = member("w_up_1.npy", good_up());
    lying_size.size = 100;
    cases.push(row("member larger than declared", zip(&[lying_size])));
    // Zip bombs: a member that inflates to 100 MB, once declaring that size (the array then has
    // 100 MB of trailing bytes) and once declaring only the size of the array.
    let up = good_up();
    let full = [up.clone(), vec![0u8; 100 << 20]].concat();
    let deflated = {
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(&full).unwrap();
        encoder.finish().unwrap()
    };
    let bomb = |size: usize| Member {
        name: "w_up_1.npy".into(),
        crc: crc32(&full),
        size: size as u32,
        data: deflated.clone(),
        deflated: true,
    };
    cases.push(row("zip bomb, honest sizes", zip(&[bomb(full.len())])));
    cases.push(row("zip bomb, lying sizes", zip(&[bomb(up.len())])));
    // Weights that are not numbers at all.
    cases.push(row("NaN weights", zip(&[member("w_up_1.npy", npy_f64(20, 30, f64::NAN))])));
    cases.push(row("infinite weights", zip(&[member("w_pi_1.npy", npy_f64(20, 10, f64::INFINITY))])));
}

/// Command lines that are refused before anything runs.
fn command_line_cases(s: &Scratch, cases: &mut Vec<Case>) {
    const CAT: &str = "command line";
    let short = s.path("short.toml");
    let sh = short.as_str();
    let rows: Vec<(&str, Vec<&str>)> = vec![
        ("unknown subcommand", vec!["nope"]),
        ("unknown subcommand close to one", vec!["runn"]),
        ("unknown flag", vec!["--nope"]),
        ("unknown run flag", vec!["run", sh, "--nope"]),
        ("unknown short flag", vec!["run", sh, "-z"]),
        ("--seed -1", vec!["run", sh, "--seed", "-1"]),
        ("--seed abc", vec!["run", sh, "--seed", "abc"]),
        ("--seed 1.5", vec!["run", sh, "--seed", "1.5"]),
        ("--seed empty", vec!["run", sh, "--seed", ""]),
        ("--seed 2^64", vec!["run", sh, "--seed", "18446744073709551616"]),
        ("--seed 1e3", vec!["run", sh, "--seed", "1e3"]),
        ("--seed without value", vec!["run", sh, "--seed"]),
        ("--seeds 5..2", vec!["run", sh, "--seeds", "5..2"]),
        ("--seeds 3..3", vec!["run", sh, "--seeds", "3..3"]),
        ("--seeds 0..1e12", vec!["run", sh, "--seeds", "0..1e12"]),
        ("--seeds 0..10^12", vec!["run", sh, "--seeds", "0..1000000000000"]),
        ("--seeds -1..3", vec!["run", sh, "--seeds", "-1..3"]),
        ("--seeds a..b", vec!["run", sh, "--seeds", "a..b"]),
        ("--seeds ..", vec!["run", sh, "--seeds", ".."]),
        ("--seeds 1,1", vec!["run", sh, "--seeds", "1,1"]),
        ("--seeds 1,,2", vec!["run", sh, "--seeds", "1,,2"]),
        ("--seeds empty", vec!["run", sh, "--seeds", ""]),
        ("--seeds 0..2..4", vec!["run", sh, "--seeds", "0..2..4"]),
        ("--seeds without value", vec!["run", sh, "--seeds"]),
        ("--threads 0", vec!["run", sh, "--threads", "0"]),
        ("--threads 100000", vec!["run", sh, "--threads", "100000"]),
        ("--threads -1", vec!["run", sh, "--threads", "-1"]),
        ("--threads x", vec!["run", sh, "--threads", "x"]),
        ("--threads without value", vec!["run", sh, "--threads"]),
        ("--preset nope", vec!["run", "--preset", "nope"]),
        ("--preset empty", vec!["run", "--preset", ""]),
        ("--preset without value", vec!["run", "--preset"]),
        ("--out without value", vec!["run", sh, "--out"]),
        ("--data without value", vec!["run", sh, "--data"]),
        ("a file and a preset", vec!["run", sh, "--preset", "quick"]),
        ("--seed and --seeds", vec!["run", sh, "--seed", "1", "--seeds", "0..2"]),
        ("two configuration files", vec!["run", sh, sh]),
        ("--out is a file", vec!["run", sh, "--out", "out/SENTINEL"]),
        ("--out under a file", vec!["run", sh, "--out", "out/SENTINEL/run"]),
        ("--out under a file, several seeds", vec!["run", sh, "--out", "out/SENTINEL/run", "--seeds", "0..2"]),
        ("--out is a file, several seeds", vec!["run", sh, "--out", "out/SENTINEL", "--seeds", "0,1"]),
        ("a configuration that does not exist", vec!["run", "quick"]),
        ("config without --preset", vec!["config"]),
        ("config --preset nope", vec!["config", "--preset", "nope"]),
        ("presets with an argument", vec!["presets", "all"]),
        ("export without arguments", vec!["export"]),
        ("export without --to", vec!["export", "out/checkpoint.bin"]),
        ("export --to empty", vec!["export", "out/checkpoint.bin", "--to", ""]),
        ("export --to under a file", vec!["export", "out/checkpoint.bin", "--to", "out/SENTINEL/w.npz"]),
        ("export --to a file as folder", vec!["export", "out/checkpoint.bin", "--to", "out/SENTINEL"]),
        ("eval without models", vec!["eval"]),
        ("eval --against without value", vec!["eval", "out/checkpoint.bin", "--against"]),
        ("summary without runs", vec!["summary"]),
        ("summary of a fig-s1 run", vec!["summary", "out"]),
        ("summary of a file", vec!["summary", "out/SENTINEL"]),
        ("summary of nothing", vec!["summary", "absent"]),
        ("summary --last 0", vec!["summary", "out", "--last", "0"]),
        ("summary --last -1", vec!["summary", "out", "--last", "-1"]),
        ("summary --last 70000", vec!["summary", "out", "--last", "70000"]),
        ("summary --epochs 0", vec!["summary", "out", "--epochs", "0"]),
        ("summary --against nothing", vec!["summary", "out", "--against", "absent"]),
        ("data without subcommand", vec!["data"]),
        ("data fetch without data set", vec!["data", "fetch"]),
        ("data fetch cifar", vec!["data", "fetch", "cifar", "--to", "d"]),
        ("data fetch without --to", vec!["data", "fetch", "mnist"]),
        (
            "data fetch --to under a file",
            vec!["data", "fetch", "mnist", "--to", "out/SENTINEL/d", "--mirror", "http://127.0.0.1:9/x"],
        ),
        (
            "data fetch from a mirror that is no URL",
            vec!["data", "fetch", "mnist", "--to", "d", "--mirror", "not a url"],
        ),
        ("data fetch from a file:// mirror", vec!["data", "fetch", "mnist", "--to", "d", "--mirror", "file:///etc"]),
        ("data fetch from an empty mirror", vec!["data", "fetch", "mnist", "--to", "d", "--mirror", ""]),
        ("control characters in a preset name", vec!["run", "--preset", "\u{1b}]0;x\u{7}"]),
    ];
    for (name, args) in rows {
        cases.push(Case::new(CAT, name, &args));
    }
    cases.push(
        Case::new(CAT, "a folder of .npz as --to", &["export", "out/checkpoint.bin", "--to", "w.npz"]).dir("w.npz"),
    );
}

#[test]
fn every_bad_input_fails_with_one_clean_line_and_touches_nothing() {
    let scratch = Scratch::new();
    let mut cases = Vec::new();
    config_cases(&scratch, &mut cases);
    data_cases(&scratch, &mut cases);
    checkpoint_cases(&scratch, &mut cases);
    npz_cases(&scratch, &mut cases);
    command_line_cases(&scratch, &mut cases);

    let shared_before = snapshot(&scratch.root);
    let cases_dir = scratch.root.join("cases");
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let dir = cases_dir.join(format!("{i:03}"));
                    let problems = run_case(case, &dir, &scratch);
                    if problems.is_empty() {
                        std::fs::remove_dir_all(&dir).unwrap();
                        std::fs::remove_dir_all(dir.with_extension("log")).unwrap();
                    } else {
                        failures.lock().unwrap().push((i, problems));
                    }
                }
            });
        }
    });
    std::fs::remove_dir_all(&cases_dir).unwrap_or_default();
    let shared_after = snapshot(&scratch.root);

    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &cases {
        *counts.entry(case.category).or_default() += 1;
    }
    let mut report = format!("{} cases: {counts:?}\n", cases.len());
    for (i, problems) in &failures {
        let case = &cases[*i];
        let _ = writeln!(report, "#{i:03} [{}] {}: {}", case.category, case.name, problems.join("; "));
    }
    if !failures.is_empty() {
        let _ = writeln!(report, "{} of {} cases failed", failures.len(), cases.len());
    }
    println!("{report}");
    std::fs::remove_dir_all(&scratch.root).unwrap();
    assert!(shared_before == shared_after, "a case changed the shared files");
    assert!(failures.is_empty(), "{} of {} cases failed; the table is printed above", failures.len(), cases.len());
    assert!(cases.len() >= MIN_CASES, "only {} cases", cases.len());
}
