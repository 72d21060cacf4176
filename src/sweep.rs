//! Sweeps: many runs of one configuration over a grid of settings and seeds, planned into a
//! folder that a SLURM job array, or this machine, works through one run at a time.
//!
//! `apical sweep plan SWEEP.toml --out DIR` writes into `DIR`:
//!
//! * `configs/<run id>.toml`: the complete configuration of each run;
//! * `manifest.tsv`: one line per run (its index, run id, seed, grid point and overrides);
//! * `sbatch.sh`: a job array with one task per line of the manifest;
//! * `sweep.toml`: a copy of the sweep file, and `logs/` for SLURM's output.
//!
//! Task `I` (`apical sweep task DIR --index I`) runs line `I` into `DIR/runs/<run id>/`, which it
//! locks for as long as it runs. A run whose `summary.json` exists is finished and skipped; a run
//! with a checkpoint continues from it where its experiment can; a failed run leaves its error
//! in `failed.txt`. `apical sweep run DIR` runs every task here, in parallel, and
//! `apical sweep summary DIR` gathers the results. Every run depends only on its configuration,
//! so where and in which order the tasks run changes nothing in their results.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use apical::cli::{
    MAX_SEED_RUNS, Override, apply_overrides, check_disjoint_seeds, config_tree, load_config, parse_seeds, parse_toml,
    preset,
};
use apical::numerics::stats::{mean, sd};
use apical::sim::config::RunConfig;
use apical::sim::experiments::{self, Report, RunContext};
use apical::sim::files::write_atomic;
use rayon::prelude::*;
use serde::Deserialize;

use crate::outdir::OutDir;
use crate::progress::{Display, status_line};
use crate::{one_line, printable};

/// The manifest's file name in a sweep folder.
const MANIFEST: &str = "manifest.tsv";

/// The manifest's header line.
const MANIFEST_HEADER: &str = "index\trun\tseed\tpoint\toverrides";

/// The file in which a failed run leaves its error.
const FAILED: &str = "failed.txt";

/// A sweep file: a base configuration, the points of a grid or a list, and seeds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    /// A preset as the base configuration.
    preset: Option<String>,
    /// A configuration file as the base, relative to the sweep file.
    config: Option<PathBuf>,
    /// The seeds: a list of integers, or a range or list as text (`"0..8"`, `"1,4,7"`).
    seeds: Option<toml::Value>,
    /// Every combination of these values: dotted keys, each with a list of values.
    grid: Option<toml::Table>,
    /// Points given one by one, each a table of dotted keys and values.
    points: Option<Vec<toml::Table>>,
    /// Options of the SLURM job array.
    #[serde(default)]
    slurm: SlurmOptions,
}

/// Options of `sbatch.sh`; sbatch's own options on its command line override them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlurmOptions {
    /// `--job-name` [default: apical-sweep].
    job_name: Option<String>,
    /// `--time`, the time limit of one task, such as `2:00:00`.
    time: Option<String>,
    /// `--mem`, the memory of one task, such as `4G`.
    mem: Option<String>,
    /// `--partition`.
    partition: Option<String>,
    /// `--cpus-per-task` [default: 1]; a task runs on that many threads.
    cpus_per_task: Option<u16>,
    /// The most tasks that run at once, `%P` in `--array` [default: all].
    parallel: Option<u32>,
    /// Further `#SBATCH` options, each as `--name=value`.
    #[serde(default)]
    extra: Vec<String>,
    /// The `apical` binary that the tasks run [default: the one that plans].
    binary: Option<PathBuf>,
}

/// One line of the manifest.
#[derive(Debug, Clone, PartialEq)]
struct Run {
    /// The run's id, also its folder's and its configuration's name.
    id: String,
    seed: u64,
    /// The index of its grid point (its settings, whatever the seed).
    point: usize,
    /// The overrides of its point, as `key=value`.
    overrides: Vec<String>,
}

/// `apical sweep plan`: reads a sweep file and writes the sweep's folder.
pub fn plan(sweep_path: &Path, dir: &Path) -> Result<()> {
    let source = sweep_path.display().to_string();
    let text = std::fs::read_to_string(sweep_path).with_context(|| format!("cannot read {source}"))?;
    plan_text(&text, sweep_path, dir)
}

/// Plans the sweep file `text`, read from `sweep_path` (which names it in errors and locates a
/// `config` it names), into `dir`.
pub fn plan_text(text: &str, sweep_path: &Path, dir: &Path) -> Result<()> {
    let source = sweep_path.display().to_string();
    let file: SweepFile = parse_toml(text, &source)?;
    let base = match (&file.preset, &file.config) {
        (Some(name), None) => preset(name).with_context(|| format!("{source}: preset"))?,
        (None, Some(path)) => {
            let path = sweep_path.parent().unwrap_or(Path::new(".")).join(path);
            let mut cfg = load_config(&path)?;
            // The planned configurations live elsewhere, so a weight file is named absolutely.
            if let Some(w) = &cfg.init.weights {
                cfg.init.weights = Some(std::path::absolute(w).with_context(|| format!("{}", w.display()))?);
            }
            cfg
        }
        _ => bail!("{source}: name one base configuration, either preset = \"<name>\" or config = \"<file>\""),
    };
    let points = points(&file, &source)?;
    let seeds = match &file.seeds {
        None => vec![base.seed],
        Some(toml::Value::String(text)) => parse_seeds(text).map_err(|e| anyhow!("{source}: seeds: {e}"))?,
        Some(toml::Value::Array(list)) => {
            let text = list.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",");
            parse_seeds(&text).map_err(|e| anyhow!("{source}: seeds: {e}"))?
        }
        Some(other) => bail!("{source}: seeds: a list such as [0, 1, 2] or a range such as \"0..8\", got {other}"),
    };
    let total = points.len() as u64 * seeds.len() as u64;
    if total > MAX_SEED_RUNS {
        bail!(
            "{source}: {} points × {} seeds make {total} runs; a sweep holds at most {MAX_SEED_RUNS}",
            points.len(),
            seeds.len()
        );
    }

    let base_tree = config_tree(&base)?;
    let width = (points.len() - 1).to_string().len();
    let mut runs = Vec::new();
    let mut configs = Vec::new();
    for (p, overrides) in points.iter().enumerate() {
        let label = format!("{source}: point {p}: ");
        let mut tree = base_tree.clone();
        let mut cfg = apply_overrides(&mut tree, overrides, &label)?;
        check_disjoint_seeds(&cfg, &seeds).map_err(|e| anyhow!("{label}{e}"))?;
        for &seed in &seeds {
            cfg.seed = seed;
            let shown: Vec<String> = overrides.iter().map(Override::to_string).collect();
            cfg.validate().map_err(|e| anyhow!("{label}{}: {e}", shown.join(" ")))?;
            let id = format!("p{p:0width$}-seed{seed}");
            configs.push((id.clone(), cfg.clone()));
            runs.push(Run { id, seed, point: p, overrides: shown.clone() });
        }
    }
    let manifest = manifest_text(&runs)?;
    let script = sbatch_script(&file.slurm, dir, runs.len(), &source)?;

    let out = OutDir::claim(dir, &[])?;
    let written = write_plan(dir, &manifest, &configs, &script, text);
    out.release(written.is_err());
    written?;
    sayln!(
        "planned {} runs ({} points × {} seeds) into {}",
        runs.len(),
        points.len(),
        seeds.len(),
        printable(&dir.display().to_string())
    );
    sayln!("submit them with `sbatch {}`", printable(&dir.join("sbatch.sh").display().to_string()));
    sayln!("or run them here with `apical sweep run {}`", printable(&dir.display().to_string()));
    Ok(())
}

/// Writes the plan's files into `dir`, unless it holds another sweep's plan.
fn write_plan(dir: &Path, manifest: &str, configs: &[(String, RunConfig)], script: &str, sweep: &str) -> Result<()> {
    let manifest_path = dir.join(MANIFEST);
    if let Ok(old) = std::fs::read_to_string(&manifest_path)
        && old != manifest
    {
        bail!("{} holds another sweep's plan; plan into another --out", dir.display());
    }
    let config_dir = dir.join("configs");
    for sub in [&config_dir, &dir.join("logs")] {
        std::fs::create_dir_all(sub).with_context(|| format!("cannot create {}", sub.display()))?;
    }
    for (id, cfg) in configs {
        let text = toml::to_string(cfg).context("cannot serialise a configuration")?;
        write_atomic(&config_dir.join(format!("{id}.toml")), text.as_bytes())?;
    }
    let script_path = dir.join("sbatch.sh");
    write_atomic(&script_path, script.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script_path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", script_path.display()))?;
    }
    write_atomic(&dir.join("sweep.toml"), sweep.as_bytes())?;
    // The manifest comes last: a folder with a manifest holds a whole plan.
    write_atomic(&manifest_path, manifest.as_bytes())?;
    Ok(())
}

/// The points of a sweep: every combination of the grid's values (its keys in alphabetical
/// order, the first varying slowest), or the listed points in their order, or the base alone.
fn points(file: &SweepFile, source: &str) -> Result<Vec<Vec<Override>>> {
    let no_seed = |key: &str| {
        if key == "seed" {
            bail!("{source}: the seed is not a setting of a point; list the seeds in `seeds`");
        }
        Ok(())
    };
    match (&file.grid, &file.points) {
        (Some(_), Some(_)) => bail!("{source}: give either [grid] or [[points]], not both"),
        (None, None) => Ok(vec![Vec::new()]),
        (Some(grid), None) => {
            let mut axes: Vec<Vec<Override>> = Vec::new();
            for (key, value) in flatten(grid) {
                no_seed(&key)?;
                let toml::Value::Array(values) = value else {
                    bail!("{source}: grid.{key}: a list of values such as [1, 2], got {value}");
                };
                if values.is_empty() {
                    bail!("{source}: grid.{key}: the list of values is empty");
                }
                let axis =
                    values.into_iter().map(|v| Override::new(&key, v).map_err(|e| anyhow!("{source}: grid: {e}")));
                axes.push(axis.collect::<Result<_>>()?);
            }
            let mut points = vec![Vec::new()];
            for axis in axes {
                points = points
                    .into_iter()
                    .flat_map(|point: Vec<Override>| {
                        axis.iter().map(move |o| point.iter().cloned().chain([o.clone()]).collect())
                    })
                    .collect();
                if points.len() as u64 > MAX_SEED_RUNS {
                    bail!("{source}: the grid has more than {MAX_SEED_RUNS} points");
                }
            }
            Ok(points)
        }
        (None, Some(list)) => {
            if list.is_empty() {
                bail!("{source}: [[points]] lists no point");
            }
            list.iter()
                .enumerate()
                .map(|(i, table)| {
                    flatten(table)
                        .into_iter()
                        .map(|(key, value)| {
                            no_seed(&key)?;
                            Override::new(&key, value).map_err(|e| anyhow!("{source}: points[{i}]: {e}"))
                        })
                        .collect()
                })
                .collect()
        }
    }
}

/// The (dotted key, value) pairs of a table whose keys are dotted (`"plasticity.eta_up"`) or
/// nested (`[grid.plasticity]`), in the table's order.
fn flatten(table: &toml::Table) -> Vec<(String, toml::Value)> {
    let mut pairs = Vec::new();
    for (key, value) in table {
        match value {
            toml::Value::Table(inner) => {
                pairs.extend(flatten(inner).into_iter().map(|(k, v)| (format!("{key}.{k}"), v)));
            }
            value => pairs.push((key.clone(), value.clone())),
        }
    }
    pairs
}

/// The manifest: a header, then one tab-separated line per run.
fn manifest_text(runs: &[Run]) -> Result<String> {
    let mut text = format!("{MANIFEST_HEADER}\n");
    for (i, run) in runs.iter().enumerate() {
        if let Some(o) = run.overrides.iter().find(|o| o.contains(['\t', '\n', '\r'])) {
            bail!("the override {} holds a tab or a line break, which a manifest line cannot", printable(o));
        }
        let mut line = format!("{i}\t{}\t{}\t{}", run.id, run.seed, run.point);
        for o in &run.overrides {
            line.push('\t');
            line.push_str(o);
        }
        writeln!(text, "{line}").expect("writing to a string succeeds");
    }
    Ok(text)
}

/// Reads the manifest of the sweep folder `dir`.
fn read_manifest(dir: &Path) -> Result<Vec<Run>> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {} (is {} a planned sweep?)", path.display(), dir.display()))?;
    let shown = path.display().to_string();
    let mut lines = text.lines();
    if lines.next() != Some(MANIFEST_HEADER) {
        bail!("{shown}:1: not an Apical manifest (its first line is not the header)");
    }
    let mut runs = Vec::new();
    for (i, line) in lines.enumerate() {
        let bad = || anyhow!("{shown}:{}: not a manifest line: {}", i + 2, printable(line));
        let fields: Vec<&str> = line.split('\t').collect();
        let [index, id, seed, point, overrides @ ..] = &fields[..] else { return Err(bad()) };
        let good_id = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if index.parse::<usize>().ok() != Some(i) || !good_id {
            return Err(bad());
        }
        runs.push(Run {
            id: id.to_string(),
            seed: seed.parse().map_err(|_| bad())?,
            point: point.parse().map_err(|_| bad())?,
            overrides: overrides.iter().map(|o| o.to_string()).collect(),
        });
    }
    if runs.is_empty() {
        bail!("{shown}: the manifest lists no run");
    }
    Ok(runs)
}

/// Whether `text` can stand in an `#SBATCH` line as one word.
fn one_word(text: &str) -> bool {
    !text.is_empty() && !text.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\'')
}

/// `text` quoted for the shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The SLURM job array of a sweep of `n` runs planned into `dir`.
fn sbatch_script(options: &SlurmOptions, dir: &Path, n: usize, source: &str) -> Result<String> {
    let dir = std::path::absolute(dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let dir_text = dir.to_str().filter(|d| one_word(d)).ok_or_else(|| {
        anyhow!("{}: an sbatch script cannot name a folder with spaces or quotes; choose another --out", dir.display())
    })?;
    let binary = match &options.binary {
        Some(b) => std::path::absolute(b).with_context(|| format!("cannot resolve {}", b.display()))?,
        None => std::env::current_exe().context("cannot find the apical binary")?,
    };
    let binary = binary.to_str().map(str::to_string).ok_or_else(|| anyhow!("{}: not UTF-8", binary.display()))?;
    let parallel = options.parallel.unwrap_or(n as u32);
    if parallel == 0 {
        bail!("{source}: slurm.parallel: at least 1 task must run at once");
    }
    let cpus = options.cpus_per_task.unwrap_or(1);
    if cpus == 0 {
        bail!("{source}: slurm.cpus_per_task: a task needs at least 1 CPU");
    }
    let mut lines = vec![
        format!("--job-name={}", options.job_name.as_deref().unwrap_or("apical-sweep")),
        format!("--array=0-{}%{parallel}", n - 1),
        format!("--output={dir_text}/logs/%A_%a.out"),
        format!("--cpus-per-task={cpus}"),
    ];
    for (name, value) in [("time", &options.time), ("mem", &options.mem), ("partition", &options.partition)] {
        if let Some(value) = value {
            lines.push(format!("--{name}={value}"));
        }
    }
    lines.extend(options.extra.iter().cloned());
    for (i, line) in lines.iter().enumerate() {
        if !one_word(line) || (i >= 4 && !line.starts_with('-')) {
            bail!("{source}: slurm: '{}' is not one sbatch option such as --time=1:00:00", printable(line));
        }
    }
    let mut script = String::from(
        "#!/bin/bash\n\
         # The SLURM job array of an Apical sweep, written by `apical sweep plan`: task I runs line I\n\
         # of manifest.tsv into runs/<run id>/. A finished run is skipped, an interrupted one\n\
         # continues from its checkpoint where its experiment can, so resubmitting the array (or\n\
         # `sbatch --array=3,7 sbatch.sh`) completes what is missing. Options on sbatch's command\n\
         # line override these, for example `sbatch --time=2:00:00 --mem=4G --partition=long`.\n",
    );
    for line in lines {
        writeln!(script, "#SBATCH {line}").expect("writing to a string succeeds");
    }
    writeln!(script, "exec {} sweep task {}", shell_quote(&binary), shell_quote(dir_text))
        .expect("writing to a string succeeds");
    Ok(script)
}

/// How one task ended.
enum Outcome {
    /// It ran (or continued) to the end.
    Finished(Report),
    /// It had finished before.
    Skipped,
}

/// Runs (or continues) `run` of the sweep in `dir` into `dir/runs/<id>/`, unless it has finished
/// before. The run folder is locked while it runs; a failure is left in its `failed.txt`.
fn run_one(dir: &Path, run: &Run, data_dir: Option<PathBuf>, display: &Display) -> Result<Outcome> {
    let out_dir = dir.join("runs").join(&run.id);
    if out_dir.join("summary.json").exists() {
        return Ok(Outcome::Skipped);
    }
    let cfg = load_config(&dir.join("configs").join(format!("{}.toml", run.id)))?;
    let out = OutDir::claim(&out_dir, &[])?;
    // Another task may have finished the run between the check above and the claim.
    if out_dir.join("summary.json").exists() {
        out.release(false);
        return Ok(Outcome::Skipped);
    }
    let _ = std::fs::remove_file(out_dir.join(FAILED));
    let resume = out_dir.join("checkpoint.bin").exists();
    if resume && !display.is_quiet() {
        status_line(&format!("{}: continuing from its checkpoint", run.id));
    }
    let progress = display.run(Some(run.id.clone()));
    let ctx = RunContext { out_dir: out_dir.clone(), data_dir, resume, progress: &progress };
    let result = experiments::run(&cfg, &ctx).map_err(anyhow::Error::from);
    drop(progress);
    if let Err(e) = &result {
        let _ = write_atomic(&out_dir.join(FAILED), format!("{}\n", one_line(e)).as_bytes());
    }
    out.release(result.is_err());
    result.map(Outcome::Finished)
}

/// A worker pool of `threads` threads, or of `SLURM_CPUS_PER_TASK` inside a SLURM task, or one
/// per CPU.
fn pool(threads: Option<u16>) -> Result<rayon::ThreadPool> {
    let slurm = std::env::var("SLURM_CPUS_PER_TASK").ok().and_then(|v| v.trim().parse::<usize>().ok());
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.map(usize::from).or(slurm).unwrap_or(0))
        .build()
        .context("cannot start the worker threads")
}

/// `apical sweep task`: runs line `index` of the manifest, by default line
/// `$SLURM_ARRAY_TASK_ID`.
pub fn task(
    dir: &Path,
    index: Option<usize>,
    data_dir: Option<PathBuf>,
    threads: Option<u16>,
    quiet: bool,
) -> Result<()> {
    let index = match index {
        Some(i) => i,
        None => {
            let id = std::env::var("SLURM_ARRAY_TASK_ID")
                .map_err(|_| anyhow!("give --index, or run inside a SLURM job array (SLURM_ARRAY_TASK_ID)"))?;
            id.trim().parse().map_err(|_| anyhow!("SLURM_ARRAY_TASK_ID = '{}' is not an index", printable(&id)))?
        }
    };
    let runs = read_manifest(dir)?;
    let Some(run) = runs.get(index) else {
        bail!("index {index}: {} lists runs 0 to {}", dir.join(MANIFEST).display(), runs.len() - 1);
    };
    let display = Display::new(quiet);
    if !display.is_quiet() {
        status_line(&format!(
            "running {} (seed {}) into {}",
            run.id,
            run.seed,
            printable(&dir.join("runs").join(&run.id).display().to_string())
        ));
    }
    let started = std::time::Instant::now();
    match pool(threads)?.install(|| run_one(dir, run, data_dir, &display)).with_context(|| run.id.clone())? {
        Outcome::Skipped => sayln!("{}: finished before; skipped", run.id),
        Outcome::Finished(report) => {
            say!("{report}");
            sayln!("wall time: {:.1} s", started.elapsed().as_secs_f64());
        }
    }
    Ok(())
}

/// `apical sweep run`: runs every task of the manifest on this machine, in parallel.
pub fn run_all(dir: &Path, data_dir: Option<PathBuf>, threads: Option<u16>, quiet: bool) -> Result<()> {
    run_sweeps(&[dir.to_path_buf()], data_dir, threads, quiet)
}

/// Runs every task of the manifests of the sweep folders `dirs` on this machine, all in parallel;
/// with several folders, each run is named by its folder's name and its id.
pub fn run_sweeps(dirs: &[PathBuf], data_dir: Option<PathBuf>, threads: Option<u16>, quiet: bool) -> Result<()> {
    let mut runs = Vec::new();
    for dir in dirs {
        let name = match (dirs.len(), dir.file_name()) {
            (1, _) | (_, None) => String::new(),
            (_, Some(name)) => format!("{}/", name.to_string_lossy()),
        };
        runs.extend(read_manifest(dir)?.into_iter().map(|run| (dir, format!("{name}{}", run.id), run)));
    }
    let pool = pool(threads)?;
    let display = Display::new(quiet);
    if !display.is_quiet() {
        let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        status_line(&format!(
            "running {} runs of {} on {} threads",
            runs.len(),
            printable(&names.join(", ")),
            pool.current_num_threads()
        ));
    }
    let started = std::time::Instant::now();
    let results: Vec<Result<Outcome>> =
        pool.install(|| runs.par_iter().map(|(dir, _, run)| run_one(dir, run, data_dir.clone(), &display)).collect());
    let mut failed = Vec::new();
    for ((_, name, _), result) in runs.iter().zip(results) {
        match result {
            Ok(Outcome::Finished(_)) => sayln!("{name}: finished"),
            Ok(Outcome::Skipped) => sayln!("{name}: finished before; skipped"),
            Err(e) => {
                sayln!("{name}: failed: {}", one_line(&e));
                failed.push(name.clone());
            }
        }
    }
    sayln!("wall time: {:.1} s", started.elapsed().as_secs_f64());
    if !failed.is_empty() {
        bail!("{} of {} runs failed: {}", failed.len(), runs.len(), failed.join(", "));
    }
    Ok(())
}

/// The values of every run of the sweep folder `dir` that has finished, in the manifest's order,
/// and the number of its runs.
pub fn finished_values(dir: &Path) -> Result<(Vec<BTreeMap<String, f64>>, usize)> {
    let runs = read_manifest(dir)?;
    let done = runs
        .iter()
        .filter_map(|run| match status(dir, run) {
            Status::Done(values) => Some(values),
            _ => None,
        })
        .collect();
    Ok((done, runs.len()))
}

/// Where a run stands, as its folder shows.
enum Status {
    /// Finished, with its `summary.json`'s values (`NaN` for a non-finite one).
    Done(BTreeMap<String, f64>),
    /// Failed, with its error.
    Failed(String),
    /// Started but neither finished nor failed: running, or interrupted.
    Incomplete,
    /// Not started.
    Missing,
}

impl Status {
    fn name(&self) -> &'static str {
        match self {
            Status::Done(_) => "done",
            Status::Failed(_) => "failed",
            Status::Incomplete => "incomplete",
            Status::Missing => "missing",
        }
    }
}

/// The status of `run` in the sweep folder `dir`.
fn status(dir: &Path, run: &Run) -> Status {
    let out = dir.join("runs").join(&run.id);
    let summary = out.join("summary.json");
    if summary.exists() {
        return match read_values(&summary) {
            Ok(values) => Status::Done(values),
            Err(e) => Status::Failed(one_line(&e)),
        };
    }
    if let Ok(error) = std::fs::read_to_string(out.join(FAILED)) {
        return Status::Failed(error.trim().to_string());
    }
    if out.exists() { Status::Incomplete } else { Status::Missing }
}

/// The `values` of a `summary.json`.
fn read_values(path: &Path) -> Result<BTreeMap<String, f64>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not a summary", path.display()))?;
    let values =
        json.get("values").and_then(|v| v.as_object()).ok_or_else(|| anyhow!("{}: no values", path.display()))?;
    Ok(values.iter().map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(f64::NAN))).collect())
}

/// A number for the CSV, exactly as stored: plainly where that is short, else with an exponent.
fn csv_number(x: f64) -> String {
    if x == 0.0 || (1e-4..1e15).contains(&x.abs()) { format!("{x}") } else { format!("{x:e}") }
}

/// `apical sweep summary`: writes every run's values into one CSV (`csv`, by default
/// `DIR/summary.csv`) and prints each point's mean ± sd over its seeds of the chosen values (all
/// by default), and the runs that are missing, incomplete or failed.
pub fn summary(dir: &Path, csv_path: Option<PathBuf>, chosen: &[String]) -> Result<()> {
    let runs = read_manifest(dir)?;
    let statuses: Vec<Status> = runs.iter().map(|run| status(dir, run)).collect();
    let mut names: Vec<String> = Vec::new();
    for s in &statuses {
        if let Status::Done(values) = s {
            names.extend(values.keys().filter(|k| !names.contains(k)).cloned().collect::<Vec<_>>());
        }
    }
    names.sort();
    let shown: Vec<String> = if chosen.is_empty() { names.clone() } else { chosen.to_vec() };
    if let Some(unknown) = shown.iter().find(|v| !names.contains(v)) {
        bail!("--value {}: no finished run has this value (they have: {})", printable(unknown), names.join(", "));
    }

    // The CSV has one column per overridden key and one per value, so that it groups as it is.
    let mut keys: Vec<&str> = Vec::new();
    for run in &runs {
        for o in &run.overrides {
            let key = o.split_once('=').map_or(o.as_str(), |(k, _)| k);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = ["run", "point", "seed", "status"].into_iter().chain(keys.iter().copied()).map(str::to_string);
    writer.write_record(header.chain(names.iter().cloned()))?;
    for (run, s) in runs.iter().zip(&statuses) {
        let mut record = vec![run.id.clone(), run.point.to_string(), run.seed.to_string(), s.name().to_string()];
        for key in &keys {
            let value = run.overrides.iter().find_map(|o| o.split_once('=').filter(|(k, _)| k == key).map(|(_, v)| v));
            record.push(value.unwrap_or_default().to_string());
        }
        for name in &names {
            record.push(match s {
                Status::Done(values) => values.get(name).map(|&v| csv_number(v)).unwrap_or_default(),
                _ => String::new(),
            });
        }
        writer.write_record(&record)?;
    }
    let bytes = writer.into_inner().map_err(|e| anyhow!("cannot write the CSV: {}", e.error()))?;
    let csv_path = csv_path.unwrap_or_else(|| dir.join("summary.csv"));
    write_atomic(&csv_path, &bytes)?;

    // One row per point: its runs done, each chosen value's mean ± sd over the seeds, its overrides.
    let mut table =
        vec![["point".to_string(), "done".to_string()].into_iter().chain(shown.iter().cloned()).collect::<Vec<_>>()];
    table[0].push("overrides".to_string());
    let points = runs.iter().map(|r| r.point).max().unwrap_or(0) + 1;
    for p in 0..points {
        let members: Vec<(&Run, &Status)> = runs.iter().zip(&statuses).filter(|(r, _)| r.point == p).collect();
        let done: Vec<&BTreeMap<String, f64>> =
            members.iter().filter_map(|(_, s)| if let Status::Done(v) = s { Some(v) } else { None }).collect();
        let mut row = vec![format!("p{p}"), format!("{}/{}", done.len(), members.len())];
        for name in &shown {
            let column: Vec<f64> = done.iter().filter_map(|v| v.get(name).copied()).collect();
            row.push(match column.len() {
                0 => "-".to_string(),
                1 => format!("{:.4e}", column[0]),
                _ => format!("{:.4e} ± {:.2e}", mean(&column), sd(&column)),
            });
        }
        row.push(members.first().map(|(r, _)| r.overrides.join(" ")).unwrap_or_default());
        table.push(row);
    }
    let widths: Vec<usize> =
        (0..table[0].len()).map(|j| table.iter().map(|row| row[j].chars().count()).max().unwrap_or(0)).collect();
    for row in &table {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, &w)| format!("{cell:<w$}")).collect();
        sayln!("{}", printable(cells.join("  ").trim_end()));
    }
    let count = |name: &str| statuses.iter().filter(|s| s.name() == name).count();
    sayln!(
        "{} runs: {} done, {} failed, {} incomplete, {} missing (mean ± sd over each point's finished seeds)",
        runs.len(),
        count("done"),
        count("failed"),
        count("incomplete"),
        count("missing")
    );
    for (run, s) in runs.iter().zip(&statuses) {
        match s {
            Status::Done(_) => {}
            Status::Failed(error) => sayln!("failed: {}: {}", run.id, printable(error)),
            Status::Incomplete => sayln!("incomplete (running or interrupted): {}", run.id),
            Status::Missing => sayln!("missing (not started): {}", run.id),
        }
    }
    sayln!("wrote {}", printable(&csv_path.display().to_string()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_read_back_what_was_written() {
        let runs = vec![
            Run { id: "p0-seed0".into(), seed: 0, point: 0, overrides: vec!["a.b=[1, 2]".into(), "c=\"x y\"".into()] },
            Run { id: "p1-seed7".into(), seed: 7, point: 1, overrides: vec![] },
        ];
        let dir = std::env::temp_dir().join(format!("apical-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(MANIFEST), manifest_text(&runs).unwrap()).unwrap();
        assert_eq!(read_manifest(&dir).unwrap(), runs);
        std::fs::write(dir.join(MANIFEST), format!("{MANIFEST_HEADER}\n0\t../x\t0\t0\n")).unwrap();
        assert!(read_manifest(&dir).unwrap_err().to_string().contains(":2: not a manifest line"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_grid_is_every_combination_with_the_first_key_slowest() {
        let file: SweepFile =
            toml::from_str("preset = \"quick\"\n[grid]\n\"a.x\" = [1, 2]\nb = [\"u\", \"v\", \"w\"]\n").unwrap();
        let points = points(&file, "s").unwrap();
        let shown: Vec<String> =
            points.iter().map(|p| p.iter().map(Override::to_string).collect::<Vec<_>>().join(" ")).collect();
        assert_eq!(shown[0], "a.x=1 b=\"u\"");
        assert_eq!(shown[1], "a.x=1 b=\"v\"");
        assert_eq!(shown[5], "a.x=2 b=\"w\"");
        assert_eq!(points.len(), 6);
    }
}
