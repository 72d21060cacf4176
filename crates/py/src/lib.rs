//! The native part of the `apical` Python package: a thin layer of PyO3 bindings over the Apical
//! crates, with numpy arrays in and out and no simulation code of its own.
//!
//! * [`config`]: `Config`, a run configuration loaded, overridden and validated exactly as the
//!   command-line tool does (`apical_sim::experiments::load`).
//! * [`run`]: `run_experiment`, one experiment into an output folder, as `apical run` runs it.
//! * [`network`]: `Network`, the continuous-time microcircuit (Euler–Maruyama dynamics with
//!   always-on plasticity) stepped from Python.
//! * [`two_step`]: `TwoStepNetwork`, the simplified two-step dynamics of the MNIST runs, trained
//!   and evaluated on numpy arrays.
//! * [`arrays`]: checked conversions between numpy arrays and the crates' vectors and matrices.
//!
//! Every error becomes a Python exception carrying the one-line message of the command-line tool.
//! Long calls release the interpreter and check for Ctrl-C at intervals.

mod arrays;
mod config;
mod network;
mod run;
mod two_step;

use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use apical_sim::SimError;
use apical_sim::experiments::load::{one_line, printable};

/// An error of the configuration loader as a Python exception: `OSError` when a file could not be
/// read, `ValueError` otherwise, with the command-line tool's one-line message.
fn config_error(e: &anyhow::Error) -> PyErr {
    let message = one_line(e);
    if e.chain().any(|cause| cause.downcast_ref::<std::io::Error>().is_some()) {
        PyOSError::new_err(message)
    } else {
        PyValueError::new_err(message)
    }
}

/// An error that ended a run as a Python exception: a bad configuration or weight file is a
/// `ValueError`, a file that could not be read or written an `OSError`, a run stopped by Ctrl-C a
/// `KeyboardInterrupt`, and a diverged simulation a `RuntimeError`.
fn sim_error(e: &SimError) -> PyErr {
    let message = printable(&e.to_string());
    match e {
        SimError::Config(_) | SimError::WeightFile(_) | SimError::Checkpoint(_) => PyValueError::new_err(message),
        SimError::Write(_) | SimError::Plot(_) | SimError::Dataset(_) | SimError::Npy(_) => PyOSError::new_err(message),
        SimError::Stopped { .. } => PyKeyboardInterrupt::new_err(message),
        SimError::Diverged(_) | SimError::Other(_) => PyRuntimeError::new_err(message),
    }
}

/// Runs `f` in chunks of at most `chunk` units of work with the interpreter released, and checks
/// for Ctrl-C between chunks. `f(done, n)` does `n` units after the first `done`. A pending
/// `KeyboardInterrupt` ends the loop with that exception after the chunk in progress.
fn interruptible<E>(
    py: Python<'_>,
    total: u64,
    chunk: u64,
    mut f: impl FnMut(u64, u64) -> Result<(), E> + Send,
    error: impl Fn(E) -> PyErr,
) -> PyResult<()>
where
    E: Send,
{
    let mut done = 0;
    while done < total {
        let n = chunk.min(total - done);
        py.detach(|| f(done, n)).map_err(&error)?;
        done += n;
        py.check_signals()?;
    }
    Ok(())
}

/// The presets as (name, description) pairs, as `apical presets` lists them.
#[pyfunction]
fn presets() -> Vec<(&'static str, &'static str)> {
    apical_sim::presets::PRESETS.to_vec()
}

/// The native module `apical._apical`; the package `apical` re-exports it.
#[pymodule]
fn _apical(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(presets, m)?)?;
    m.add_function(wrap_pyfunction!(run::run_experiment, m)?)?;
    m.add_class::<config::Config>()?;
    m.add_class::<network::Network>()?;
    m.add_class::<two_step::TwoStepNetwork>()?;
    Ok(())
}
