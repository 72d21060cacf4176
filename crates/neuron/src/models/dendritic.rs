use apical_numerics::{Real, rate::RateFn};

use crate::{Compartments, NeuronModel};

/// The paper's compartmental neuron (Urbanczik & Senn 2014): instantaneous dendrites and the
/// instantaneous rate r = φ(u).
#[derive(Debug, Clone, Copy)]
pub struct Dendritic(pub Compartments);

impl NeuronModel for Dendritic {
    fn name(&self) -> &'static str {
        "dendritic"
    }

    fn compartments(&self) -> &Compartments {
        &self.0
    }

    fn rate(&self, phi: &RateFn, u: &[Real], _du: &[Real], r: &mut [Real]) {
        phi.apply_slice(u, r);
    }

    fn rate_is_phi_of_u(&self) -> bool {
        true
    }
}
