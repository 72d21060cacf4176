//! Running the experiment whose settings the parent module defines.

use std::path::Path;
use std::time::Instant;

use apical_datasets::mnist::{Mnist, Split};
use apical_numerics::rate::RateFn;
use apical_numerics::{Element, Matrix, Real, rng};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::{EVAL_BLOCK, MnistConfig};
use crate::engine::config::Precision;
use crate::engine::network::{Shape, Weights};
use crate::engine::two_step::{Forward, Mixing, Rates, TwoStep, make_self_predicting};
use crate::experiments::checkpoint::{Checkpoint, load_resume, save_checkpoint};
use crate::experiments::config::ExperimentConfig;
use crate::experiments::config::{LateralInit, RunConfig};
use crate::experiments::context::{Report, RunContext};
use crate::experiments::error::SimError;
use crate::io::codec::encode;
use crate::io::record::Recorder;

/// What `checkpoint.bin` keeps besides the weights, so that a resumed run continues exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ResumeState {
    /// Epochs completed.
    epochs_done: usize,
    /// The generator that shuffles the training images.
    shuffle: rng::Rng,
    /// The lowest validation error so far (%) and its epoch (0: none yet).
    best_validation: Real,
    best_epoch: usize,
    /// The rows of the metrics table.
    rows: Vec<Vec<Real>>,
}

const COLUMNS: [&str; 6] =
    ["epoch", "train_error_pct", "validation_error_pct", "test_error_pct", "eta_scale", "seconds"];

/// The weights of a fresh run: drawn, optionally fan-in scaled and read from a weight file, then
/// made self-predicting unless they start at random.
pub fn initial_weights(cfg: &RunConfig, e: &MnistConfig, shape: &Shape, mixing: &Mixing) -> Result<Weights, SimError> {
    let mut weights = Weights::from_config(cfg, shape);
    if e.fan_in_init {
        let n = &shape.sizes;
        for (k, s) in weights.up.iter_mut().enumerate() {
            s.w = s.w.scaled(1.0 / (n[k] as Real).sqrt());
        }
        // B_k, W^PI_k and W^IP_k all take the range of W_{k+1}; self-predicting lateral weights
        // replace the last two below.
        for k in 0..weights.down.len() {
            let scale = 1.0 / (n[k + 1] as Real).sqrt();
            for s in [&mut weights.down[k], &mut weights.pi[k], &mut weights.ip[k]] {
                s.w = s.w.scaled(scale);
            }
        }
    }
    if let Some(path) = &cfg.init.weights {
        weights.load_npz(path)?;
    }
    if cfg.init.lateral == LateralInit::SelfPredicting {
        make_self_predicting(&mut weights, mixing);
    }
    Ok(weights)
}

/// The weights (in `T`) and progress stored in `path` by an earlier run of the same
/// configuration. f32 weights are stored as f64 and come back with the same bits.
fn resume_from<T: Element>(cfg: &RunConfig, path: &Path) -> Result<(Weights<T>, ResumeState), SimError> {
    let same_run = |c: &RunConfig| {
        let mut c = c.clone();
        if let ExperimentConfig::Mnist(m) = &mut c.experiment {
            m.epochs = 0;
        }
        c
    };
    let (weights, progress, _) = load_resume(cfg, path, same_run, "experiment.mnist.epochs")?;
    Ok((weights.cast(), progress))
}

/// One flag per column of `output`, true where its most active row is not the label.
fn wrong_columns<T: Element>(output: &Matrix<T>, labels: impl Iterator<Item = u8>) -> impl Iterator<Item = bool> {
    labels.enumerate().map(|(j, label)| {
        let column = output.col(j);
        let best = (0..column.len()).fold(0, |b, i| if column[i] > column[b] { i } else { b });
        best != usize::from(label)
    })
}

/// One flag per image of a split, true where the feedforward network's readout is wrong; the
/// images are evaluated in blocks.
fn misclassified<T: Element>(
    mnist: &Mnist,
    split: Split,
    weights: &Weights<T>,
    shape: &Shape,
    phi: RateFn,
    hidden_gain: Real,
) -> Vec<bool> {
    let total = mnist.len(split);
    let mut wrong = Vec::with_capacity(total);
    let mut forwards: Vec<Forward<T>> = Vec::new();
    let mut pixels = Vec::new();
    for start in (0..total).step_by(EVAL_BLOCK) {
        let indices: Vec<usize> = (start..total.min(start + EVAL_BLOCK)).collect();
        if forwards.last().is_none_or(|f| f.cols() != indices.len()) {
            forwards.push(Forward::new(shape, indices.len(), hidden_gain));
        }
        let forward = forwards.last_mut().expect("just made");
        pixels.resize(mnist.image_size() * indices.len(), 0.0);
        mnist.fill_batch(split, &indices, &mut pixels);
        forward.set_input(&pixels);
        forward.run(weights, phi);
        wrong.extend(wrong_columns(forward.output(), indices.iter().map(|&i| mnist.label(split, i))));
    }
    wrong
}

/// The percentage of true flags.
fn error_pct(wrong: &[bool]) -> Real {
    100.0 * wrong.iter().filter(|&&w| w).count() as Real / wrong.len().max(1) as Real
}

/// Which validation and test images a saved MNIST model misclassifies.
#[derive(Debug, Clone, PartialEq)]
pub struct Misclassified {
    /// One flag per validation image, true where the readout is wrong.
    pub validation: Vec<bool>,
    /// One flag per test image, true where the readout is wrong.
    pub test: Vec<bool>,
}

impl Misclassified {
    /// The validation error (%).
    pub fn validation_error_pct(&self) -> Real {
        error_pct(&self.validation)
    }

    /// The test error (%).
    pub fn test_error_pct(&self) -> Real {
        error_pct(&self.test)
    }
}

/// A model saved by an MNIST run, with what its forward sweep needs.
#[derive(Debug, Clone)]
pub struct SavedModel {
    weights: Weights,
    /// The type the run computed in; the model is evaluated in the same type.
    precision: Precision,
    shape: Shape,
    phi: RateFn,
    hidden_gain: Real,
    /// The data set the model learned: the folder and the validation split.
    data: (String, usize),
}

impl SavedModel {
    /// Reads `checkpoint` (a run's `best.bin` or `checkpoint.bin`); checkpoints of other
    /// experiments are refused.
    pub fn load(checkpoint: &Path) -> Result<SavedModel, SimError> {
        let (saved, cfg) = Checkpoint::load(checkpoint)?;
        let ExperimentConfig::Mnist(e) = &cfg.experiment else {
            return Err(SimError::Other(format!(
                "{} holds a {} run; only MNIST models can be evaluated",
                checkpoint.display(),
                cfg.experiment.name()
            )));
        };
        Ok(SavedModel {
            weights: saved.weights,
            precision: cfg.plasticity.precision,
            shape: Shape { sizes: cfg.network.sizes.clone(), bias: cfg.network.bias },
            phi: cfg.network.phi,
            hidden_gain: e.hidden_rates.gain(&Mixing::from_conductances(&cfg.network.conductances)),
            data: (e.data_folder.clone(), e.validation_images),
        })
    }

    /// The data folder (inside the data directory) and the validation size the model learned with.
    pub fn data(&self) -> (&str, usize) {
        (&self.data.0, self.data.1)
    }

    /// The validation and test images the model misclassifies, measured as the run itself
    /// measures them after every epoch.
    ///
    /// # Errors
    /// If the network's input or output width does not fit the data (see [`check_sizes`]).
    pub fn evaluate(&self, mnist: &Mnist) -> Result<Misclassified, SimError> {
        check_sizes(&self.shape.sizes, mnist, &self.data.0)?;
        match self.precision {
            Precision::F64 => Ok(self.evaluate_in(mnist, &self.weights)),
            Precision::F32 => Ok(self.evaluate_in(mnist, &self.weights.cast::<f32>())),
        }
    }

    /// [`SavedModel::evaluate`] with the weights in `T`.
    fn evaluate_in<T: Element>(&self, mnist: &Mnist, weights: &Weights<T>) -> Misclassified {
        let on = |split| misclassified(mnist, split, weights, &self.shape, self.phi, self.hidden_gain);
        Misclassified { validation: on(Split::Validation), test: on(Split::Test) }
    }
}

/// The data set in `data_dir/folder` with a validation split of `validation` images, or an error
/// that says where it is expected.
pub fn load_data(data_dir: Option<&Path>, folder: &str, validation: usize) -> Result<Mnist, SimError> {
    let Some(data_dir) = data_dir else {
        return Err(SimError::Other(format!(
            "mnist needs its data: pass --data DIR or set APICAL_DATA_DIR, where DIR/{folder} holds \
             train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte \
             (each may be gzipped with a .gz suffix; the folder is experiment.mnist.data_folder)"
        )));
    };
    let dir = data_dir.join(folder);
    Mnist::load_with(&dir, validation).map_err(|e| match e {
        apical_datasets::DatasetError::ValidationTooLarge { .. } | apical_datasets::DatasetError::EmptySplit { .. } => {
            SimError::Other(format!("experiment.mnist.validation_images = {validation}: {e}"))
        }
        e => e.into(),
    })
}

/// Checks that the network reads every pixel and has one output per class: `network.sizes` must
/// start with the images' pixels and end with the number of classes of the data in `folder`.
pub fn check_sizes(sizes: &[usize], data: &Mnist, folder: &str) -> Result<(), SimError> {
    let (rows, cols) = data.dims();
    let (inputs, outputs) = (sizes[0], sizes[sizes.len() - 1]);
    if inputs != data.image_size() {
        return Err(SimError::Other(format!(
            "network.sizes starts with {inputs} inputs, but the images in {folder} have {rows}x{cols} = {} pixels",
            data.image_size()
        )));
    }
    if outputs != data.classes() {
        return Err(SimError::Other(format!(
            "network.sizes ends with {outputs} outputs, but the labels in {folder} name {} classes (0 … {})",
            data.classes(),
            data.classes() - 1
        )));
    }
    Ok(())
}

fn pct(x: Real) -> String {
    format!("{x:.2} %")
}

pub(crate) fn run(cfg: &RunConfig, e: &MnistConfig, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    match cfg.plasticity.precision {
        Precision::F64 => run_in::<f64>(cfg, e, ctx),
        Precision::F32 => run_in::<f32>(cfg, e, ctx),
    }
}

/// The run with every weight and activation stored in `T`.
fn run_in<T: Element>(cfg: &RunConfig, e: &MnistConfig, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    let mnist = load_data(ctx.data_dir.as_deref(), &e.data_folder, e.validation_images)?;
    check_sizes(&cfg.network.sizes, &mnist, &e.data_folder)?;
    let available = mnist.len(Split::Train);
    let n_train = e.train_images.unwrap_or(available);
    if n_train > available {
        return Err(SimError::Other(format!(
            "experiment.mnist.train_images = {n_train}, but the training split has only {available} images"
        )));
    }
    if n_train < e.batch_size {
        return Err(SimError::Other(format!(
            "experiment.mnist.batch_size = {}, but the training split has only {n_train} images",
            e.batch_size
        )));
    }
    let shape = Shape { sizes: cfg.network.sizes.clone(), bias: cfg.network.bias };
    let phi = cfg.network.phi;
    let mixing = Mixing::from_conductances(&cfg.network.conductances);
    let checkpoint_path = ctx.file("checkpoint.bin");
    let (mut weights, mut state) = if ctx.resume {
        resume_from::<T>(cfg, &checkpoint_path)?
    } else {
        let weights = initial_weights(cfg, e, &shape, &mixing)?.cast::<T>();
        let shuffle = rng::stream(cfg.seed, rng::Stream::Shuffle);
        (
            weights,
            ResumeState { epochs_done: 0, shuffle, best_validation: Real::INFINITY, best_epoch: 0, rows: Vec::new() },
        )
    };
    let mut rec = Recorder::new(&COLUMNS);
    for row in &state.rows {
        rec.push(row.clone());
    }

    let rates = Rates::new(&weights, &mixing, e.learner, e.rescale_rates);
    let batch = e.batch_size;
    let mut engine = TwoStep::new(&shape, phi, mixing, e.hidden_rates, batch);
    let hidden_gain = e.hidden_rates.gain(&mixing);
    let [u_low, u_high] = e.target_rates.map(|r| phi.inverse(r).expect("validated target rates"));
    let mut pixels = vec![0.0; mnist.image_size() * batch];
    let mut targets = vec![0.0; mnist.classes() * batch];
    let mut indices: Vec<usize> = Vec::with_capacity(n_train);
    let batches = n_train / batch;
    let csv = ctx.file("metrics.csv");
    let png = ctx.file("errors.png");
    let best_path = ctx.file("best.bin");
    for epoch in state.epochs_done + 1..=e.epochs {
        let started = Instant::now();
        let eta_scale = e.eta_decay.powi(epoch as i32 - 1);
        let epoch_rates = rates.scaled(eta_scale);
        indices.clear();
        indices.extend(0..n_train);
        indices.shuffle(&mut state.shuffle);
        ctx.progress.start(&format!("epoch {epoch}/{}", e.epochs), batches as u64);
        let mut wrong = 0;
        for (b, block) in indices.chunks_exact(batch).enumerate() {
            mnist.fill_batch(Split::Train, block, &mut pixels);
            mnist.fill_one_hot(Split::Train, block, u_low, u_high, &mut targets);
            engine.set_batch(&pixels, &targets);
            engine.train(&mut weights, e.learner, &epoch_rates);
            let labels = block.iter().map(|&i| mnist.label(Split::Train, i));
            wrong += wrong_columns(engine.forward.output(), labels).filter(|&w| w).count();
            if (b + 1) % 100 == 0 || b + 1 == batches {
                ctx.progress.advance(if (b + 1) % 100 == 0 { 100 } else { ((b + 1) % 100) as u64 });
            }
        }
        ctx.progress.finish();
        if let Some((name, _)) = weights.named().iter().find(|(_, m)| !m.is_finite()) {
            return Err(SimError::Other(format!(
                "mnist diverged in epoch {epoch}: {name} is not finite (lower plasticity.eta_up)"
            )));
        }
        let train = 100.0 * wrong as Real / (batches * batch) as Real;
        let validation = error_pct(&misclassified(&mnist, Split::Validation, &weights, &shape, phi, hidden_gain));
        let test = error_pct(&misclassified(&mnist, Split::Test, &weights, &shape, phi, hidden_gain));
        for (name, x) in [("train_error_pct", train), ("validation_error_pct", validation), ("test_error_pct", test)] {
            if !x.is_finite() {
                return Err(SimError::Other(format!("mnist diverged in epoch {epoch}: {name} is not finite")));
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "epoch {epoch}/{}: train {}, validation {}, test {} ({seconds:.1} s)",
            e.epochs,
            pct(train),
            pct(validation),
            pct(test)
        );
        let row = vec![epoch as Real, train, validation, test, eta_scale, seconds];
        rec.push(row.clone());
        state.rows.push(row);
        if validation < state.best_validation {
            state.best_validation = validation;
            state.best_epoch = epoch;
            save_checkpoint(cfg, &weights, Vec::new(), &best_path)?;
        }
        state.epochs_done = epoch;
        save_checkpoint(cfg, &weights, encode(&state), &checkpoint_path)?;
        rec.write_csv(&csv)?;
        rec.plot(
            &png,
            &format!("MNIST ({}): error per epoch", e.learner.name()),
            "epoch",
            &[("train_error_pct", "train"), ("validation_error_pct", "validation"), ("test_error_pct", "test")],
            "error (%)",
            true,
        )?;
    }

    let Some(best) = state.rows.iter().find(|r| r[0] as usize == state.best_epoch) else {
        return Err(SimError::Other("mnist: no epoch was run".into()));
    };
    let last = state.rows.last().expect("at least the best epoch");
    let seconds: Vec<Real> = state.rows.iter().map(|r| r[5]).collect();
    let fmt_rates = |r: &[Real]| r.iter().map(|x| format!("{x:.4}")).collect::<Vec<_>>().join(", ");
    let rows = vec![
        ("learner".into(), e.learner.name().into()),
        (
            "mixing factors".into(),
            format!("λ_A = {:.3}, λ_N = {:.3}, λ_I = {:.3}", mixing.lambda_a, mixing.lambda_n, mixing.lambda_i),
        ),
        ("hidden rates".into(), e.hidden_rates.describe().into()),
        ("applied rates of W_k (epoch 1)".into(), fmt_rates(&rates.up)),
        ("applied rates of W^IP_k (epoch 1)".into(), fmt_rates(&rates.ip)),
        ("training images × epochs".into(), format!("{} × {}", batches * batch, e.epochs)),
        ("best validation error".into(), format!("{} (epoch {})", pct(best[2]), state.best_epoch)),
        ("test error of the best model".into(), pct(best[3])),
        ("test error after the last epoch".into(), pct(last[3])),
        ("wall time per epoch".into(), format!("{:.1} s", apical_numerics::stats::mean(&seconds))),
    ];
    let values = vec![
        ("lambda_a".into(), mixing.lambda_a),
        ("lambda_n".into(), mixing.lambda_n),
        ("lambda_i".into(), mixing.lambda_i),
        ("training_images".into(), (batches * batch) as Real),
        ("epochs".into(), e.epochs as Real),
        ("best_epoch".into(), state.best_epoch as Real),
        ("best_validation_error_pct".into(), best[2]),
        ("test_error_of_best_pct".into(), best[3]),
        ("last_test_error_pct".into(), last[3]),
        ("wall_time_per_epoch_s".into(), apical_numerics::stats::mean(&seconds)),
    ];
    let files = vec![csv, png, best_path, checkpoint_path];
    Ok(Report { experiment: "mnist".into(), rows, values, files })
}
