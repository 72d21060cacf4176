//! The `apical` command-line tool.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use apical::cli::{load_config, preset};
use apical::sim::checkpoint::Checkpoint;
use apical::sim::experiments::{self, Progress, RunContext};
use apical::sim::presets::PRESETS;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

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
    /// Write the weights of a checkpoint as NumPy files.
    Export {
        /// The checkpoint file.
        checkpoint: PathBuf,
        /// A `.npz` file, or a folder that receives one `.npy` file per matrix.
        #[arg(long)]
        to: PathBuf,
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
    /// Override the configuration's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// The folder holding data sets (`mnist/` inside it) [default: $APICAL_DATA_DIR].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Continue from the checkpoint in the output folder.
    #[arg(long)]
    resume: bool,
}

/// Progress shown as a bar on a terminal, and not at all otherwise.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, label: &str, total: u64) {
        self.0.reset();
        self.0.set_length(total);
        self.0.set_position(0);
        self.0.set_message(label.to_string());
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn run(args: RunArgs) -> Result<()> {
    let (mut cfg, name) = match (&args.config, &args.preset) {
        (Some(path), _) => {
            let stem = path.file_stem().map_or("run".into(), |s| s.to_string_lossy().into_owned());
            (load_config(path)?, stem)
        }
        (None, Some(p)) => (preset(p)?, p.clone()),
        (None, None) => (preset("quick")?, "quick".to_string()),
    };
    if let Some(seed) = args.seed {
        cfg.seed = seed;
    }
    cfg.validate()?;
    let out_dir = args.out.unwrap_or_else(|| PathBuf::from("out").join(&name));
    let data_dir = args.data.or_else(|| std::env::var_os("APICAL_DATA_DIR").map(PathBuf::from));
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg:>8} [{bar:40}] {percent:>3}% {elapsed_precise} (eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let progress = Bar(bar);
    eprintln!("running {} (seed {}) into {}", cfg.experiment.name(), cfg.seed, out_dir.display());
    let started = std::time::Instant::now();
    let ctx = RunContext { out_dir, data_dir, resume: args.resume, progress: &progress };
    let report = experiments::run(&cfg, &ctx)?;
    print!("{report}");
    println!("wall time: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn export(checkpoint: PathBuf, to: PathBuf) -> Result<()> {
    let (ck, _) = Checkpoint::load(&checkpoint)?;
    if to.extension().is_some_and(|e| e == "npz") {
        ck.weights.save_npz(&to)?;
        println!("wrote {}", to.display());
    } else {
        std::fs::create_dir_all(&to).with_context(|| format!("cannot create {}", to.display()))?;
        for (name, m) in ck.weights.named() {
            let path = to.join(format!("{name}.npy"));
            apical::sim::npy::write_npy(&path, m)?;
            println!("wrote {} ({}×{})", path.display(), m.nrows(), m.ncols());
        }
    }
    Ok(())
}

fn main_inner() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => run(RunArgs { config: None, preset: None, out: None, seed: None, data: None, resume: false }),
        Some(Command::Run(args)) => run(args),
        Some(Command::Config { preset: name }) => {
            let cfg = preset(&name)?;
            print!("{}", toml::to_string(&cfg).context("cannot serialise the preset")?);
            Ok(())
        }
        Some(Command::Presets) => {
            for (name, about) in PRESETS {
                println!("{name:<16} {about}");
            }
            Ok(())
        }
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
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
