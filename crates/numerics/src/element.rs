//! The two floating-point types a weight matrix and its trace can be stored in.
//!
//! f64 is the reference: every state, rate, potential and noise sample of the continuous-time
//! engine is f64, and so are the weights by default. A network can instead store its plastic
//! weights and their traces in f32 (`plasticity.precision = "f32"`), which halves the bytes a time
//! step moves. The kernels then compute in f32 too: the product W x accumulates its sums in f32,
//! column by column, and the fused plasticity pass advances Δ and W in f32, with dt/τ_w and dt η
//! rounded to f32 once per step. Everything outside the kernels stays f64; a kernel's f32 output
//! is widened exactly to f64 before the neurons use it.
//!
//! The batched two-step engine in f32 stores its blocks of rates and potentials in f32 as well,
//! so that every product is an f32 gemm (faer's, which accumulates in f32); it evaluates φ in f64
//! through [`Element::map_wide`] and rounds the result once.
//!
//! [`Element`] gives the kernels the vector operations of either type through faer's `pulp`, so
//! that one generic kernel serves both, and is a faer `ComplexField`, so that faer's gemm takes
//! either type.

use std::fmt::{Debug, Display};
use std::ops::{Add, AddAssign, Mul, Sub};

use faer::traits::pulp::Simd;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A floating-point type a [`Matrix`](crate::Matrix) can hold: f64 or f32.
pub trait Element:
    Copy
    + Default
    + PartialEq
    + PartialOrd
    + Debug
    + Display
    + Send
    + Sync
    + 'static
    + Serialize
    + DeserializeOwned
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + AddAssign
    + faer::traits::ComplexField
{
    /// The type's name in configurations and checkpoints: "f64" or "f32".
    const NAME: &'static str;
    /// Zero.
    const ZERO: Self;
    /// A vector of lanes of this type for the instruction set `S`.
    type Lanes<S: Simd>: Copy;

    /// The nearest value of this type (exact for f64).
    fn from_f64(x: f64) -> Self;
    /// The value as f64 (always exact).
    fn to_f64(self) -> f64;
    /// True unless NaN or infinite.
    fn is_finite(self) -> bool;

    /// Every lane set to `x`.
    fn splat<S: Simd>(simd: S, x: Self) -> Self::Lanes<S>;
    /// a + b, lane by lane.
    fn add_lanes<S: Simd>(simd: S, a: Self::Lanes<S>, b: Self::Lanes<S>) -> Self::Lanes<S>;
    /// a − b, lane by lane.
    fn sub_lanes<S: Simd>(simd: S, a: Self::Lanes<S>, b: Self::Lanes<S>) -> Self::Lanes<S>;
    /// a · b, lane by lane.
    fn mul_lanes<S: Simd>(simd: S, a: Self::Lanes<S>, b: Self::Lanes<S>) -> Self::Lanes<S>;
    /// The slice as whole vectors followed by the entries past the last whole vector.
    fn as_simd<S: Simd>(x: &[Self]) -> (&[Self::Lanes<S>], &[Self]);
    /// The mutable slice as whole vectors followed by the entries past the last whole vector.
    fn as_mut_simd<S: Simd>(x: &mut [Self]) -> (&mut [Self::Lanes<S>], &mut [Self]);

    /// Copies `src` into `dst` (resized to fit, which allocates only the first time), rounding
    /// each entry to this type, and returns it as a slice; f64 returns `src` itself.
    fn stage<'a>(src: &'a [f64], dst: &'a mut Vec<Self>) -> &'a [Self];
    /// Runs `f` on `out` itself (f64) or on `buf` resized to `out`'s length, whose entries are
    /// then widened into `out` (f32).
    fn write_through<R>(out: &mut [f64], buf: &mut Vec<Self>, f: impl FnOnce(&mut [Self]) -> R) -> R;

    /// out ← f(x) for a map `f` of f64 slices (a rate function), computed in f64: f64 passes its
    /// slices to `f` as they are; f32 widens `x` exactly in chunks of [`WIDE_CHUNK`] entries on
    /// the stack and rounds `f`'s results to f32. Allocates nothing.
    ///
    /// # Panics
    /// If the slices differ in length.
    fn map_wide(x: &[Self], out: &mut [Self], f: impl Fn(&[f64], &mut [f64]));
    /// x ← f(x) for an in-place map `f` of f64 slices, computed in f64 as [`Element::map_wide`].
    fn map_wide_in_place(x: &mut [Self], f: impl Fn(&mut [f64]));
}

/// The number of entries an f32 slice is widened to f64 at a time by [`Element::map_wide`]: a
/// 2 KiB buffer, which stays in the first-level cache.
pub const WIDE_CHUNK: usize = 256;

/// The lane operations of one type, forwarded to the `pulp` methods of that type's name.
macro_rules! lane_ops {
    ($lanes:ident, $splat:ident, $add:ident, $sub:ident, $mul:ident, $as_simd:ident, $as_mut_simd:ident) => {
        type Lanes<S: Simd> = S::$lanes;

        #[inline(always)]
        fn splat<S: Simd>(simd: S, x: Self) -> S::$lanes {
            simd.$splat(x)
        }
        #[inline(always)]
        fn add_lanes<S: Simd>(simd: S, a: S::$lanes, b: S::$lanes) -> S::$lanes {
            simd.$add(a, b)
        }
        #[inline(always)]
        fn sub_lanes<S: Simd>(simd: S, a: S::$lanes, b: S::$lanes) -> S::$lanes {
            simd.$sub(a, b)
        }
        #[inline(always)]
        fn mul_lanes<S: Simd>(simd: S, a: S::$lanes, b: S::$lanes) -> S::$lanes {
            simd.$mul(a, b)
        }
        #[inline(always)]
        fn as_simd<S: Simd>(x: &[Self]) -> (&[S::$lanes], &[Self]) {
            S::$as_simd(x)
        }
        #[inline(always)]
        fn as_mut_simd<S: Simd>(x: &mut [Self]) -> (&mut [S::$lanes], &mut [Self]) {
            S::$as_mut_simd(x)
        }
    };
}

impl Element for f64 {
    const NAME: &'static str = "f64";
    const ZERO: Self = 0.0;
    lane_ops!(f64s, splat_f64s, add_f64s, sub_f64s, mul_f64s, as_simd_f64s, as_mut_simd_f64s);

    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    #[inline(always)]
    fn stage<'a>(src: &'a [f64], _dst: &'a mut Vec<Self>) -> &'a [Self] {
        src
    }
    #[inline(always)]
    fn write_through<R>(out: &mut [f64], _buf: &mut Vec<Self>, f: impl FnOnce(&mut [Self]) -> R) -> R {
        f(out)
    }
    #[inline(always)]
    fn map_wide(x: &[Self], out: &mut [Self], f: impl Fn(&[f64], &mut [f64])) {
        assert_eq!(x.len(), out.len(), "map_wide: length mismatch");
        f(x, out);
    }
    #[inline(always)]
    fn map_wide_in_place(x: &mut [Self], f: impl Fn(&mut [f64])) {
        f(x);
    }
}

impl Element for f32 {
    const NAME: &'static str = "f32";
    const ZERO: Self = 0.0;
    lane_ops!(f32s, splat_f32s, add_f32s, sub_f32s, mul_f32s, as_simd_f32s, as_mut_simd_f32s);

    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    fn stage<'a>(src: &'a [f64], dst: &'a mut Vec<Self>) -> &'a [Self] {
        dst.resize(src.len(), 0.0);
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s as f32;
        }
        dst
    }
    fn write_through<R>(out: &mut [f64], buf: &mut Vec<Self>, f: impl FnOnce(&mut [Self]) -> R) -> R {
        buf.resize(out.len(), 0.0);
        let result = f(buf);
        for (o, &b) in out.iter_mut().zip(buf.iter()) {
            *o = f64::from(b);
        }
        result
    }
    fn map_wide(x: &[Self], out: &mut [Self], f: impl Fn(&[f64], &mut [f64])) {
        assert_eq!(x.len(), out.len(), "map_wide: length mismatch");
        let (mut wide_x, mut wide_out) = ([0.0; WIDE_CHUNK], [0.0; WIDE_CHUNK]);
        for (x, out) in x.chunks(WIDE_CHUNK).zip(out.chunks_mut(WIDE_CHUNK)) {
            let (wx, wo) = (&mut wide_x[..x.len()], &mut wide_out[..x.len()]);
            widen(x, wx);
            f(wx, wo);
            narrow(wo, out);
        }
    }
    fn map_wide_in_place(x: &mut [Self], f: impl Fn(&mut [f64])) {
        let mut wide = [0.0; WIDE_CHUNK];
        for x in x.chunks_mut(WIDE_CHUNK) {
            let w = &mut wide[..x.len()];
            widen(x, w);
            f(w);
            narrow(w, x);
        }
    }
}

/// wide ← x, exactly.
fn widen(x: &[f32], wide: &mut [f64]) {
    for (w, &x) in wide.iter_mut().zip(x) {
        *w = f64::from(x);
    }
}

/// x ← wide, each entry rounded to the nearest f32.
fn narrow(wide: &[f64], x: &mut [f32]) {
    for (x, &w) in x.iter_mut().zip(wide) {
        *x = w as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_rounds_to_f32_and_widens_exactly() {
        let src = [0.1, -2.5, 1e-3];
        let mut buf = Vec::new();
        assert_eq!(f32::stage(&src, &mut buf), &[0.1f32, -2.5, 1e-3]);
        assert!(std::ptr::eq(f64::stage(&src, &mut Vec::new()), &src[..]));
        let mut out = [9.0; 2];
        f32::write_through(&mut out, &mut buf, |b| b.copy_from_slice(&[0.1, 3.0]));
        assert_eq!(out, [f64::from(0.1f32), 3.0]);
        f64::write_through(&mut out, &mut Vec::new(), |b| b[0] = 0.25);
        assert_eq!(out[0], 0.25);
    }

    /// An f32 map over more than one chunk gives every entry f(x) computed in f64 and rounded
    /// once, in place or not.
    #[test]
    fn wide_maps_round_the_f64_result_once() {
        let x: Vec<f32> = (0..2 * WIDE_CHUNK + 7).map(|i| 0.01 * i as f32 - 3.0).collect();
        let want: Vec<f32> = x.iter().map(|&x| f64::from(x).exp() as f32).collect();
        let exp = |x: &[f64], out: &mut [f64]| out.iter_mut().zip(x).for_each(|(o, x)| *o = x.exp());
        let mut out = vec![0.0f32; x.len()];
        f32::map_wide(&x, &mut out, exp);
        assert_eq!(out, want);
        let mut y = x.clone();
        f32::map_wide_in_place(&mut y, |x| x.iter_mut().for_each(|x| *x = x.exp()));
        assert_eq!(y, want);
        let x64: Vec<f64> = x.iter().map(|&x| f64::from(x)).collect();
        let mut out64 = vec![0.0; x64.len()];
        f64::map_wide(&x64, &mut out64, exp);
        assert!(out64.iter().zip(&x64).all(|(o, x)| *o == x.exp()));
    }
}
