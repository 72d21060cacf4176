//! Rate functions over a population of n neurons, n = 10, 50, 140 and 1000, one element at a time
//! with libm against the vectorised slice maps:
//!
//! * `<phi>/scalar/<n>`: [`RateFn::apply`] and the loop over [`RateFn::dphi`];
//! * `<phi>/slice/<n>`: [`RateFn::apply_slice`] and [`RateFn::dphi_slice`] on the fastest instruction
//!   set of this CPU;
//! * `<phi>/slice-portable/<n>`: the same maps forced onto the one-lane path, through [`Map::apply_on`].
//!
//! `<phi>` is `soft-rectifier`, `soft-rectifier'`, `logistic` and `logistic'`. The potentials sweep
//! −10..10, which puts the paper's soft rectifier (θ = 3) on both of its branches.

use std::hint::black_box;
use std::time::Duration;

use apical_numerics::Real;
use apical_numerics::rate::RateFn;
use apical_numerics::vmath::{Isa, Map};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn rates(c: &mut Criterion) {
    let paper = RateFn::PAPER_SOFT_RECTIFIER;
    let RateFn::SoftRectifier { gamma, beta, theta } = paper else {
        unreachable!("the paper's φ is a soft rectifier")
    };
    let cases = [
        ("soft-rectifier", paper, false, Map::SoftRectifier { gamma, beta, theta }),
        ("soft-rectifier'", paper, true, Map::SoftRectifierDeriv { gamma, beta, theta }),
        ("logistic", RateFn::Logistic, false, Map::Logistic),
        ("logistic'", RateFn::Logistic, true, Map::LogisticDeriv),
    ];
    for (name, phi, derivative, map) in cases {
        let mut group = c.benchmark_group(name);
        for n in [10, 50, 140, 1000] {
            let u: Vec<Real> = (0..n).map(|i| -10.0 + 20.0 * i as Real / n as Real).collect();
            let mut out = vec![0.0; n];
            group.bench_with_input(BenchmarkId::new("scalar", n), &u, |b, u| {
                if derivative {
                    b.iter(|| {
                        for (o, &x) in out.iter_mut().zip(black_box(u)) {
                            *o = phi.dphi(x);
                        }
                    })
                } else {
                    b.iter(|| phi.apply(black_box(u), &mut out))
                }
            });
            group.bench_with_input(BenchmarkId::new("slice", n), &u, |b, u| {
                if derivative {
                    b.iter(|| phi.dphi_slice(black_box(u), &mut out))
                } else {
                    b.iter(|| phi.apply_slice(black_box(u), &mut out))
                }
            });
            group.bench_with_input(BenchmarkId::new("slice-portable", n), &u, |b, u| {
                b.iter(|| map.apply_on(Isa::Scalar, black_box(u), &mut out))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    targets = rates
}
criterion_main!(benches);
