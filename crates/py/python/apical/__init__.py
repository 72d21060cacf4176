"""Apical: dendritic cortical microcircuits that approximate backpropagation.

A simulator of the microcircuits of Sacramento, Ponte Costa, Bengio & Senn, "Dendritic cortical
microcircuits approximate the backpropagation algorithm" (NeurIPS 2018), written in Rust. This
package is a thin layer over the Rust crates: the configurations, their validation, the engines
and the experiments are those of the ``apical`` command-line tool, and give the same results.

* :func:`presets` and :class:`Config`: run configurations, from a preset or a TOML file, with
  overrides checked as ``apical run --set`` checks them.
* :func:`run`: one experiment, as ``apical run`` runs it; returns a :class:`Result` with the
  metrics as numpy arrays.
* :class:`Network`: the continuous-time microcircuit, stepped from Python.
* :class:`TwoStepNetwork`: the two-step dynamics of the MNIST runs, trained on numpy arrays.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np

from ._apical import Config, Network, TwoStepNetwork, __version__, run_experiment
from ._apical import presets as _presets

__all__ = ["Config", "Network", "Result", "TwoStepNetwork", "__version__", "presets", "read_metrics", "run"]


def presets() -> Dict[str, str]:
    """The presets by name, with a one-line description of each (``apical presets``)."""
    return dict(_presets())


def read_metrics(path: Union[str, os.PathLike]) -> Dict[str, np.ndarray]:
    """Reads a ``metrics.csv`` that a run wrote: one float64 array per column.

    The file holds every number with the fewest digits that read back to the same float, so
    the arrays hold exactly the values the run computed.
    """
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"{path}: the file is empty")
    header, body = rows[0], rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}:{number}: {len(row)} values, expected {len(header)}")
    return {name: np.array([float(row[j]) for row in body], dtype=np.float64) for j, name in enumerate(header)}


class Result:
    """What a run wrote and reported.

    Attributes:
        experiment: the experiment's name (``fig-s1``, ``fig1``, ``fig2`` or ``mnist``).
        summary: the result table's numbers by name, as ``summary.json`` holds them under
            ``values`` (for Fig. 1, e.g. ``apical_sq_before`` for ‖v_A‖² before the target).
        table: the result table as printed by ``apical run``, (quantity, value) pairs of text.
        files: the files the run wrote, ``summary.json`` last.
        out: the output folder.
    """

    def __init__(self, report: Dict[str, Any], out: Path) -> None:
        self.experiment: str = report["experiment"]
        self.table: List[tuple] = [tuple(row) for row in report["table"]]
        self.summary: Dict[str, float] = dict(report["values"])
        self.files: List[Path] = [Path(f) for f in report["files"]]
        self.out: Path = out

    @property
    def metrics(self) -> Any:
        """The run's ``metrics.csv``: a dict of float64 arrays, one per column, or a
        ``pandas.DataFrame`` when pandas is installed. Fig. 2 writes one table per learner
        (``microcircuit.csv``, ``shallow.csv``, …); its metrics are a dict of those tables by
        learner."""
        try:
            import pandas
        except ImportError:
            pandas = None

        def table(path: Path) -> Any:
            columns = read_metrics(path)
            return columns if pandas is None else pandas.DataFrame(columns)

        csvs = [f for f in self.files if f.suffix == ".csv"]
        for f in csvs:
            if f.name == "metrics.csv":
                return table(f)
        if not csvs:
            raise FileNotFoundError(f"the {self.experiment} run wrote no metrics table")
        return {f.stem: table(f) for f in csvs}

    def __repr__(self) -> str:
        width = max((len(k) for k, _ in self.table), default=0)
        lines = [f"{self.experiment} results"]
        lines += [f"  {k:<{width}}  {v}" for k, v in self.table]
        lines.append(f"files in {self.out}")
        return "\n".join(lines)


def run(
    config: Config,
    out: Optional[Union[str, os.PathLike]] = None,
    progress: bool = True,
    *,
    data: Optional[Union[str, os.PathLike]] = None,
    resume: bool = False,
) -> Result:
    """Runs the experiment of ``config`` as ``apical run`` runs it, with the same results.

    Args:
        config: the configuration (its seed chooses every random stream).
        out: the output folder; ``None`` makes a new temporary folder (``Result.out``).
        progress: print a status line to ``sys.stderr`` every 2 s.
        data: the folder holding ``mnist/`` (default: ``$APICAL_DATA_DIR``).
        resume: continue from the checkpoint in ``out``.

    Raises:
        ValueError: the configuration or a file it names does not fit.
        OSError: a file could not be read or written.
        RuntimeError: the simulation diverged.
        KeyboardInterrupt: Ctrl-C stopped the run at its next checkpoint; ``resume=True``
            continues it.
    """
    folder = Path(tempfile.mkdtemp(prefix="apical-")) if out is None else Path(out)
    report = run_experiment(config, folder, data=data, resume=resume, progress=progress)
    return Result(report, folder)
