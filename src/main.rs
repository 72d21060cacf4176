//! The `apical` command-line tool.

/// Prints to standard output like `print!`, ignoring a failed write: what a command prints is in
/// its files too, or asked for again at no cost, so a reader that went away early
/// (`apical presets | head -1`) neither stops the command nor turns it into a failure.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// [`say!`] with a newline, like `println!`.
macro_rules! sayln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod fetch;
mod outdir;
mod overlay;
mod progress;
mod reproduce;
mod sweep;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use apical::cli::{
    Override, check_disjoint_seeds, load_config_with, one_line, parse_seed, parse_seeds, preset, preset_with, printable,
};
use apical::numerics::stats::{PairedErrors, mean, sd};
use apical::sim::checkpoint::Checkpoint;
use apical::sim::config::RunConfig;
use apical::sim::experiments::{self, RunContext, SavedModel};
use apical::sim::presets::PRESETS;
use apical::sim::summary::Curves;
use clap::{Parser, Subcommand};
use outdir::OutDir;
use progress::Display;
use progress::status_line;
use rayon::prelude::*;

/// Apical: dendritic cortical microcircuits that approximate backpropagation.
///
/// With no command, runs the default experiment (`run --preset quick`).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an experiment from a configuration file or a preset.
    Run(RunArgs),
    /// Print a preset's configuration as TOML, ready to edit.
    Config {
        /// The preset.
        #[arg(long)]
        preset: String,
    },
    /// List the presets.
    Presets,
    /// Download a data set.
    #[command(arg_required_else_help = false)]
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Summarise MNIST runs from their metrics: the best model, and mean ± sd over the runs.
    Summary {
        /// Run output folders or their `metrics.csv` files.
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        /// Average the validation error over this many final epochs.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..))]
        last: u16,
        /// Also count the epochs at which each run's validation error is above this run's.
        #[arg(long)]
        against: Option<PathBuf>,
        /// Only read the first N epochs of each run.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        epochs: Option<u16>,
    },
    /// Evaluate saved MNIST models on the validation and test images; with --against, compare
    /// each with another model image by image.
    Eval {
        /// Checkpoints of MNIST runs (`best.bin` or `checkpoint.bin`).
        #[arg(required = true)]
        models: Vec<PathBuf>,
        /// Give, on each split, each model's error minus this model's with its paired standard
        /// error, and count the test images that only one of the two misclassifies.
        #[arg(long)]
        against: Option<PathBuf>,
        /// The folder holding data sets (`mnist/` inside it) [default: $APICAL_DATA_DIR].
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Plan, run and summarise sweeps: runs over a grid of settings and seeds, as a SLURM job
    /// array or on this machine.
    Sweep {
        #[command(subcommand)]
        command: SweepCommand,
    },
    /// Plot columns of several runs' metrics tables on one set of axes (the mean over the rows
    /// that share an x value, i.e. over seeds).
    Plot {
        /// The tables, as LABEL=FILE (the label names the curve) or FILE.
        #[arg(required = true, value_parser = overlay::parse_table)]
        tables: Vec<overlay::Table>,
        /// The column on the x axis.
        #[arg(long)]
        x: String,
        /// A column on the y axis (repeatable).
        #[arg(long = "y", required = true)]
        ys: Vec<String>,
        /// Multiply every x value by this (1e-7 for the paper's "×10^7" axis).
        #[arg(long, default_value_t = 1.0)]
        x_scale: f64,
        /// A logarithmic y axis.
        #[arg(long)]
        log_y: bool,
        /// The plot's title.
        #[arg(long, default_value = "")]
        title: String,
        /// Only the rows with this value in this column, as COLUMN=VALUE (e.g. seed=0).
        #[arg(long, value_parser = overlay::parse_only)]
        only: Option<(String, f64)>,
        /// Only the x range that every table reaches (the part that all runs have run).
        #[arg(long)]
        shared_x: bool,
        /// The PNG file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run every row of one of the paper's results tables over every seed, in parallel, and
    /// print the table beside the paper's numbers (one sweep folder per row in <OUT>).
    Reproduce {
        /// The table (only `mnist`).
        #[arg(value_parser = ["mnist"])]
        table: String,
        /// The folder of the row sweeps and `table.md`.
        #[arg(long, default_value = "out/reproduce-mnist")]
        out: PathBuf,
        /// The seeds of every row: a range `A..B` (B excluded) or a comma-separated list.
        #[arg(long, default_value = "0..3", allow_hyphen_values = true)]
        seeds: String,
        /// Override a configuration value of every row, as `key=value` (repeatable), such as
        /// `--set experiment.mnist.data_folder=fashion-mnist`.
        #[arg(long = "set", value_name = "KEY=VALUE", allow_hyphen_values = true, value_parser = Override::parse)]
        set: Vec<Override>,
        /// Run nothing; print the table of the runs that have finished.
        #[arg(long)]
        table_only: bool,
        #[command(flatten)]
        workers: Workers,
    },
    /// Write the weights of a checkpoint as NumPy files.
    Export {
        /// The checkpoint file.
        checkpoint: PathBuf,
        /// A `.npz` file, or a folder that receives one `.npy` file per matrix.
        #[arg(long)]
        to: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Download MNIST from public mirrors into <TO>/mnist/ and verify its checksums.
    Fetch {
        /// The data set (only `mnist`).
        #[arg(value_parser = ["mnist"])]
        dataset: String,
        /// The data folder; MNIST goes into its `mnist/` subfolder.
        #[arg(long)]
        to: PathBuf,
        /// A mirror URL to try instead of the defaults (repeatable).
        #[arg(long = "mirror")]
        mirrors: Vec<String>,
    },
}

/// Where the runs of a sweep or table find their data, on how many threads they run, and whether
/// they show progress.
#[derive(Debug, clap::Args)]
struct Workers {
    /// The folder holding data sets (`mnist/` inside it) [default: $APICAL_DATA_DIR].
    #[arg(long)]
    data: Option<PathBuf>,
    /// The number of worker threads, at most 1024 [default: $SLURM_CPUS_PER_TASK inside a SLURM
    /// task, else one per CPU].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=MAX_THREADS))]
    threads: Option<u16>,
    /// Show no progress.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum SweepCommand {
    /// Write a sweep's folder: one configuration per run, the manifest and an sbatch script.
    Plan {
        /// The sweep file (see docs/cluster.md).
        sweep: PathBuf,
        /// The sweep's folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run one line of a sweep's manifest into <DIR>/runs/<run id>/; a finished run is skipped
    /// and an interrupted one continues from its checkpoint where its experiment can.
    Task {
        /// The sweep's folder.
        dir: PathBuf,
        /// The line of the manifest, from 0 [default: $SLURM_ARRAY_TASK_ID].
        #[arg(long)]
        index: Option<usize>,
        #[command(flatten)]
        workers: Workers,
    },
    /// Run every line of a sweep's manifest on this machine, in parallel, with the results of
    /// the job array.
    Run {
        /// The sweep's folder.
        dir: PathBuf,
        #[command(flatten)]
        workers: Workers,
    },
    /// Gather the runs' summaries into <DIR>/summary.csv and print each point's mean ± sd over
    /// its seeds, and the runs that are missing or failed.
    Summary {
        /// The sweep's folder.
        dir: PathBuf,
        /// Write the CSV here instead.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Print only these values (repeatable) [default: all].
        #[arg(long = "value")]
        values: Vec<String>,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// A TOML configuration file (see `configs/`).
    config: Option<PathBuf>,
    /// A preset instead of a file (see `apical presets`).
    #[arg(long, conflicts_with = "config")]
    preset: Option<String>,
    /// The output folder [default: out/<experiment name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override the configuration's seed (a non-negative integer).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_seed)]
    seed: Option<u64>,
    /// Override a configuration value, as `key=value` with a TOML value (repeatable), such as
    /// `--set plasticity.eta_up=[0.01,0.005]` or `--set experiment.fig2.patterns=1000`. The
    /// result is checked as a configuration file is.
    #[arg(long = "set", value_name = "KEY=VALUE", allow_hyphen_values = true, value_parser = Override::parse)]
    set: Vec<Override>,
    /// The folder holding data sets (`mnist/` inside it) [default: $APICAL_DATA_DIR].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Continue from the checkpoint in the output folder.
    #[arg(long)]
    resume: bool,
    /// Run several seeds in parallel, each into <OUT>/seed-<n>/: a range `A..B` (B excluded) or
    /// a comma-separated list, at most 10000 runs. Every run draws from its own random streams,
    /// so its results are those of `--seed n`.
    #[arg(long, conflicts_with = "seed", allow_hyphen_values = true, value_parser = parse_seed_list)]
    seeds: Option<Seeds>,
    /// The number of worker threads, at most 1024 [default: one per CPU].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=MAX_THREADS))]
    threads: Option<u16>,
    /// Show no progress (results and errors are still printed).
    #[arg(long, short)]
    quiet: bool,
}

/// The most worker threads `--threads` may start: far more than any machine's cores, and few
/// enough to start in an instant.
const MAX_THREADS: i64 = 1024;

/// The seeds of `--seeds`, distinct and in the order given.
#[derive(Debug, Clone)]
struct Seeds(Vec<u64>);

/// Parses `--seeds`.
fn parse_seed_list(text: &str) -> Result<Seeds, String> {
    parse_seeds(text).map(Seeds)
}

/// The data folder: `--data` if given, else a non-empty `APICAL_DATA_DIR`.
fn data_dir(flag: Option<PathBuf>) -> Option<PathBuf> {
    flag.or_else(|| std::env::var_os("APICAL_DATA_DIR").filter(|v| !v.is_empty()).map(PathBuf::from))
}

fn run(args: RunArgs) -> Result<()> {
    let (mut cfg, name) = match (&args.config, &args.preset) {
        (Some(path), _) => {
            let stem = path.file_stem().map_or("run".into(), |s| s.to_string_lossy().into_owned());
            (load_config_with(path, &args.set)?, stem)
        }
        (None, Some(p)) => (preset_with(p, &args.set)?, p.clone()),
        (None, None) => (preset_with("quick", &args.set)?, "quick".to_string()),
    };
    if let Some(seed) = args.seed {
        cfg.seed = seed;
    }
    cfg.validate()?;
    let out_dir = args.out.unwrap_or_else(|| PathBuf::from("out").join(&name));
    let data_dir = data_dir(args.data);
    let display = Display::new(args.quiet);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map_or(0, usize::from))
        .build()
        .context("cannot start the worker threads")?;
    let Some(Seeds(seeds)) = &args.seeds else {
        let out = OutDir::claim(&out_dir, &[])?;
        if !display.is_quiet() {
            status_line(&format!(
                "running {} (seed {}) into {}",
                printable(&name),
                cfg.seed,
                printable(&out_dir.display().to_string())
            ));
        }
        let started = std::time::Instant::now();
        let progress = display.run(None);
        let ctx = RunContext { out_dir, data_dir, resume: args.resume, progress: &progress };
        let result = pool.install(|| experiments::run(&cfg, &ctx));
        drop(progress);
        out.release(result.is_err());
        say!("{}", result?);
        sayln!("wall time: {:.1} s", started.elapsed().as_secs_f64());
        return Ok(());
    };
    check_disjoint_seeds(&cfg, seeds).map_err(|e| anyhow::anyhow!("--seeds: {e}"))?;
    let folders: Vec<PathBuf> = seeds.iter().map(|seed| PathBuf::from(format!("seed-{seed}"))).collect();
    let out = OutDir::claim(&out_dir, &folders)?;
    if !display.is_quiet() {
        let list: Vec<String> = seeds.iter().map(u64::to_string).collect();
        status_line(&format!(
            "running {} for seeds {} on {} threads into {}",
            printable(&name),
            list.join(", "),
            pool.current_num_threads(),
            printable(&out_dir.join("seed-<n>").display().to_string())
        ));
    }
    let result = pool.install(|| run_seeds(&cfg, seeds, &out_dir, data_dir, args.resume, &display));
    out.release(result.is_err());
    result
}

/// Runs one copy of the experiment per seed, in parallel on the current thread pool, each into
/// `<out_dir>/seed-<n>/`, and prints the reports in the order of the seeds. Runs share nothing,
/// so each gives what `--seed n` gives alone. The folders of failed runs are removed if they are
/// empty.
fn run_seeds(
    cfg: &RunConfig,
    seeds: &[u64],
    out_dir: &Path,
    data_dir: Option<PathBuf>,
    resume: bool,
    display: &Display,
) -> Result<()> {
    let started = std::time::Instant::now();
    let results: Vec<_> = seeds
        .par_iter()
        .map(|&seed| {
            let mut cfg = cfg.clone();
            cfg.seed = seed;
            let out_dir = out_dir.join(format!("seed-{seed}"));
            let created = outdir::missing_top(&out_dir);
            let progress = display.run(Some(format!("seed {seed}")));
            let ctx = RunContext { out_dir, data_dir: data_dir.clone(), resume, progress: &progress };
            let result = experiments::run(&cfg, &ctx).map_err(anyhow::Error::from);
            if let (Err(_), Some(top)) = (&result, created) {
                outdir::remove_empty_up_to(&ctx.out_dir, &top);
            }
            result
        })
        .collect();
    let mut first_error = None;
    for (seed, result) in seeds.iter().zip(results) {
        match result {
            Ok(report) => say!("seed {seed}: {report}"),
            Err(e) => first_error = first_error.or(Some(e.context(format!("seed {seed}")))),
        }
    }
    sayln!("wall time: {:.1} s", started.elapsed().as_secs_f64());
    first_error.map_or(Ok(()), Err)
}

/// Prints one line per run (of its first `epochs` epochs, if given) and, for several runs, their
/// mean ± sd.
fn summary(runs: &[PathBuf], last: usize, against: Option<&Path>, epochs: Option<usize>) -> Result<()> {
    let read = |path: &Path| {
        let mut curves = Curves::read(path)?;
        if let Some(n) = epochs {
            curves.truncate(n);
        }
        anyhow::Ok(curves)
    };
    let curves = runs.iter().map(|r| read(r)).collect::<Result<Vec<_>, _>>()?;
    let base = against.map(read).transpose()?;
    let names: Vec<String> = runs.iter().map(|r| r.display().to_string()).collect();
    let mean_label = format!("mean ± sd ({} runs)", curves.len());
    let width = names.iter().chain([&mean_label]).map(|n| n.chars().count()).max().unwrap_or(0);
    let mean_header = format!("mean validation, last {last}");
    say!(
        "{:<width$}  {:>6}  {:>21}  {:>15}  {:>15}  {mean_header}",
        "run",
        "epochs",
        "best validation",
        "test of best",
        "final train"
    );
    match against {
        Some(path) => sayln!("  behind {}", path.display()),
        None => sayln!(),
    }
    let mut rows = Vec::new();
    for (name, c) in names.iter().zip(&curves) {
        let s = c.summary(last);
        let best = format!("{:.2} % (epoch {})", s.best_validation, s.best_epoch);
        say!(
            "{name:<width$}  {:>6}  {best:>21}  {:>13.2} %  {:>13.2} %  {:>w$.2} %",
            s.epochs,
            s.test_of_best,
            s.final_train,
            s.mean_validation_last,
            w = mean_header.len() - 2
        );
        match &base {
            Some(base) => {
                let (behind, of) = c.behind(base);
                sayln!("  at {behind} of {of} epochs");
            }
            None => sayln!(),
        }
        rows.push([s.best_validation, s.test_of_best, s.final_train, s.mean_validation_last]);
    }
    if rows.len() > 1 {
        let cell = |j: usize| {
            let column: Vec<f64> = rows.iter().map(|r| r[j]).collect();
            format!("{:.2} ± {:.2} %", mean(&column), sd(&column))
        };
        sayln!(
            "{:<width$}  {:>6}  {:>21}  {:>15}  {:>15}  {:>w$}",
            mean_label,
            "",
            cell(0),
            cell(1),
            cell(2),
            cell(3),
            w = mean_header.len()
        );
    }
    Ok(())
}

/// Prints the validation and test errors of each model and, against another model, the paired
/// comparison on each split: the difference of the errors with its standard error, and on the
/// test images how many only this model and only the other one misclassify.
fn eval(models: &[PathBuf], against: Option<&Path>, data: Option<PathBuf>) -> Result<()> {
    let saved = models.iter().map(|m| SavedModel::load(m)).collect::<Result<Vec<_>, _>>()?;
    let base = against.map(SavedModel::load).transpose()?;
    // Every model is measured on the data set the first one learned.
    let (folder, validation) = saved[0].data();
    for (path, model) in models.iter().map(PathBuf::as_path).zip(&saved).chain(against.zip(base.as_ref())) {
        if model.data() != (folder, validation) {
            let (other, other_validation) = model.data();
            bail!(
                "{} learned from {other}/ with {other_validation} validation images, {} from {folder}/ with \
                 {validation}: eval compares models on one data set",
                path.display(),
                models[0].display()
            );
        }
    }
    let mnist = experiments::load_data(data_dir(data).as_deref(), folder, validation)?;
    let base = base.map(|b| b.evaluate(&mnist)).transpose()?;
    if let (Some(path), Some(base)) = (against, &base) {
        sayln!(
            "against {}: validation {:.2} %, test {:.2} %",
            path.display(),
            base.validation_error_pct(),
            base.test_error_pct()
        );
    }
    let names: Vec<String> = models.iter().map(|m| m.display().to_string()).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0).max("model".len());
    say!("{:<width$}  {:>10}  {:>8}", "model", "validation", "test");
    match base {
        Some(_) => sayln!("  {:>20}  {:>20}  test: only here / there", "validation Δ ± se", "test Δ ± se"),
        None => sayln!(),
    }
    for (name, model) in names.iter().zip(&saved) {
        let m = model.evaluate(&mnist)?;
        say!("{name:<width$}  {:>8.2} %  {:>6.2} %", m.validation_error_pct(), m.test_error_pct());
        match &base {
            Some(base) => {
                let (v, t) =
                    (PairedErrors::new(&m.validation, &base.validation), PairedErrors::new(&m.test, &base.test));
                let delta =
                    |p: &PairedErrors| format!("{:+.2} ± {:.2} points", p.difference_pct(), p.standard_error_pct());
                sayln!("  {:>20}  {:>20}  {:>10} / {}", delta(&v), delta(&t), t.only_a, t.only_b);
            }
            None => sayln!(),
        }
    }
    Ok(())
}

fn export(checkpoint: PathBuf, to: PathBuf) -> Result<()> {
    let (ck, _) = Checkpoint::load(&checkpoint)?;
    if to.extension().is_some_and(|e| e == "npz") {
        ck.weights.save_npz(&to)?;
        sayln!("wrote {}", to.display());
    } else {
        std::fs::create_dir_all(&to).with_context(|| format!("cannot create {}", to.display()))?;
        for (name, m) in ck.weights.named() {
            let path = to.join(format!("{name}.npy"));
            apical::sim::npy::write_npy(&path, m)?;
            sayln!("wrote {} ({}×{})", path.display(), m.nrows(), m.ncols());
        }
    }
    Ok(())
}

fn main_inner() -> Result<()> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to standard output as usual.
        Err(e) if !e.use_stderr() => e.exit(),
        // A usage error is one line, like every other error: the first paragraph of clap's message
        // (the error and the arguments it names), without the usage and the hints below it.
        Err(e) => {
            let text = e.render().to_string();
            let first: Vec<&str> = text.lines().map(str::trim).take_while(|l| !l.is_empty()).collect();
            bail!("{}", first.join(" ").trim_start_matches("error: "))
        }
    };
    match cli.command {
        None => run(RunArgs {
            config: None,
            preset: None,
            out: None,
            seed: None,
            set: Vec::new(),
            data: None,
            resume: false,
            seeds: None,
            threads: None,
            quiet: false,
        }),
        Some(Command::Run(args)) => run(args),
        Some(Command::Config { preset: name }) => {
            let cfg = preset(&name)?;
            say!("{}", toml::to_string(&cfg).context("cannot serialise the preset")?);
            Ok(())
        }
        Some(Command::Data { command: DataCommand::Fetch { dataset: _, to, mirrors } }) => {
            let mirrors =
                if mirrors.is_empty() { fetch::MNIST_MIRRORS.iter().map(|m| m.to_string()).collect() } else { mirrors };
            fetch::fetch_mnist(&to, &mirrors)
        }
        Some(Command::Presets) => {
            let width = PRESETS.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
            for (name, about) in PRESETS {
                sayln!("{name:<width$}  {about}");
            }
            Ok(())
        }
        Some(Command::Summary { runs, last, against, epochs }) => {
            summary(&runs, usize::from(last), against.as_deref(), epochs.map(usize::from))
        }
        Some(Command::Eval { models, against, data }) => eval(&models, against.as_deref(), data),
        Some(Command::Sweep { command }) => match command {
            SweepCommand::Plan { sweep, out } => sweep::plan(&sweep, &out),
            SweepCommand::Task { dir, index, workers: Workers { data, threads, quiet } } => {
                sweep::task(&dir, index, data_dir(data), threads, quiet)
            }
            SweepCommand::Run { dir, workers: Workers { data, threads, quiet } } => {
                sweep::run_all(&dir, data_dir(data), threads, quiet)
            }
            SweepCommand::Summary { dir, csv, values } => sweep::summary(&dir, csv, &values),
        },
        Some(Command::Plot { tables, x, ys, x_scale, log_y, title, only, shared_x, out }) => {
            overlay::plot(&overlay::Overlay { x, ys, x_scale, log_y, title, only, shared_x }, &tables, &out)?;
            sayln!("wrote {}", out.display());
            Ok(())
        }
        Some(Command::Reproduce {
            table: _,
            out,
            seeds,
            set,
            table_only,
            workers: Workers { data, threads, quiet },
        }) => reproduce::mnist(&reproduce::Request {
            out: &out,
            seeds: &seeds,
            overrides: &set,
            data_dir: data_dir(data),
            threads,
            quiet,
            table_only,
        }),
        Some(Command::Export { checkpoint, to }) => {
            if to.as_os_str().is_empty() {
                bail!("--to needs a path");
            }
            export(checkpoint, to)
        }
    }
}

fn main() -> ExitCode {
    match main_inner() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            status_line(&format!("error: {}", one_line(&e)));
            ExitCode::FAILURE
        }
    }
}
