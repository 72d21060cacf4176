//! The kernels of the continuous-time engine on the largest matrix of the MNIST network,
//! W_1 of 784-500-500-10 with its bias column (500 × 785), and on a short-wide one (10 × 501):
//!
//! * `plasticity_pass/<shape>`: the fused trace and weight update with the product W x;
//! * `gemv/<shape>`: the product alone, as for a fixed matrix;
//! * `stream/<shape>`: the streaming pass over the same weights and trace, the floor.

use std::hint::black_box;
use std::time::Duration;

use apical_numerics::kernels::{self, TraceStep, UpdateOrder};
use apical_numerics::{Matrix, Real};
use criterion::{Criterion, criterion_group, criterion_main};

fn kernels(c: &mut Criterion) {
    for (rows, cols) in [(500, 785), (10, 501)] {
        let id = format!("{rows}x{cols}");
        let mut w = Matrix::from_fn(rows, cols, |i, j| ((i * 7 + j * 13) % 17) as Real * 0.01 - 0.08);
        let mut trace = Matrix::from_fn(rows, cols, |i, j| ((i + j) % 5) as Real * 1e-3);
        // No postsynaptic factor is zero: the traces of a zero factor would decay, over the
        // millions of repetitions, into subnormal numbers, whose arithmetic is many times slower.
        let post: Vec<Real> = (0..rows).map(|i| (1.0 + i as Real * 0.3).sin() * 0.1).collect();
        let pre: Vec<Real> = (0..cols).map(|j| (j as Real * 0.7).cos().abs()).collect();
        let mut out = vec![0.0; rows];
        let step = TraceStep { decay: 0.1 / 30.0, rate: 0.1 * 1e-4, order: UpdateOrder::Synchronous };
        let mut group = c.benchmark_group("plasticity_pass");
        group.bench_function(&id, |b| {
            b.iter(|| kernels::plasticity_pass(&mut w, &mut trace, &post, &pre, step, Some((&pre, &mut out))))
        });
        group.finish();
        let mut group = c.benchmark_group("gemv");
        group.bench_function(&id, |b| b.iter(|| kernels::gemv(&mut out, &w, black_box(&pre))));
        group.finish();
        let mut group = c.benchmark_group("stream");
        group.bench_function(&id, |b| {
            b.iter(|| kernels::streaming_pass(w.as_mut_slice(), trace.as_mut_slice(), black_box(0.0), black_box(1.0)))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    targets = kernels
}
criterion_main!(benches);
