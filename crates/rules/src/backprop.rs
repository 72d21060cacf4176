//! The analytic backprop oracle that the microcircuit's local updates are compared with (spec §6).
//!
//! The feedforward network is
//!
//! ```text
//! u_1 = c_1 W_1 r_0,   u_k = c_k W_k r_{k−1},   r_k = φ(u_k)   (r_0 is the input, no φ)
//! ```
//!
//! with a constant 1 appended to every presynaptic r where a bias is enabled. Given the output
//! error δ_N = −∂L/∂u_N, backprop gives
//!
//! ```text
//! −∂L/∂W_k = c_k δ_k r_{k−1}ᵀ,     δ_k = D_k c_{k+1} M_kᵀ δ_{k+1},     D_k = diag(φ′(u_k))
//! ```
//!
//! where M_kᵀ = W_{k+1}ᵀ (without its bias column) for exact backprop, or M_kᵀ = B_k, a fixed
//! feedback matrix, for feedback alignment. The spec's output error is δ_N = D_N (u_trgt − u_N)
//! ([`spec_output_error`]).

use apical_numerics::{Matrix, Real, kernels, rate::RateFn};

/// A feedforward network: W_1 … W_N, the gains c_1 … c_N, φ and the bias flag.
#[derive(Debug, Clone, Copy)]
pub struct Feedforward<'a> {
    /// W_1 … W_N, each n_k × (n_{k−1} + b).
    pub weights: &'a [Matrix],
    /// c_1 … c_N.
    pub gains: &'a [Real],
    /// The rate function.
    pub phi: RateFn,
    /// Whether a constant 1 is appended to presynaptic rates.
    pub bias: bool,
}

/// How errors travel down.
#[derive(Debug, Clone, Copy)]
pub enum Feedback<'a> {
    /// Exact backprop through W_{k+1}ᵀ.
    Transpose,
    /// Feedback alignment through fixed B_1 … B_{N−1} (B_k is n_k × n_{k+1}).
    Fixed(&'a [Matrix]),
}

/// The potentials and rates of one forward pass.
#[derive(Debug, Clone, PartialEq)]
pub struct ForwardPass {
    /// u_1 … u_N (index k − 1).
    pub u: Vec<Vec<Real>>,
    /// r_0 … r_N (index k), each followed by a 1 where a bias is enabled.
    pub r: Vec<Vec<Real>>,
}

impl Feedforward<'_> {
    /// The forward pass for input r_0.
    ///
    /// # Panics
    /// If the shapes do not chain.
    pub fn forward(&self, r0: &[Real]) -> ForwardPass {
        assert_eq!(self.weights.len(), self.gains.len(), "one gain per layer");
        let with_bias = |mut v: Vec<Real>| {
            if self.bias {
                v.push(1.0);
            }
            v
        };
        let mut r = vec![with_bias(r0.to_vec())];
        let mut u = Vec::new();
        for (w, &c) in self.weights.iter().zip(self.gains) {
            let mut uk = vec![0.0; w.nrows()];
            kernels::gemv(&mut uk, w, r.last().expect("input"));
            uk.iter_mut().for_each(|x| *x *= c);
            r.push(with_bias(uk.iter().map(|&x| self.phi.phi(x)).collect()));
            u.push(uk);
        }
        ForwardPass { u, r }
    }

    /// The errors δ_1 … δ_N for a given output error δ_N = −∂L/∂u_N.
    ///
    /// # Panics
    /// If the shapes do not chain.
    pub fn deltas(&self, pass: &ForwardPass, output_error: &[Real], feedback: Feedback<'_>) -> Vec<Vec<Real>> {
        let depth = self.weights.len();
        let mut deltas = vec![Vec::new(); depth];
        deltas[depth - 1] = output_error.to_vec();
        for k in (1..depth).rev() {
            let n_k = pass.u[k - 1].len();
            let mut back = vec![0.0; n_k];
            match feedback {
                Feedback::Transpose => {
                    let w = &self.weights[k];
                    for (j, b) in back.iter_mut().enumerate() {
                        *b = kernels::dot(w.col(j), &deltas[k]);
                    }
                }
                Feedback::Fixed(b) => kernels::gemv(&mut back, &b[k - 1], &deltas[k]),
            }
            let c_next = self.gains[k];
            deltas[k - 1] = back.iter().zip(&pass.u[k - 1]).map(|(b, &u)| self.phi.dphi(u) * c_next * b).collect();
        }
        deltas
    }

    /// −∂L/∂W_k = c_k δ_k r_{k−1}ᵀ for every layer, given δ_N = −∂L/∂u_N.
    pub fn gradient(&self, pass: &ForwardPass, output_error: &[Real], feedback: Feedback<'_>) -> Vec<Matrix> {
        let deltas = self.deltas(pass, output_error, feedback);
        (0..self.weights.len())
            .map(|i| {
                let (delta, pre, c) = (&deltas[i], &pass.r[i], self.gains[i]);
                Matrix::from_fn(delta.len(), pre.len(), |a, b| c * delta[a] * pre[b])
            })
            .collect()
    }
}

/// One step of online gradient descent on every layer: W_k ← W_k + η_k G_k, where
/// G_k = −∂L/∂W_k is the descent direction returned by [`Feedforward::gradient`].
///
/// # Panics
/// If the numbers of matrices, directions and rates differ, or a direction does not have its
/// matrix's shape.
pub fn sgd_step(weights: &mut [Matrix], descent: &[Matrix], rates: &[Real]) {
    assert!(
        weights.len() == descent.len() && weights.len() == rates.len(),
        "sgd_step: one direction and rate per layer"
    );
    for ((w, g), &eta) in weights.iter_mut().zip(descent).zip(rates) {
        assert_eq!(w.shape(), g.shape(), "sgd_step: direction shape");
        for (x, &d) in w.as_mut_slice().iter_mut().zip(g.as_slice()) {
            *x += eta * d;
        }
    }
}

/// The spec's output error δ_N = D_N (u_trgt − u_N).
pub fn spec_output_error(phi: &RateFn, pass: &ForwardPass, u_trgt: &[Real]) -> Vec<Real> {
    let u_n = pass.u.last().expect("at least one layer");
    u_n.iter().zip(u_trgt).map(|(&u, &t)| phi.dphi(u) * (t - u)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// L = ½‖r_trgt − r_N‖², whose −∂L/∂u_N is D_N (r_trgt − r_N).
    fn loss(net: &Feedforward<'_>, r0: &[Real], r_trgt: &[Real]) -> Real {
        let pass = net.forward(r0);
        let n = r_trgt.len();
        pass.r.last().unwrap()[..n].iter().zip(r_trgt).map(|(r, t)| 0.5 * (t - r) * (t - r)).sum()
    }

    #[test]
    fn gradient_matches_central_finite_differences() {
        for (phi, bias) in [(RateFn::Logistic, false), (RateFn::PAPER_SOFT_RECTIFIER, true), (RateFn::Tanh, true)] {
            let sizes = [3, 4, 3, 2];
            let b = usize::from(bias);
            let weights: Vec<Matrix> = (1..sizes.len())
                .map(|k| Matrix::from_fn(sizes[k], sizes[k - 1] + b, |i, j| ((3 * i + 5 * j + k) as Real).sin()))
                .collect();
            let gains = [0.53, 0.7, 0.91];
            let r0 = [0.2, -0.4, 0.9];
            let r_trgt = [0.3, 0.6];
            let net = Feedforward { weights: &weights, gains: &gains, phi, bias };
            let pass = net.forward(&r0);
            let n = r_trgt.len();
            let r_n = &pass.r.last().unwrap()[..n];
            let u_n = pass.u.last().unwrap();
            let error: Vec<Real> = (0..n).map(|i| phi.dphi(u_n[i]) * (r_trgt[i] - r_n[i])).collect();
            let grads = net.gradient(&pass, &error, Feedback::Transpose);
            let h = 1e-6;
            for k in 0..weights.len() {
                for i in 0..weights[k].nrows() {
                    for j in 0..weights[k].ncols() {
                        let mut plus = weights.clone();
                        plus[k].set(i, j, weights[k].get(i, j) + h);
                        let mut minus = weights.clone();
                        minus[k].set(i, j, weights[k].get(i, j) - h);
                        let lp = loss(&Feedforward { weights: &plus, ..net }, &r0, &r_trgt);
                        let lm = loss(&Feedforward { weights: &minus, ..net }, &r0, &r_trgt);
                        let fd = -(lp - lm) / (2.0 * h);
                        let g = grads[k].get(i, j);
                        assert!((fd - g).abs() < 1e-8, "{} layer {} ({i},{j}): fd {fd} vs {g}", phi.name(), k + 1);
                    }
                }
            }
        }
    }

    #[test]
    fn sgd_steps_reduce_the_loss_on_one_example() {
        let mut weights = vec![
            Matrix::from_fn(4, 3, |i, j| 0.3 * i as Real - 0.2 * j as Real),
            Matrix::from_fn(2, 4, |i, j| 0.1 * (i + j) as Real - 0.2),
        ];
        let (gains, r0, r_trgt) = ([0.53, 0.91], [0.2, -0.4, 0.9], [0.3, 0.6]);
        let phi = RateFn::Logistic;
        let start = loss(&Feedforward { weights: &weights, gains: &gains, phi, bias: false }, &r0, &r_trgt);
        for _ in 0..50 {
            let net = Feedforward { weights: &weights, gains: &gains, phi, bias: false };
            let pass = net.forward(&r0);
            let r_n = &pass.r[2];
            let u_n = &pass.u[1];
            let error: Vec<Real> = (0..2).map(|i| phi.dphi(u_n[i]) * (r_trgt[i] - r_n[i])).collect();
            let grads = net.gradient(&pass, &error, Feedback::Transpose);
            let before = weights.clone();
            sgd_step(&mut weights, &grads, &[0.5, 2.0]);
            // Every layer moves by exactly η_k G_k.
            assert!((weights[0].get(1, 2) - before[0].get(1, 2) - 0.5 * grads[0].get(1, 2)).abs() < 1e-15);
            assert!((weights[1].get(1, 3) - before[1].get(1, 3) - 2.0 * grads[1].get(1, 3)).abs() < 1e-15);
        }
        let end = loss(&Feedforward { weights: &weights, gains: &gains, phi, bias: false }, &r0, &r_trgt);
        assert!(end < 0.9 * start, "loss {start} → {end}");
    }

    #[test]
    fn fixed_feedback_equal_to_the_transpose_is_backprop() {
        let weights = vec![
            Matrix::from_fn(4, 3, |i, j| 0.3 * i as Real - 0.2 * j as Real),
            Matrix::from_fn(2, 4, |i, j| 0.1 * (i + j) as Real),
        ];
        let b = vec![weights[1].transposed()];
        let net = Feedforward { weights: &weights, gains: &[0.5, 0.9], phi: RateFn::Logistic, bias: false };
        let pass = net.forward(&[0.1, 0.5, 0.9]);
        let e = spec_output_error(&net.phi, &pass, &[1.0, -1.0]);
        assert_eq!(net.gradient(&pass, &e, Feedback::Transpose), net.gradient(&pass, &e, Feedback::Fixed(&b)));
    }
}
