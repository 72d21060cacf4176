//! MNIST with the simplified two-step dynamics (spec §7, §9).
//!
//! A 784-500-500-10 network with the logistic φ and a plastic bias on every neuron learns the
//! handwritten digits from a self-predicting start. Top-down B_k and W^PI_k = −B_k stay fixed
//! and random; W_k learns by Eq. 7 and W^IP_k by Eq. 8 in the two-step engine of
//! [`crate::two_step`], in mini-batches whose updates are averaged. Targets are one-hot rates
//! (0.1 for the wrong classes, 0.8 for the right one) turned into potentials with φ⁻¹; the
//! readout is the most active output neuron. The paper's split is used: the first 55 000
//! training images for learning, the last 5 000 for validation, the 10 000 test images for the
//! test error.
//!
//! The same experiment runs the paper's baselines: backprop on the same network
//! (`learner = "backprop"`, the batched form of the oracle `apical_rules::backprop` with gains 1,
//! tested against it), feedback alignment through the fixed B_k (`learner = "feedback-alignment"`),
//! a shallow learner (only W_N learns) and W_2 frozen, the last two expressed as zero learning
//! rates.
//!
//! Choices the paper leaves open, all options of [`MnistConfig`]:
//!
//! * learning rates are divided by the dilution of their teaching signal
//!   (`rescale_rates`, see [`crate::two_step::Rates::new`]), so that `plasticity.eta_up` are
//!   backprop-equivalent rates;
//! * W_k is drawn from U(−a_k, a_k) with a_k = `init.range` / √n_{k−1} (its presynaptic neurons,
//!   bias excluded), and B_k with the range of W_{k+1}ᵀ, a_{k+1} = `init.range` / √n_k
//!   (`fan_in_init`), so that the fixed feedback has the size of the transposed forward weights;
//! * a hidden layer fires at φ(v_B,k), as step 1 of spec §7 reads (`hidden_rates = "basal"`,
//!   the default), or at φ((1 − λ_A) v_B,k), the soma's potential without a target
//!   (`hidden_rates = "soma"`, see [`crate::two_step::HiddenRates`]). With the strong mixing used
//!   here the two differ: in the basal reading Eq. 7 gates the error by the slope of φ at
//!   (1 − λ_A) v_B,k, where the layer does not fire;
//! * the rates are multiplied by `eta_decay` after every epoch.
//!
//! # How fast the upper layers may learn
//!
//! W^IP_k has to follow W_{k+1}: a mismatch m between v^I_k and its self-predicting value
//! (1 − λ_{k+1}) v_B,{k+1} reaches the apical compartment undiluted, while the true teaching signal
//! there is λ times smaller than the error. With the rescaled rates Eq. 8 follows W_{k+1} to first
//! order, and corrects m like a delta rule whose gain per mini-batch is
//! (1 − λ_{k+1}) η̃_{k+1} G, where η̃_{k+1} = f_{k+1} η_{k+1} is the applied rate of W_{k+1} and
//! G = φ′(v^I) ‖r_k‖². Sigmoid rates share a large common component, so G is large: about
//! 0.25 × (number of active neurons) ≈ 60 in the basal reading, and about 0.25 × n_k / 4 ≈ 30
//! with soma rates, which sit near φ(0) = 1/2 (both estimates, not measurements). Above a gain
//! of 2 the interneurons stop tracking and learning collapses to chance, so the
//! backprop-equivalent rates of every matrix but W_1 are bounded:
//!
//! ```text
//! η_N < 2 λ_N / G,     η_{N−1} < 2 λ_N λ_A (1 − λ_I) / ((1 − λ_A) G)
//! ```
//!
//! With λ = 0.1 everywhere and G = 60 this is η_3 < 3·10⁻³ and η_2 < 3·10⁻⁴ (backprop trains
//! best with η_2 ≈ 0.2); the presets therefore use strong mixing (λ_A = λ_N = 0.8, λ_I = 0.1),
//! which allows η_2 ≈ 0.1 and η_3 ≈ 0.03 (twice that with G = 30). W_1 is not bounded this way:
//! when it changes, v_B,2 and v^I_1 see the same new r_1.
//!
//! Every epoch the validation and test errors are measured, the model with the lowest validation
//! error so far is saved as `best.bin`, and `checkpoint.bin` (written atomically) holds the
//! current weights with the epoch, the shuffling generator and the curves, so that `--resume`
//! continues exactly as an uninterrupted run would. A final mini-batch smaller than the batch
//! size is left out of each epoch. [`SavedModel`] reads either file back and measures it again,
//! image by image, as the run does (`apical eval`).

use std::path::Path;
use std::time::Instant;

use apical_datasets::mnist::{IMAGE_SIZE, Mnist, NUM_CLASSES, Split};
use apical_numerics::rate::RateFn;
use apical_numerics::{Matrix, Real, rng};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::{ExperimentConfig, Report, RunContext, save_checkpoint};
use crate::SimError;
use crate::checkpoint::{Checkpoint, decode, encode};
use crate::config::{ConfigError, LateralInit, RunConfig, invalid};
use crate::network::{Shape, Weights};
use crate::record::Recorder;
use crate::two_step::{Forward, HiddenRates, Learner, Mixing, Rates, TwoStep, make_self_predicting};

/// Settings of the MNIST experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MnistConfig {
    /// How W learns: the microcircuit's local rules or backprop on the same network.
    #[serde(default)]
    pub learner: Learner,
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per mini-batch; every update is averaged over the batch.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// The target rates of the wrong classes and of the right class.
    #[serde(default = "default_target_rates")]
    pub target_rates: [Real; 2],
    /// Divide every learning rate by the dilution of its teaching signal (microcircuit only).
    #[serde(default = "default_true")]
    pub rescale_rates: bool,
    /// Draw W_k from U(−a_k, a_k) with a_k = init.range / √n_{k−1}, and B_k with the range of W_{k+1}.
    #[serde(default = "default_true")]
    pub fan_in_init: bool,
    /// Which potential sets a hidden rate in the forward sweep (microcircuit only).
    #[serde(default)]
    pub hidden_rates: HiddenRates,
    /// The learning rates are multiplied by this factor after every epoch.
    #[serde(default = "default_eta_decay")]
    pub eta_decay: Real,
    /// Learn from the first this many training images only (all 55 000 if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_images: Option<usize>,
}

fn default_batch_size() -> usize {
    10
}
fn default_target_rates() -> [Real; 2] {
    [0.1, 0.8]
}
fn default_true() -> bool {
    true
}
fn default_eta_decay() -> Real {
    1.0
}

impl MnistConfig {
    pub(super) fn validate(&self, cfg: &RunConfig) -> Result<(), ConfigError> {
        let sizes = &cfg.network.sizes;
        if sizes[0] != IMAGE_SIZE || sizes[sizes.len() - 1] != NUM_CLASSES {
            return Err(invalid("network.sizes", format!("mnist needs {IMAGE_SIZE} inputs and {NUM_CLASSES} outputs")));
        }
        if self.epochs == 0 || self.batch_size == 0 {
            return Err(invalid("experiment.mnist", "epochs and batch_size must be ≥ 1"));
        }
        if self.train_images.is_some_and(|n| n < self.batch_size) {
            return Err(invalid("experiment.mnist.train_images", "must be at least one batch"));
        }
        if !(self.eta_decay.is_finite() && self.eta_decay > 0.0) {
            return Err(invalid("experiment.mnist.eta_decay", format!("must be positive, got {}", self.eta_decay)));
        }
        let [low, high] = self.target_rates;
        if low >= high {
            return Err(invalid("experiment.mnist.target_rates", "the right class needs the higher rate"));
        }
        for r in self.target_rates {
            cfg.network.phi.inverse(r).map_err(|e| invalid("experiment.mnist.target_rates", e.to_string()))?;
        }
        let p = &cfg.plasticity;
        if p.eta_pi.iter().chain(&p.eta_down).any(|&eta| eta != 0.0) {
            return Err(invalid(
                "plasticity",
                "the two-step engine keeps B and W^PI fixed: eta_pi and eta_down must be 0",
            ));
        }
        if self.learner != Learner::Microcircuit && self.hidden_rates != HiddenRates::Basal {
            return Err(invalid(
                "experiment.mnist.hidden_rates",
                format!("\"soma\" belongs to the microcircuit; {} needs \"basal\"", self.learner.name()),
            ));
        }
        if self.learner == Learner::Microcircuit {
            if cfg.init.lateral != LateralInit::SelfPredicting {
                return Err(invalid(
                    "init.lateral",
                    "the two-step microcircuit needs \"self-predicting\" (W^PI is fixed)",
                ));
            }
            let m = Mixing::from_conductances(&cfg.network.conductances);
            if ![m.lambda_a, m.lambda_n, m.lambda_i].iter().all(|&l| l > 0.0 && l < 1.0) {
                return Err(invalid(
                    "network.conductances",
                    format!(
                        "the two-step microcircuit needs mixing factors in (0, 1), got λ_A = {}, λ_N = {}, λ_I = {}",
                        m.lambda_a, m.lambda_n, m.lambda_i
                    ),
                ));
            }
        }
        Ok(())
    }
}

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
/// made self-predicting.
fn initial_weights(cfg: &RunConfig, e: &MnistConfig, shape: &Shape, mixing: &Mixing) -> Result<Weights, SimError> {
    let mut weights = Weights::from_config(cfg, shape);
    if e.fan_in_init {
        let n = &shape.sizes;
        for (k, s) in weights.up.iter_mut().enumerate() {
            s.w = s.w.scaled(1.0 / (n[k] as Real).sqrt());
        }
        for (k, s) in weights.down.iter_mut().enumerate() {
            s.w = s.w.scaled(1.0 / (n[k + 1] as Real).sqrt());
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

/// The weights and progress stored in `path` by an earlier run of the same configuration.
fn resume_from(cfg: &RunConfig, path: &Path) -> Result<(Weights, ResumeState), SimError> {
    if !path.is_file() {
        return Err(SimError::Other(format!("--resume: there is no checkpoint {} to continue from", path.display())));
    }
    let (checkpoint, stored) = Checkpoint::load(path)?;
    let same_run = |c: &RunConfig| {
        let mut c = c.clone();
        if let super::ExperimentConfig::Mnist(m) = &mut c.experiment {
            m.epochs = 0;
        }
        c
    };
    if same_run(&stored) != same_run(cfg) {
        return Err(SimError::Other(format!(
            "--resume: {} was written with another configuration (only experiment.mnist.epochs may change)",
            path.display()
        )));
    }
    let progress = decode(&checkpoint.resume, path, "resume state")?;
    Ok((checkpoint.weights, progress))
}

/// One flag per column of `output`, true where its most active row is not the label.
fn wrong_columns(output: &Matrix, labels: impl Iterator<Item = u8>) -> impl Iterator<Item = bool> {
    labels.enumerate().map(|(j, label)| {
        let column = output.col(j);
        let best = (0..column.len()).fold(0, |b, i| if column[i] > column[b] { i } else { b });
        best != usize::from(label)
    })
}

/// One flag per image of a split, true where the feedforward network's readout is wrong; the
/// images are evaluated in blocks.
fn misclassified(
    mnist: &Mnist,
    split: Split,
    weights: &Weights,
    shape: &Shape,
    phi: RateFn,
    hidden_gain: Real,
) -> Vec<bool> {
    const BLOCK: usize = 1000;
    let total = mnist.len(split);
    let mut wrong = Vec::with_capacity(total);
    let mut forwards: Vec<Forward> = Vec::new();
    let mut pixels = Vec::new();
    for start in (0..total).step_by(BLOCK) {
        let indices: Vec<usize> = (start..total.min(start + BLOCK)).collect();
        if forwards.last().is_none_or(|f| f.cols() != indices.len()) {
            forwards.push(Forward::new(shape, indices.len(), hidden_gain));
        }
        let forward = forwards.last_mut().expect("just made");
        pixels.resize(IMAGE_SIZE * indices.len(), 0.0);
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
    shape: Shape,
    phi: RateFn,
    hidden_gain: Real,
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
            shape: Shape { sizes: cfg.network.sizes.clone(), bias: cfg.network.bias },
            phi: cfg.network.phi,
            hidden_gain: e.hidden_rates.gain(&Mixing::from_conductances(&cfg.network.conductances)),
        })
    }

    /// The validation and test images the model misclassifies, measured as the run itself
    /// measures them after every epoch.
    pub fn evaluate(&self, mnist: &Mnist) -> Misclassified {
        let on = |split| misclassified(mnist, split, &self.weights, &self.shape, self.phi, self.hidden_gain);
        Misclassified { validation: on(Split::Validation), test: on(Split::Test) }
    }
}

/// The MNIST files in `data_dir/mnist`, or an error that says where they are expected.
pub fn load_mnist(data_dir: Option<&Path>) -> Result<Mnist, SimError> {
    let Some(data_dir) = data_dir else {
        return Err(SimError::Other(
            "mnist needs the MNIST files: pass --data DIR or set APICAL_DATA_DIR, where DIR/mnist holds \
             train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte \
             (each may be gzipped with a .gz suffix)"
                .into(),
        ));
    };
    Ok(Mnist::load(&data_dir.join("mnist"))?)
}

fn pct(x: Real) -> String {
    format!("{x:.2} %")
}

pub(super) fn run(cfg: &RunConfig, e: &MnistConfig, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    let mnist = load_mnist(ctx.data_dir.as_deref())?;
    let available = mnist.len(Split::Train);
    let n_train = e.train_images.unwrap_or(available);
    if n_train > available {
        return Err(SimError::Other(format!(
            "experiment.mnist.train_images = {n_train}, but the training split has only {available} images"
        )));
    }
    let shape = Shape { sizes: cfg.network.sizes.clone(), bias: cfg.network.bias };
    let phi = cfg.network.phi;
    let mixing = Mixing::from_conductances(&cfg.network.conductances);
    let checkpoint_path = ctx.file("checkpoint.bin");
    let (mut weights, mut state) = if ctx.resume {
        resume_from(cfg, &checkpoint_path)?
    } else {
        let weights = initial_weights(cfg, e, &shape, &mixing)?;
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
    let mut pixels = vec![0.0; IMAGE_SIZE * batch];
    let mut targets = vec![0.0; NUM_CLASSES * batch];
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
    let files = vec![csv, png, best_path, checkpoint_path];
    Ok(Report { experiment: "mnist".into(), rows, files })
}
