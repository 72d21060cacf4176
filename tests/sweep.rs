//! `apical run --set` and `apical sweep`: overrides checked as a configuration file is, a planned
//! sweep whose tasks give what `sweep run` gives, a summary per point, and an MNIST task killed
//! midway that completes, when run again, with the results of an uninterrupted run.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{apical, error_line, temp_dir};

use apical::sim::checkpoint::Checkpoint;
use apical::sim::experiments::ExperimentConfig;
use apical::sim::presets::preset;

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The sorted names of the files in a folder.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// A `summary.json` without its `wall_time_s` line, the only one that measures time.
fn summary_without_time(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().lines().filter(|l| !l.contains("\"wall_time_s\":")).collect()
}

#[test]
fn set_overrides_are_checked_as_a_file_is() {
    let dir = temp_dir("set");
    // The same run from an edited file and from the preset with overrides.
    let mut cfg = preset("quick").unwrap();
    let ExperimentConfig::FigS1(e) = &mut cfg.experiment else { panic!("quick is a fig-s1 run") };
    e.patterns = 8;
    e.record_every = 4;
    cfg.plasticity.eta_pi = vec![0.001];
    std::fs::write(dir.join("edited.toml"), toml::to_string(&cfg).unwrap()).unwrap();
    ok(&apical(&["run", "edited.toml", "--out", "edited", "-q"], &dir));
    let sets = ["--set", "experiment.fig-s1.patterns=8", "--set", "experiment.fig-s1.record_every=4"];
    let args =
        [&["run", "--preset", "quick", "--out", "set", "-q"][..], &sets, &["--set", "plasticity.eta_pi=[0.001]"]];
    ok(&apical(&args.concat(), &dir));
    for file in ["metrics.csv", "checkpoint.bin"] {
        assert!(
            std::fs::read(dir.join("edited").join(file)).unwrap() == std::fs::read(dir.join("set").join(file)).unwrap()
        );
    }
    // A file's values are overridden too.
    ok(&apical(&["run", "edited.toml", "--set", "seed=3", "--out", "seed3", "-q"], &dir));
    assert!(std::fs::read_to_string(dir.join("seed3/summary.json")).unwrap().contains("\"seed\": 3"));

    for (set, expected) in [
        ("plasticity.eta_upp=0.1", "--set plasticity.eta_upp=0.1: unknown field `eta_upp`"),
        ("plasticity.eta_up=abc", "--set plasticity.eta_up=\"abc\": invalid type: string \"abc\", expected a sequence"),
        ("plasticity.eta_up=[0.1]", "plasticity.eta_up: needs 2 values"),
        ("experiment.fig2.patterns=1000", "no table experiment.fig2 (experiment holds fig-s1)"),
        ("seed.x=1", "seed is a value, not a table"),
        ("plasticity.tau_w=[1", "'[1' is not a TOML value"),
        ("plasticity", "is not key=value"),
        ("a..b=1", "'a..b' is not a dotted key"),
    ] {
        let line = error_line(&apical(&["run", "--preset", "quick", "--set", set, "--out", "never"], &dir));
        assert!(line.contains(expected), "{set}: {line}");
        let line = error_line(&apical(&["run", "edited.toml", "--set", set, "--out", "never"], &dir));
        assert!(line.contains(expected), "{set}: {line}");
    }
    assert!(!dir.join("never").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A sweep of 2 points × 2 seeds of a shortened `quick` preset.
const SWEEP: &str = r#"
preset = "quick"
seeds = "0..2"

[grid]
experiment.fig-s1 = { patterns = [12], record_every = [4] }
"plasticity.eta_pi" = [[0.0005], [0.001]]

[slurm]
time = "0:10:00"
mem = "1G"
partition = "short"
parallel = 3
"#;

#[test]
fn array_tasks_give_what_sweep_run_gives() {
    let dir = temp_dir("sweep");
    std::fs::write(dir.join("sweep.toml"), SWEEP).unwrap();
    let out = ok(&apical(&["sweep", "plan", "sweep.toml", "--out", "sw"], &dir));
    assert!(out.contains("planned 4 runs (2 points × 2 seeds)"), "{out}");
    let manifest = std::fs::read_to_string(dir.join("sw/manifest.tsv")).unwrap();
    let lines: Vec<&str> = manifest.lines().collect();
    assert_eq!(lines.len(), 5, "{manifest}");
    assert_eq!(
        lines[3],
        "2\tp1-seed0\t0\t1\texperiment.fig-s1.patterns=12\texperiment.fig-s1.record_every=4\tplasticity.eta_pi=[0.001]"
    );
    let script = std::fs::read_to_string(dir.join("sw/sbatch.sh")).unwrap();
    for line in ["#SBATCH --array=0-3%3", "#SBATCH --time=0:10:00", "#SBATCH --mem=1G", "#SBATCH --partition=short"] {
        assert!(script.contains(line), "{script}");
    }
    assert!(script.contains("sweep task '"), "{script}");
    // Planning the same sweep again changes nothing; another sweep is refused.
    ok(&apical(&["sweep", "plan", "sweep.toml", "--out", "sw"], &dir));
    std::fs::write(dir.join("other.toml"), SWEEP.replace("0..2", "0..3")).unwrap();
    let line = error_line(&apical(&["sweep", "plan", "other.toml", "--out", "sw"], &dir));
    assert!(line.contains("holds another sweep's plan"), "{line}");

    let out = ok(&apical(&["sweep", "summary", "sw"], &dir));
    assert!(out.contains("4 runs: 0 done, 0 failed, 0 incomplete, 4 missing"), "{out}");

    // The tasks one by one, as an array runs them: by index, or by SLURM_ARRAY_TASK_ID.
    for i in 0..4 {
        let mut command = Command::new(env!("CARGO_BIN_EXE_apical"));
        command.args(["sweep", "task", "sw", "-q"]).current_dir(&dir);
        if i == 2 {
            command.env("SLURM_ARRAY_TASK_ID", "2");
        } else {
            command.args(["--index", &i.to_string()]);
        }
        ok(&command.output().unwrap());
    }
    let again = ok(&apical(&["sweep", "task", "sw", "--index", "1"], &dir));
    assert!(again.contains("p0-seed1: finished before; skipped"), "{again}");
    std::fs::rename(dir.join("sw/runs"), dir.join("tasks")).unwrap();
    let out = ok(&apical(&["sweep", "run", "sw", "-q", "--threads", "2"], &dir));
    assert!(out.contains("p1-seed1: finished"), "{out}");
    for run in ["p0-seed0", "p0-seed1", "p1-seed0", "p1-seed1"] {
        let (task, local) = (dir.join("tasks").join(run), dir.join("sw/runs").join(run));
        assert_eq!(names(&task), names(&local));
        for name in names(&task) {
            if name == "summary.json" {
                assert_eq!(summary_without_time(&task.join(&name)), summary_without_time(&local.join(&name)));
            } else {
                assert!(
                    std::fs::read(task.join(&name)).unwrap() == std::fs::read(local.join(&name)).unwrap(),
                    "{run}/{name}"
                );
            }
        }
    }
    // The seeds and the points really differ, so the comparisons above can fail.
    let metrics = |run: &str| std::fs::read(dir.join("sw/runs").join(run).join("metrics.csv")).unwrap();
    assert_ne!(metrics("p0-seed0"), metrics("p0-seed1"));
    assert_ne!(metrics("p0-seed0"), metrics("p1-seed0"));

    // A missing and a failed run are named.
    std::fs::remove_dir_all(dir.join("sw/runs/p1-seed1")).unwrap();
    std::fs::remove_file(dir.join("sw/runs/p0-seed1/summary.json")).unwrap();
    std::fs::write(dir.join("sw/runs/p0-seed1/failed.txt"), "the disk is full\n").unwrap();
    let out = ok(&apical(&["sweep", "summary", "sw", "--value", "mismatch_end"], &dir));
    assert!(out.starts_with("point  done  mismatch_end"), "{out}");
    assert!(out.contains("p1     1/2   "), "{out}");
    assert!(out.contains("4 runs: 2 done, 1 failed, 0 incomplete, 1 missing"), "{out}");
    assert!(out.contains("failed: p0-seed1: the disk is full"), "{out}");
    assert!(out.contains("missing (not started): p1-seed1"), "{out}");
    let csv = std::fs::read_to_string(dir.join("sw/summary.csv")).unwrap();
    assert!(csv.starts_with("run,point,seed,status,experiment.fig-s1.patterns,"), "{csv}");
    assert!(csv.contains("\np1-seed1,1,1,missing,12,4,[0.001],,"), "{csv}");
    let line = error_line(&apical(&["sweep", "summary", "sw", "--value", "nothing"], &dir));
    assert!(line.contains("--value nothing: no finished run has this value"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_sweeps_and_tasks_are_refused_with_one_line() {
    let dir = temp_dir("bad-sweep");
    for (sweep, expected) in [
        ("seeds = [0]\n", "name one base configuration"),
        ("preset = \"nope\"\n", "s.toml: preset: unknown preset 'nope'"),
        ("preset = \"quick\"\nsweeps = 1\n", "s.toml:2:1: unknown field `sweeps`"),
        ("preset = \"quick\"\nseeds = \"3..1\"\n", "s.toml: seeds: '3..1' is not a range"),
        ("preset = \"quick\"\n[grid]\n\"plasticity.eta_pi\" = 0.1\n", "grid.plasticity.eta_pi: a list of values"),
        ("preset = \"quick\"\n[grid]\nseed = [1, 2]\n", "list the seeds in `seeds`"),
        (
            "preset = \"quick\"\n[[points]]\n\"plasticity.eta_pii\" = [0.1]\n",
            "point 0: plasticity.eta_pii=[0.1]: unknown field",
        ),
        ("preset = \"quick\"\n[[points]]\n\"plasticity.eta_pi\" = [-0.1]\n", "learning rate -0.1 is negative"),
        ("preset = \"quick\"\n[slurm]\ntime = \"1 h\"\n", "'--time=1 h' is not one sbatch option"),
        ("preset = \"quick\"\n[slurm]\ncpus_per_task = 0\n", "slurm.cpus_per_task: a task needs at least 1 CPU"),
        ("preset = \"fig2\"\nseeds = [0, 2]\n", "point 0: the runs of seeds 0 and 2 would repeat seeds"),
    ] {
        std::fs::write(dir.join("s.toml"), sweep).unwrap();
        let line = error_line(&apical(&["sweep", "plan", "s.toml", "--out", "never"], &dir));
        assert!(line.contains(expected), "{sweep}: {line}");
    }
    assert!(!dir.join("never").exists());
    std::fs::write(dir.join("s.toml"), "preset = \"quick\"\n").unwrap();
    ok(&apical(&["sweep", "plan", "s.toml", "--out", "sw"], &dir));
    let line = error_line(&apical(&["sweep", "task", "sw", "--index", "1"], &dir));
    assert!(line.contains("index 1: sw/manifest.tsv lists runs 0 to 0"), "{line}");
    let line = error_line(&apical(&["sweep", "task", "sw"], &dir));
    assert!(line.contains("give --index, or run inside a SLURM job array"), "{line}");
    let line = error_line(&apical(&["sweep", "run", "nowhere"], &dir));
    assert!(line.contains("cannot read nowhere/manifest.tsv"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The rows of a metrics file without its `seconds` column, the time each epoch took.
fn metrics_without_time(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let seconds = text.lines().next().unwrap().split(',').position(|c| c == "seconds").unwrap();
    text.lines().map(|l| l.split(',').enumerate().filter(|&(i, _)| i != seconds).map(|(_, v)| v).collect()).collect()
}

#[test]
fn a_killed_mnist_task_continues_to_the_results_of_an_uninterrupted_one() {
    let dir = temp_dir("killed");
    apical_datasets::synthetic::write_mnist(&dir.join("data"), 5_200, 100).unwrap();
    let mut cfg = preset("mnist").unwrap();
    cfg.network.sizes = vec![784, 20, 16, 10];
    let ExperimentConfig::Mnist(m) = &mut cfg.experiment else { panic!("mnist is an MNIST run") };
    m.epochs = 6;
    m.train_images = Some(200);
    std::fs::write(dir.join("synthetic.toml"), toml::to_string(&cfg).unwrap()).unwrap();
    std::fs::write(dir.join("sweep.toml"), "config = \"synthetic.toml\"\nseeds = [4]\n").unwrap();
    for sweep in ["straight", "killed"] {
        ok(&apical(&["sweep", "plan", "sweep.toml", "--out", sweep], &dir));
    }
    ok(&apical(&["sweep", "run", "straight", "--data", "data", "-q"], &dir));

    // The task is killed once its first epoch is saved, and then run again.
    let run = dir.join("killed/runs/p0-seed4");
    let mut child = Command::new(env!("CARGO_BIN_EXE_apical"))
        .args(["sweep", "task", "killed", "--index", "0", "--data", "data", "-q"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !run.join("checkpoint.bin").exists() {
        assert!(started.elapsed() < Duration::from_secs(120), "no checkpoint after two minutes");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!run.join("summary.json").exists(), "the task finished before it was killed");
    let out = apical(&["sweep", "task", "killed", "--index", "0", "--data", "data"], &dir);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("p0-seed4: continuing from its checkpoint"));

    let straight = dir.join("straight/runs/p0-seed4");
    // A plot's temporary file that the kill may have left is removed when the task runs again.
    assert_eq!(names(&run), names(&straight));
    assert_eq!(metrics_without_time(&run), metrics_without_time(&straight));
    assert_eq!(metrics_without_time(&run).len(), 7);
    // best.bin holds the configuration and weights only; checkpoint.bin also the epochs' times.
    assert!(std::fs::read(run.join("best.bin")).unwrap() == std::fs::read(straight.join("best.bin")).unwrap());
    let (a, _) = Checkpoint::load(&run.join("checkpoint.bin")).unwrap();
    let (b, _) = Checkpoint::load(&straight.join("checkpoint.bin")).unwrap();
    assert!(a.weights == b.weights, "the weights differ after the resumed run");
    let values = |dir: &Path| {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
        let mut values = json["values"].as_object().unwrap().clone();
        values.remove("wall_time_per_epoch_s").unwrap();
        (values, json["config_sha256"].clone())
    };
    assert_eq!(values(&run), values(&straight));
    std::fs::remove_dir_all(&dir).unwrap();
}
