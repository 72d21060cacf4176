//! Rate functions r = φ(u), their derivatives φ′ and, where they exist, their inverses φ⁻¹.
//!
//! | name | φ(u) |
//! |---|---|
//! | soft rectifier | γ log(1 + exp(β(u − θ))), paper defaults γ = 0.1, β = 1, θ = 3 |
//! | logistic | 1 / (1 + e^(−u)) |
//! | softplus | log(1 + e^u) |
//! | tanh | tanh(u) |
//! | relu | max(u, 0) |
//! | linear | u |
//!
//! All are evaluated in forms that neither overflow nor lose precision for large |u|:
//! log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|)), and the logistic picks the branch whose exponent is ≤ 0.
//!
//! [`RateFn::phi`], [`RateFn::dphi`] and [`RateFn::apply`] evaluate one element at a time with the
//! platform's libm. [`RateFn::apply_slice`] and [`RateFn::dphi_slice`] evaluate a whole population
//! with the vectorised maps of [`crate::vmath`]: for the soft rectifier, the logistic and softplus
//! they agree with the scalar functions to 2 units in the last place (3 for the soft rectifier, whose
//! scaling by γ rounds once more; the bounds per map are listed there) and give the same bits whatever
//! the instruction set, slice length or position in the slice. The one exception is the logistic's
//! derivative: the slice computes e/(1 + e)² with e = e^(−|u|), to 2 ulp, where [`RateFn::dphi`]
//! computes s (1 − s), which cancels for large u; the two differ by less than 2⁻⁵² in absolute terms.
//! The other rate functions fall back to the scalar functions.

use serde::{Deserialize, Serialize};

use crate::Real;
use crate::vmath::{Isa, Map};

/// A rate function φ mapping a somatic potential to a firing rate.
///
/// In a configuration it is a table with a `kind` and, for the soft rectifier, its parameters;
/// any other key is refused (see [`RateFnTable`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", from = "RateFnTable")]
pub enum RateFn {
    /// γ log(1 + exp(β(u − θ))), the paper's choice for the Fig. 2 student and teacher.
    SoftRectifier {
        /// Output scale γ (0.1 where a configuration leaves it out).
        gamma: Real,
        /// Input slope β (1 where a configuration leaves it out).
        beta: Real,
        /// Threshold θ (3 where a configuration leaves it out).
        theta: Real,
    },
    /// 1 / (1 + e^(−u)), the paper's choice for MNIST.
    Logistic,
    /// log(1 + e^u).
    Softplus,
    /// tanh(u).
    Tanh,
    /// max(u, 0).
    Relu,
    /// The identity.
    Linear,
}

/// The table a configuration holds for a [`RateFn`]. Every kind is a struct variant here, so that
/// `deny_unknown_fields` refuses stray keys for the kinds without parameters too, which it does
/// not do for unit variants.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum RateFnTable {
    SoftRectifier {
        #[serde(default = "default_gamma")]
        gamma: Real,
        #[serde(default = "default_beta")]
        beta: Real,
        #[serde(default = "default_theta")]
        theta: Real,
    },
    Logistic {},
    Softplus {},
    Tanh {},
    Relu {},
    Linear {},
}

impl From<RateFnTable> for RateFn {
    fn from(table: RateFnTable) -> Self {
        match table {
            RateFnTable::SoftRectifier { gamma, beta, theta } => RateFn::SoftRectifier { gamma, beta, theta },
            RateFnTable::Logistic {} => RateFn::Logistic,
            RateFnTable::Softplus {} => RateFn::Softplus,
            RateFnTable::Tanh {} => RateFn::Tanh,
            RateFnTable::Relu {} => RateFn::Relu,
            RateFnTable::Linear {} => RateFn::Linear,
        }
    }
}

fn default_gamma() -> Real {
    0.1
}
fn default_beta() -> Real {
    1.0
}
fn default_theta() -> Real {
    3.0
}

/// The inverse φ⁻¹(r) does not exist for this rate function and value.
#[derive(Debug, Clone, PartialEq)]
pub struct NotInvertible {
    /// The rate function's name.
    pub phi: &'static str,
    /// The rate that has no preimage.
    pub rate: Real,
}

impl std::fmt::Display for NotInvertible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rate {} is outside the range of the {} rate function", self.rate, self.phi)
    }
}

impl std::error::Error for NotInvertible {}

/// log(1 + eˣ) without overflow.
#[inline]
pub fn softplus(x: Real) -> Real {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// 1 / (1 + e^(−x)) without overflow.
#[inline]
pub fn logistic(x: Real) -> Real {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl RateFn {
    /// The soft rectifier with the paper's parameters γ = 0.1, β = 1, θ = 3.
    pub const PAPER_SOFT_RECTIFIER: RateFn = RateFn::SoftRectifier { gamma: 0.1, beta: 1.0, theta: 3.0 };

    /// A short name, as used in configuration files.
    pub fn name(&self) -> &'static str {
        match self {
            RateFn::SoftRectifier { .. } => "soft-rectifier",
            RateFn::Logistic => "logistic",
            RateFn::Softplus => "softplus",
            RateFn::Tanh => "tanh",
            RateFn::Relu => "relu",
            RateFn::Linear => "linear",
        }
    }

    /// φ(u).
    #[inline]
    pub fn phi(&self, u: Real) -> Real {
        match *self {
            RateFn::SoftRectifier { gamma, beta, theta } => gamma * softplus(beta * (u - theta)),
            RateFn::Logistic => logistic(u),
            RateFn::Softplus => softplus(u),
            RateFn::Tanh => u.tanh(),
            RateFn::Relu => u.max(0.0),
            RateFn::Linear => u,
        }
    }

    /// φ′(u). For the relu the derivative at 0 is taken as 0.
    #[inline]
    pub fn dphi(&self, u: Real) -> Real {
        match *self {
            RateFn::SoftRectifier { gamma, beta, theta } => gamma * beta * logistic(beta * (u - theta)),
            RateFn::Logistic => {
                let s = logistic(u);
                s * (1.0 - s)
            }
            RateFn::Softplus => logistic(u),
            RateFn::Tanh => {
                let t = u.tanh();
                1.0 - t * t
            }
            RateFn::Relu => {
                if u > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            RateFn::Linear => 1.0,
        }
    }

    /// φ⁻¹(r), the potential whose rate is r; used to turn target rates into target potentials.
    pub fn inverse(&self, r: Real) -> Result<Real, NotInvertible> {
        let err = NotInvertible { phi: self.name(), rate: r };
        // log(eʸ − 1) = y + log(1 − e^(−y)), which stays finite for large y.
        let log_expm1 = |y: Real| y + (-(-y).exp_m1()).ln();
        match *self {
            RateFn::SoftRectifier { gamma, beta, theta } if r > 0.0 => Ok(theta + log_expm1(r / gamma) / beta),
            RateFn::Softplus if r > 0.0 => Ok(log_expm1(r)),
            RateFn::Logistic if r > 0.0 && r < 1.0 => Ok((r / (1.0 - r)).ln()),
            RateFn::Tanh if r > -1.0 && r < 1.0 => Ok(r.atanh()),
            RateFn::Relu if r > 0.0 => Ok(r),
            RateFn::Linear if r.is_finite() => Ok(r),
            _ => Err(err),
        }
    }

    /// r = φ(u) elementwise.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn apply(&self, u: &[Real], r: &mut [Real]) {
        assert_eq!(u.len(), r.len(), "rate: length mismatch");
        for (r, &u) in r.iter_mut().zip(u) {
            *r = self.phi(u);
        }
    }

    /// r = φ(u) elementwise, vectorised where [`crate::vmath`] covers φ (see the module docs).
    /// Allocates nothing.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn apply_slice(&self, u: &[Real], r: &mut [Real]) {
        self.apply_slice_on(Isa::detect(), u, r);
    }

    /// d = φ′(u) elementwise, vectorised where [`crate::vmath`] covers φ′ (see the module docs).
    /// Allocates nothing.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn dphi_slice(&self, u: &[Real], d: &mut [Real]) {
        self.dphi_slice_on(Isa::detect(), u, d);
    }

    /// x ← φ(x) elementwise, with the results of [`RateFn::apply_slice`]. Allocates nothing.
    pub fn apply_slice_in_place(&self, x: &mut [Real]) {
        match self.phi_map() {
            Some(map) => map.apply_in_place(x),
            None => {
                for x in x {
                    *x = self.phi(*x);
                }
            }
        }
    }

    fn apply_slice_on(&self, isa: Isa, u: &[Real], r: &mut [Real]) {
        match self.phi_map() {
            Some(map) => map.apply_on(isa, u, r),
            None => self.apply(u, r),
        }
    }

    fn dphi_slice_on(&self, isa: Isa, u: &[Real], d: &mut [Real]) {
        match self.dphi_map() {
            Some(map) => map.apply_on(isa, u, d),
            None => {
                assert_eq!(u.len(), d.len(), "rate: length mismatch");
                for (d, &u) in d.iter_mut().zip(u) {
                    *d = self.dphi(u);
                }
            }
        }
    }

    /// The vectorised map that computes φ, if there is one.
    fn phi_map(&self) -> Option<Map> {
        match *self {
            RateFn::SoftRectifier { gamma, beta, theta } => Some(Map::SoftRectifier { gamma, beta, theta }),
            RateFn::Logistic => Some(Map::Logistic),
            RateFn::Softplus => Some(Map::Softplus),
            RateFn::Tanh | RateFn::Relu | RateFn::Linear => None,
        }
    }

    /// The vectorised map that computes φ′, if there is one.
    fn dphi_map(&self) -> Option<Map> {
        match *self {
            RateFn::SoftRectifier { gamma, beta, theta } => Some(Map::SoftRectifierDeriv { gamma, beta, theta }),
            RateFn::Logistic => Some(Map::LogisticDeriv),
            RateFn::Softplus => Some(Map::Logistic),
            RateFn::Tanh | RateFn::Relu | RateFn::Linear => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [RateFn; 6] =
        [RateFn::PAPER_SOFT_RECTIFIER, RateFn::Logistic, RateFn::Softplus, RateFn::Tanh, RateFn::Relu, RateFn::Linear];

    #[test]
    fn derivative_matches_central_difference() {
        let h = 1e-6;
        for phi in ALL {
            for &u in &[-7.3, -1.2, 0.4, 2.9, 3.1, 8.5] {
                let fd = (phi.phi(u + h) - phi.phi(u - h)) / (2.0 * h);
                assert!((fd - phi.dphi(u)).abs() < 1e-7, "{} at {u}: {fd} vs {}", phi.name(), phi.dphi(u));
            }
        }
    }

    #[test]
    fn inverse_round_trips() {
        for phi in ALL {
            for &u in &[-3.0, -0.5, 0.3, 2.0, 5.0, 30.0] {
                let r = phi.phi(u);
                if let Ok(back) = phi.inverse(r) {
                    // The inverse cannot be more precise than the rate's own rounding allows.
                    let tol = 1e-9 * (1.0 + u.abs()) + 8.0 * Real::EPSILON * r.abs().max(1.0) / phi.dphi(u);
                    assert!((back - u).abs() < tol, "{} at {u}: {back}", phi.name());
                }
            }
        }
    }

    #[test]
    fn no_overflow_for_large_arguments() {
        for phi in ALL {
            for &u in &[-1e300, -800.0, 800.0, 1e300] {
                assert!(phi.phi(u).is_finite(), "{} at {u}", phi.name());
                assert!(phi.dphi(u).is_finite(), "{}' at {u}", phi.name());
            }
        }
        assert_eq!(RateFn::Logistic.phi(800.0), 1.0);
        assert_eq!(RateFn::Logistic.phi(-800.0), 0.0);
        assert!((RateFn::Softplus.phi(800.0) - 800.0).abs() < 1e-12);
        assert!((RateFn::Softplus.inverse(800.0).unwrap() - 800.0).abs() < 1e-12);
    }

    #[test]
    fn out_of_range_rates_are_refused() {
        assert!(RateFn::Logistic.inverse(1.0).is_err());
        assert!(RateFn::Logistic.inverse(0.0).is_err());
        assert!(RateFn::Tanh.inverse(-1.0).is_err());
        assert!(RateFn::PAPER_SOFT_RECTIFIER.inverse(0.0).is_err());
        let e = RateFn::Relu.inverse(-0.5).unwrap_err();
        assert_eq!(e.to_string(), "rate -0.5 is outside the range of the relu rate function");
    }

    #[test]
    fn slices_match_the_scalar_functions_on_every_isa() {
        let u: Vec<Real> = (0..=4000).map(|i| -40.0 + 0.02 * i as Real).chain([Real::NAN, 800.0, -800.0]).collect();
        let isas = [Isa::Libm, Isa::Scalar, Isa::Avx2Fma, Isa::Avx512].into_iter().filter(|isa| isa.is_supported());
        let distance = |a: Real, b: Real| {
            let ordered = |x: Real| {
                let bits = x.to_bits() as i64;
                if bits < 0 { i64::MIN - bits } else { bits }
            };
            if a.is_nan() && b.is_nan() { 0 } else { ordered(a).abs_diff(ordered(b)) }
        };
        for isa in isas {
            for phi in ALL {
                let mut r = vec![0.0; u.len()];
                let mut d = vec![0.0; u.len()];
                phi.apply_slice_on(isa, &u, &mut r);
                phi.dphi_slice_on(isa, &u, &mut d);
                for (i, &u) in u.iter().enumerate() {
                    let (r_ulp, d_ulp) = (distance(r[i], phi.phi(u)), distance(d[i], phi.dphi(u)));
                    match phi {
                        RateFn::Tanh | RateFn::Relu | RateFn::Linear => assert_eq!((r_ulp, d_ulp), (0, 0)),
                        RateFn::Logistic => {
                            assert!(r_ulp <= 2, "{} at {u}: {} vs {}", phi.name(), r[i], phi.phi(u));
                            assert!(
                                d_ulp == 0 || (d[i] - phi.dphi(u)).abs() < Real::EPSILON,
                                "{}' at {u}: {:e} vs {:e}",
                                phi.name(),
                                d[i],
                                phi.dphi(u)
                            );
                        }
                        _ => assert!(r_ulp <= 3 && d_ulp <= 3, "{} at {u}: {r_ulp}, {d_ulp} ulp", phi.name()),
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "length mismatch")]
    fn derivative_slices_must_match_in_length() {
        RateFn::Tanh.dphi_slice(&[0.0], &mut []);
    }

    #[test]
    fn soft_rectifier_matches_definition() {
        let phi = RateFn::PAPER_SOFT_RECTIFIER;
        let u = 1.7;
        let direct = 0.1 * (1.0 + (u - 3.0_f64).exp()).ln();
        assert!((phi.phi(u) - direct).abs() < 1e-15);
    }
}
