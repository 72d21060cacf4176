//! The output folder and the progress of `apical run`: one run per folder, stale locks and
//! temporary files cleaned, no empty folder after a failure, and progress lines when standard
//! error is not a terminal.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{apical, error_line, temp_dir};

use apical::sim::experiments::ExperimentConfig;
use apical::sim::presets::preset;

/// The `quick` preset cut down to `patterns` patterns, written as `<name>.toml` in `dir`.
fn short_config(dir: &Path, name: &str, patterns: u64) -> PathBuf {
    let mut cfg = preset("quick").unwrap();
    let ExperimentConfig::FigS1(e) = &mut cfg.experiment else { panic!("quick is a fig-s1 run") };
    e.patterns = patterns;
    e.record_every = 10;
    e.probes = 3;
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, toml::to_string(&cfg).unwrap()).unwrap();
    path
}

/// Runs the binary in `dir` with a short interval between progress lines.
fn apical_piped(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apical"))
        .args(args)
        .current_dir(dir)
        .env("APICAL_PROGRESS_INTERVAL_MS", "20")
        .output()
        .expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The names in a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn a_folder_locked_by_a_live_process_is_refused_and_left_untouched() {
    let dir = temp_dir("held");
    let config = short_config(&dir, "short", 20);
    let held = dir.join("held");
    std::fs::create_dir(&held).unwrap();
    std::fs::write(held.join("metrics.csv"), "the first run's metrics\n").unwrap();
    let holder = format!("{} test-host\n", std::process::id());
    std::fs::write(held.join(".apical.lock"), &holder).unwrap();
    // This test process plays the running first run: it holds the lock.
    let lock = std::fs::File::open(held.join(".apical.lock")).unwrap();
    fs4::FileExt::try_lock(&lock).unwrap();

    let line = error_line(&apical(&["run", config.to_str().unwrap(), "--out", "held"], &dir));
    let expected = format!("error: held is in use by another run (pid {} on test-host)", std::process::id());
    assert!(line.starts_with(&expected), "{line}");
    assert_eq!(names(&held), [".apical.lock", "metrics.csv"]);
    assert_eq!(std::fs::read_to_string(held.join("metrics.csv")).unwrap(), "the first run's metrics\n");
    assert_eq!(std::fs::read_to_string(held.join(".apical.lock")).unwrap(), holder);
    // `--seeds` locks the folder it is given in the same way.
    let line = error_line(&apical(&["run", config.to_str().unwrap(), "--out", "held", "--seeds", "0..2"], &dir));
    assert!(line.starts_with(&expected), "{line}");
    assert_eq!(names(&held), [".apical.lock", "metrics.csv"]);

    // Once the first run is gone, the folder is free again.
    drop(lock);
    let out = apical(&["run", config.to_str().unwrap(), "--out", "held"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!held.join(".apical.lock").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn of_two_concurrent_runs_into_one_folder_the_second_is_refused() {
    let dir = temp_dir("concurrent");
    let config = short_config(&dir, "long", 3000);
    let first = Command::new(env!("CARGO_BIN_EXE_apical"))
        .args(["run", config.to_str().unwrap(), "--out", "shared", "--quiet"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lock = dir.join("shared/.apical.lock");
    let waited = Instant::now();
    while !std::fs::read_to_string(&lock).is_ok_and(|c| c.ends_with('\n')) {
        assert!(waited.elapsed() < Duration::from_secs(60), "the first run never took the lock");
        std::thread::sleep(Duration::from_millis(5));
    }
    let line = error_line(&apical(&["run", config.to_str().unwrap(), "--out", "shared", "--seed", "7"], &dir));
    assert!(line.contains(&format!("shared is in use by another run (pid {} on ", first.id())), "{line}");
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!lock.exists(), "the first run left its lock behind");
    // The folder holds the first run's results, seed 0, not the refused run's seed 7.
    let (ck, _) = apical::sim::checkpoint::Checkpoint::load(&dir.join("shared/checkpoint.bin")).unwrap();
    assert!(ck.config.contains("seed = 0\n"), "{}", ck.config);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stale_lock_is_taken_over_with_a_note_and_removed() {
    let dir = temp_dir("stale-lock");
    let config = short_config(&dir, "short", 20);
    std::fs::create_dir(dir.join("stale")).unwrap();
    std::fs::write(dir.join("stale/.apical.lock"), "999999999 gone-host\n").unwrap();
    let out = apical(&["run", config.to_str().unwrap(), "--out", "stale"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("note: taking over the stale lock of pid 999999999 on gone-host in stale"), "{text}");
    assert!(dir.join("stale/metrics.csv").exists() && !dir.join("stale/.apical.lock").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn temporary_files_of_dead_runs_are_removed_and_others_kept() {
    let dir = temp_dir("stale-tmp");
    let config = short_config(&dir, "short", 20);
    let out_dir = dir.join("tmp");
    std::fs::create_dir_all(out_dir.join("seed-1")).unwrap();
    let dead = [".checkpoint.bin.999999999.tmp", ".metrics.csv.999999998.tmp"];
    let live = format!(".checkpoint.bin.{}.tmp", std::process::id());
    for name in dead.iter().copied().chain([live.as_str(), "notes.tmp", ".hidden.tmp"]) {
        std::fs::write(out_dir.join(name), "partial").unwrap();
    }
    std::fs::write(out_dir.join("seed-1").join(dead[0]), "partial").unwrap();
    let out = apical(&["run", config.to_str().unwrap(), "--out", "tmp"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("note: removed 2 temporary file(s) left by an interrupted run in tmp"));
    let left = names(&out_dir);
    assert!(dead.iter().all(|d| !left.contains(&d.to_string())), "{left:?}");
    // The file of a live process (this test) and files of other shapes stay.
    for kept in [live.as_str(), "notes.tmp", ".hidden.tmp"] {
        assert!(left.contains(&kept.to_string()), "{kept} was removed: {left:?}");
    }
    // With `--seeds`, the seeds' folders are cleaned too.
    let out = apical(&["run", config.to_str().unwrap(), "--out", "tmp", "--seeds", "1,2"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!out_dir.join("seed-1").join(dead[0]).exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_run_leaves_no_empty_folder_it_created() {
    let dir = temp_dir("failed");
    let text = std::fs::read_to_string(short_config(&dir, "short", 20)).unwrap();
    assert!(text.contains("dt = 0.1"));
    std::fs::write(dir.join("diverge.toml"), text.replace("dt = 0.1", "dt = 5.0")).unwrap();
    let line = error_line(&apical(&["run", "diverge.toml", "--out", "new/deep"], &dir));
    assert!(line.contains("diverged"), "{line}");
    assert!(!dir.join("new").exists());
    let line = error_line(&apical(&["run", "diverge.toml", "--out", "seeds", "--seeds", "0..2"], &dir));
    assert!(line.contains("diverged"), "{line}");
    assert!(!dir.join("seeds").exists());
    // A folder that was there before stays, emptied of the lock only.
    std::fs::create_dir(dir.join("existing")).unwrap();
    error_line(&apical(&["run", "diverge.toml", "--out", "existing"], &dir));
    assert!(names(&dir.join("existing")).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn piped_runs_print_status_lines_and_quiet_runs_none() {
    let dir = temp_dir("progress");
    let config = short_config(&dir, "short", 400);
    let config = config.to_str().unwrap();
    let out = apical_piped(&["run", config, "--out", "a"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stderr(&out);
    let status: Vec<&str> = text.lines().filter(|l| l.starts_with("fig-s1 ")).collect();
    assert!(status.len() >= 3, "expected status lines every 20 ms:\n{text}");
    assert!(status.iter().all(|l| l.contains("/400 (") && l.contains("%), elapsed ")), "{text}");
    assert!(status.iter().any(|l| l.contains(", eta ")), "{text}");
    assert!(status.last().unwrap().starts_with("fig-s1 400/400 (100.0 %), elapsed "), "{text}");
    // No estimate before work has started.
    assert!(status.iter().all(|l| !l.starts_with("fig-s1 0/") || !l.contains("eta")), "{text}");
    assert!(text.starts_with("running short (seed 0) into a\n"), "{text}");

    // Each run of `--seeds` reports on its own lines.
    let out = apical_piped(&["run", config, "--out", "b", "--seeds", "0..2", "--threads", "2"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stderr(&out);
    for seed in 0..2 {
        assert!(text.contains(&format!("\nseed {seed}: fig-s1 400/400 (100.0 %)")), "{text}");
    }

    // `--quiet` prints nothing on standard error, and still the results.
    let out = apical_piped(&["run", config, "--out", "c", "--quiet"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("fig-s1 results"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A reader of the output that goes away early (`apical run … 2>&1 | head -1`) does not stop the
/// run or turn it into a failure: its files are written and it exits 0.
#[test]
fn a_closed_output_pipe_does_not_fail_the_run() {
    let dir = temp_dir("closed-pipe");
    let config = short_config(&dir, "short", 400);
    let mut child = Command::new(env!("CARGO_BIN_EXE_apical"))
        .args(["run", config.to_str().unwrap(), "--out", "a"])
        .current_dir(&dir)
        .env("APICAL_PROGRESS_INTERVAL_MS", "5")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // Closing both pipes at once makes every later write fail, as after `| head -1`.
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    for file in ["metrics.csv", "checkpoint.bin", "summary.json"] {
        assert!(dir.join("a").join(file).is_file(), "{file} is missing");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
