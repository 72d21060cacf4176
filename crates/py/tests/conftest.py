"""Shared helpers of the Python tests: the real `apical` binary, to compare against."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import apical

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def apical_bin() -> Path:
    """The `apical` binary: `$APICAL_BIN`, or the one cargo built in the repository's target
    folder (release first). The comparisons need it, so its absence is a failure, not a skip."""
    candidates = [os.environ.get("APICAL_BIN")] if os.environ.get("APICAL_BIN") else []
    candidates += [str(ROOT / "target" / p / "apical") for p in ("release", "debug")]
    for c in candidates:
        if Path(c).is_file():
            return Path(c)
    pytest.fail("no apical binary: run `cargo build --bin apical` or set APICAL_BIN")


@pytest.fixture
def cli(apical_bin):
    """Runs the binary with arguments; returns the completed process (text output)."""

    def run(*args, check=True):
        done = subprocess.run([str(apical_bin), *map(str, args)], capture_output=True, text=True)
        if check and done.returncode != 0:
            raise AssertionError(f"apical {' '.join(map(str, args))} failed: {done.stderr}")
        return done

    return run


@pytest.fixture
def cli_run(cli):
    """Runs a configuration with the binary in `folder`; returns the weights of its final
    checkpoint as `apical export` writes them, and its metrics."""

    def run(cfg, folder):
        toml = folder / "config.toml"
        toml.write_text(cfg.to_toml())
        cli("run", toml, "--out", folder / "cli", "--quiet")
        cli("export", folder / "cli" / "checkpoint.bin", "--to", folder / "weights.npz")
        return np.load(folder / "weights.npz"), apical.read_metrics(folder / "cli" / "metrics.csv")

    return run
