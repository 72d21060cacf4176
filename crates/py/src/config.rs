//! `Config`: a run configuration (model and experiment) from a preset or a TOML file, with
//! `key=value` overrides, loaded and validated by the same code as `apical run --set`.

use std::path::{Path, PathBuf};

use apical_sim::config::RunConfig;
use apical_sim::experiments::load::{Override, config_tree, parse_config_with, preset_with};
use pyo3::exceptions::{PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::config_error;

/// Where a configuration comes from; every override is applied to it again, in order, so that
/// an error reads as the command-line tool's for the same `--set` options.
#[derive(Debug, Clone)]
enum Origin {
    /// A preset by name (`apical run --preset NAME`).
    Preset(String),
    /// TOML text, named `source` in errors; a relative `init.weights` is taken from `folder`.
    Text { text: String, source: String, folder: PathBuf },
}

/// A validated run configuration: the network, its dynamics and plasticity, the initial weights
/// and one experiment, as a `configs/*.toml` file holds them.
///
/// Build one with `Config.preset(name)` or `Config.from_toml(path_or_text)`, change values with
/// `cfg.set("plasticity.eta_up", [0.01, 0.005])` or `cfg["experiment.fig1.duration_ms"] = 2000.0`,
/// and read them with `cfg["network.sizes"]`. Every change is checked as `apical run --set` checks
/// it; a bad one raises `ValueError` with the tool's one-line message and leaves the configuration
/// as it was.
#[pyclass(module = "apical._apical", from_py_object)]
#[derive(Debug, Clone)]
pub struct Config {
    origin: Origin,
    overrides: Vec<Override>,
    /// The validated configuration.
    pub cfg: RunConfig,
}

impl Config {
    /// Loads the configuration of `origin` with `overrides` applied and validated.
    fn load(origin: Origin, overrides: Vec<Override>) -> PyResult<Config> {
        let cfg = match &origin {
            Origin::Preset(name) => preset_with(name, &overrides),
            Origin::Text { text, source, folder } => parse_config_with(text, source, folder, &overrides),
        }
        .map_err(|e| config_error(&e))?;
        Ok(Config { origin, overrides, cfg })
    }

    /// This configuration with more overrides.
    fn with(&self, more: Vec<Override>) -> PyResult<Config> {
        let mut overrides = self.overrides.clone();
        overrides.extend(more);
        Config::load(self.origin.clone(), overrides)
    }
}

#[pymethods]
impl Config {
    /// The preset `name` (see `apical.presets()`), as `apical run --preset NAME` runs it.
    #[staticmethod]
    fn preset(name: &str) -> PyResult<Config> {
        Config::load(Origin::Preset(name.to_string()), Vec::new())
    }

    /// A configuration from a TOML file (a path, `str` or `os.PathLike`) or from TOML text (a
    /// `str` holding a line break). A relative `init.weights` is taken from the file's folder, or
    /// from the working folder for text.
    #[staticmethod]
    fn from_toml(path_or_text: &Bound<'_, PyAny>) -> PyResult<Config> {
        if let Ok(text) = path_or_text.cast::<PyString>()
            && let text = text.extract::<String>()?
            && text.contains('\n')
        {
            return Config::load(
                Origin::Text { text, source: "<toml>".into(), folder: PathBuf::from(".") },
                Vec::new(),
            );
        }
        let path: PathBuf = path_or_text.extract()?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| config_error(&anyhow::Error::new(e).context(format!("cannot read {}", path.display()))))?;
        let folder = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Config::load(Origin::Text { text, source: path.display().to_string(), folder }, Vec::new())
    }

    /// The configuration as TOML, as `apical config --preset NAME` prints it; `apical run` reads
    /// it back to the same configuration.
    fn to_toml(&self) -> PyResult<String> {
        toml::to_string(&self.cfg).map_err(|e| PyTypeError::new_err(format!("cannot serialise the configuration: {e}")))
    }

    /// Overrides one value, such as `set("plasticity.eta_up", [0.01, 0.005])`: a dotted key and a
    /// bool, int, float, str, list or dict. The result is validated as `--set key=value` is.
    fn set(&mut self, key: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let o = Override::new(key, to_toml(value, key)?).map_err(pyo3::exceptions::PyValueError::new_err)?;
        *self = self.with(vec![o])?;
        Ok(())
    }

    /// Overrides several values at once, in order, and validates the result once: for values
    /// that must change together, such as `network.sizes` and `plasticity.eta_up`.
    fn update(&mut self, values: &Bound<'_, PyDict>) -> PyResult<()> {
        let mut more = Vec::with_capacity(values.len());
        for (key, value) in values.iter() {
            let key: String = key.extract()?;
            more.push(Override::new(&key, to_toml(&value, &key)?).map_err(pyo3::exceptions::PyValueError::new_err)?);
        }
        *self = self.with(more)?;
        Ok(())
    }

    fn __setitem__(&mut self, key: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.set(key, value)
    }

    /// The value at a dotted key, such as `cfg["network.sizes"]`, or a whole table as a dict.
    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        let tree = config_tree(&self.cfg).map_err(|e| config_error(&e))?;
        let mut value = toml::Value::Table(tree);
        for part in key.split('.') {
            value = match value {
                toml::Value::Table(mut t) => t.remove(part),
                _ => None,
            }
            .ok_or_else(|| PyKeyError::new_err(format!("the configuration has no value {key}")))?;
        }
        to_python(py, &value)
    }

    /// The overrides applied so far, as `key=value` strings.
    #[getter]
    fn overrides(&self) -> Vec<String> {
        self.overrides.iter().map(ToString::to_string).collect()
    }

    /// The experiment's name: `fig-s1`, `fig1`, `fig2` or `mnist`.
    #[getter]
    fn experiment(&self) -> String {
        self.cfg.experiment.name().to_string()
    }

    /// The layer sizes n_0 … n_N.
    #[getter]
    fn sizes(&self) -> Vec<usize> {
        self.cfg.network.sizes.clone()
    }

    /// The seed of every random stream of a run.
    #[getter]
    fn seed(&self) -> u64 {
        self.cfg.seed
    }

    /// A copy that later changes leave alone.
    fn copy(&self) -> Config {
        self.clone()
    }

    fn __repr__(&self) -> String {
        let from = match &self.origin {
            Origin::Preset(name) => format!("preset {name}"),
            Origin::Text { source, .. } => source.clone(),
        };
        let sets: Vec<String> = self.overrides.iter().map(|o| format!(" --set {o}")).collect();
        format!(
            "<apical.Config {} from {from}{}, sizes {:?}>",
            self.experiment(),
            sets.concat(),
            self.cfg.network.sizes
        )
    }
}

/// A Python value as a TOML value; `key` names it in errors.
fn to_toml(value: &Bound<'_, PyAny>, key: &str) -> PyResult<toml::Value> {
    let bad = |what: String| PyTypeError::new_err(format!("{key}: {what} is not a TOML value"));
    if value.is_instance_of::<PyBool>() {
        return Ok(toml::Value::Boolean(value.extract()?));
    }
    // Python and numpy integers; a float has no `__index__`.
    let integer = value.is_instance_of::<PyInt>() || value.hasattr("__index__")? && !value.is_instance_of::<PyFloat>();
    if integer && let Ok(i) = value.extract::<i64>() {
        return Ok(toml::Value::Integer(i));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return Ok(toml::Value::Float(f.value()));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(toml::Value::String(s.extract()?));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        let mut table = toml::Table::new();
        for (k, v) in d.iter() {
            let k: String = k.extract().map_err(|_| bad(format!("the dict key {k}")))?;
            let inner = to_toml(&v, &format!("{key}.{k}"))?;
            table.insert(k, inner);
        }
        return Ok(toml::Value::Table(table));
    }
    // A numpy array or scalar becomes the equivalent Python value first.
    if value.hasattr("tolist")? {
        return to_toml(&value.call_method0("tolist")?, key);
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items: Vec<Bound<'_, PyAny>> = value.try_iter()?.collect::<PyResult<_>>()?;
        return items.iter().map(|v| to_toml(v, key)).collect::<PyResult<Vec<_>>>().map(toml::Value::Array);
    }
    if let Ok(f) = value.extract::<f64>() {
        return Ok(toml::Value::Float(f));
    }
    Err(bad(format!("{} of type {}", value.repr()?, value.get_type().name()?)))
}

/// A TOML value as a Python value.
fn to_python<'py>(py: Python<'py>, value: &toml::Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        toml::Value::String(s) => s.into_pyobject(py)?.into_any(),
        toml::Value::Integer(i) => i.into_pyobject(py)?.into_any(),
        toml::Value::Float(f) => f.into_pyobject(py)?.into_any(),
        toml::Value::Boolean(b) => PyBool::new(py, *b).to_owned().into_any(),
        toml::Value::Datetime(d) => d.to_string().into_pyobject(py)?.into_any(),
        toml::Value::Array(items) => {
            PyList::new(py, items.iter().map(|v| to_python(py, v)).collect::<PyResult<Vec<_>>>()?)?.into_any()
        }
        toml::Value::Table(t) => {
            let dict = PyDict::new(py);
            for (k, v) in t {
                dict.set_item(k, to_python(py, v)?)?;
            }
            dict.into_any()
        }
    })
}
