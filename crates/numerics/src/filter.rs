use serde::{Deserialize, Serialize};

use crate::Real;

/// A first-order low-pass filter τ dy/dt = x − y, stepped by explicit Euler:
/// y ← y + (dt/τ)(x − y). With τ = 0 the filter is transparent (y ← x).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LowPass {
    /// The time constant τ, in the same unit as the step.
    pub tau: Real,
}

impl LowPass {
    /// Advances the filtered values `y` by one step of length `dt` towards the inputs `x`.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn step(&self, y: &mut [Real], x: &[Real], dt: Real) {
        assert_eq!(y.len(), x.len(), "low-pass: length mismatch");
        let a = if self.tau > 0.0 { (dt / self.tau).min(1.0) } else { 1.0 };
        for (y, &x) in y.iter_mut().zip(x) {
            *y += a * (x - *y);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approaches_the_input_exponentially() {
        let f = LowPass { tau: 3.0 };
        let mut y = [0.0];
        let dt = 0.001;
        for _ in 0..3000 {
            f.step(&mut y, &[1.0], dt);
        }
        // After one time constant the filter has covered 1 − 1/e of the way.
        assert!((y[0] - (1.0 - (-1.0f64).exp())).abs() < 1e-3);
    }

    #[test]
    fn zero_tau_is_transparent() {
        let mut y = [0.3, -2.0];
        LowPass { tau: 0.0 }.step(&mut y, &[1.0, 4.0], 0.1);
        assert_eq!(y, [1.0, 4.0]);
    }
}
