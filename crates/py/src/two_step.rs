//! `TwoStepNetwork`: the simplified two-step dynamics of the MNIST runs (`apical_sim::two_step`),
//! trained and evaluated on numpy arrays instead of the MNIST files.
//!
//! Each mini-batch takes the engine's two steps: a feedforward pass r_k = φ(W_k r_{k−1}) (hidden
//! layers at the gain of the configuration's `hidden_rates`), then the output nudged towards the
//! one-hot target potentials and the apical errors v_A,k that the top-down and interneuron input
//! leave, which drive the local updates of W_k and W^IP_k (Eqs. 7–8) with the configuration's
//! learner. The epoch loop is that of `apical run` for an `[experiment.mnist]` configuration:
//! the same initial weights, learning rates, decay per epoch and shuffling stream, and a final
//! mini-batch smaller than `batch_size` left out.

use apical_numerics::{Matrix, Real, rng};
use apical_sim::config::Precision;
use apical_sim::engine::network::{Shape, Weights};
use apical_sim::engine::two_step::{Forward, Mixing, Rates, TwoStep};
use apical_sim::experiments::{ExperimentConfig, MnistConfig, mnist_initial_weights};
use numpy::ndarray::Array1;
use numpy::{PyArray1, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rand::seq::SliceRandom;

use crate::arrays::{weights_dict, with_matrix};
use crate::config::Config;
use crate::{interruptible, sim_error};

/// The images evaluated together in one feedforward pass.
const EVAL_BLOCK: usize = 1000;

/// The two-step network of an `[experiment.mnist]` configuration, with its weights, learning
/// rates and shuffling stream, trained epoch by epoch on arrays of images (one row per image, n_0
/// values in [0, 1]) and integer labels (0 … n_N − 1).
#[pyclass(module = "apical._apical")]
pub struct TwoStepNetwork {
    e: MnistConfig,
    shape: Shape,
    phi: apical_numerics::rate::RateFn,
    mixing: Mixing,
    weights: Weights,
    rates: Rates,
    engine: TwoStep,
    shuffle: rng::Rng,
    epochs_done: usize,
}

/// The labels of `labels`, checked against `rows` images and `classes` output units.
fn read_labels(labels: &Bound<'_, PyAny>, rows: usize, classes: usize) -> PyResult<Vec<usize>> {
    let array = labels
        .cast::<PyUntypedArray>()
        .map_err(|_| PyTypeError::new_err("labels: expected a numpy array of integers"))?;
    if array.ndim() != 1 || array.shape()[0] != rows {
        return Err(PyValueError::new_err(format!("labels: expected shape ({rows},), got {:?}", array.shape())));
    }
    let kind: String = array.dtype().getattr("kind")?.extract()?;
    if kind != "i" && kind != "u" {
        return Err(PyTypeError::new_err(format!("labels: expected an integer dtype, got {}", array.dtype().str()?)));
    }
    let values: Vec<i64> = labels.call_method1("astype", ("int64",))?.cast_into::<PyArray1<i64>>()?.to_vec()?;
    values
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            usize::try_from(l).ok().filter(|&l| l < classes).ok_or_else(|| {
                PyValueError::new_err(format!("labels: the label at [{i}] is {l}, not a class 0 … {}", classes - 1))
            })
        })
        .collect()
}

/// The index of the most active row of each column.
fn argmax_columns(output: &Matrix) -> impl Iterator<Item = usize> + '_ {
    (0..output.ncols()).map(|j| {
        let column = output.col(j);
        (0..column.len()).fold(0, |b, i| if column[i] > column[b] { i } else { b })
    })
}

impl TwoStepNetwork {
    fn n_in(&self) -> usize {
        self.shape.sizes[0]
    }

    fn n_out(&self) -> usize {
        self.shape.sizes[self.shape.depth()]
    }

    /// The images of `images` as columns, checked.
    fn columns(&self, images: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<Real>>> {
        with_matrix(images, "images", None, Some(self.n_in()), |v| {
            Ok(v.rows().into_iter().map(|r| r.to_vec()).collect())
        })
    }
}

#[pymethods]
impl TwoStepNetwork {
    /// The network of an `[experiment.mnist]` configuration with its initial weights (drawn,
    /// fan-in scaled if set, read from `init.weights`, made self-predicting if set). It computes
    /// in f64; a configuration with `plasticity.precision = "f32"` is refused.
    #[new]
    fn new(config: &Config) -> PyResult<TwoStepNetwork> {
        let cfg = &config.cfg;
        if cfg.plasticity.precision != Precision::F64 {
            let problem = "plasticity.precision: a TwoStepNetwork computes in f64; apical.run takes \"f32\" for mnist";
            return Err(PyValueError::new_err(problem));
        }
        let ExperimentConfig::Mnist(e) = &cfg.experiment else {
            return Err(PyValueError::new_err(format!(
                "TwoStepNetwork needs an [experiment.mnist] configuration, got {}",
                cfg.experiment.name()
            )));
        };
        let shape = Shape { sizes: cfg.network.sizes.clone(), bias: cfg.network.bias };
        let mixing = Mixing::from_conductances(&cfg.network.conductances);
        let weights = mnist_initial_weights(cfg, e, &shape, &mixing).map_err(|e| sim_error(&e))?;
        let rates = Rates::new(&weights, &mixing, e.learner, e.rescale_rates);
        let engine = TwoStep::new(&shape, cfg.network.phi, mixing, e.hidden_rates, e.batch_size);
        Ok(TwoStepNetwork {
            e: e.clone(),
            shape,
            phi: cfg.network.phi,
            mixing,
            weights,
            rates,
            engine,
            shuffle: rng::stream(cfg.seed, rng::Stream::Shuffle),
            epochs_done: 0,
        })
    }

    /// The number of epochs trained.
    #[getter]
    fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// Trains one epoch on `images` (M × n_0 float64) and `labels` (M integers): the images in an
    /// order drawn from the run's shuffling stream, in mini-batches of `batch_size`, with the
    /// learning rates scaled by `eta_decay` per epoch done. Returns the training error (%) of the
    /// epoch, measured on each mini-batch's forward pass before its update.
    fn train_epoch(&mut self, py: Python<'_>, images: &Bound<'_, PyAny>, labels: &Bound<'_, PyAny>) -> PyResult<Real> {
        let columns = self.columns(images)?;
        let labels = read_labels(labels, columns.len(), self.n_out())?;
        let batch = self.e.batch_size;
        if columns.len() < batch {
            return Err(PyValueError::new_err(format!(
                "images: {} images are fewer than experiment.mnist.batch_size = {batch}",
                columns.len()
            )));
        }
        let phi = self.phi;
        let [u_low, u_high] = self.e.target_rates.map(|r| phi.inverse(r).expect("validated target rates"));
        let epoch_rates = self.rates.scaled(self.e.eta_decay.powi(self.epochs_done as i32));
        let mut indices: Vec<usize> = (0..columns.len()).collect();
        indices.shuffle(&mut self.shuffle);
        let (n_in, n_out) = (self.n_in(), self.n_out());
        let batches: Vec<&[usize]> = indices.chunks_exact(batch).collect();
        let mut pixels = vec![0.0; n_in * batch];
        let mut targets = vec![0.0; n_out * batch];
        let mut wrong = 0usize;
        let (engine, weights, learner) = (&mut self.engine, &mut self.weights, self.e.learner);
        interruptible(
            py,
            batches.len() as u64,
            16,
            |done, n| {
                for block in &batches[done as usize..(done + n) as usize] {
                    for (j, &i) in block.iter().enumerate() {
                        pixels[j * n_in..(j + 1) * n_in].copy_from_slice(&columns[i]);
                        let target = &mut targets[j * n_out..(j + 1) * n_out];
                        target.fill(u_low);
                        target[labels[i]] = u_high;
                    }
                    engine.set_batch(&pixels, &targets);
                    engine.train(weights, learner, &epoch_rates);
                    let predicted = argmax_columns(engine.forward.output());
                    wrong += predicted.zip(block.iter()).filter(|(p, i)| *p != labels[**i]).count();
                }
                Ok::<(), std::convert::Infallible>(())
            },
            |never| match never {},
        )?;
        self.epochs_done += 1;
        if let Some((name, _)) = self.weights.named().iter().find(|(_, m)| !m.is_finite()) {
            return Err(PyValueError::new_err(format!(
                "the network diverged in epoch {}: {name} is not finite (lower plasticity.eta_up)",
                self.epochs_done
            )));
        }
        Ok(100.0 * wrong as Real / (batches.len() * batch) as Real)
    }

    /// The class the feedforward network gives each image of `images` (M × n_0 float64): the
    /// most active output unit.
    fn predict<'py>(&self, py: Python<'py>, images: &Bound<'_, PyAny>) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let columns = self.columns(images)?;
        let hidden_gain = self.e.hidden_rates.gain(&self.mixing);
        let mut out = Vec::with_capacity(columns.len());
        for block in columns.chunks(EVAL_BLOCK) {
            let mut forward = Forward::new(&self.shape, block.len(), hidden_gain);
            forward.set_input(&block.concat());
            forward.run(&self.weights, self.phi);
            out.extend(argmax_columns(forward.output()).map(|c| c as i64));
        }
        Ok(PyArray1::from_owned_array(py, Array1::from(out)))
    }

    /// The error (%) of the feedforward network on `images` and `labels`.
    fn evaluate(&self, py: Python<'_>, images: &Bound<'_, PyAny>, labels: &Bound<'_, PyAny>) -> PyResult<Real> {
        let predicted = self.predict(py, images)?.to_vec()?;
        let labels = read_labels(labels, predicted.len(), self.n_out())?;
        let wrong = predicted.iter().zip(&labels).filter(|(p, l)| **p as usize != **l).count();
        Ok(100.0 * wrong as Real / labels.len().max(1) as Real)
    }

    /// Every weight matrix as a new array under its `.npz` key, as `Network.weights()`.
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        weights_dict(py, &self.weights)
    }
}
