use serde::{Deserialize, Serialize};

use apical_numerics::Real;

use crate::Drive;

/// The conductances shared by a network (paper defaults, spec §8).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompartmentParams {
    /// Somatic leak g_lk.
    pub g_lk: Real,
    /// Basal-to-soma conductance g_B of pyramidal neurons.
    pub g_b: Real,
    /// Apical-to-soma conductance g_A of hidden pyramidal neurons.
    pub g_a: Real,
    /// Dendrite-to-soma conductance g_D of interneurons.
    pub g_d: Real,
    /// Nudging conductance g_som of the output layer.
    pub g_som: Real,
    /// Nudging conductance g_som^I of interneurons.
    pub g_som_i: Real,
}

impl Default for CompartmentParams {
    fn default() -> Self {
        CompartmentParams { g_lk: 0.1, g_b: 1.0, g_a: 0.8, g_d: 1.0, g_som: 0.8, g_som_i: 0.8 }
    }
}

/// The three roles a neuron plays in the paper's microcircuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A hidden-layer pyramidal neuron: basal and apical dendrites, no nudging.
    Pyramidal,
    /// An interneuron: one dendrite, nudged by the pyramidal neuron above it.
    Interneuron,
    /// An output pyramidal neuron: basal dendrite, nudged by the target while one is shown.
    Output,
}

/// The conductances of one role: the leak, the predicting dendrite, the apical dendrite and the
/// nudging current.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Compartments {
    /// Leak g_lk.
    pub g_lk: Real,
    /// Conductance of the predicting dendrite (g_B or g_D).
    pub g_dend: Real,
    /// Conductance of the apical dendrite (g_A, or 0).
    pub g_apical: Real,
    /// Conductance of the nudging current (g_som, g_som^I, or 0).
    pub g_nudge: Real,
}

impl CompartmentParams {
    /// The conductances of `role`.
    pub fn role(&self, role: Role) -> Compartments {
        match role {
            Role::Pyramidal => Compartments { g_lk: self.g_lk, g_dend: self.g_b, g_apical: self.g_a, g_nudge: 0.0 },
            Role::Interneuron => {
                Compartments { g_lk: self.g_lk, g_dend: self.g_d, g_apical: 0.0, g_nudge: self.g_som_i }
            }
            Role::Output => Compartments { g_lk: self.g_lk, g_dend: self.g_b, g_apical: 0.0, g_nudge: self.g_som },
        }
    }

    /// λ_A = g_A / (g_lk + g_B + g_A), the apical mixing factor of hidden layers.
    pub fn lambda_a(&self) -> Real {
        self.g_a / (self.g_lk + self.g_b + self.g_a)
    }

    /// λ_N = g_som / (g_lk + g_B + g_som), the nudging strength of the output layer.
    pub fn lambda_n(&self) -> Real {
        self.g_som / (self.g_lk + self.g_b + self.g_som)
    }

    /// λ_I = g_som^I / (g_lk + g_D + g_som^I), the nudging strength of interneurons.
    pub fn lambda_i(&self) -> Real {
        self.g_som_i / (self.g_lk + self.g_d + self.g_som_i)
    }
}

impl Compartments {
    /// c = g_dend / (g_lk + g_dend + g_apical); the nudging conductance is deliberately excluded.
    pub fn prediction_gain(&self) -> Real {
        self.g_dend / (self.g_lk + self.g_dend + self.g_apical)
    }

    /// du = −g_lk u + g_dend (v_dend − u) + g_apical (v_apical − u) + g_nudge (v_nudge − u).
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn drift(&self, u: &[Real], drive: &Drive<'_>, du: &mut [Real]) {
        let n = u.len();
        assert!(drive.v_dend.len() == n && du.len() == n, "drift: length mismatch");
        let Compartments { g_lk, g_dend, g_apical, g_nudge } = *self;
        for i in 0..n {
            du[i] = -g_lk * u[i] + g_dend * (drive.v_dend[i] - u[i]);
        }
        if let Some(v_a) = drive.v_apical {
            for i in 0..n {
                du[i] += g_apical * (v_a[i] - u[i]);
            }
        }
        if let Some(target) = drive.nudge {
            for i in 0..n {
                du[i] += g_nudge * (target[i] - u[i]);
            }
        }
    }

    /// The potential at which the drift vanishes.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn steady_state(&self, drive: &Drive<'_>, u: &mut [Real]) {
        let n = u.len();
        assert_eq!(drive.v_dend.len(), n, "steady state: length mismatch");
        let g_a = if drive.v_apical.is_some() { self.g_apical } else { 0.0 };
        let g_n = if drive.nudge.is_some() { self.g_nudge } else { 0.0 };
        let total = self.g_lk + self.g_dend + g_a + g_n;
        for i in 0..n {
            let mut num = self.g_dend * drive.v_dend[i];
            if let Some(v_a) = drive.v_apical {
                num += g_a * v_a[i];
            }
            if let Some(target) = drive.nudge {
                num += g_n * target[i];
            }
            u[i] = num / total;
        }
    }
}

/// The paper's conductance form of the teacher current,
/// i = g_exc (E_exc − u) + g_inh (E_inh − u) with g_exc = g_som (u_trgt − E_inh)/(E_exc − E_inh)
/// and g_inh = −g_som (u_trgt − E_exc)/(E_exc − E_inh). It equals g_som (u_trgt − u) exactly for
/// any E_exc ≠ E_inh, which is why the engines use the simple form.
pub fn nudging_current_conductance_form(g_som: Real, u_trgt: Real, e_exc: Real, e_inh: Real, u: Real) -> Real {
    let g_exc = g_som * (u_trgt - e_inh) / (e_exc - e_inh);
    let g_inh = -g_som * (u_trgt - e_exc) / (e_exc - e_inh);
    g_exc * (e_exc - u) + g_inh * (e_inh - u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_constants() {
        let p = CompartmentParams::default();
        assert!((p.role(Role::Pyramidal).prediction_gain() - 0.5263).abs() < 1e-4);
        assert!((p.role(Role::Output).prediction_gain() - 0.9091).abs() < 1e-4);
        assert!((p.role(Role::Interneuron).prediction_gain() - 0.9091).abs() < 1e-4);
        assert!((p.lambda_a() - 0.421).abs() < 1e-3);
        assert!((p.lambda_n() - 0.421).abs() < 1e-3);
        assert!((p.lambda_i() - 0.421).abs() < 1e-3);
    }

    #[test]
    fn conductance_form_equals_simple_form() {
        for &(e_exc, e_inh) in &[(1.0, -1.0), (4.67, -0.33), (-2.0, 3.0), (0.5, 0.4)] {
            for &(u_trgt, u) in &[(0.3, -0.2), (-1.5, 2.0), (4.0, 4.0), (0.0, 10.0)] {
                let g = 0.8;
                let a = nudging_current_conductance_form(g, u_trgt, e_exc, e_inh, u);
                let b = g * (u_trgt - u);
                assert!(
                    (a - b).abs() < 1e-12 * (1.0 + b.abs()),
                    "E=({e_exc},{e_inh}) u_trgt={u_trgt} u={u}: {a} vs {b}"
                );
            }
        }
    }
}
