//! The kernels of the continuous-time engine on the largest matrix of the MNIST network,
//! W_1 of 784-500-500-10 with its bias column (500 × 785), on a short-wide one (10 × 501) and
//! on the matrices of Fig. 2's 30-50-10 network, each stored in f64 and in f32:
//!
//! * `plasticity_pass/<shape>` (`plasticity_pass_f32/<shape>`): the fused trace and weight update
//!   with the product W x;
//! * `gemv/<shape>` (`gemv_f32/<shape>`): the product alone, as for a fixed matrix;
//! * `stream/<shape>` (`stream_f32/<shape>`): the streaming pass over the same weights and trace,
//!   the floor.

use std::hint::black_box;
use std::time::Duration;

use apical_numerics::kernels::{self, TraceStep, UpdateOrder};
use apical_numerics::{Element, Matrix, Real};
use criterion::{Criterion, criterion_group, criterion_main};

/// The three benchmarks of one shape stored in `T`; the groups of f32 end in `_f32`.
fn shape<T: Element>(c: &mut Criterion, rows: usize, cols: usize) {
    let id = format!("{rows}x{cols}");
    let suffix = if T::NAME == "f64" { "" } else { "_f32" };
    let real = |x: Real| T::from_f64(x);
    let mut w = Matrix::from_fn(rows, cols, |i, j| real(((i * 7 + j * 13) % 17) as Real * 0.01 - 0.08));
    let mut trace = Matrix::from_fn(rows, cols, |i, j| real(((i + j) % 5) as Real * 1e-3));
    // No postsynaptic factor is zero: the traces of a zero factor would decay, over the
    // millions of repetitions, into subnormal numbers, whose arithmetic is many times slower.
    let post: Vec<T> = (0..rows).map(|i| real((1.0 + i as Real * 0.3).sin() * 0.1)).collect();
    let pre: Vec<T> = (0..cols).map(|j| real((j as Real * 0.7).cos().abs())).collect();
    let mut out = vec![T::ZERO; rows];
    let step = TraceStep { decay: 0.1 / 30.0, rate: 0.1 * 1e-4, order: UpdateOrder::Synchronous };
    let mut group = c.benchmark_group(format!("plasticity_pass{suffix}"));
    group.bench_function(&id, |b| {
        b.iter(|| kernels::plasticity_pass(&mut w, &mut trace, &post, &pre, step, Some((&pre, &mut out))))
    });
    group.finish();
    let mut group = c.benchmark_group(format!("gemv{suffix}"));
    group.bench_function(&id, |b| b.iter(|| kernels::gemv(&mut out, &w, black_box(&pre))));
    group.finish();
    let mut group = c.benchmark_group(format!("stream{suffix}"));
    group.bench_function(&id, |b| {
        b.iter(|| {
            kernels::streaming_pass(w.as_mut_slice(), trace.as_mut_slice(), black_box(T::ZERO), black_box(real(1.0)))
        })
    });
    group.finish();
}

fn kernels(c: &mut Criterion) {
    // The MNIST shapes, then W_1, W_2, W^IP_1 and W^PI_1 of 30-50-10 (W^IP_1 has W_2's shape).
    for (rows, cols) in [(500, 785), (10, 501), (50, 30), (10, 50), (50, 10)] {
        shape::<f64>(c, rows, cols);
        shape::<f32>(c, rows, cols);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    targets = kernels
}
criterion_main!(benches);
