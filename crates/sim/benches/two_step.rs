//! Training throughput of the two-step engine on the paper's MNIST network 784-500-500-10, next
//! to the limit set by its matrix products.
//!
//! * `two_step/batch-<B>`: one training step (forward sweep, nudged sweep, updates of W and
//!   W^IP) on a mini-batch of B images, B = 10 and 100.
//! * `gemm_reference/batch-<B>`: faer's gemm alone on the products of that step, with the same
//!   shapes and batch: W_k R_{k−1} and the update P_k R_{k−1}ᵀ for every layer, and
//!   W^IP_k R_k, its update, B_k R_{k+1} and W^PI_k R^I_k for every hidden layer.
//! * `two_step/batch-100-f32` and `gemm_reference/batch-100-f32`: the same at B = 100 with every
//!   matrix stored in f32 (`plasticity.precision = "f32"`).
//!
//! Both run on rayon's global pool (one thread per CPU), as `apical run` trains by default.
//! `cargo xtask bench` reports the engine's images per second as a fraction of the reference's.

use std::hint::black_box;
use std::time::Duration;

use apical_datasets::patterns::{InputDistribution, PatternStream};
use apical_numerics::{Element, Matrix, Real, kernels};
use apical_sim::network::{Shape, Weights};
use apical_sim::presets::preset;
use apical_sim::two_step::{HiddenRates, Learner, Mixing, Rates, TwoStep, make_self_predicting};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// One product of the reference: dst ← lhs rhs, or dst ← dst + α lhs rhsᵀ for a weight update.
struct Product<T: Element> {
    dst: Matrix<T>,
    lhs: Matrix<T>,
    rhs: Matrix<T>,
    update: bool,
}

/// The products of one two-step training step with batch `b`, with operands of order 0.1.
fn reference_products<T: Element>(shape: &Shape, b: usize) -> Vec<Product<T>> {
    let operand = |rows: usize, cols: usize| {
        Matrix::from_fn(rows, cols, |i, j| T::from_f64(((i * 7 + j * 3) % 11) as Real * 0.02))
    };
    let n = &shape.sizes;
    let mut products = Vec::new();
    let mut product = |rows: usize, inner: usize, update: bool| {
        let product = if update {
            // W (rows × inner) += P (rows × B) Rᵀ, with R inner × B.
            Product { dst: operand(rows, inner), lhs: operand(rows, b), rhs: operand(inner, b), update }
        } else {
            // V (rows × B) = W (rows × inner) R (inner × B).
            Product { dst: Matrix::zeros(rows, b), lhs: operand(rows, inner), rhs: operand(inner, b), update }
        };
        products.push(product);
    };
    for k in 1..=shape.depth() {
        product(n[k], shape.pre(k - 1), false);
        product(n[k], shape.pre(k - 1), true);
    }
    for k in 1..shape.depth() {
        product(n[k + 1], shape.pre(k), false);
        product(n[k + 1], shape.pre(k), true);
        product(n[k], n[k + 1], false);
        product(n[k], n[k + 1], false);
    }
    products
}

/// The engine and its gemm reference at batch `b`, storing `T`, under the benchmark id `id`.
fn bench_batch<T: Element>(c: &mut Criterion, b: usize, id: &str) {
    let cfg = preset("mnist").expect("the mnist preset exists");
    let shape = Shape { sizes: cfg.network.sizes.clone(), bias: cfg.network.bias };
    let mixing = Mixing::from_conductances(&cfg.network.conductances);
    let n0 = shape.sizes[0];
    let n_out = shape.sizes[shape.depth()];
    let mut weights = Weights::<T>::from_config(&cfg, &shape);
    make_self_predicting(&mut weights, &mixing);
    let rates = Rates::new(&weights, &mixing, Learner::Microcircuit, true).scaled(1e-3);
    let mut engine = TwoStep::new(&shape, cfg.network.phi, mixing, HiddenRates::Basal, b);
    let mut pixels = vec![0.0; n0 * b];
    PatternStream::new(n0 * b, InputDistribution::unit(), 1).next_into(&mut pixels);
    let targets: Vec<Real> =
        (0..n_out * b).map(|i| if i % n_out == (i / n_out) % n_out { 1.4 } else { -2.2 }).collect();
    engine.set_batch(&pixels, &targets);
    let mut group = c.benchmark_group("two_step");
    group.throughput(Throughput::Elements(b as u64)).sample_size(30);
    group.bench_function(id, |bench| bench.iter(|| engine.train(&mut weights, Learner::Microcircuit, &rates)));
    group.finish();
    let mut products = reference_products::<T>(&shape, b);
    let (one, alpha) = (T::from_f64(1.0), T::from_f64(1e-9));
    let mut group = c.benchmark_group("gemm_reference");
    group.throughput(Throughput::Elements(b as u64)).sample_size(30);
    group.bench_function(id, |bench| {
        bench.iter(|| {
            for p in products.iter_mut() {
                if p.update {
                    kernels::gemm(&mut p.dst, true, p.lhs.as_ref(), p.rhs.as_ref().transpose(), black_box(alpha));
                } else {
                    kernels::gemm(&mut p.dst, false, p.lhs.as_ref(), p.rhs.as_ref(), one);
                }
            }
        })
    });
    group.finish();
}

fn throughput(c: &mut Criterion) {
    bench_batch::<f64>(c, 10, "batch-10");
    bench_batch::<f64>(c, 100, "batch-100");
    bench_batch::<f32>(c, 100, "batch-100-f32");
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    targets = throughput
}
criterion_main!(benches);
