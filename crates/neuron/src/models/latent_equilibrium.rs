use apical_numerics::{Real, rate::RateFn};

use crate::{Compartments, NeuronModel};

/// The prospective neuron of Latent Equilibrium (Haider et al., NeurIPS 2021): the same
/// compartments, but the neuron emits r = φ(u + τ_eff du/dt) with
/// τ_eff = 1/(g_lk + g_dend + g_apical + g_nudge), which looks ahead to where the soma is heading.
/// Engines pass the drift of the most recent step. At a steady state du/dt = 0 and the rate
/// equals the paper's φ(u).
#[derive(Debug, Clone, Copy)]
pub struct LatentEquilibrium(pub Compartments);

impl NeuronModel for LatentEquilibrium {
    fn name(&self) -> &'static str {
        "latent-equilibrium"
    }

    fn compartments(&self) -> &Compartments {
        &self.0
    }

    fn rate(&self, phi: &RateFn, u: &[Real], du: &[Real], r: &mut [Real]) {
        let c = self.0;
        let tau_eff = 1.0 / (c.g_lk + c.g_dend + c.g_apical + c.g_nudge);
        for i in 0..u.len() {
            r[i] = u[i] + tau_eff * du[i];
        }
        phi.apply_slice_in_place(r);
    }
}
