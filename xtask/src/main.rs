//! Developer tasks, run as `cargo xtask <task>`:
//!
//! * `verify [--cases N]`: the backprop-equivalence property tests and the spec §6 table.
//! * `bench`: the criterion benchmarks and the summary table of `docs/benchmarks.md`.
//! * `ci`: everything continuous integration runs (formatting, tests, benchmark and fuzz smoke
//!   tests, a sweep as a SLURM job array).

mod bench;
mod ci;
mod verify;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("verify") => verify::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("ci") => ci::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <verify [--cases N] | bench | ci>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one folder below it).
fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").to_path_buf()
}
