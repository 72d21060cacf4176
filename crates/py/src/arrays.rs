//! Checked conversions between numpy arrays and the crates' vectors and column-major matrices.
//! An array of the wrong type, dtype or shape raises `TypeError` or `ValueError` naming the
//! argument and what was expected; one holding NaN or ±inf raises `ValueError` naming the first
//! bad entry. Nothing reaches the engines unchecked.

use apical_numerics::{Matrix, Real};
use numpy::ndarray::{Array1, Array2, ArrayView2};
use numpy::{PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use apical_sim::network::Weights;

/// `value` as a float64 numpy array of `ndim` dimensions, borrowed.
fn float_array<'py>(value: &Bound<'py, PyAny>, name: &str, ndim: usize) -> PyResult<Bound<'py, PyUntypedArray>> {
    let py = value.py();
    let array = match value.cast::<PyUntypedArray>() {
        Ok(array) => array.clone(),
        // Lists and tuples of numbers are read as numpy would read them.
        Err(_) if value.is_instance_of::<pyo3::types::PyList>() || value.is_instance_of::<pyo3::types::PyTuple>() => {
            let numpy = py.import("numpy")?;
            let converted = numpy.call_method1("asarray", (value, numpy.getattr("float64")?)).map_err(|e| {
                PyValueError::new_err(format!("{name}: cannot be read as an array of floats ({})", e.value(py)))
            })?;
            converted.cast_into::<PyUntypedArray>()?
        }
        Err(_) => {
            return Err(PyTypeError::new_err(format!(
                "{name}: expected a numpy array of float64, got {}",
                value.get_type().name()?
            )));
        }
    };
    if !array.dtype().is_equiv_to(&numpy::dtype::<f64>(py)) {
        return Err(PyTypeError::new_err(format!(
            "{name}: expected dtype float64, got {} (convert with .astype(numpy.float64))",
            array.dtype().str()?
        )));
    }
    if array.ndim() != ndim {
        return Err(PyValueError::new_err(format!(
            "{name}: expected a {ndim}-dimensional array, got shape {:?}",
            array.shape()
        )));
    }
    Ok(array)
}

/// The first non-finite entry of `values`, as an error naming `name` and the index.
fn check_finite<'a>(values: impl Iterator<Item = (String, &'a Real)>, name: &str) -> PyResult<()> {
    for (index, v) in values {
        if !v.is_finite() {
            return Err(PyValueError::new_err(format!("{name}: the entry at {index} is {v}, not a finite number")));
        }
    }
    Ok(())
}

/// A vector of `len` finite floats.
pub fn vector(value: &Bound<'_, PyAny>, name: &str, len: usize) -> PyResult<Vec<Real>> {
    let array = float_array(value, name, 1)?;
    if array.shape() != [len] {
        return Err(PyValueError::new_err(format!("{name}: expected shape ({len},), got {:?}", array.shape())));
    }
    let array = array.cast_into::<PyArray1<f64>>()?;
    let values: Vec<Real> = array.readonly().as_array().to_vec();
    check_finite(values.iter().enumerate().map(|(i, v)| (format!("[{i}]"), v)), name)?;
    Ok(values)
}

/// A matrix of finite floats with `rows` rows, and `cols` columns if given, as a read-only view.
pub fn with_matrix<T>(
    value: &Bound<'_, PyAny>,
    name: &str,
    rows: Option<usize>,
    cols: Option<usize>,
    f: impl FnOnce(ArrayView2<'_, f64>) -> PyResult<T>,
) -> PyResult<T> {
    let array = float_array(value, name, 2)?;
    let shape = array.shape();
    let want = |n: Option<usize>| n.map_or("n".to_string(), |n| n.to_string());
    if rows.is_some_and(|r| r != shape[0]) || cols.is_some_and(|c| c != shape[1]) {
        return Err(PyValueError::new_err(format!(
            "{name}: expected shape ({}, {}), got {shape:?}",
            want(rows),
            want(cols)
        )));
    }
    let array = array.cast_into::<PyArray2<f64>>()?;
    let readonly = array.readonly();
    let view = readonly.as_array();
    check_finite(view.indexed_iter().map(|((i, j), v)| (format!("[{i}, {j}]"), v)), name)?;
    f(view)
}

/// A matrix of finite floats of exactly `shape`, copied into the crates' column-major layout.
pub fn matrix(value: &Bound<'_, PyAny>, name: &str, shape: (usize, usize)) -> PyResult<Matrix> {
    with_matrix(value, name, Some(shape.0), Some(shape.1), |view| {
        Ok(Matrix::from_fn(shape.0, shape.1, |i, j| view[[i, j]]))
    })
}

/// A matrix as a new numpy array of the same shape.
fn to_numpy<'py>(py: Python<'py>, m: &Matrix) -> Bound<'py, PyArray2<f64>> {
    let array = Array2::from_shape_fn(m.shape(), |(i, j)| m.get(i, j));
    PyArray2::from_owned_array(py, array)
}

/// Every weight matrix of `weights` as a new array under its `.npz` key.
pub fn weights_dict<'py>(py: Python<'py>, weights: &Weights) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, m) in weights.named() {
        dict.set_item(name, to_numpy(py, m))?;
    }
    Ok(dict)
}

/// A vector as a new numpy array.
pub fn vector_to_numpy<'py>(py: Python<'py>, v: &[Real]) -> Bound<'py, PyArray1<f64>> {
    PyArray1::from_owned_array(py, Array1::from(v.to_vec()))
}
