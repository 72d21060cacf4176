//! Vectorised elementwise maps over slices: eˣ, log(1 + x) and the rate functions built from them.
//!
//! The maps evaluate a whole population at once, eight lanes at a time with AVX-512 or four with
//! AVX2 and FMA where the CPU has them (detected at run time) and one lane at a time otherwise. All
//! three paths run the same operations in the same order, every multiply–add fused, so they return
//! the same bits; the result for an element depends neither on the path nor on its position in the
//! slice nor on the slice's length or alignment. Where none of them is fast, the maps fall back
//! to libm (see *Instruction sets* below).
//!
//! # Algorithms
//!
//! **eˣ.** Cody–Waite range reduction x = q ln 2 + r with q = round(x / ln 2) and |r| ≤ ln 2 / 2,
//! where ln 2 = L_hi + L_lo is split so that q L_hi is exact, followed by
//!
//! ```text
//! eʳ ≈ 1 + r + r² (1/2 + r Q(r)),     eˣ = eʳ · 2^⌊q/2⌉ · 2^(q − ⌊q/2⌉),
//! ```
//!
//! where Q is the degree-9 minimax (Remez) polynomial for (eʳ − 1 − r − r²/2) / r³ in the relative
//! error of eʳ on [−ln 2 / 2, ln 2 / 2]; its approximation error is below 2⁻⁶⁰. Scaling by two powers
//! of two lets the result overflow to +∞ for x > log(MAX) ≈ 709.78 and round gradually through the
//! subnormals to +0 below log(2⁻¹⁰⁷⁵) ≈ −745.13 with a single rounding.
//!
//! **log(1 + x).** With u = fl(1 + x) = 2ᵏ (1 + f), √2/2 ≤ 1 + f < √2, and c ≈ (1 + x − u) / u the
//! rounding error of u (f = x and c = 0 when k = 0),
//!
//! ```text
//! s = f / (2 + f),   z = s²,   log(1 + f) = f − f²/2 + s (f²/2 + z T(z)),
//! log(1 + x) = k L_hi + (((s (f²/2 + z T(z)) + (k L_lo + c)) − f²/2) + f),
//! ```
//!
//! where z T(z) = 2 atanh(s)/s − 2 and T is the degree-6 minimax polynomial in the relative error of
//! log(1 + f) on 0 ≤ z ≤ (3 − 2√2)²; its approximation error is below 2⁻⁵⁸.
//!
//! **Rate functions.** softplus(x) = max(x, 0) + log1p(e^(−|x|)) and
//! logistic(x) = 1 / (1 + e^(−|x|)) for x ≥ 0, e^(−|x|) / (1 + e^(−|x|)) otherwise, in the same
//! forms as the scalar functions in [`crate::rate`]. The logistic's derivative is e / (1 + e)² with
//! e = e^(−|x|), not s (1 − s), which cancels where s → 1; with d = fl(1 + e), its rounding error
//! d_lo = e − (d − 1), p = fl(d²) and p_lo = (d² − p) + 2 d d_lo, it is (e / p)(1 − p_lo / p).
//! The soft rectifier γ softplus(β(x − θ)) and its derivative γβ logistic(β(x − θ)) form the argument
//! and the scaling with the same operations as the scalar code.
//!
//! # Accuracy
//!
//! Largest differences found by the tests (sweeps of every binade of the doubles, dense grids over the
//! ranges where the functions vary, the neighbourhoods of the thresholds, and random arguments), in
//! units in the last place of the reference, which is the platform's libm or the scalar function of
//! [`crate::rate`] built on it (libm's own results lie within about 1 ulp of the exact values):
//!
//! | map | range | reference | max ulp |
//! |---|---|---|---|
//! | eˣ | all x, subnormal results included | `f64::exp` | 1 |
//! | log(1 + x) | −1 ≤ x ≤ +∞ | `f64::ln_1p` | 1 |
//! | softplus(x) | all x | [`crate::rate::softplus`] | 2 |
//! | logistic(x) | all x | [`crate::rate::logistic`] | 2 |
//! | logistic′(x) | all x | the same formula with `f64::exp` | 2 |
//! | γ softplus(β(x − θ)) | all x | [`crate::rate::RateFn::phi`] | 3 |
//! | γβ logistic(β(x − θ)) | all x | [`crate::rate::RateFn::dphi`] | 2 |
//!
//! The soft rectifier's bound is one more than softplus's because the scaling by γ rounds the two
//! slightly different values of softplus separately; it was measured for the paper's parameters and
//! for γ = 2.5, β = −0.7, θ = −1. Special values follow libm: eˣ is +∞ at +∞ and +0 at −∞;
//! log(1 + x) is −∞ at x = −1, NaN below, +∞ at +∞ and x itself for |x| < 2⁻⁵³ (signed zeros
//! included); a NaN argument gives NaN in every map.
//!
//! # Instruction sets
//!
//! The lane operations come from [`pulp`], whose x86-64-v3 token is only handed out after run-time
//! detection and compiles the kernels with the target features enabled, so this module needs no
//! `unsafe` code. Elements past the last whole vector are loaded into a zero-padded vector and go
//! through the same lane operations as the rest.
//!
//! The one-lane path fuses its multiply–adds with [`f64::mul_add`], which is a single instruction
//! only where the compilation target has a fused multiply–add (aarch64, or x86-64 built with the
//! `fma` feature); elsewhere it calls the library's software `fma` and runs several times slower than
//! libm. [`Isa::detect`] therefore takes it only where it is fast, and otherwise (an x86-64 CPU
//! without AVX2 and FMA under a generic build) falls back to [`Isa::Libm`], one element at a time
//! with the platform's libm in the forms of [`crate::rate`]. That fallback costs what the scalar code
//! always did and is within the bounds above by construction (it *is* the reference for every map
//! but the logistic's derivative, which it computes as (e/d²)(1 − 2 d_lo/d) without a fused
//! multiply–add, within 2 ulp); it does not give the same bits as the fused paths. Unfused multiply–
//! adds in the polynomial kernels were the other option, but they would have made a third set of
//! results whose bounds need their own proof, and they cannot recover the rounding error of d² that
//! the logistic's derivative needs.

use pulp::Simd;

use crate::{Real, rate};

/// The instruction set an elementwise map runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// One element at a time with the platform's libm, as the scalar functions of [`crate::rate`];
    /// on any target. Its results differ from the other two paths' by up to the bounds of the module
    /// docs.
    Libm,
    /// One lane at a time, on any target; multiply–adds use [`f64::mul_add`], so that the results are
    /// those of [`Isa::Avx2Fma`] bit for bit.
    Scalar,
    /// Four lanes at a time with AVX2 and FMA, on x86-64 CPUs of the x86-64-v3 level (Haswell and
    /// later), detected at run time with `is_x86_feature_detected!`.
    Avx2Fma,
    /// Eight lanes at a time with AVX-512, on x86-64 CPUs of the x86-64-v4 level (Skylake-X, Ice
    /// Lake, Zen 4 and later), detected at run time. The same operations as [`Isa::Avx2Fma`] on
    /// twice the lanes, so the same bits.
    Avx512,
}

impl Isa {
    /// The fastest instruction set this CPU supports: AVX-512 where detected, else AVX2 and FMA, else
    /// the one-lane path where [`f64::mul_add`] compiles to one instruction, else libm (see the
    /// module docs).
    pub fn detect() -> Isa {
        if Isa::Avx512.is_supported() {
            Isa::Avx512
        } else if Isa::Avx2Fma.is_supported() {
            Isa::Avx2Fma
        } else if HARDWARE_MUL_ADD {
            Isa::Scalar
        } else {
            Isa::Libm
        }
    }

    /// Whether this CPU can run `self`; the answer is cached after the first call.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Libm | Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => pulp::x86::V3::is_available(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => pulp::x86::V4::is_available(),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx2Fma | Isa::Avx512 => false,
        }
    }
}

/// Whether [`f64::mul_add`] compiles to a single fused multiply–add instruction on this target.
const HARDWARE_MUL_ADD: bool = cfg!(any(target_arch = "aarch64", target_feature = "fma"));

/// An elementwise map out[i] = f(x[i]) that runs vectorised over slices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Map {
    /// eˣ.
    Exp,
    /// log(1 + x).
    Log1p,
    /// log(1 + eˣ), as [`crate::rate::softplus`].
    Softplus,
    /// 1 / (1 + e^(−x)), as [`crate::rate::logistic`].
    Logistic,
    /// s (1 − s) with s = logistic(x), the logistic's derivative.
    LogisticDeriv,
    /// γ softplus(β(x − θ)), the soft rectifier.
    SoftRectifier {
        /// Output scale γ.
        gamma: Real,
        /// Input slope β.
        beta: Real,
        /// Threshold θ.
        theta: Real,
    },
    /// γβ logistic(β(x − θ)), the soft rectifier's derivative.
    SoftRectifierDeriv {
        /// Output scale γ.
        gamma: Real,
        /// Input slope β.
        beta: Real,
        /// Threshold θ.
        theta: Real,
    },
}

impl Map {
    /// out[i] = f(x[i]) on the fastest instruction set of this CPU. Allocates nothing.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn apply(self, x: &[Real], out: &mut [Real]) {
        self.apply_on(Isa::detect(), x, out);
    }

    /// out[i] = f(x[i]) on the given instruction set; the result is the same on [`Isa::Scalar`],
    /// [`Isa::Avx2Fma`] and [`Isa::Avx512`], and within the bounds of the module docs on [`Isa::Libm`].
    ///
    /// # Panics
    /// If the slices differ in length or this CPU does not support `isa`.
    pub fn apply_on(self, isa: Isa, x: &[Real], out: &mut [Real]) {
        assert_eq!(x.len(), out.len(), "vmath: length mismatch");
        self.run(isa, Io::Copy(x, out));
    }

    /// x[i] ← f(x[i]) on the fastest instruction set of this CPU, with the same results as
    /// [`Map::apply`]. Allocates nothing.
    pub fn apply_in_place(self, x: &mut [Real]) {
        self.run(Isa::detect(), Io::InPlace(x));
    }

    /// Runs the map's kernel over `io` on `isa`.
    fn run(self, isa: Isa, io: Io<'_>) {
        match self {
            Map::Exp => run(isa, ExpK, io),
            Map::Log1p => run(isa, Log1pK, io),
            Map::Softplus => run(isa, SoftplusK, io),
            Map::Logistic => run(isa, LogisticK, io),
            Map::LogisticDeriv => run(isa, LogisticDerivK, io),
            Map::SoftRectifier { gamma, beta, theta } => run(isa, SoftRectifierK { gamma, beta, theta }, io),
            Map::SoftRectifierDeriv { gamma, beta, theta } => {
                run(isa, SoftRectifierDerivK { scale: gamma * beta, beta, theta }, io)
            }
        }
    }
}

/// The slices a map reads and writes: a separate input and output, or one slice overwritten.
enum Io<'a> {
    Copy(&'a [Real], &'a mut [Real]),
    InPlace(&'a mut [Real]),
}

/// Runs `kernel` over `io` on `isa`.
fn run<K: Kernel>(isa: Isa, kernel: K, io: Io<'_>) {
    match isa {
        Isa::Libm => match io {
            Io::Copy(x, out) => {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = kernel.libm(v);
                }
            }
            Io::InPlace(x) => {
                for v in x {
                    *v = kernel.libm(*v);
                }
            }
        },
        Isa::Scalar => sweep(pulp::Scalar::new(), kernel, io),
        Isa::Avx2Fma => {
            #[cfg(target_arch = "x86_64")]
            if let Some(simd) = pulp::x86::V3::try_new() {
                return simd.vectorize(Sweep { simd, kernel, io });
            }
            panic!("vmath: this CPU lacks AVX2 and FMA");
        }
        Isa::Avx512 => {
            #[cfg(target_arch = "x86_64")]
            if let Some(simd) = pulp::x86::V4::try_new() {
                return simd.vectorize(Sweep { simd, kernel, io });
            }
            panic!("vmath: this CPU lacks AVX-512");
        }
    }
}

/// A sweep bundled as a nullary function, so that pulp can compile it with the target features on.
#[cfg(target_arch = "x86_64")]
struct Sweep<'a, S, K> {
    simd: S,
    kernel: K,
    io: Io<'a>,
}

#[cfg(target_arch = "x86_64")]
impl<S: Lanes, K: Kernel> pulp::NullaryFnOnce for Sweep<'_, S, K> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        sweep(self.simd, self.kernel, self.io);
    }
}

/// The number of vectors a sweep takes through a kernel's first stage before it runs the second.
const CHUNK: usize = 16;

/// Applies `kernel` to whole vectors of the input, then to the zero-padded remainder, so that every
/// element goes through the same lane operations. Whole vectors go in chunks of [`CHUNK`]: the
/// first stage of all of them, then the second. Each stage is a chain of about 20 dependent
/// operations per vector; run back to back for one vector, the two chains of the soft rectifier
/// are longer than the processor's out-of-order window can overlap with the next vector's, so the
/// sweep waited on latency (softplus took 7.7 ns an element where eˣ alone took 1.6 and
/// log(1 + x) 3). Separate stages give the processor independent vectors to interleave.
#[inline(always)]
fn sweep<S: Lanes, K: Kernel>(simd: S, kernel: K, io: Io<'_>) {
    let mut first = [simd.splat_f64s(0.0); CHUNK];
    match io {
        Io::Copy(x, out) => {
            let (x_head, x_tail) = S::as_simd_f64s(x);
            let (out_head, out_tail) = S::as_mut_simd_f64s(out);
            for (o, x) in out_head.chunks_mut(CHUNK).zip(x_head.chunks(CHUNK)) {
                for (t, &v) in first.iter_mut().zip(x) {
                    *t = kernel.first(simd, v);
                }
                for ((o, &v), &t) in o.iter_mut().zip(x).zip(&first) {
                    *o = kernel.second(simd, v, t);
                }
            }
            if !x_tail.is_empty() {
                simd.partial_store_f64s(out_tail, kernel.eval(simd, simd.partial_load_f64s(x_tail)));
            }
        }
        Io::InPlace(x) => {
            let (head, tail) = S::as_mut_simd_f64s(x);
            for x in head.chunks_mut(CHUNK) {
                for (t, &v) in first.iter_mut().zip(x.iter()) {
                    *t = kernel.first(simd, v);
                }
                for (v, &t) in x.iter_mut().zip(&first) {
                    *v = kernel.second(simd, *v, t);
                }
            }
            if !tail.is_empty() {
                let v = simd.partial_load_f64s(tail);
                simd.partial_store_f64s(tail, kernel.eval(simd, v));
            }
        }
    }
}

/// The operations beyond [`pulp::Simd`] that the kernels need: shifts of 64-bit lanes by the width of
/// the mantissa, which move an integer into or out of a float's exponent field.
trait Lanes: Simd {
    /// a << 52 in each lane.
    fn shl52(self, a: Self::u64s) -> Self::u64s;
    /// a >> 52 (logical) in each lane.
    fn shr52(self, a: Self::u64s) -> Self::u64s;
}

impl Lanes for pulp::Scalar {
    #[inline(always)]
    fn shl52(self, a: u64) -> u64 {
        a << 52
    }
    #[inline(always)]
    fn shr52(self, a: u64) -> u64 {
        a >> 52
    }
}

/// [`Lanes`] for an x86 level, by its shifts of four or eight 64-bit lanes.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_lanes {
    ($simd:ty, $shl:ident, $shr:ident) => {
        impl Lanes for $simd {
            #[inline(always)]
            fn shl52(self, a: Self::u64s) -> Self::u64s {
                self.$shl::<52>(a)
            }
            #[inline(always)]
            fn shr52(self, a: Self::u64s) -> Self::u64s {
                self.$shr::<52>(a)
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
x86_lanes!(pulp::x86::V3, shl_const_u64x4, shr_const_u64x4);
#[cfg(target_arch = "x86_64")]
x86_lanes!(pulp::x86::V4, shl_const_u64x8, shr_const_u64x8);

/// One elementwise map on a vector of lanes, in one or two stages, and its libm form for
/// [`Isa::Libm`].
trait Kernel: Copy {
    /// The first stage in each lane: f(x) itself for a map of one stage, e^(−|y|) for the maps
    /// built on softplus.
    fn first<S: Lanes>(self, simd: S, x: S::f64s) -> S::f64s;

    /// f(x) in each lane from x and the first stage's result t; t itself for a map of one stage.
    #[inline(always)]
    fn second<S: Lanes>(self, _simd: S, _x: S::f64s, t: S::f64s) -> S::f64s {
        t
    }

    /// f(x) in each lane, both stages at once.
    #[inline(always)]
    fn eval<S: Lanes>(self, simd: S, x: S::f64s) -> S::f64s {
        self.second(simd, x, self.first(simd, x))
    }

    /// f(x) with the platform's libm.
    fn libm(self, x: Real) -> Real;
}

#[derive(Clone, Copy)]
struct ExpK;
#[derive(Clone, Copy)]
struct Log1pK;
#[derive(Clone, Copy)]
struct SoftplusK;
#[derive(Clone, Copy)]
struct LogisticK;
#[derive(Clone, Copy)]
struct LogisticDerivK;
#[derive(Clone, Copy)]
struct SoftRectifierK {
    gamma: Real,
    beta: Real,
    theta: Real,
}
#[derive(Clone, Copy)]
struct SoftRectifierDerivK {
    scale: Real,
    beta: Real,
    theta: Real,
}

impl Kernel for ExpK {
    #[inline(always)]
    fn first<S: Lanes>(self, simd: S, x: S::f64s) -> S::f64s {
        exp(simd, x)
    }

    #[inline(always)]
    fn libm(self, x: Real) -> Real {
        x.exp()
    }
}

impl Kernel for Log1pK {
    #[inline(always)]
    fn first<S: Lanes>(self, simd: S, x: S::f64s) -> S::f64s {
        log1p(simd, x)
    }

    #[inline(always)]
    fn libm(self, x: Real) -> Real {
        x.ln_1p()
    }
}

impl Kernel for SoftplusK {
    #[inline(always)]
    fn first<S: Lanes>(self, simd: S, x: S::f64s) -> S::f64s {
        softplus_exp(simd, x)
    }

    #[inline(always)]
    fn second<S: Lanes>(self, simd: S, x: S::f64s, e: S::f64s) -> S::f64s {
        softplus_from_exp(simd, x, e)
    }

    #[inline(always)]
    fn libm(self, x: Real) -> Real {
        rate::softplus(x)
    }
}

impl Kernel for LogisticK {
    #[inline(always)]
    fn first<S: Lanes>(self, simd: S, x: S::f64s) -> S::f64s {
        logistic(simd, x)
    }

    #[inline(always)]
    fn libm(self, x: Real) -> Real {
        rate::logistic(x)
    }
}

impl Kernel for LogisticDerivK {
    #[inline(always)]
    fn first<S: Lanes>(self, simd: S, x: S::f64s) -> S::f64s {
        // s (1 − s) = e / (1 + e)² with e = e^(−|x|) on both sides of 0; this form keeps full relative
        // precision where s → 1 and 1 − s would cancel. With d = fl(1 + e), its rounding error
        // d_lo = e − (d − 1) (exact, as e ≤ 1), p = fl(d²) and p_lo = (d² − p) + 2 d d_lo (the first
        // term exact by a fused multiply–add), e / (1 + e)² = (e / p) (1 − p_lo / p) to first order.
        let one = simd.splat_f64s(1.0);
        let e = exp(simd, simd.neg_f64s(simd.abs_f64s(x)));
        let d = simd.add_f64s(one, e);
        let d_lo = simd.sub_f64s(e, simd.sub_f64s(d, one));
        let p = simd.mul_f64s(d, d);
        let p_lo = simd.mul_add_f64s(simd.add_f64s(d, d), d_lo, simd.mul_add_f64s(d, d, simd.neg_f64s(p)));
        let y = simd.div_f64s(e, p);
        simd.negate_mul_add_f64s(y, simd.div_f64s(p_lo, p), y)
    }

    #[inline(always)]
    fn libm(self, x: Real) -> Real {
        // Without a fused multiply–add the rounding error of d² is out of reach, but that of d is
        // not: (1 + e)² = d² (1 + d_lo/d)² ≈ d² (1 + 2 d_lo/d), so e/(1 + e)² = (e/d²)(1 − 2 d_lo/d).
        let e = (-x.abs()).exp();
        let d = 1.0 + e;
        let d_lo = e - (d - 1.0);
        let y = e / d / d;
        y - y * (2.0 * d_lo / d)
    }
}

impl SoftRectifierK {
    /// β(x − θ) in each lane.
    #[inline(always)]
    fn argument<S: Lanes>(self, simd: S, x: S::f64s) -> S::f64s {
        simd.mul_f64s(simd.splat_f64s(self.beta), simd.sub_f64s(x, simd.splat_f64s(self.theta)))
    }
}

impl Kernel for SoftRectifierK {
    #[inline(always)]
    fn first<S: Lanes>(self, simd: S, x: S::f64s) -> S::f64s {
        softplus_exp(simd, self.argument(simd, x))
    }

    #[inline(always)]
    fn second<S: Lanes>(self, simd: S, x: S::f64s, e: S::f64s) -> S::f64s {
        simd.mul_f64s(simd.splat_f64s(self.gamma), softplus_from_exp(simd, self.argument(simd, x), e))
    }

    #[inline(always)]
    fn libm(self, x: Real) -> Real {
        self.gamma * rate::softplus(self.beta * (x - self.theta))
    }
}

impl Kernel for SoftRectifierDerivK {
    #[inline(always)]
    fn first<S: Lanes>(self, simd: S, x: S::f64s) -> S::f64s {
        let y = simd.mul_f64s(simd.splat_f64s(self.beta), simd.sub_f64s(x, simd.splat_f64s(self.theta)));
        simd.mul_f64s(simd.splat_f64s(self.scale), logistic(simd, y))
    }

    #[inline(always)]
    fn libm(self, x: Real) -> Real {
        self.scale * rate::logistic(self.beta * (x - self.theta))
    }
}

/// The high part of ln 2, with its 11 lowest mantissa bits zero so that k L_hi is exact for |k| ≤ 2¹¹.
const LN2_HI: Real = 0.6931471805598903;
/// ln 2 − L_hi, rounded.
const LN2_LO: Real = 5.497923018708371e-14;
/// 1 / ln 2, rounded.
const LOG2E: Real = std::f64::consts::LOG2_E;
/// 1.5 · 2⁵²: adding it rounds a value below 2⁵¹ in magnitude to an integer held in the low mantissa
/// bits.
const SHIFT: Real = 6755399441055744.0;
/// The biased exponent of 1.0.
const EXP_BIAS: u64 = 1023;

/// Q(r) ≈ (eʳ − 1 − r − r²/2) / r³, lowest degree first (degree-9 minimax fit on |r| ≤ ln 2 / 2).
const EXP_Q: [Real; 10] = [
    0.1666666666666667,
    0.04166666666666617,
    0.008333333333327194,
    0.0013888888889259379,
    0.00019841269870937242,
    2.480158640526212e-05,
    2.7557260417462395e-06,
    2.755818257979854e-07,
    2.5103117401335537e-08,
    2.060156065651986e-09,
];

/// T(z) ≈ (2 atanh(√z)/√z − 2) / z, lowest degree first (degree-6 minimax fit on z ≤ (3 − 2√2)²).
const LOG_T: [Real; 7] = [
    0.6666666666666734,
    0.3999999999941468,
    0.28571428742387506,
    0.22222198573194615,
    0.1818356432566765,
    0.15314050562241097,
    0.14795949610686104,
];

/// Σ c[j] tʲ by Horner's rule with fused multiply–adds.
#[inline(always)]
fn horner<S: Simd>(simd: S, t: S::f64s, c: &[Real]) -> S::f64s {
    let (&last, rest) = c.split_last().expect("a polynomial has a coefficient");
    rest.iter().rev().fold(simd.splat_f64s(last), |p, &cj| simd.mul_add_f64s(p, t, simd.splat_f64s(cj)))
}

/// eˣ in each lane.
#[inline(always)]
fn exp<S: Lanes>(simd: S, x: S::f64s) -> S::f64s {
    // Beyond these bounds eˣ is +∞ or +0 in double precision; clamping keeps q within the exponent
    // range of the two scale factors. Comparisons with NaN are false, so a NaN passes unchanged.
    let lo = simd.splat_f64s(-746.0);
    let hi = simd.splat_f64s(710.0);
    let x = simd.select_f64s(simd.less_than_f64s(x, lo), lo, x);
    let x = simd.select_f64s(simd.greater_than_f64s(x, hi), hi, x);

    let shift = simd.splat_f64s(SHIFT);
    let t = simd.mul_add_f64s(x, simd.splat_f64s(LOG2E), shift);
    let q = simd.sub_f64s(t, shift);
    let r = simd.negate_mul_add_f64s(q, simd.splat_f64s(LN2_HI), x);
    let r = simd.negate_mul_add_f64s(q, simd.splat_f64s(LN2_LO), r);

    let p = simd.mul_add_f64s(horner(simd, r, &EXP_Q), r, simd.splat_f64s(0.5));
    let er = simd.add_f64s(simd.splat_f64s(1.0), simd.mul_add_f64s(simd.mul_f64s(r, r), p, r));

    // q = q₁ + q₂ with q₁ = ⌊q/2⌉, both read as integers from the mantissa bits of SHIFT + q.
    let shift_bits = simd.splat_u64s(SHIFT.to_bits());
    let q_int = simd.sub_u64s(simd.transmute_u64s_f64s(t), shift_bits);
    let half = simd.mul_add_f64s(q, simd.splat_f64s(0.5), shift);
    let q1 = simd.sub_u64s(simd.transmute_u64s_f64s(half), shift_bits);
    let q2 = simd.sub_u64s(q_int, q1);
    let bias = simd.splat_u64s(EXP_BIAS);
    let scale1 = simd.transmute_f64s_u64s(simd.shl52(simd.add_u64s(q1, bias)));
    let scale2 = simd.transmute_f64s_u64s(simd.shl52(simd.add_u64s(q2, bias)));
    simd.mul_f64s(simd.mul_f64s(er, scale1), scale2)
}

/// log(1 + x) in each lane.
#[inline(always)]
fn log1p<S: Lanes>(simd: S, x: S::f64s) -> S::f64s {
    let one = simd.splat_f64s(1.0);
    let u = simd.add_f64s(one, x);

    // Adding 1 − √2/2 (in the high mantissa bits) to u's bits carries into the exponent exactly when
    // u's mantissa is at least √2, so the exponent field then holds k + 1023 for the k that puts
    // 1 + f in [√2/2, √2); the mantissa is rebuilt under the exponent of √2/2.
    let u_bits = simd.transmute_u64s_f64s(u);
    let bits = simd.add_u64s(u_bits, simd.splat_u64s((0x3ff0_0000 - 0x3fe6_a09e) << 32));
    let k_field = simd.shr52(bits);
    let two52 = simd.splat_f64s(4503599627370496.0);
    let k_biased = simd.sub_f64s(
        simd.transmute_f64s_u64s(simd.or_u64s(k_field, simd.splat_u64s(4503599627370496.0f64.to_bits()))),
        two52,
    );
    let k = simd.sub_f64s(k_biased, simd.splat_f64s(EXP_BIAS as Real));
    let mantissa =
        simd.add_u64s(simd.and_u64s(bits, simd.splat_u64s(0x000f_ffff_ffff_ffff)), simd.splat_u64s(0x3fe6_a09e << 32));
    let f_reduced = simd.sub_f64s(simd.transmute_f64s_u64s(mantissa), one);

    // c (1 + x − u) / u corrects the rounding of u; for k ≥ 54 it is below the last place of x.
    let zero = simd.splat_f64s(0.0);
    let c_big = simd.sub_f64s(one, simd.sub_f64s(u, x));
    let c_small = simd.sub_f64s(x, simd.sub_f64s(u, one));
    let c = simd.select_f64s(simd.greater_than_or_equal_f64s(k, simd.splat_f64s(2.0)), c_big, c_small);
    let c = simd.div_f64s(c, u);
    let c = simd.select_f64s(simd.less_than_f64s(k, simd.splat_f64s(54.0)), c, zero);
    let k_is_zero = simd.equal_f64s(k, zero);
    let f = simd.select_f64s(k_is_zero, x, f_reduced);
    let c = simd.select_f64s(k_is_zero, zero, c);

    let hfsq = simd.mul_f64s(simd.mul_f64s(simd.splat_f64s(0.5), f), f);
    let s = simd.div_f64s(f, simd.add_f64s(simd.splat_f64s(2.0), f));
    let z = simd.mul_f64s(s, s);
    let r = simd.mul_f64s(z, horner(simd, z, &LOG_T));
    let tail =
        simd.add_f64s(simd.mul_f64s(s, simd.add_f64s(hfsq, r)), simd.mul_add_f64s(k, simd.splat_f64s(LN2_LO), c));
    let y = simd.mul_add_f64s(k, simd.splat_f64s(LN2_HI), simd.add_f64s(simd.sub_f64s(tail, hfsq), f));

    // Special arguments: log1p(x) = x for |x| < 2⁻⁵³ (zeros and subnormals included), −∞ at −1, NaN
    // below −1, and x itself for +∞ and NaN (comparisons with NaN are false).
    let abs_x = simd.abs_f64s(x);
    let y = simd.select_f64s(simd.less_than_f64s(abs_x, simd.splat_f64s(Real::EPSILON / 2.0)), x, y);
    let minus_one = simd.splat_f64s(-1.0);
    let y = simd.select_f64s(simd.equal_f64s(x, minus_one), simd.splat_f64s(Real::NEG_INFINITY), y);
    let y = simd.select_f64s(simd.less_than_f64s(x, minus_one), simd.splat_f64s(Real::NAN), y);
    simd.select_f64s(simd.less_than_f64s(x, simd.splat_f64s(Real::INFINITY)), y, x)
}

/// e^(−|x|) in each lane, the first stage of softplus.
#[inline(always)]
fn softplus_exp<S: Lanes>(simd: S, x: S::f64s) -> S::f64s {
    exp(simd, simd.neg_f64s(simd.abs_f64s(x)))
}

/// softplus(x) = max(x, 0) + log1p(e) in each lane, given e = e^(−|x|).
#[inline(always)]
fn softplus_from_exp<S: Lanes>(simd: S, x: S::f64s, e: S::f64s) -> S::f64s {
    let zero = simd.splat_f64s(0.0);
    let positive = simd.select_f64s(simd.greater_than_f64s(x, zero), x, zero);
    simd.add_f64s(positive, log1p(simd, e))
}

/// 1 / (1 + e^(−|x|)) for x ≥ 0 and e^(−|x|) / (1 + e^(−|x|)) otherwise, in each lane.
#[inline(always)]
fn logistic<S: Lanes>(simd: S, x: S::f64s) -> S::f64s {
    let one = simd.splat_f64s(1.0);
    let e = exp(simd, simd.neg_f64s(simd.abs_f64s(x)));
    let numerator = simd.select_f64s(simd.greater_than_or_equal_f64s(x, simd.splat_f64s(0.0)), one, e);
    simd.div_f64s(numerator, simd.add_f64s(one, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::{RateFn, logistic as logistic_libm, softplus as softplus_libm};
    use proptest::prelude::*;

    /// The instruction sets this CPU runs with fused multiply–adds, the one-lane path first; they
    /// return the same bits.
    fn isas() -> Vec<Isa> {
        [Isa::Scalar, Isa::Avx2Fma, Isa::Avx512].into_iter().filter(|isa| isa.is_supported()).collect()
    }

    /// Every instruction set this CPU runs, the libm fallback included.
    fn all_isas() -> Vec<Isa> {
        [Isa::Libm].into_iter().chain(isas()).collect()
    }

    /// The number of doubles between a and b: 0 for equal values (+0 and −0 included) and for two
    /// NaNs, u64::MAX when exactly one is NaN.
    fn ulps(a: Real, b: Real) -> u64 {
        if a.is_nan() || b.is_nan() {
            return if a.is_nan() && b.is_nan() { 0 } else { u64::MAX };
        }
        let ordered = |x: Real| {
            let bits = x.to_bits() as i64;
            if bits < 0 { i64::MIN - bits } else { bits }
        };
        ordered(a).abs_diff(ordered(b))
    }

    /// The scalar reference of each map, built on libm.
    fn reference(map: Map) -> impl Fn(Real) -> Real {
        move |x| match map {
            Map::Exp => x.exp(),
            Map::Log1p => x.ln_1p(),
            Map::Softplus => softplus_libm(x),
            Map::Logistic => logistic_libm(x),
            Map::LogisticDeriv => {
                // e / (1 + e)² as the kernel computes it, but with libm's e^(−|x|).
                let e = (-x.abs()).exp();
                let d = 1.0 + e;
                let d_lo = e - (d - 1.0);
                let p = d * d;
                let p_lo = (d + d).mul_add(d_lo, d.mul_add(d, -p));
                let y = e / p;
                (-y).mul_add(p_lo / p, y)
            }
            Map::SoftRectifier { gamma, beta, theta } => RateFn::SoftRectifier { gamma, beta, theta }.phi(x),
            Map::SoftRectifierDeriv { gamma, beta, theta } => RateFn::SoftRectifier { gamma, beta, theta }.dphi(x),
        }
    }

    /// Runs `map` over `xs` on every supported instruction set, checks that the fused ones agree bit
    /// for bit and returns the largest distance of any (the libm fallback included) from the libm
    /// reference in ulp, with its argument.
    fn max_ulps(map: Map, xs: &[Real]) -> (u64, Real) {
        let mut outs = Vec::new();
        for isa in isas() {
            let mut out = vec![0.0; xs.len()];
            map.apply_on(isa, xs, &mut out);
            outs.push(out);
        }
        for out in &outs[1..] {
            for ((&x, a), b) in xs.iter().zip(&outs[0]).zip(out) {
                assert_eq!(a.to_bits(), b.to_bits(), "{map:?} at {x:e}: the instruction sets disagree");
            }
        }
        let mut fallback = vec![0.0; xs.len()];
        map.apply_on(Isa::Libm, xs, &mut fallback);
        outs.push(fallback);
        let reference = reference(map);
        outs.iter()
            .flat_map(|out| xs.iter().zip(out).map(|(&x, &y)| (ulps(y, reference(x)), x)))
            .fold((0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
    }

    /// Every binade of the doubles, both signs, with mantissas at both ends and in between.
    fn all_binades() -> Vec<Real> {
        let mantissas = [0, 1, 0x5_5555_5555_5555, 0x8_0000_0000_0000, 0x6_a09e_667f_3bcd, 0xf_ffff_ffff_ffff];
        let mut xs = Vec::new();
        for exponent in 0..2047u64 {
            for m in mantissas {
                let bits = exponent << 52 | m;
                xs.push(Real::from_bits(bits));
                xs.push(-Real::from_bits(bits));
            }
        }
        xs
    }

    /// n + 1 evenly spaced points from lo to hi.
    fn grid(lo: Real, hi: Real, n: usize) -> Vec<Real> {
        (0..=n).map(|i| lo + (hi - lo) * i as Real / n as Real).collect()
    }

    /// x and its neighbours up to `k` doubles away on either side.
    fn around(x: Real, k: u64) -> Vec<Real> {
        let bits = x.to_bits();
        (bits - k..=bits + k).map(Real::from_bits).collect()
    }

    const SPECIALS: [Real; 12] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        Real::MIN_POSITIVE,
        -Real::MIN_POSITIVE,
        5e-324,
        -5e-324,
        Real::MAX,
        Real::MIN,
        Real::INFINITY,
        Real::NEG_INFINITY,
    ];

    /// The stated bound of each map, in ulp of the libm result.
    fn bound(map: Map) -> u64 {
        match map {
            Map::Exp | Map::Log1p => 1,
            Map::Softplus | Map::Logistic | Map::LogisticDeriv => 2,
            Map::SoftRectifier { .. } | Map::SoftRectifierDeriv { .. } => 3,
        }
    }

    fn assert_within_bound(map: Map, xs: &[Real]) {
        let (worst, at) = max_ulps(map, xs);
        eprintln!("{map:?}: {worst} ulp at {at:e} over {} arguments", xs.len());
        assert!(worst <= bound(map), "{map:?}: {worst} ulp at {at:e}");
    }

    #[test]
    fn exp_is_within_one_ulp_of_libm_everywhere() {
        let mut xs = all_binades();
        xs.extend(SPECIALS);
        xs.extend(grid(-746.0, 710.0, 2_000_000));
        xs.extend(grid(-1.0, 1.0, 200_000));
        // The overflow threshold log(MAX), the last subnormal log(2⁻¹⁰⁷⁴) and the underflow to zero.
        for edge in [709.782712893384, -744.4400719213812, -745.1332191019412, -708.3964185322641] {
            xs.extend(around(edge, 64));
        }
        assert_within_bound(Map::Exp, &xs);
    }

    #[test]
    fn log1p_is_within_one_ulp_of_libm_everywhere() {
        let mut xs: Vec<Real> = all_binades().into_iter().filter(|&x| x > -1.0).collect();
        xs.extend(SPECIALS.iter().filter(|&&x| x >= -1.0));
        xs.extend(grid(-1.0, 4.0, 2_000_000));
        xs.extend(grid(4.0, 1e6, 200_000));
        // Just above −1, where 1 + x is tiny, and around the reduction's switch points √2 − 1, √2/2 − 1
        // and 2^k − 1.
        xs.extend((1..200_000u64).map(|i| Real::from_bits((-1.0 as Real).to_bits() - i)));
        for edge in
            [std::f64::consts::SQRT_2 - 1.0, std::f64::consts::FRAC_1_SQRT_2 - 1.0, 1.0, 3.0, 2.0f64.powi(53) - 1.0]
        {
            xs.extend(around(edge, 64));
        }
        assert_within_bound(Map::Log1p, &xs);
    }

    #[test]
    fn rate_maps_are_within_their_bounds_of_the_scalar_code() {
        let mut xs = all_binades();
        xs.extend(SPECIALS);
        xs.extend(grid(-760.0, 760.0, 1_000_000));
        xs.extend(grid(-40.0, 40.0, 1_000_000));
        let paper = RateFn::PAPER_SOFT_RECTIFIER;
        let RateFn::SoftRectifier { gamma, beta, theta } = paper else { unreachable!() };
        for map in [
            Map::Softplus,
            Map::Logistic,
            Map::LogisticDeriv,
            Map::SoftRectifier { gamma, beta, theta },
            Map::SoftRectifierDeriv { gamma, beta, theta },
            Map::SoftRectifier { gamma: 2.5, beta: -0.7, theta: -1.0 },
            Map::SoftRectifierDeriv { gamma: 2.5, beta: -0.7, theta: -1.0 },
        ] {
            assert_within_bound(map, &xs);
        }
    }

    #[test]
    fn special_values_follow_libm() {
        let exp = |x: Real| {
            let mut y = [0.0];
            Map::Exp.apply(&[x], &mut y);
            y[0]
        };
        let log1p = |x: Real| {
            let mut y = [0.0];
            Map::Log1p.apply(&[x], &mut y);
            y[0]
        };
        assert_eq!(exp(Real::INFINITY), Real::INFINITY);
        assert_eq!(exp(710.0), Real::INFINITY);
        assert_eq!(exp(709.782712893384), 1.7976931348622732e308);
        assert_eq!(exp(Real::NEG_INFINITY).to_bits(), 0);
        assert_eq!(exp(-746.0).to_bits(), 0);
        assert_eq!(exp(-745.0), 5e-324);
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert_eq!(log1p(-1.0), Real::NEG_INFINITY);
        assert!(log1p(-1.5).is_nan());
        assert!(log1p(Real::NEG_INFINITY).is_nan());
        assert_eq!(log1p(Real::INFINITY), Real::INFINITY);
        assert_eq!(log1p(-0.0).to_bits(), (-0.0 as Real).to_bits());
        assert_eq!(log1p(0.0).to_bits(), 0);
        assert_eq!(log1p(-5e-324), -5e-324);
        assert_eq!(log1p(Real::MAX), Real::MAX.ln());
        for map in [Map::Exp, Map::Log1p, Map::Softplus, Map::Logistic, Map::LogisticDeriv] {
            for isa in all_isas() {
                let mut y = [0.0; 5];
                map.apply_on(isa, &[1.0, Real::NAN, 2.0, -Real::NAN, 3.0], &mut y);
                assert!(y[1].is_nan() && y[3].is_nan(), "{map:?} on {isa:?} loses a NaN");
                assert!(!y[0].is_nan() && !y[2].is_nan() && !y[4].is_nan(), "{map:?} on {isa:?} spreads a NaN");
            }
        }
        let mut y = [0.0; 4];
        Map::Softplus.apply(&[Real::INFINITY, Real::NEG_INFINITY, 800.0, -800.0], &mut y);
        assert_eq!(y, [Real::INFINITY, 0.0, 800.0, softplus_libm(-800.0)]);
        Map::Logistic.apply(&[Real::INFINITY, Real::NEG_INFINITY, 800.0, -800.0], &mut y);
        assert_eq!(y, [1.0, 0.0, 1.0, logistic_libm(-800.0)]);
    }

    #[test]
    fn results_do_not_depend_on_length_or_position() {
        let pool: Vec<Real> = grid(-30.0, 30.0, 97).into_iter().chain(SPECIALS).chain([Real::NAN]).collect();
        let paper = RateFn::PAPER_SOFT_RECTIFIER;
        let RateFn::SoftRectifier { gamma, beta, theta } = paper else { unreachable!() };
        for map in [Map::Exp, Map::Log1p, Map::Softplus, Map::Logistic, Map::SoftRectifierDeriv { gamma, beta, theta }]
        {
            for isa in all_isas() {
                // The fused paths are compared with the one-lane path, the libm fallback with itself.
                let single = if isa == Isa::Libm { Isa::Libm } else { Isa::Scalar };
                let alone: Vec<u64> = pool
                    .iter()
                    .map(|&x| {
                        let mut y = [0.0];
                        map.apply_on(single, &[x], &mut y);
                        y[0].to_bits()
                    })
                    .collect();
                for start in 0..5 {
                    for len in 0..=13 {
                        let x = &pool[start..start + len];
                        let mut out = vec![Real::NAN; len + 2];
                        map.apply_on(isa, x, &mut out[1..=len]);
                        for i in 0..len {
                            assert_eq!(out[1 + i].to_bits(), alone[start + i], "{map:?} on {isa:?}, [{start}..+{len}]");
                        }
                        assert!(out[0].is_nan() && out[len + 1].is_nan(), "{map:?} wrote outside its slice");
                    }
                }
            }
        }
    }

    #[test]
    fn in_place_maps_match_the_copying_ones() {
        let x: Vec<Real> = grid(-30.0, 30.0, 101).into_iter().chain(SPECIALS).collect();
        let paper = RateFn::PAPER_SOFT_RECTIFIER;
        let RateFn::SoftRectifier { gamma, beta, theta } = paper else { unreachable!() };
        for map in [Map::Logistic, Map::SoftRectifier { gamma, beta, theta }] {
            for len in [0, 1, 3, 4, 5, x.len()] {
                let mut copied = vec![0.0; len];
                map.apply(&x[..len], &mut copied);
                let mut in_place = x[..len].to_vec();
                map.apply_in_place(&mut in_place);
                let bits = |v: &[Real]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&in_place), bits(&copied), "{map:?}, {len} elements");
            }
        }
    }

    #[test]
    fn the_libm_fallback_is_libm() {
        let x = grid(-40.0, 40.0, 4001);
        let phi = RateFn::PAPER_SOFT_RECTIFIER;
        let RateFn::SoftRectifier { gamma, beta, theta } = phi else { unreachable!() };
        let mut y = vec![0.0; x.len()];
        Map::SoftRectifier { gamma, beta, theta }.apply_on(Isa::Libm, &x, &mut y);
        assert!(x.iter().zip(&y).all(|(&x, &y)| y.to_bits() == phi.phi(x).to_bits()));
        Map::SoftRectifierDeriv { gamma, beta, theta }.apply_on(Isa::Libm, &x, &mut y);
        assert!(x.iter().zip(&y).all(|(&x, &y)| y.to_bits() == phi.dphi(x).to_bits()));
    }

    #[test]
    #[should_panic(expected = "length mismatch")]
    fn length_mismatch_panics() {
        Map::Exp.apply(&[0.0, 1.0], &mut [0.0]);
    }

    #[test]
    fn detected_isa_runs() {
        let isa = Isa::detect();
        assert!(isa.is_supported());
        eprintln!("detected instruction set: {isa:?}");
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(isa == Isa::Avx512, pulp::x86::V4::is_available());
            assert_eq!(isa == Isa::Avx2Fma, pulp::x86::V3::is_available() && !pulp::x86::V4::is_available());
        }
        if !matches!(isa, Isa::Avx2Fma | Isa::Avx512) {
            assert_eq!(isa == Isa::Scalar, HARDWARE_MUL_ADD);
        }
    }

    proptest! {
        #[test]
        fn any_double_is_within_bound_on_every_isa(bits in any::<u64>(), x in -800.0..800.0f64) {
            let y = Real::from_bits(bits);
            for map in [Map::Exp, Map::Log1p, Map::Softplus, Map::Logistic, Map::LogisticDeriv] {
                let (worst, at) = max_ulps(map, &[x, y]);
                prop_assert!(worst <= bound(map), "{:?}: {} ulp at {:e}", map, worst, at);
            }
        }

        #[test]
        fn slices_agree_with_elementwise_evaluation(xs in prop::collection::vec(-50.0..50.0f64, 0..40), offset in 0usize..4) {
            let phi = RateFn::PAPER_SOFT_RECTIFIER;
            let x = &xs[offset.min(xs.len())..];
            let mut r = vec![0.0; x.len()];
            let mut d = vec![0.0; x.len()];
            phi.apply_slice(x, &mut r);
            phi.dphi_slice(x, &mut d);
            for (i, &u) in x.iter().enumerate() {
                prop_assert!(ulps(r[i], phi.phi(u)) <= 3, "φ({}) = {} vs {}", u, r[i], phi.phi(u));
                prop_assert!(ulps(d[i], phi.dphi(u)) <= 3, "φ′({}) = {} vs {}", u, d[i], phi.dphi(u));
                let mut one = [0.0];
                phi.apply_slice(&x[i..=i], &mut one);
                prop_assert_eq!(one[0].to_bits(), r[i].to_bits());
            }
        }
    }
}
