//! Helpers shared by the end-to-end tests of the `apical` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the real binary with `args` in `dir`.
pub fn apical(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apical")).args(args).current_dir(dir).output().expect("the binary runs")
}

/// A fresh, empty directory for one test, unique to this test process.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apical-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Checks that a run failed with exactly one error line and no panic, and returns that line.
/// The binary's progress lines ("running …", "downloading …") are the only others allowed.
pub fn error_line(out: &Output) -> String {
    assert!(!out.status.success(), "the command succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> =
        stderr.lines().filter(|l| !l.starts_with("running ") && !l.starts_with("downloading ")).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got:\n{stderr}");
    assert!(lines[0].starts_with("error: ") && !stderr.contains("panicked"), "{stderr}");
    lines[0].to_string()
}
