//! End-to-end tests of the `apical` binary: real runs, real files, real error messages.

mod common;

use std::path::Path;

use common::{apical, error_line, temp_dir};

use apical::sim::checkpoint::Checkpoint;
use apical::sim::npy;

/// The preset `name` as TOML, as `apical config` prints it.
fn preset_toml(name: &str, dir: &Path) -> String {
    let out = apical(&["config", "--preset", name], dir);
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the binary expecting failure, and returns its single stderr line.
fn failure(args: &[&str], dir: &Path) -> String {
    error_line(&apical(args, dir))
}

#[test]
fn default_run_writes_table_metrics_plots_and_checkpoint() {
    let dir = temp_dir("default");
    let out = apical(&[], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("running quick (seed 0) into out/quick\n"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("fig-s1 results") && stdout.contains("‖v_A‖² reduction"), "{stdout}");
    let run = dir.join("out/quick");
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert!(csv.starts_with("time_s,pattern,apical_sq,mismatch,dist_pi,dist_ip,eta_factor\n"));
    assert!(csv.lines().count() > 10);
    for png in ["apical.png", "mismatch.png", "lateral.png"] {
        let bytes = std::fs::read(run.join(png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 5_000, "{png}");
    }
    Checkpoint::load(&run.join("checkpoint.bin")).unwrap();
    // Only MNIST runs have the curves `summary` reads.
    let line = failure(&["summary", "out/quick"], &dir);
    assert!(
        line.contains("out/quick/metrics.csv: no column 'epoch', so it is not the metrics of an MNIST run"),
        "{line}"
    );
    // Its curves plot against those of another table, and a missing column is one line.
    std::fs::write(dir.join("other.csv"), "pattern,apical_sq,seed\n0,0.5,0\n0,0.7,1\n10,0.1,1\n").unwrap();
    let plot = ["plot", "--x", "pattern", "--y", "apical_sq", "--log-y", "--out", "both.png"];
    let out = apical(&[&plot[..], &["quick=out/quick/metrics.csv", "other.csv"]].concat(), &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read(dir.join("both.png")).unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    let one_seed = ["--only", "seed=1", "--shared-x", "other.csv"];
    assert!(apical(&[&plot[..], &one_seed].concat(), &dir).status.success());
    let line = failure(&[&plot[..], &["--only", "seed", "other.csv"]].concat(), &dir);
    assert!(line.contains("'seed' is not COLUMN=VALUE"), "{line}");
    let line = failure(&["plot", "--x", "epoch", "--y", "apical_sq", "--out", "e.png", "other.csv"], &dir);
    assert_eq!(line, "error: other.csv: no column 'epoch'");
    let line = failure(&["eval", "out/quick/checkpoint.bin"], &dir);
    assert!(line.contains("out/quick/checkpoint.bin holds a fig-s1 run; only MNIST models can be evaluated"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn export_and_reload_weights() {
    let dir = temp_dir("export");
    let out = apical(&["run", "--preset", "fig1", "--out", "a"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (ck, _) = Checkpoint::load(&dir.join("a/checkpoint.bin")).unwrap();
    // One .npz file with the documented names and shapes, equal to the checkpoint bit for bit.
    assert!(apical(&["export", "a/checkpoint.bin", "--to", "w.npz"], &dir).status.success());
    let arrays = npy::read_npz(&dir.join("w.npz")).unwrap();
    let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["w_up_1", "w_up_2", "w_down_1", "w_ip_1", "w_pi_1"]);
    for ((name, m), (_, expected)) in arrays.iter().zip(ck.weights.named()) {
        assert_eq!(m, expected, "{name}");
    }
    assert_eq!(arrays[0].1.shape(), (20, 30));
    // Or one .npy file per matrix.
    assert!(apical(&["export", "a/checkpoint.bin", "--to", "npy"], &dir).status.success());
    assert_eq!(&npy::read_npy(&dir.join("npy/w_pi_1.npy")).unwrap(), expected_pi(&ck));

    // A configuration can start from those weights: the fixed forward weights of a run with
    // another seed are then exactly the file's.
    let toml =
        preset_toml("quick", &dir).replace("seed = 0", "seed = 5").replace("[init]\n", "[init]\nweights = \"w.npz\"\n");
    std::fs::write(dir.join("from-file.toml"), toml).unwrap();
    let out = apical(&["run", "from-file.toml", "--out", "b"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (b, _) = Checkpoint::load(&dir.join("b/checkpoint.bin")).unwrap();
    assert_eq!(b.weights.up[0].w, ck.weights.up[0].w);
    assert_eq!(b.weights.down[0].w, ck.weights.down[0].w);

    // Weights of the wrong shape are refused, naming the array and both shapes.
    let toml = std::fs::read_to_string(dir.join("from-file.toml")).unwrap().replace("[30, 20, 10]", "[30, 21, 10]");
    std::fs::write(dir.join("wrong-shape.toml"), toml).unwrap();
    let line = failure(&["run", "wrong-shape.toml", "--out", "c"], &dir);
    assert!(line.contains("w.npz") && line.contains("w_up_1") && line.contains("(21, 30)"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn expected_pi(ck: &Checkpoint) -> &apical::numerics::Matrix {
    &ck.weights.pi[0].w
}

#[test]
fn bad_input_gives_one_clear_error_line() {
    let dir = temp_dir("errors");
    let base = preset_toml("fig1", &dir);
    let write = |name: &str, text: String| {
        std::fs::write(dir.join(name), text).unwrap();
        name.to_string()
    };
    let cases = [
        (vec!["run".to_string(), "missing.toml".into()], "cannot read missing.toml"),
        (vec!["run".into(), write("malformed.toml", base.replace("sizes = [", "sizes = [[,"))], "malformed.toml:"),
        (
            vec!["run".into(), write("unknown.toml", base.replace("seed = 0", "seed = 0\nsede = 1"))],
            "unknown field `sede`",
        ),
        (
            vec!["run".into(), write("sizes.toml", base.replace("[30, 20, 10]", "[30, 20, 15, 10]"))],
            "plasticity.eta_up: needs 3 values",
        ),
        (
            vec!["run".into(), write("dt.toml", base.replace("dt = 0.1", "dt = -0.1"))],
            "dynamics.dt: must be a positive number, got -0.1",
        ),
        (
            vec!["run".into(), write("diverge.toml", base.replace("dt = 0.1", "dt = 5.0")), "--out".into(), "d".into()],
            "simulation diverged at step",
        ),
        (vec!["run".into(), "--preset".into(), "fig9".into()], "unknown preset 'fig9'"),
        (vec!["export".into(), "fig1.toml".into(), "--to".into(), "x.npz".into()], "cannot read checkpoint fig1.toml"),
        (
            vec!["export".into(), write("junk.bin", "not a checkpoint".into()), "--to".into(), "x.npz".into()],
            "junk.bin is not a valid Apical checkpoint",
        ),
        (vec!["summary".into(), "no-run".into()], "no-run: cannot read it"),
        (vec!["eval".into(), "junk.bin".into()], "junk.bin is not a valid Apical checkpoint"),
        (vec!["summary".into()], "required arguments were not provided"),
        (
            vec![
                "run".into(),
                "--preset".into(),
                "yinyang".into(),
                "--set".into(),
                "plasticity.precision=\"f32\"".into(),
            ],
            "plasticity.precision: \"f32\" is available for the fig-s1, fig1, fig2 and mnist experiments; classify stores f64",
        ),
        (
            vec!["run".into(), "--preset".into(), "fig1".into(), "--set".into(), "plasticity.precision=\"f16\"".into()],
            "plasticity.precision",
        ),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let line = failure(&args, &dir);
        assert!(line.contains(expected), "{args:?}: {line}");
    }
    // A cause that the message already names is not repeated.
    let line = failure(&["export", "nothing.bin", "--to", "x.npz"], &dir);
    assert_eq!(line.matches("(os error 2)").count(), 1, "{line}");
    let line = failure(&["run", "malformed.toml"], &dir);
    assert!(line.starts_with("error: malformed.toml:4:11: "), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn out_of_range_arguments_are_refused_with_one_line() {
    let dir = temp_dir("bounds");
    let cases = [
        (vec!["run", "--seed", "-1"], "seeds are non-negative integers"),
        (vec!["run", "--seeds", "-1..3"], "seeds are non-negative integers"),
        (vec!["run", "--seeds", "0..1000000000000"], "names 1000000000000 runs; --seeds runs at most 10000"),
        (
            vec!["run", "--seeds", "0..18446744073709551616"],
            "seeds are non-negative integers up to 18446744073709551615",
        ),
        (vec!["run", "--threads", "100000"], "100000 is not in 1..=1024"),
        (vec!["run", "--threads", "1025"], "1025 is not in 1..=1024"),
        (vec!["data"], "'apical data' requires a subcommand"),
        (vec!["config"], "required arguments were not provided: --preset <PRESET>"),
    ];
    for (args, expected) in cases {
        let line = failure(&args, &dir);
        assert!(line.contains(expected), "{args:?}: {line}");
    }
    // The largest values allowed pass the command line (and the preset's name is then refused).
    let line = failure(&["run", "--preset", "none", "--seeds", "0..10000", "--threads", "1024"], &dir);
    assert!(line.contains("unknown preset 'none'"), "{line}");
    let line = failure(&["run", "--preset", "none", "--seed", "18446744073709551615"], &dir);
    assert!(line.contains("unknown preset 'none'"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn control_characters_never_reach_the_terminal() {
    let dir = temp_dir("control");
    let name = "evil\u{1b}]0;title\u{7}\nline.toml";
    std::fs::write(dir.join(name), "seed = 0\n[network]\nsizes = \"\u{1b}[31m\"\n").unwrap();
    for args in [vec!["run", name], vec!["run", "--preset", "\u{1b}[2J"], vec!["summary", name]] {
        let line = failure(&args, &dir);
        assert!(!line.chars().any(char::is_control), "{args:?}: {line:?}");
        assert!(line.contains("\\u{1b}"), "{args:?}: {line}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_weight_file_names_the_field() {
    let dir = temp_dir("weights");
    let toml = preset_toml("quick", &dir).replace("[init]\n", "[init]\nweights = \"absent.npz\"\n");
    std::fs::write(dir.join("absent.toml"), toml).unwrap();
    let line = failure(&["run", "absent.toml", "--out", "w"], &dir);
    assert!(line.starts_with("error: init.weights: ") && line.contains("absent.npz"), "{line}");
    assert!(!dir.join("w").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn presets_are_listed_in_two_aligned_columns() {
    let dir = temp_dir("presets");
    let out = apical(&["presets"], &dir);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("mnist-feedback-alignment ")), "{text}");
    // Every description starts in the same column, after at least two spaces.
    let column = |line: &str| line.find("  ").map(|i| i + line[i..].len() - line[i..].trim_start().len());
    let first = column(lines[0]);
    assert!(first.is_some(), "{text}");
    assert!(lines.iter().all(|l| column(l) == first), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A reader that stops early (`apical presets | head -1`) is no failure and no panic: the
/// command's output is ignored from then on.
#[test]
fn a_closed_output_pipe_is_no_panic() {
    let dir = temp_dir("pipe");
    for args in [&["presets"][..], &["config", "--preset", "mnist"]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_apical"))
            .args(args)
            .current_dir(&dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
        assert!(out.status.success(), "{args:?}: {}", out.status);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
