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
//!
//! `gemv`, `gemv_acc`, `plasticity_pass` and `streaming_pass` are generic over the [`Element`]
//! type of the matrix, f64 or f32; the vectors they take are of the same type, and every sum
//! accumulates in it. An f32 vector holds twice as many lanes, so f32 matrices move half the bytes
//! and take half the vector operations, except in columns whose rows end in a long scalar tail
//! (20 rows leave 4 past the last 8-lane AVX2 vector, against none for 4-lane f64).

use std::sync::OnceLock;

use faer::traits::pulp::{Arch, Simd, WithSimd};
use faer::{Accum, Par};
use serde::{Deserialize, Serialize};

use crate::{Element, Matrix, Real};

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

/// Runs a kernel over columns of `rows` entries of type `T` with the widest vector instructions
/// the CPU offers: AVX-512 (eight f64 or sixteen f32 lanes) or AVX2 (four or eight) on x86-64
/// where present, chosen at run time through faer's `pulp`, and plain scalar code elsewhere.
/// Columns shorter than one AVX-512 vector (the 10-row matrices of Fig. 2 in f32, for example)
/// run on AVX2, whose narrower vectors still cover most of them. The kernels use separate
/// multiplies and adds, never fused multiply–adds, and keep the order of every sum, so each path
/// gives the same bits as the scalar reference. The instruction set is detected once per
/// process; the tests run every kernel on each set this CPU has.
#[inline(always)]
fn vectorized<T: Element, K: WithSimd>(rows: usize, kernel: K) -> K::Output {
    #[cfg(test)]
    if let Some(arch) = tests::FORCED_ARCH.get() {
        return arch.dispatch(kernel);
    }
    // The widest instruction set, and the one for columns shorter than an AVX-512 vector.
    static ARCHES: OnceLock<(Arch, Arch)> = OnceLock::new();
    let (wide, narrow) = *ARCHES.get_or_init(|| {
        let wide = Arch::new();
        #[cfg(target_arch = "x86_64")]
        if let Arch::V4(_) = wide
            && let Some(avx2) = faer::traits::pulp::x86::V3::try_new()
        {
            return (wide, Arch::V3(avx2));
        }
        (wide, wide)
    });
    if rows * size_of::<T>() < 64 { narrow.dispatch(kernel) } else { wide.dispatch(kernel) }
}

/// The number of columns a product kernel takes per sweep: each out[i] is loaded once per block,
/// receives the block's products in column order and is stored once.
const BLOCK: usize = 4;

/// Four columns of a column-major matrix, each a separate slice.
type Columns<'a, T> = (&'a mut [T], &'a mut [T], &'a mut [T], &'a mut [T]);

/// Splits a block of [`BLOCK`] columns of length n into its columns.
#[inline(always)]
fn columns<T>(block: &mut [T], n: usize) -> Columns<'_, T> {
    let (c0, rest) = block.split_at_mut(n);
    let (c1, rest) = rest.split_at_mut(n);
    let (c2, c3) = rest.split_at_mut(n);
    (c0, c1, c2, c3)
}

/// out ← W x.
///
/// # Panics
/// If the shapes do not match.
pub fn gemv<T: Element>(out: &mut [T], w: &Matrix<T>, x: &[T]) {
    out.fill(T::ZERO);
    gemv_acc(out, w, x, T::from_f64(1.0));
}

/// out ← out + α W x. Every row receives its products in column order (j = 0, 1, …), as a
/// sequence of [`axpy`] calls would add them.
///
/// # Panics
/// If the shapes do not match.
pub fn gemv_acc<T: Element>(out: &mut [T], w: &Matrix<T>, x: &[T], alpha: T) {
    assert_eq!(out.len(), w.nrows(), "gemv: output length");
    assert_eq!(x.len(), w.ncols(), "gemv: input length");
    if w.nrows() > 0 {
        vectorized::<T, _>(w.nrows(), Gemv { out, w: w.as_slice(), x, alpha });
    }
}

struct Gemv<'a, T> {
    out: &'a mut [T],
    w: &'a [T],
    x: &'a [T],
    alpha: T,
}

impl<T: Element> WithSimd for Gemv<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Gemv { out, w, x, alpha } = self;
        let n = out.len();
        let blocked = x.len() / BLOCK * BLOCK;
        let (w_blocks, w_rest) = w.split_at(blocked * n);
        for (wb, xb) in w_blocks.chunks_exact(BLOCK * n).zip(x.chunks_exact(BLOCK)) {
            let a = [alpha * xb[0], alpha * xb[1], alpha * xb[2], alpha * xb[3]];
            let (oh, ot) = T::as_mut_simd::<S>(out);
            let m = oh.len();
            let (c0, rest) = wb.split_at(n);
            let (c1, rest) = rest.split_at(n);
            let (c2, c3) = rest.split_at(n);
            let ((h0, r0), (h1, r1)) = (T::as_simd::<S>(c0), T::as_simd::<S>(c1));
            let ((h2, r2), (h3, r3)) = (T::as_simd::<S>(c2), T::as_simd::<S>(c3));
            let (h0, h1, h2, h3) = (&h0[..m], &h1[..m], &h2[..m], &h3[..m]);
            let av = a.map(|a| T::splat(simd, a));
            let (add, mul) = (T::add_lanes::<S>, T::mul_lanes::<S>);
            for i in 0..m {
                let mut o = add(simd, oh[i], mul(simd, av[0], h0[i]));
                o = add(simd, o, mul(simd, av[1], h1[i]));
                o = add(simd, o, mul(simd, av[2], h2[i]));
                oh[i] = add(simd, o, mul(simd, av[3], h3[i]));
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
fn axpy_inline<T: Element>(y: &mut [T], a: T, x: &[T]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// Σ xᵢ yᵢ.
#[inline]
pub fn dot(x: &[Real], y: &[Real]) -> Real {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// dst ← β dst + α lhs · rhs with faer's gemm, in f64 or f32 (whose sums accumulate in f32).
/// `accumulate` selects β = 1, else β = 0.
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
pub fn gemm<T: Element>(
    dst: &mut Matrix<T>,
    accumulate: bool,
    lhs: faer::MatRef<'_, T>,
    rhs: faer::MatRef<'_, T>,
    alpha: T,
) {
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
pub fn plasticity_pass<T: Element>(
    w: &mut Matrix<T>,
    trace: &mut Matrix<T>,
    post: &[T],
    pre: &[T],
    step: TraceStep,
    product: Option<(&[T], &mut [T])>,
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
            out.fill(T::ZERO);
            vectorized::<T, _>(n_post, FusedPass { w, trace, post, pre, step, product: Some((x, out)) });
        }
        None => vectorized::<T, _>(n_post, FusedPass { w, trace, post, pre, step, product: None }),
    }
}

/// The sweep of [`plasticity_pass`].
struct FusedPass<'a, T> {
    w: &'a mut [T],
    trace: &'a mut [T],
    post: &'a [T],
    pre: &'a [T],
    step: TraceStep,
    product: Option<(&'a [T], &'a mut [T])>,
}

impl<T: Element> WithSimd for FusedPass<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let step = self.step;
        match step.order {
            UpdateOrder::Synchronous => self.sweep(Update::<S, T, false>::new(simd, step)),
            UpdateOrder::TraceFirst => self.sweep(Update::<S, T, true>::new(simd, step)),
        }
    }
}

impl<T: Element> FusedPass<'_, T> {
    #[inline(always)]
    fn sweep<S: Simd, const TRACE_FIRST: bool>(self, update: Update<S, T, TRACE_FIRST>) {
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
struct Update<S: Simd, T: Element, const TRACE_FIRST: bool> {
    simd: S,
    decay: T,
    rate: T,
    decay_lanes: T::Lanes<S>,
    rate_lanes: T::Lanes<S>,
}

impl<S: Simd, T: Element, const TRACE_FIRST: bool> Update<S, T, TRACE_FIRST> {
    /// The constants of `step` in `T` (rounded once, for f32).
    #[inline(always)]
    fn new(simd: S, step: TraceStep) -> Self {
        let (decay, rate) = (T::from_f64(step.decay), T::from_f64(step.rate));
        Update { simd, decay, rate, decay_lanes: T::splat(simd, decay), rate_lanes: T::splat(simd, rate) }
    }

    #[inline(always)]
    fn lanes(&self, w: &mut T::Lanes<S>, t: &mut T::Lanes<S>, q: T::Lanes<S>, p: T::Lanes<S>) {
        let s = self.simd;
        let (add, sub, mul) = (T::add_lanes::<S>, T::sub_lanes::<S>, T::mul_lanes::<S>);
        let advance = |t| add(s, t, mul(s, self.decay_lanes, sub(s, mul(s, q, p), t)));
        if TRACE_FIRST {
            *t = advance(*t);
            *w = add(s, *w, mul(s, self.rate_lanes, *t));
        } else {
            *w = add(s, *w, mul(s, self.rate_lanes, *t));
            *t = advance(*t);
        }
    }

    #[inline(always)]
    fn single(&self, w: &mut T, t: &mut T, q: T, p: T) {
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
    fn column(&self, w: &mut [T], t: &mut [T], post: &[T], p: T, product: Option<(T, &mut [T])>) {
        let s = self.simd;
        let ((wh, wr), (th, tr)) = (T::as_mut_simd::<S>(w), T::as_mut_simd::<S>(t));
        let (qh, qr) = T::as_simd::<S>(post);
        let m = qh.len();
        let (wh, th) = (&mut wh[..m], &mut th[..m]);
        let pv = T::splat(s, p);
        match product {
            Some((x, out)) => {
                let (oh, or) = T::as_mut_simd::<S>(out);
                let xv = T::splat(s, x);
                for i in 0..m {
                    self.lanes(&mut wh[i], &mut th[i], qh[i], pv);
                    oh[i] = T::add_lanes(s, oh[i], T::mul_lanes(s, xv, wh[i]));
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
        (w0, w1, w2, w3): Columns<'_, T>,
        (t0, t1, t2, t3): Columns<'_, T>,
        post: &[T],
        p: [T; BLOCK],
        x: [T; BLOCK],
        out: &mut [T],
    ) {
        let s = self.simd;
        let ((w0, w0r), (w1, w1r)) = (T::as_mut_simd::<S>(w0), T::as_mut_simd::<S>(w1));
        let ((w2, w2r), (w3, w3r)) = (T::as_mut_simd::<S>(w2), T::as_mut_simd::<S>(w3));
        let ((t0, t0r), (t1, t1r)) = (T::as_mut_simd::<S>(t0), T::as_mut_simd::<S>(t1));
        let ((t2, t2r), (t3, t3r)) = (T::as_mut_simd::<S>(t2), T::as_mut_simd::<S>(t3));
        let (qh, qr) = T::as_simd::<S>(post);
        let (oh, or) = T::as_mut_simd::<S>(out);
        let m = qh.len();
        let (w0, w1, w2, w3) = (&mut w0[..m], &mut w1[..m], &mut w2[..m], &mut w3[..m]);
        let (t0, t1, t2, t3) = (&mut t0[..m], &mut t1[..m], &mut t2[..m], &mut t3[..m]);
        let oh = &mut oh[..m];
        let pv = p.map(|p| T::splat(s, p));
        let xv = x.map(|x| T::splat(s, x));
        let (add, mul) = (T::add_lanes::<S>, T::mul_lanes::<S>);
        for i in 0..m {
            let q = qh[i];
            self.lanes(&mut w0[i], &mut t0[i], q, pv[0]);
            self.lanes(&mut w1[i], &mut t1[i], q, pv[1]);
            self.lanes(&mut w2[i], &mut t2[i], q, pv[2]);
            self.lanes(&mut w3[i], &mut t3[i], q, pv[3]);
            let mut o = add(s, oh[i], mul(s, xv[0], w0[i]));
            o = add(s, o, mul(s, xv[1], w1[i]));
            o = add(s, o, mul(s, xv[2], w2[i]));
            oh[i] = add(s, o, mul(s, xv[3], w3[i]));
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
pub fn streaming_pass<T: Element>(w: &mut [T], trace: &mut [T], a: T, b: T) {
    assert_eq!(w.len(), trace.len(), "streaming pass: length mismatch");
    vectorized::<T, _>(w.len(), Streaming { w, trace, a, b });
}

struct Streaming<'a, T> {
    w: &'a mut [T],
    trace: &'a mut [T],
    a: T,
    b: T,
}

impl<T: Element> WithSimd for Streaming<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let Streaming { w, trace, a, b } = self;
        for (w, t) in w.iter_mut().zip(trace.iter_mut()) {
            *w += a * *t;
            *t = b * *t;
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

    fn reference<T: Element>(
        w: &Matrix<T>,
        t: &Matrix<T>,
        post: &[T],
        pre: &[T],
        s: TraceStep,
    ) -> (Matrix<T>, Matrix<T>) {
        let (decay, rate) = (T::from_f64(s.decay), T::from_f64(s.rate));
        let mut w2 = w.clone();
        let mut t2 = t.clone();
        for i in 0..w.nrows() {
            for j in 0..w.ncols() {
                let induction = post[i] * pre[j];
                let t_new = t.get(i, j) + decay * (induction - t.get(i, j));
                let used = match s.order {
                    UpdateOrder::Synchronous => t.get(i, j),
                    UpdateOrder::TraceFirst => t_new,
                };
                w2.set(i, j, w.get(i, j) + rate * used);
                t2.set(i, j, t_new);
            }
        }
        (w2, t2)
    }

    /// The fused pass and gemv in `T` against the element-wise reference in `T`, bit for bit.
    fn check_fused_pass<T: Element>() {
        // Shapes below, at and above the vector widths (four, eight and sixteen lanes), with and
        // without remainders, so that both the vector body and the scalar tail of every loop run,
        // on every instruction set of this CPU.
        let shapes = [(3, 4), (37, 11), (10, 50), (1, 3), (50, 31), (16, 9), (17, 4)];
        let real = |x: Real| T::from_f64(x);
        on_every_arch(|arch| {
            for (n_post, n_pre) in shapes {
                let w0 = Matrix::from_fn(n_post, n_pre, |i, j| real(0.1 * i as Real - 0.2 * j as Real));
                let t0 = Matrix::from_fn(n_post, n_pre, |i, j| real(0.05 * (i * j) as Real - 0.1));
                let post: Vec<T> = (0..n_post).map(|i| real((i as Real * 0.7).sin())).collect();
                let pre: Vec<T> = (0..n_pre).map(|j| real((j as Real * 1.3).cos())).collect();
                let x: Vec<T> = (0..n_pre).map(|j| real(1.0 - 0.3 * j as Real)).collect();
                let what = |order| format!("{} {arch} {n_post}×{n_pre} {order:?}", T::NAME);
                for order in [UpdateOrder::Synchronous, UpdateOrder::TraceFirst] {
                    let s = TraceStep { decay: 0.1 / 30.0, rate: 0.1 * 0.002, order };
                    let (w_ref, t_ref) = reference(&w0, &t0, &post, &pre, s);
                    let (mut w, mut t) = (w0.clone(), t0.clone());
                    let mut out = vec![real(9.0); n_post];
                    plasticity_pass(&mut w, &mut t, &post, &pre, s, Some((&x, &mut out)));
                    // The vectorised sweep performs the reference's operations in the reference's
                    // order, so the results agree bit for bit.
                    assert_eq!(w, w_ref, "{}", what(order));
                    assert_eq!(t, t_ref, "{}", what(order));
                    let expect: Vec<T> =
                        (0..n_post).map(|i| (0..n_pre).fold(T::ZERO, |acc, j| acc + x[j] * w_ref.get(i, j))).collect();
                    assert_eq!(out, expect, "{}", what(order));
                    let mut out_gemv = vec![T::ZERO; n_post];
                    gemv(&mut out_gemv, &w_ref, &x);
                    assert_eq!(out_gemv, expect, "{} gemv", what(order));
                    let (mut w, mut t) = (w0.clone(), t0.clone());
                    plasticity_pass(&mut w, &mut t, &post, &pre, s, None);
                    assert_eq!((w, t), (w_ref.clone(), t_ref.clone()), "{} without product", what(order));
                }
            }
        });
    }

    #[test]
    fn fused_pass_matches_elementwise_reference() {
        check_fused_pass::<f64>();
        check_fused_pass::<f32>();
    }

    #[test]
    fn f32_pass_stays_within_rounding_of_f64() {
        // 1000 steps of a 50 × 31 matrix in both types from the same start: the f32 weights stay
        // within a few f32 roundings (relative 2⁻²⁴ ≈ 6e-8) per step of the f64 ones.
        let (n_post, n_pre) = (50, 31);
        let w64 = Matrix::from_fn(n_post, n_pre, |i, j| ((i * 7 + j * 3) as Real * 0.37).sin());
        let (mut w32, mut t32) = (w64.cast::<f32>(), Matrix::<f32>::zeros(n_post, n_pre));
        let (mut w64, mut t64) = (w64, Matrix::zeros(n_post, n_pre));
        let s = TraceStep { decay: 0.1 / 30.0, rate: 0.1 * 0.01, order: UpdateOrder::Synchronous };
        let (mut out64, mut out32) = (vec![0.0; n_post], vec![0.0f32; n_post]);
        for step in 0..1000 {
            let post: Vec<Real> = (0..n_post).map(|i| ((i + step) as Real * 0.1).cos()).collect();
            let pre: Vec<Real> = (0..n_pre).map(|j| ((j * step) as Real * 0.01).sin().abs()).collect();
            let (post32, pre32): (Vec<f32>, Vec<f32>) =
                (post.iter().map(|&x| x as f32).collect(), pre.iter().map(|&x| x as f32).collect());
            plasticity_pass(&mut w64, &mut t64, &post, &pre, s, Some((&pre, &mut out64)));
            plasticity_pass(&mut w32, &mut t32, &post32, &pre32, s, Some((&pre32, &mut out32)));
        }
        let scale = w64.as_slice().iter().fold(0.0, |m: Real, x| m.max(x.abs()));
        let err = w64.distance(&w32.cast());
        let max_err =
            w64.as_slice().iter().zip(w32.as_slice()).map(|(a, b)| (a - f64::from(*b)).abs()).fold(0.0, Real::max);
        assert!(max_err < 1e-5 * scale, "largest weight error {max_err} (scale {scale}, Frobenius {err})");
        let out_err = out64.iter().zip(&out32).map(|(a, b)| (a - f64::from(*b)).abs()).fold(0.0, Real::max);
        assert!(out_err < 1e-5 * n_pre as Real * scale, "largest product error {out_err}");
        assert!(max_err > 0.0, "f32 storage must round");
    }

    #[test]
    fn streaming_pass_touches_every_entry() {
        let mut w: Vec<Real> = (0..19).map(|i| i as Real).collect();
        let mut t: Vec<Real> = (0..19).map(|i| 0.5 - i as Real).collect();
        streaming_pass(&mut w, &mut t, 2.0, 0.5);
        let mut w32: Vec<f32> = w.iter().map(|&x| x as f32).collect();
        let mut t32: Vec<f32> = t.iter().map(|&x| x as f32).collect();
        streaming_pass(&mut w32, &mut t32, 1.0, 2.0);
        assert_eq!(w32[3], (w[3] + t[3]) as f32);
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
