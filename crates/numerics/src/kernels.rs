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
//!
//! Storage follows this access pattern: a matrix is column-major, column j holding the weights
//! leaving presynaptic neuron j, so the rank-1 update and the product W x both run down
//! contiguous columns. The sweeps take four columns at a time and are vectorised over the rows,
//! so every out[i] is loaded and stored once per four columns and still receives its products
//! in column order. The rows past the last whole vector of a column are updated one at a time:
//! masked vector loads and stores in their place made the small networks' steps slower (by 8 to
//! 80 % with AVX-512), because a masked store holds up every later load that overlaps its full
//! vector width, and the next column's loads do. (Row-major storage would turn the product into dot products, which vectorise
//! only if their sums are reordered.) The vector instructions (AVX-512 or AVX2 where the CPU has
//! them) are chosen at run time; no kernel fuses a multiply with an add or reorders a sum, so the results
//! are bit-identical to the plain scalar loops on every machine.

use std::sync::OnceLock;

use faer::traits::pulp::{Arch, Simd, WithSimd};
use faer::{Accum, Par};
use serde::{Deserialize, Serialize};

use crate::{Matrix, Real};

/// Whether the weight step uses the trace before or after the trace is advanced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateOrder {
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
    pub order: UpdateOrder,
}

/// Runs a kernel with the widest vector instructions the CPU offers: AVX-512 (eight lanes) or
/// AVX2 (four) on x86-64 where present, chosen at run time through faer's `pulp`, and plain
/// scalar code elsewhere. The kernels use separate multiplies and adds, never fused
/// multiply–adds, and keep the order of every sum, so each path gives the same bits as the
/// scalar reference. The instruction set is detected once per process; the tests run every
/// kernel on each set this CPU has.
#[inline(always)]
fn vectorized<K: WithSimd>(kernel: K) -> K::Output {
    #[cfg(test)]
    if let Some(arch) = tests::FORCED_ARCH.get() {
        return arch.dispatch(kernel);
    }
    static ARCH: OnceLock<Arch> = OnceLock::new();
    ARCH.get_or_init(Arch::new).dispatch(kernel)
}

/// The number of columns a product kernel takes per sweep: each out[i] is loaded once per block,
/// receives the block's products in column order and is stored once.
const BLOCK: usize = 4;

/// Four columns of a column-major matrix, each a separate slice.
type Columns<'a, T> = (&'a mut [T], &'a mut [T], &'a mut [T], &'a mut [T]);

/// Splits a block of [`BLOCK`] columns of length n into its columns.
#[inline(always)]
fn columns(block: &mut [Real], n: usize) -> Columns<'_, Real> {
    let (c0, rest) = block.split_at_mut(n);
    let (c1, rest) = rest.split_at_mut(n);
    let (c2, c3) = rest.split_at_mut(n);
    (c0, c1, c2, c3)
}

/// out ← W x.
///
/// # Panics
/// If the shapes do not match.
pub fn gemv(out: &mut [Real], w: &Matrix, x: &[Real]) {
    out.fill(0.0);
    gemv_acc(out, w, x, 1.0);
}

/// out ← out + α W x. Every row receives its products in column order (j = 0, 1, …), as a
/// sequence of [`axpy`] calls would add them.
///
/// # Panics
/// If the shapes do not match.
pub fn gemv_acc(out: &mut [Real], w: &Matrix, x: &[Real], alpha: Real) {
    assert_eq!(out.len(), w.nrows(), "gemv: output length");
    assert_eq!(x.len(), w.ncols(), "gemv: input length");
    if w.nrows() > 0 {
        vectorized(Gemv { out, w: w.as_slice(), x, alpha });
    }
}

struct Gemv<'a> {
    out: &'a mut [Real],
    w: &'a [Real],
    x: &'a [Real],
    alpha: Real,
}

impl WithSimd for Gemv<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Gemv { out, w, x, alpha } = self;
        let n = out.len();
        let blocked = x.len() / BLOCK * BLOCK;
        let (w_blocks, w_rest) = w.split_at(blocked * n);
        for (wb, xb) in w_blocks.chunks_exact(BLOCK * n).zip(x.chunks_exact(BLOCK)) {
            let a = [alpha * xb[0], alpha * xb[1], alpha * xb[2], alpha * xb[3]];
            let (oh, ot) = S::as_mut_simd_f64s(out);
            let m = oh.len();
            let (c0, rest) = wb.split_at(n);
            let (c1, rest) = rest.split_at(n);
            let (c2, c3) = rest.split_at(n);
            let ((h0, r0), (h1, r1)) = (S::as_simd_f64s(c0), S::as_simd_f64s(c1));
            let ((h2, r2), (h3, r3)) = (S::as_simd_f64s(c2), S::as_simd_f64s(c3));
            let (h0, h1, h2, h3) = (&h0[..m], &h1[..m], &h2[..m], &h3[..m]);
            let av = a.map(|a| simd.splat_f64s(a));
            for i in 0..m {
                let mut o = simd.add_f64s(oh[i], simd.mul_f64s(av[0], h0[i]));
                o = simd.add_f64s(o, simd.mul_f64s(av[1], h1[i]));
                o = simd.add_f64s(o, simd.mul_f64s(av[2], h2[i]));
                oh[i] = simd.add_f64s(o, simd.mul_f64s(av[3], h3[i]));
            }
            for (i, o) in ot.iter_mut().enumerate() {
                *o = *o + a[0] * r0[i] + a[1] * r1[i] + a[2] * r2[i] + a[3] * r3[i];
            }
        }
        for (col, &xj) in w_rest.chunks_exact(n).zip(&x[blocked..]) {
            axpy_inline(out, alpha * xj, col);
        }
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
    axpy_inline(y, a, x);
}

#[inline(always)]
fn axpy_inline(y: &mut [Real], a: Real, x: &[Real]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// Σ xᵢ yᵢ.
#[inline]
pub fn dot(x: &[Real], y: &[Real]) -> Real {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// dst ← β dst + α lhs · rhs with faer's gemm. `accumulate` selects β = 1, else β = 0.
///
/// The product runs on the threads of the current rayon pool (`apical run --threads`). faer
/// splits only the destination between threads, never a sum, so every element is computed as
/// in a sequential product and the result does not depend on the number of threads (tested in
/// `apical-sim`'s two-step engine).
///
/// faer's x86 micro-kernels return with the upper halves of the AVX registers still in use. Until
/// they are cleared, every legacy SSE instruction that follows (the scalar floating-point code
/// of this workspace and the C library's `exp`) can run many times slower; on the machine of
/// `docs/results.md` ("Speed") this made a one-thread MNIST epoch take 1.6 times as long. The
/// gemm therefore ends with `vzeroupper`, which changes no value.
pub fn gemm(dst: &mut Matrix, accumulate: bool, lhs: faer::MatRef<'_, Real>, rhs: faer::MatRef<'_, Real>, alpha: Real) {
    let beta = if accumulate { Accum::Add } else { Accum::Replace };
    faer::linalg::matmul::matmul(dst.as_mut(), beta, lhs, rhs, alpha, Par::rayon(0));
    clear_upper_vector_state();
}

/// Clears the upper halves of the AVX registers (`vzeroupper`) where the CPU has AVX.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn clear_upper_vector_state() {
    /// `vzeroupper`, which needs AVX.
    #[target_feature(enable = "avx")]
    fn zero_upper() {
        std::arch::x86_64::_mm256_zeroupper();
    }
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX, checked just above, which is all `zero_upper` requires.
        unsafe { zero_upper() }
    }
}

/// Other architectures have no such state to clear.
#[cfg(not(target_arch = "x86_64"))]
fn clear_upper_vector_state() {}

/// One fused plasticity step of a matrix and its trace (see the module docs).
///
/// With `product = Some((x, out))` it also sets out ← W_new x in the same sweep: four columns
/// at a time are updated and added into `out` by one loop over the rows, so W and Δ are read
/// and written once and `out` stays in the first-level cache. The product equals [`gemv`] of
/// the updated matrix bit for bit.
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
    if let Some((x, out)) = &product {
        assert_eq!(x.len(), n_pre, "plasticity: product input length");
        assert_eq!(out.len(), n_post, "plasticity: product output length");
    }
    if n_post == 0 {
        return;
    }
    let (w, trace) = (w.as_mut_slice(), trace.as_mut_slice());
    match product {
        Some((x, out)) => {
            out.fill(0.0);
            vectorized(FusedPass { w, trace, post, pre, step, product: Some((x, out)) });
        }
        None => vectorized(FusedPass { w, trace, post, pre, step, product: None }),
    }
}

/// The sweep of [`plasticity_pass`].
struct FusedPass<'a> {
    w: &'a mut [Real],
    trace: &'a mut [Real],
    post: &'a [Real],
    pre: &'a [Real],
    step: TraceStep,
    product: Option<(&'a [Real], &'a mut [Real])>,
}

impl WithSimd for FusedPass<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let step = self.step;
        match step.order {
            UpdateOrder::Synchronous => self.sweep(Update::<S, false>::new(simd, step)),
            UpdateOrder::TraceFirst => self.sweep(Update::<S, true>::new(simd, step)),
        }
    }
}

impl FusedPass<'_> {
    #[inline(always)]
    fn sweep<S: Simd, const TRACE_FIRST: bool>(self, update: Update<S, TRACE_FIRST>) {
        let FusedPass { w, trace, post, pre, product, .. } = self;
        let n = post.len();
        let Some((x, out)) = product else {
            for ((wj, tj), &p) in w.chunks_exact_mut(n).zip(trace.chunks_exact_mut(n)).zip(pre) {
                update.column(wj, tj, post, p, None);
            }
            return;
        };
        let blocked = pre.len() / BLOCK * BLOCK;
        let (w_blocks, w_rest) = w.split_at_mut(blocked * n);
        let (t_blocks, t_rest) = trace.split_at_mut(blocked * n);
        let blocks = w_blocks.chunks_exact_mut(BLOCK * n).zip(t_blocks.chunks_exact_mut(BLOCK * n));
        for ((wb, tb), (p, xb)) in blocks.zip(pre.chunks_exact(BLOCK).zip(x.chunks_exact(BLOCK))) {
            let (p, xb) = ([p[0], p[1], p[2], p[3]], [xb[0], xb[1], xb[2], xb[3]]);
            update.block(columns(wb, n), columns(tb, n), post, p, xb, out);
        }
        let rest = w_rest.chunks_exact_mut(n).zip(t_rest.chunks_exact_mut(n));
        for ((wj, tj), (&p, &xj)) in rest.zip(pre[blocked..].iter().zip(&x[blocked..])) {
            update.column(wj, tj, post, p, Some((xj, &mut *out)));
        }
    }
}

/// The element update of the plasticity pass, on vectors of lanes and on single entries:
///
/// ```text
/// synchronous:  w ← w + rate t;  t ← t + decay (q p − t)
/// trace-first:  t ← t + decay (q p − t);  w ← w + rate t
/// ```
#[derive(Clone, Copy)]
struct Update<S: Simd, const TRACE_FIRST: bool> {
    simd: S,
    decay: Real,
    rate: Real,
    decay_lanes: S::f64s,
    rate_lanes: S::f64s,
}

impl<S: Simd, const TRACE_FIRST: bool> Update<S, TRACE_FIRST> {
    #[inline(always)]
    fn new(simd: S, step: TraceStep) -> Self {
        let TraceStep { decay, rate, .. } = step;
        Update { simd, decay, rate, decay_lanes: simd.splat_f64s(decay), rate_lanes: simd.splat_f64s(rate) }
    }

    #[inline(always)]
    fn lanes(&self, w: &mut S::f64s, t: &mut S::f64s, q: S::f64s, p: S::f64s) {
        let s = self.simd;
        let advance = |t: S::f64s| s.add_f64s(t, s.mul_f64s(self.decay_lanes, s.sub_f64s(s.mul_f64s(q, p), t)));
        if TRACE_FIRST {
            *t = advance(*t);
            *w = s.add_f64s(*w, s.mul_f64s(self.rate_lanes, *t));
        } else {
            *w = s.add_f64s(*w, s.mul_f64s(self.rate_lanes, *t));
            *t = advance(*t);
        }
    }

    #[inline(always)]
    fn single(&self, w: &mut Real, t: &mut Real, q: Real, p: Real) {
        if TRACE_FIRST {
            *t += self.decay * (q * p - *t);
            *w += self.rate * *t;
        } else {
            *w += self.rate * *t;
            *t += self.decay * (q * p - *t);
        }
    }

    /// One column, with out ← out + x w_new where a product is asked for.
    #[inline(always)]
    fn column(&self, w: &mut [Real], t: &mut [Real], post: &[Real], p: Real, product: Option<(Real, &mut [Real])>) {
        let s = self.simd;
        let ((wh, wr), (th, tr)) = (S::as_mut_simd_f64s(w), S::as_mut_simd_f64s(t));
        let (qh, qr) = S::as_simd_f64s(post);
        let m = qh.len();
        let (wh, th) = (&mut wh[..m], &mut th[..m]);
        let pv = s.splat_f64s(p);
        match product {
            Some((x, out)) => {
                let (oh, or) = S::as_mut_simd_f64s(out);
                let xv = s.splat_f64s(x);
                for i in 0..m {
                    self.lanes(&mut wh[i], &mut th[i], qh[i], pv);
                    oh[i] = s.add_f64s(oh[i], s.mul_f64s(xv, wh[i]));
                }
                for (((w, t), &q), o) in wr.iter_mut().zip(tr.iter_mut()).zip(qr).zip(or) {
                    self.single(w, t, q, p);
                    *o += x * *w;
                }
            }
            None => {
                for i in 0..m {
                    self.lanes(&mut wh[i], &mut th[i], qh[i], pv);
                }
                for ((w, t), &q) in wr.iter_mut().zip(tr.iter_mut()).zip(qr) {
                    self.single(w, t, q, p);
                }
            }
        }
    }

    /// Four columns and their product: out ← out + x_0 w_0 + x_1 w_1 + x_2 w_2 + x_3 w_3, added
    /// left to right in every row.
    #[inline(always)]
    fn block(
        &self,
        (w0, w1, w2, w3): Columns<'_, Real>,
        (t0, t1, t2, t3): Columns<'_, Real>,
        post: &[Real],
        p: [Real; BLOCK],
        x: [Real; BLOCK],
        out: &mut [Real],
    ) {
        let s = self.simd;
        let ((w0, w0r), (w1, w1r)) = (S::as_mut_simd_f64s(w0), S::as_mut_simd_f64s(w1));
        let ((w2, w2r), (w3, w3r)) = (S::as_mut_simd_f64s(w2), S::as_mut_simd_f64s(w3));
        let ((t0, t0r), (t1, t1r)) = (S::as_mut_simd_f64s(t0), S::as_mut_simd_f64s(t1));
        let ((t2, t2r), (t3, t3r)) = (S::as_mut_simd_f64s(t2), S::as_mut_simd_f64s(t3));
        let (qh, qr) = S::as_simd_f64s(post);
        let (oh, or) = S::as_mut_simd_f64s(out);
        let m = qh.len();
        let (w0, w1, w2, w3) = (&mut w0[..m], &mut w1[..m], &mut w2[..m], &mut w3[..m]);
        let (t0, t1, t2, t3) = (&mut t0[..m], &mut t1[..m], &mut t2[..m], &mut t3[..m]);
        let oh = &mut oh[..m];
        let pv = p.map(|p| s.splat_f64s(p));
        let xv = x.map(|x| s.splat_f64s(x));
        for i in 0..m {
            let q = qh[i];
            self.lanes(&mut w0[i], &mut t0[i], q, pv[0]);
            self.lanes(&mut w1[i], &mut t1[i], q, pv[1]);
            self.lanes(&mut w2[i], &mut t2[i], q, pv[2]);
            self.lanes(&mut w3[i], &mut t3[i], q, pv[3]);
            let mut o = s.add_f64s(oh[i], s.mul_f64s(xv[0], w0[i]));
            o = s.add_f64s(o, s.mul_f64s(xv[1], w1[i]));
            o = s.add_f64s(o, s.mul_f64s(xv[2], w2[i]));
            oh[i] = s.add_f64s(o, s.mul_f64s(xv[3], w3[i]));
        }
        for i in 0..or.len() {
            let q = qr[i];
            self.single(&mut w0r[i], &mut t0r[i], q, p[0]);
            self.single(&mut w1r[i], &mut t1r[i], q, p[1]);
            self.single(&mut w2r[i], &mut t2r[i], q, p[2]);
            self.single(&mut w3r[i], &mut t3r[i], q, p[3]);
            or[i] = or[i] + x[0] * w0r[i] + x[1] * w1r[i] + x[2] * w2r[i] + x[3] * w3r[i];
        }
    }
}

/// The memory-traffic reference of the plasticity pass: one sweep that reads and writes every
/// entry of a weight buffer and its trace once, W ← W + a Δ, Δ ← b Δ, with the same vector
/// instructions as the kernels. Benchmarks divide a time step by the time of this sweep over the
/// same matrices; no engine calls it.
///
/// # Panics
/// If the buffers differ in length.
pub fn streaming_pass(w: &mut [Real], trace: &mut [Real], a: Real, b: Real) {
    assert_eq!(w.len(), trace.len(), "streaming pass: length mismatch");
    vectorized(Streaming { w, trace, a, b });
}

struct Streaming<'a> {
    w: &'a mut [Real],
    trace: &'a mut [Real],
    a: Real,
    b: Real,
}

impl WithSimd for Streaming<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let Streaming { w, trace, a, b } = self;
        for (w, t) in w.iter_mut().zip(trace.iter_mut()) {
            *w += a * *t;
            *t *= b;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    thread_local! {
        /// The instruction set the kernels run on in this test thread, in place of the detected one.
        pub(super) static FORCED_ARCH: Cell<Option<Arch>> = const { Cell::new(None) };
    }

    /// Runs `f` once on each instruction set this CPU has: scalar, AVX2 and AVX-512.
    fn on_every_arch(mut f: impl FnMut(&str)) {
        let mut archs = vec![("scalar", Arch::Scalar)];
        #[cfg(target_arch = "x86_64")]
        {
            use faer::traits::pulp::x86::{V3, V4};
            archs.extend(V3::try_new().map(|s| ("avx2", Arch::V3(s))));
            archs.extend(V4::try_new().map(|s| ("avx512", Arch::V4(s))));
        }
        for (name, arch) in archs {
            FORCED_ARCH.set(Some(arch));
            f(name);
        }
        FORCED_ARCH.set(None);
    }

    fn reference(w: &Matrix, t: &Matrix, post: &[Real], pre: &[Real], s: TraceStep) -> (Matrix, Matrix) {
        let mut w2 = w.clone();
        let mut t2 = t.clone();
        for i in 0..w.nrows() {
            for j in 0..w.ncols() {
                let induction = post[i] * pre[j];
                let t_new = t.get(i, j) + s.decay * (induction - t.get(i, j));
                let used = match s.order {
                    UpdateOrder::Synchronous => t.get(i, j),
                    UpdateOrder::TraceFirst => t_new,
                };
                w2.set(i, j, w.get(i, j) + s.rate * used);
                t2.set(i, j, t_new);
            }
        }
        (w2, t2)
    }

    #[test]
    fn fused_pass_matches_elementwise_reference() {
        // Shapes below, at and above the vector widths (four and eight lanes), with and without
        // remainders, so that both the vector body and the scalar tail of every loop run, on
        // every instruction set of this CPU.
        let shapes = [(3, 4), (37, 11), (10, 50), (1, 3), (50, 31), (16, 9), (17, 4)];
        on_every_arch(|arch| {
            for (n_post, n_pre) in shapes {
                let w0 = Matrix::from_fn(n_post, n_pre, |i, j| 0.1 * i as Real - 0.2 * j as Real);
                let t0 = Matrix::from_fn(n_post, n_pre, |i, j| 0.05 * (i * j) as Real - 0.1);
                let post: Vec<Real> = (0..n_post).map(|i| (i as Real * 0.7).sin()).collect();
                let pre: Vec<Real> = (0..n_pre).map(|j| (j as Real * 1.3).cos()).collect();
                let x: Vec<Real> = (0..n_pre).map(|j| 1.0 - 0.3 * j as Real).collect();
                for order in [UpdateOrder::Synchronous, UpdateOrder::TraceFirst] {
                    let s = TraceStep { decay: 0.1 / 30.0, rate: 0.1 * 0.002, order };
                    let (w_ref, t_ref) = reference(&w0, &t0, &post, &pre, s);
                    let (mut w, mut t) = (w0.clone(), t0.clone());
                    let mut out = vec![9.0; n_post];
                    plasticity_pass(&mut w, &mut t, &post, &pre, s, Some((&x, &mut out)));
                    // The vectorised sweep performs the reference's operations in the reference's
                    // order, so the results agree bit for bit.
                    assert_eq!(w, w_ref, "{arch} {n_post}×{n_pre} {order:?}");
                    assert_eq!(t, t_ref, "{arch} {n_post}×{n_pre} {order:?}");
                    let expect: Vec<Real> =
                        (0..n_post).map(|i| (0..n_pre).fold(0.0, |acc, j| acc + x[j] * w_ref.get(i, j))).collect();
                    assert_eq!(out, expect, "{arch} {n_post}×{n_pre} {order:?}");
                    let mut out_gemv = vec![0.0; n_post];
                    gemv(&mut out_gemv, &w_ref, &x);
                    assert_eq!(out_gemv, expect, "{arch} {n_post}×{n_pre} gemv");
                    let (mut w, mut t) = (w0.clone(), t0.clone());
                    plasticity_pass(&mut w, &mut t, &post, &pre, s, None);
                    assert_eq!(
                        (w, t),
                        (w_ref.clone(), t_ref.clone()),
                        "{arch} {n_post}×{n_pre} {order:?} without product"
                    );
                }
            }
        });
    }

    #[test]
    fn streaming_pass_touches_every_entry() {
        let mut w: Vec<Real> = (0..19).map(|i| i as Real).collect();
        let mut t: Vec<Real> = (0..19).map(|i| 0.5 - i as Real).collect();
        streaming_pass(&mut w, &mut t, 2.0, 0.5);
        for i in 0..19 {
            let t0 = 0.5 - i as Real;
            assert_eq!(w[i], i as Real + 2.0 * t0);
            assert_eq!(t[i], 0.5 * t0);
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
