//! Kernels of the engines. Every kernel writes into a preallocated output and allocates nothing.
//!
//! The plasticity pass is the hot loop of the continuous-time engine. For a plastic matrix W
//! (n_post × n_pre, column-major), its trace Δ, a postsynaptic factor `post` and a presynaptic
//! rate vector `pre` it performs, column by column,
//!
//! ```text
//! synchronous:  W ← W + dt η Δ;   Δ ← Δ + (dt/τ_w)(post preᵀ − Δ)
//! trace-first:  Δ ← Δ + (dt/τ_w)(post preᵀ − Δ);   W ← W + dt η Δ
//! ```
//!
//! and, when asked, accumulates the product of the *updated* W with the next presynaptic rates
//! while each column is still in cache, so that a time step reads every plastic weight and
//! trace exactly once.

use faer::{Accum, Par};
use serde::{Deserialize, Serialize};

use crate::{Matrix, Real};

/// Whether the weight step uses the trace before or after the trace is advanced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceOrder {
    /// W(t+dt) = W(t) + dt η Δ(t), Δ(t+dt) = Δ(t) + (dt/τ_w)(I(t) − Δ(t)): every increment comes
    /// from the time-t state. This is the reference.
    #[default]
    Synchronous,
    /// Δ is advanced first and W uses the new Δ, as the public Python codes do. Differs by O(dt).
    TraceFirst,
}

/// The constants of one plasticity step: `decay` = dt/τ_w and `rate` = dt η.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceStep {
    /// dt/τ_w, the fraction by which the trace moves towards the induction.
    pub decay: Real,
    /// dt η, the weight change per unit of trace.
    pub rate: Real,
    /// The update order.
    pub order: TraceOrder,
}

/// out ← W x.
///
/// # Panics
/// If the shapes do not match.
pub fn gemv(out: &mut [Real], w: &Matrix, x: &[Real]) {
    out.fill(0.0);
    gemv_acc(out, w, x, 1.0);
}

/// out ← out + α W x.
///
/// # Panics
/// If the shapes do not match.
#[inline]
pub fn gemv_acc(out: &mut [Real], w: &Matrix, x: &[Real], alpha: Real) {
    assert_eq!(out.len(), w.nrows(), "gemv: output length");
    assert_eq!(x.len(), w.ncols(), "gemv: input length");
    for (j, &xj) in x.iter().enumerate() {
        axpy(out, alpha * xj, w.col(j));
    }
}

/// out ← Wᵀ x.
///
/// # Panics
/// If the shapes do not match.
pub fn gemv_t(out: &mut [Real], w: &Matrix, x: &[Real]) {
    assert_eq!(out.len(), w.ncols(), "gemv_t: output length");
    assert_eq!(x.len(), w.nrows(), "gemv_t: input length");
    for (j, o) in out.iter_mut().enumerate() {
        *o = dot(w.col(j), x);
    }
}

/// y ← y + a x.
#[inline]
pub fn axpy(y: &mut [Real], a: Real, x: &[Real]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// Σ xᵢ yᵢ.
#[inline]
pub fn dot(x: &[Real], y: &[Real]) -> Real {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// dst ← β dst + α lhs · rhs with faer's gemm, sequentially. `accumulate` selects β = 1, else β = 0.
pub fn gemm(dst: &mut Matrix, accumulate: bool, lhs: faer::MatRef<'_, Real>, rhs: faer::MatRef<'_, Real>, alpha: Real) {
    let beta = if accumulate { Accum::Add } else { Accum::Replace };
    faer::linalg::matmul::matmul(dst.as_mut(), beta, lhs, rhs, alpha, Par::Seq);
}

/// One fused plasticity step of a matrix and its trace (see the module docs).
///
/// With `product = Some((x, out))` it also sets out ← W_new x in the same sweep.
///
/// # Panics
/// If the shapes do not match.
pub fn plasticity_pass(
    w: &mut Matrix,
    trace: &mut Matrix,
    post: &[Real],
    pre: &[Real],
    step: TraceStep,
    product: Option<(&[Real], &mut [Real])>,
) {
    let (n_post, n_pre) = w.shape();
    assert_eq!(trace.shape(), (n_post, n_pre), "plasticity: trace shape");
    assert_eq!(post.len(), n_post, "plasticity: post length");
    assert_eq!(pre.len(), n_pre, "plasticity: pre length");
    let TraceStep { decay, rate, order } = step;
    let mut product = product.map(|(x, out)| {
        assert_eq!(x.len(), n_pre, "plasticity: product input length");
        assert_eq!(out.len(), n_post, "plasticity: product output length");
        out.fill(0.0);
        (x, out)
    });
    for j in 0..n_pre {
        let p = pre[j];
        let wj = w.col_mut(j);
        let tj = trace.col_mut(j);
        match order {
            TraceOrder::Synchronous => {
                for ((w, t), &q) in wj.iter_mut().zip(tj.iter_mut()).zip(post) {
                    *w += rate * *t;
                    *t += decay * (q * p - *t);
                }
            }
            TraceOrder::TraceFirst => {
                for ((w, t), &q) in wj.iter_mut().zip(tj.iter_mut()).zip(post) {
                    *t += decay * (q * p - *t);
                    *w += rate * *t;
                }
            }
        }
        if let Some((x, out)) = product.as_mut() {
            axpy(out, x[j], wj);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(w: &Matrix, t: &Matrix, post: &[Real], pre: &[Real], s: TraceStep) -> (Matrix, Matrix) {
        let mut w2 = w.clone();
        let mut t2 = t.clone();
        for i in 0..w.nrows() {
            for j in 0..w.ncols() {
                let induction = post[i] * pre[j];
                let t_new = t.get(i, j) + s.decay * (induction - t.get(i, j));
                let used = match s.order {
                    TraceOrder::Synchronous => t.get(i, j),
                    TraceOrder::TraceFirst => t_new,
                };
                w2.set(i, j, w.get(i, j) + s.rate * used);
                t2.set(i, j, t_new);
            }
        }
        (w2, t2)
    }

    #[test]
    fn fused_pass_matches_elementwise_reference() {
        let w0 = Matrix::from_fn(3, 4, |i, j| 0.1 * i as Real - 0.2 * j as Real);
        let t0 = Matrix::from_fn(3, 4, |i, j| 0.05 * (i * j) as Real - 0.1);
        let post = [0.3, -0.7, 1.1];
        let pre = [0.2, 0.9, -0.4, 0.5];
        let x = [1.0, -1.0, 0.5, 2.0];
        for order in [TraceOrder::Synchronous, TraceOrder::TraceFirst] {
            let s = TraceStep { decay: 0.1 / 30.0, rate: 0.1 * 0.002, order };
            let (w_ref, t_ref) = reference(&w0, &t0, &post, &pre, s);
            let (mut w, mut t) = (w0.clone(), t0.clone());
            let mut out = [9.0; 3];
            plasticity_pass(&mut w, &mut t, &post, &pre, s, Some((&x, &mut out)));
            assert!(w.distance(&w_ref) < 1e-15 && t.distance(&t_ref) < 1e-15);
            let mut expect = [0.0; 3];
            gemv(&mut expect, &w_ref, &x);
            for (a, b) in out.iter().zip(expect) {
                assert!((a - b).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn products_agree_with_faer() {
        let w = Matrix::from_fn(5, 3, |i, j| (i as Real).sin() + (j as Real).cos());
        let x = [0.3, -1.0, 2.0];
        let mut ours = [0.0; 5];
        gemv(&mut ours, &w, &x);
        let xm = Matrix::from_column_major(3, 1, x.to_vec()).unwrap();
        let mut theirs = Matrix::zeros(5, 1);
        gemm(&mut theirs, false, w.as_ref(), xm.as_ref(), 1.0);
        for i in 0..5 {
            assert!((ours[i] - theirs.get(i, 0)).abs() < 1e-14);
        }
        let mut back = [0.0; 3];
        gemv_t(&mut back, &w, &ours);
        let wt = w.transposed();
        let mut expect = [0.0; 3];
        gemv(&mut expect, &wt, &ours);
        for j in 0..3 {
            assert!((back[j] - expect[j]).abs() < 1e-12);
        }
    }
}
