//! `cargo xtask ci`: everything continuous integration runs, as one command.
//!
//! The steps run in order and stop at the first that fails: the formatting check, the whole test
//! suite (Rust unit, property and end-to-end tests against the real binary), the Python package
//! (`crates/py/ci.sh`: the wheel built once, its pytest suite and the example notebook), the
//! benchmarks once each as a smoke test, and a sweep run as a job array on a single-node SLURM
//! started for the purpose (`tests/slurm-test.sh`, which needs root and says it skips otherwise),
//! and every fuzz target for 10 seconds (`fuzz/smoke.sh`, which needs a nightly toolchain and
//! `cargo fuzz` and says it skips otherwise; `.ci/run` installs `cargo fuzz` where nightly is
//! there). Property tests run 64 cases each unless `PROPTEST_CASES` says otherwise; `cargo xtask
//! verify` runs more.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::workspace_root;

/// One step: what it is, the program and its arguments.
const STEPS: [(&str, &str, &[&str]); 6] = [
    ("formatting", "cargo", &["fmt", "--all", "--", "--check"]),
    ("tests", "cargo", &["test", "--workspace"]),
    ("Python package", "bash", &["crates/py/ci.sh"]),
    ("benchmark smoke test", "cargo", &["test", "--workspace", "--benches"]),
    ("SLURM job array", "bash", &["tests/slurm-test.sh"]),
    ("fuzz smoke test", "bash", &["fuzz/smoke.sh", "10"]),
];

pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("ci takes no arguments, got '{arg}'");
    }
    let root = workspace_root();
    for (name, program, step_args) in STEPS {
        eprintln!("== {name}: {program} {}", step_args.join(" "));
        let mut command = Command::new(program);
        command.args(step_args).current_dir(&root);
        if std::env::var_os("PROPTEST_CASES").is_none() {
            command.env("PROPTEST_CASES", "64");
        }
        let status = command.status().with_context(|| format!("cannot start {program} for the {name}"))?;
        if !status.success() {
            bail!("the {name} failed ({status})");
        }
    }
    Ok(())
}
