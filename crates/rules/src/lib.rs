//! Local plasticity rules of the dendritic cortical microcircuit.
//!
//! Every rule has the Urbanczik–Senn form "postsynaptic factor × presynaptic rate", filtered by a
//! trace with time constant τ_w and scaled by a learning rate η:
//!
//! ```text
//! I      = post · preᵀ                     (the induction)
//! τ_w dΔ/dt = −Δ + I,    dW/dt = η Δ
//! ```
//!
//! The paper's four rules differ only in the postsynaptic factor ([`Rule`]):
//!
//! ```text
//! Eq. 7   W_k     (BottomUp):        post = φ(u_k)   − φ(v̂_B,k),   pre = r_{k−1}
//! Eq. 8   W^IP_k  (InterneuronUp):   post = φ(u^I_k) − φ(v̂^I_k),   pre = r_k
//! Eq. 9   W^PI_k  (InterneuronDown): post = 0 − v_A,k,              pre = r^I_k
//! Eq. 10  B_k     (TopDown):         post = φ(u_k)   − φ(B_k r_{k+1}), pre = r_{k+1}
//! ```
//!
//! [`backprop`] is the analytic gradient these rules approximate (spec §6).
//!
//! [`Synapses`] holds a matrix with its trace and learning rate and applies the fused kernel of
//! [`apical_numerics::kernels::plasticity_pass`].
//!
//! ```
//! use apical_numerics::{Matrix, rate::RateFn};
//! use apical_rules::{BottomUp, PostSignals, Rule};
//!
//! // A soma that sits exactly at its dendritic prediction induces no change.
//! let mut post = [1.0; 2];
//! let phi = RateFn::Logistic;
//! let rate = [phi.phi(0.3), phi.phi(-0.2)];
//! BottomUp.post_factor(&phi, &PostSignals { rate: &rate, prediction: &[0.3, -0.2] }, &mut post);
//! assert_eq!(post, [0.0, 0.0]);
//! ```

pub mod backprop;
mod synapses;

pub use synapses::{Synapses, TraceParams};

use apical_numerics::{Real, rate::RateFn};

/// The postsynaptic quantities a rule reads. Both slices have the postsynaptic population's size.
#[derive(Debug, Clone, Copy)]
pub struct PostSignals<'a> {
    /// The somatic rate φ(u_k) or φ(u^I_k); unused by Eq. 9. Engines pass the rate they have
    /// already computed, so that φ is evaluated once per neuron and step.
    pub rate: &'a [Real],
    /// The dendritic prediction the soma is compared with: v̂_B,k (Eq. 7), v̂^I_k (Eq. 8),
    /// v_A,k (Eq. 9) or B_k r_{k+1} (Eq. 10).
    pub prediction: &'a [Real],
}

/// A local plasticity rule: computes the postsynaptic factor of its induction term.
pub trait Rule: Send + Sync + std::fmt::Debug {
    /// A short name for logs and configuration.
    fn name(&self) -> &'static str;

    /// Writes the postsynaptic factor into `out`.
    fn post_factor(&self, phi: &RateFn, s: &PostSignals<'_>, out: &mut [Real]);
}

/// φ(u) − φ(prediction), the Urbanczik–Senn dendritic prediction error, with φ of the whole
/// population evaluated at once by [`RateFn::apply_slice`].
fn prediction_error(phi: &RateFn, s: &PostSignals<'_>, out: &mut [Real]) {
    assert!(s.rate.len() == out.len() && s.prediction.len() == out.len(), "rule: length mismatch");
    phi.apply_slice(s.prediction, out);
    for (o, &r) in out.iter_mut().zip(s.rate) {
        *o = r - *o;
    }
}

/// Eq. 7: bottom-up weights learn to predict the somatic rate from the basal dendrite.
#[derive(Debug, Clone, Copy, Default)]
pub struct BottomUp;

/// Eq. 8: pyramidal-to-interneuron weights learn to predict the interneuron's nudged rate.
#[derive(Debug, Clone, Copy, Default)]
pub struct InterneuronUp;

/// Eq. 9: interneuron-to-pyramidal weights learn to silence the apical compartment.
#[derive(Debug, Clone, Copy, Default)]
pub struct InterneuronDown;

/// Eq. 10: top-down weights learn to predict the somatic rate from the layer above.
#[derive(Debug, Clone, Copy, Default)]
pub struct TopDown;

impl Rule for BottomUp {
    fn name(&self) -> &'static str {
        "bottom-up (Eq. 7)"
    }
    fn post_factor(&self, phi: &RateFn, s: &PostSignals<'_>, out: &mut [Real]) {
        prediction_error(phi, s, out);
    }
}

impl Rule for InterneuronUp {
    fn name(&self) -> &'static str {
        "interneuron-up (Eq. 8)"
    }
    fn post_factor(&self, phi: &RateFn, s: &PostSignals<'_>, out: &mut [Real]) {
        prediction_error(phi, s, out);
    }
}

impl Rule for InterneuronDown {
    fn name(&self) -> &'static str {
        "interneuron-down (Eq. 9)"
    }
    fn post_factor(&self, _phi: &RateFn, s: &PostSignals<'_>, out: &mut [Real]) {
        assert_eq!(s.prediction.len(), out.len(), "rule: length mismatch");
        for (o, &v_a) in out.iter_mut().zip(s.prediction) {
            *o = -v_a;
        }
    }
}

impl Rule for TopDown {
    fn name(&self) -> &'static str {
        "top-down (Eq. 10)"
    }
    fn post_factor(&self, phi: &RateFn, s: &PostSignals<'_>, out: &mut [Real]) {
        prediction_error(phi, s, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_factors_follow_the_equations() {
        let phi = RateFn::Logistic;
        let rate = [phi.phi(0.5), phi.phi(-1.0)];
        let s = PostSignals { rate: &rate, prediction: &[0.2, 0.3] };
        // The rules evaluate φ of the prediction with the slice map, whose bits they must match.
        let mut phi_v = [0.0; 2];
        phi.apply_slice(s.prediction, &mut phi_v);
        let mut out = [0.0; 2];
        for rule in [&BottomUp as &dyn Rule, &InterneuronUp, &TopDown] {
            rule.post_factor(&phi, &s, &mut out);
            assert_eq!(out, [rate[0] - phi_v[0], rate[1] - phi_v[1]], "{}", rule.name());
        }
        InterneuronDown.post_factor(&phi, &s, &mut out);
        assert_eq!(out, [-0.2, -0.3]);
    }
}
