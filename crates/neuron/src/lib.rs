//! Neuron models of the dendritic cortical microcircuit (Sacramento et al., NeurIPS 2018).
//!
//! Every neuron has a soma u with leak g_lk (capacitance 1, rest 0) and instantaneous dendrites
//! that pull it with conductances towards their potentials. The paper uses three roles:
//!
//! ```text
//! hidden pyramidal (Eq. 1):  du/dt   = −g_lk u + g_B (v_B − u) + g_A (v_A − u)
//! interneuron      (Eq. 2):  du^I/dt = −g_lk u^I + g_D (v^I − u^I) + g_som^I (u_{k+1} − u^I)
//! output pyramidal:          du_N/dt = −g_lk u_N + g_B (v_B − u_N) + g_som (u_trgt − u_N)   (target on)
//! ```
//!
//! One [`Compartments`] value describes a role: a dendritic conductance (`g_dend` = g_B or g_D),
//! an apical conductance (g_A for hidden pyramidal neurons, 0 otherwise) and a nudging
//! conductance (g_som^I for interneurons, g_som for the output while a target is shown). The
//! steady state and the attenuated dendritic prediction follow:
//!
//! ```text
//! u* = (g_dend v_dend + g_apical v_apical + g_nudge v_nudge) / (g_lk + g_dend + g_apical + g_nudge)
//! v̂  = c v_dend,   c = g_dend / (g_lk + g_dend + g_apical)      (the nudging conductance is excluded)
//! ```
//!
//! A neuron model implements [`NeuronModel`] for a whole population at once. New models are one
//! file in `src/models/` and one line in [`MODELS`]; the conformance tests in `tests/` run
//! against every registered model.
//!
//! ```
//! use apical_neuron::{build, CompartmentParams, Drive, Role};
//!
//! let params = CompartmentParams::default();
//! let pyramidal = build("dendritic", Role::Pyramidal, &params).unwrap();
//! // With v_B = 1 and v_A = 0: u* = g_B / (g_lk + g_B + g_A) = 1 / 1.9.
//! let mut u = [0.0];
//! pyramidal.steady_state(&Drive { v_dend: &[1.0], v_apical: Some(&[0.0]), nudge: None }, &mut u);
//! assert!((u[0] - 1.0 / 1.9).abs() < 1e-15);
//! assert!((pyramidal.prediction_gain() - 1.0 / 1.9).abs() < 1e-15);
//! ```

mod compartments;
mod models;

pub use compartments::{CompartmentParams, Compartments, Role, nudging_current_conductance_form};
pub use models::{Dendritic, LatentEquilibrium, MODELS};

use apical_numerics::{Real, rate::RateFn};

/// The dendritic input of a population at one instant. All slices have the population's size.
#[derive(Debug, Clone, Copy)]
pub struct Drive<'a> {
    /// The dendritic potential that predicts the soma: v_B for pyramidal neurons, v^I for interneurons.
    pub v_dend: &'a [Real],
    /// The apical potential v_A (hidden pyramidal neurons only).
    pub v_apical: Option<&'a [Real]>,
    /// The potential the soma is nudged towards (u_trgt at the output, u_{k+1} for interneurons),
    /// or `None` while no nudging current flows.
    pub nudge: Option<&'a [Real]>,
}

/// A neuron model: the dynamics and rate readout of one population of neurons in one role.
///
/// Methods work on whole populations so that an engine makes one call per layer per step.
pub trait NeuronModel: Send + Sync + std::fmt::Debug {
    /// The registry name of the model.
    fn name(&self) -> &'static str;

    /// The conductances of the role this population plays.
    fn compartments(&self) -> &Compartments;

    /// du/dt without noise, written into `du`.
    fn drift(&self, u: &[Real], drive: &Drive<'_>, du: &mut [Real]) {
        self.compartments().drift(u, drive, du);
    }

    /// The potential at which the drift vanishes for a fixed drive.
    fn steady_state(&self, drive: &Drive<'_>, u: &mut [Real]) {
        self.compartments().steady_state(drive, u);
    }

    /// The attenuation c of the dendritic prediction v̂ = c v_dend that enters plasticity.
    fn prediction_gain(&self) -> Real {
        self.compartments().prediction_gain()
    }

    /// The rate the population emits, given its potential and its latest drift. Models evaluate φ
    /// over the whole population with [`RateFn::apply_slice`] (or its in-place form), so that an
    /// emitted rate φ(u) has the bits of the slice map.
    fn rate(&self, phi: &RateFn, u: &[Real], du: &[Real], r: &mut [Real]);

    /// Whether the emitted rate is exactly φ(u), so that engines may reuse it wherever the
    /// plasticity rules need φ(u). Models with any other readout keep the default, `false`.
    fn rate_is_phi_of_u(&self) -> bool {
        false
    }
}

/// No neuron model of that name is registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown neuron model '{name}' (known: {known})")]
pub struct UnknownModel {
    /// The name that was asked for.
    pub name: String,
    /// The registered names, comma separated.
    pub known: String,
}

/// Builds the registered model `name` for a population in `role`.
pub fn build(name: &str, role: Role, params: &CompartmentParams) -> Result<Box<dyn NeuronModel>, UnknownModel> {
    MODELS.iter().find(|(n, _)| *n == name).map(|(_, make)| make(params.role(role))).ok_or_else(|| UnknownModel {
        name: name.to_string(),
        known: MODELS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
    })
}
