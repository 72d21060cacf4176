//! MNIST with the simplified two-step dynamics (spec §7, §9).
//!
//! A 784-500-500-10 network with the logistic φ and a plastic bias on every neuron learns the
//! handwritten digits from a self-predicting start. Top-down B_k and W^PI_k = −B_k stay fixed
//! and random unless `plasticity.eta_pi` and `eta_down` are set (Eqs. 9 and 10; the preset
//! `mnist-learned-feedback` learns every matrix of a 784-1000-10 network from a random start,
//! which needs W^PI and W^IP to learn); W_k learns by Eq. 7 and W^IP_k by Eq. 8 in the two-step engine of
//! [`crate::engine::two_step`], in mini-batches whose updates are averaged. Targets are one-hot rates
//! (0.1 for the wrong classes, 0.8 for the right one) turned into potentials with φ⁻¹; the
//! readout is the most active output neuron. The paper's split is used: the first 55 000
//! training images for learning, the last 5 000 for validation, the 10 000 test images for the
//! test error.
//!
//! Any data set in MNIST's four IDX files runs the same way: `data_folder` names its folder inside
//! the data folder (`mnist` by default; Debian's `dataset-fashion-mnist` installs
//! `/usr/share/datasets/fashion-mnist`), `validation_images` the size of its validation split
//! (5 000 by default). The network's first width must be the images' pixels and its last the
//! number of classes (one more than the largest label); the run checks both when it has read the
//! files and names `network.sizes` and the data's size when they differ.
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
//!   (`rescale_rates`, see [`crate::engine::two_step::Rates::new`]), so that `plasticity.eta_up` are
//!   backprop-equivalent rates;
//! * W_k is drawn from U(−a_k, a_k) with a_k = `init.range` / √n_{k−1} (its presynaptic neurons,
//!   bias excluded), and B_k with the range of W_{k+1}ᵀ, a_{k+1} = `init.range` / √n_k
//!   (`fan_in_init`), so that the fixed feedback has the size of the transposed forward weights;
//!   from a random start W^PI_k is drawn like B_k and W^IP_k like W_{k+1}, the matrices they learn
//!   to match;
//! * a hidden layer fires at φ(v_B,k), as step 1 of spec §7 reads (`hidden_rates = "basal"`,
//!   the default), or at φ((1 − λ_A) v_B,k), the soma's potential without a target
//!   (`hidden_rates = "soma"`, see [`crate::engine::two_step::HiddenRates`]). With the strong mixing used
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

pub(crate) mod run;

use apical_datasets::mnist::{DEFAULT_VALIDATION, MAX_ITEMS};
use apical_numerics::Real;
use serde::{Deserialize, Serialize};

use crate::engine::config::{ConfigError, LateralInit, ModelConfig, at_most, check_memory, invalid};

/// The most epochs; the paper trains for 60.
pub const MAX_EPOCHS: usize = 10_000;

/// The largest mini-batch: the paper's training split of 55 000 images.
pub const MAX_BATCH_SIZE: usize = 55_000;

/// The columns of one block of the evaluation's forward sweeps.
pub(crate) const EVAL_BLOCK: usize = 1000;
use crate::engine::two_step::{HiddenRates, Learner, Mixing};

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
    #[serde(default = "default_target_rates", deserialize_with = "two_rates")]
    pub target_rates: [Real; 2],
    /// Divide every learning rate by the dilution of its teaching signal (microcircuit only).
    #[serde(default = "default_true")]
    pub rescale_rates: bool,
    /// Draw W_k from U(−a_k, a_k) with a_k = init.range / √n_{k−1}, B_k and W^PI_k with the range
    /// of W_{k+1}ᵀ, and W^IP_k with that of W_{k+1}.
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
    /// How many images at the end of the training file form the validation split.
    #[serde(default = "default_validation_images")]
    pub validation_images: usize,
    /// The folder inside the data folder (`--data`) that holds the four IDX files.
    #[serde(default = "default_data_folder")]
    pub data_folder: String,
}

fn default_validation_images() -> usize {
    DEFAULT_VALIDATION
}
fn default_data_folder() -> String {
    "mnist".into()
}

fn default_batch_size() -> usize {
    10
}
/// Reads `target_rates` as a list of exactly two numbers; a longer list is refused rather than cut.
fn two_rates<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<[Real; 2], D::Error> {
    let rates = Vec::<Real>::deserialize(deserializer)?;
    <[Real; 2]>::try_from(rates.as_slice()).map_err(|_| {
        serde::de::Error::custom(format!("target_rates needs two rates [wrong, right], got {}", rates.len()))
    })
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
    pub(crate) fn validate(&self, cfg: &ModelConfig) -> Result<(), ConfigError> {
        if !cfg.plasticity.has_default_schedule() {
            let problem =
                "mnist counts epochs, not patterns (see experiment.mnist.eta_decay); leave the default, one stage ×1";
            return Err(invalid("plasticity.schedule", problem));
        }
        if cfg.init.w_up_range.is_some() {
            let problem = "mnist scales init.range by each layer's fan-in for every matrix; leave it unset";
            return Err(invalid("init.w_up_range", problem));
        }
        if !cfg.plasticity.w_up_max.is_empty() {
            let problem = "weight bounds are applied by the continuous-time engine only; leave it empty for mnist";
            return Err(invalid("plasticity.w_up_max", problem));
        }
        let sizes = &cfg.network.sizes;
        let folder = &self.data_folder;
        let plain = std::path::Path::new(folder).components().count() == 1
            && !matches!(folder.as_str(), "." | "..")
            && !folder.contains(['/', '\\'])
            && !folder.chars().any(char::is_control);
        if !plain {
            return Err(invalid(
                "experiment.mnist.data_folder",
                format!("{folder:?} must name one folder inside the data folder (no separators, not . or ..)"),
            ));
        }
        if self.validation_images == 0 {
            return Err(invalid("experiment.mnist.validation_images", "must be ≥ 1"));
        }
        at_most("experiment.mnist.validation_images", self.validation_images, MAX_ITEMS)?;
        if self.epochs == 0 || self.batch_size == 0 {
            return Err(invalid("experiment.mnist", "epochs and batch_size must be ≥ 1"));
        }
        at_most("experiment.mnist.epochs", self.epochs, MAX_EPOCHS)?;
        at_most("experiment.mnist.batch_size", self.batch_size, MAX_BATCH_SIZE)?;
        if self.train_images.is_some_and(|n| n < self.batch_size) {
            return Err(invalid("experiment.mnist.train_images", "must be at least one batch"));
        }
        if let Some(n) = self.train_images {
            at_most("experiment.mnist.train_images", n, MAX_ITEMS)?;
        }
        // The two-step engine keeps about a dozen matrices of (n_k + 1) × batch values.
        let neurons: f64 = sizes.iter().map(|&n| n as f64 + 1.0).sum();
        check_memory(&[
            ("network.sizes", "the weights and their traces", 16.0 * cfg.network.weight_count()),
            ("experiment.mnist.batch_size", "the mini-batch buffers", 12.0 * 8.0 * neurons * self.batch_size as f64),
            ("network.sizes", "the evaluation buffers", 2.0 * 8.0 * neurons * EVAL_BLOCK as f64),
            ("experiment.mnist.train_images", "the shuffled indices", 8.0 * self.train_images.unwrap_or(0) as f64),
        ])?;
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
        if self.learner != Learner::Microcircuit && p.eta_pi.iter().chain(&p.eta_down).any(|&eta| eta != 0.0) {
            return Err(invalid(
                "plasticity",
                format!(
                    "{} has no interneurons or apical compartments: eta_pi and eta_down must be 0",
                    self.learner.name()
                ),
            ));
        }
        if self.learner != Learner::Microcircuit && self.hidden_rates != HiddenRates::Basal {
            return Err(invalid(
                "experiment.mnist.hidden_rates",
                format!("\"soma\" belongs to the microcircuit; {} needs \"basal\"", self.learner.name()),
            ));
        }
        if self.learner == Learner::Microcircuit {
            let learns_lateral = p.eta_pi.iter().chain(&p.eta_ip).all(|&eta| eta > 0.0);
            if cfg.init.lateral != LateralInit::SelfPredicting && !learns_lateral {
                return Err(invalid(
                    "init.lateral",
                    "the two-step microcircuit needs \"self-predicting\" unless every W^PI and W^IP learns \
                     (all of plasticity.eta_pi and eta_ip above 0)",
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
