//! Benchmarks of the continuous-time Euler engine, each next to the floor it is judged against.
//!
//! * `euler_step/<net>`: one Euler step with plasticity, nudging and noise on, for the paper's
//!   networks 30-50-10 (Fig. 2), 4-120-3 (Yin-Yang), 9-30-3 and 784-500-500-10 (MNIST sizes).
//! * `stream_floor/<net>`: one streaming pass that reads and writes every plastic weight and
//!   trace of the same network once, `W ← W + a Δ; Δ ← b Δ`. A step must touch the same bytes,
//!   so this is the memory-traffic limit of the machine for that network.
//! * `euler_step_cpu/<net>` and `stream_floor_cpu/<net>`: the same two, timed by the CPU time of
//!   the benchmarking thread ([`ThreadCpu`]) instead of the wall clock, so that the time the
//!   thread waits while other work on the machine runs is not counted.
//! * `euler_step_f32/<net>`, `stream_floor_f32/<net>` and their `_cpu` twins: the same with the
//!   weights and traces stored in f32 (`plasticity.precision = "f32"`).
//! * `pattern_100ms/30-50-10`: one 100 ms pattern, 1000 steps.
//! * `seeds/threads-<n>`: four independent 30-50-10 runs of 2000 steps in a rayon pool of n
//!   threads; the ratio of the two is the parallel scaling of `apical run --seeds`.
//!
//! `cargo xtask bench` runs these and turns the pairs into the ratios of `docs/benchmarks.md`.

use std::hint::black_box;
use std::time::Duration;

use apical_datasets::patterns::{InputDistribution, PatternStream};
use apical_numerics::{Element, Real, kernels, rate::RateFn};
use apical_rules::Synapses;
use apical_sim::config::{LateralInit, RunConfig};
use apical_sim::microcircuit::Microcircuit;
use apical_sim::network::Weights;
use apical_sim::presets::preset;
use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;

/// A benchmarked network: its name in the results, its widths, rate function and bias.
struct Net {
    name: &'static str,
    sizes: &'static [usize],
    phi: RateFn,
    bias: bool,
}

const NETS: [Net; 4] = [
    Net { name: "30-50-10", sizes: &[30, 50, 10], phi: RateFn::PAPER_SOFT_RECTIFIER, bias: false },
    Net { name: "4-120-3", sizes: &[4, 120, 3], phi: RateFn::Logistic, bias: true },
    Net { name: "9-30-3", sizes: &[9, 30, 3], phi: RateFn::Logistic, bias: true },
    Net { name: "784-500-500-10", sizes: &[784, 500, 500, 10], phi: RateFn::Logistic, bias: true },
];

/// The learning rates and noise of Fig. 2 (σ = 0.3; W, W^IP and W^PI plastic, B fixed) on the
/// given network, with weights drawn from U(−1/√n, 1/√n), n the widest layer, so that the large
/// networks stay in the working range of φ.
fn config(net: &Net) -> RunConfig {
    let mut cfg = preset("fig1").expect("the fig1 preset exists");
    let layers = net.sizes.len() - 1;
    cfg.network.sizes = net.sizes.to_vec();
    cfg.network.phi = net.phi;
    cfg.network.bias = net.bias;
    cfg.dynamics.sigma = 0.3;
    cfg.init.lateral = LateralInit::Random;
    cfg.init.range = 1.0 / (*net.sizes.iter().max().expect("sizes") as Real).sqrt();
    cfg.plasticity.eta_up = (0..layers).map(|k| 0.0011875 / (k + 1) as Real).collect();
    cfg.plasticity.eta_ip = vec![0.0011875; layers - 1];
    cfg.plasticity.eta_pi = vec![0.0059375; layers - 1];
    cfg.validate().expect("the benchmark configuration is valid");
    cfg
}

/// A network with a random input pattern and a target shown, after 100 warm-up steps.
fn nudged_network<T: Element>(cfg: &RunConfig) -> (Microcircuit<T>, PatternStream) {
    let n = &cfg.network.sizes;
    let mut inputs = PatternStream::new(n[0], InputDistribution::unit(), 7);
    let mut net = Microcircuit::new(cfg).expect("a valid benchmark network");
    let mut pattern = vec![0.0; n[0]];
    inputs.next_into(&mut pattern);
    net.set_input(&pattern);
    let target: Vec<Real> = (0..n[n.len() - 1]).map(|i| 0.5 - 0.1 * i as Real).collect();
    net.set_target(Some(&target));
    net.run_steps(100, true).expect("the benchmark network is stable");
    (net, inputs)
}

/// The plastic matrices of a network: those a learning step changes.
fn plastic<T: Element>(weights: &mut Weights<T>) -> impl Iterator<Item = &mut Synapses<T>> {
    let Weights { up, down, ip, pi } = weights;
    up.iter_mut().chain(down.iter_mut()).chain(ip.iter_mut()).chain(pi.iter_mut()).filter(|s| s.learns())
}

/// The bytes of the plastic weights and their traces, which the streaming pass reads and writes.
fn plastic_bytes<T: Element>(weights: &mut Weights<T>) -> u64 {
    plastic(weights).map(|s| 2 * std::mem::size_of_val(s.w.as_slice()) as u64).sum()
}

/// One streaming pass over every plastic weight and trace: W ← W + a Δ, Δ ← b Δ.
fn stream_pass<T: Element>(weights: &mut Weights<T>, a: T, b: T) {
    for syn in plastic(weights) {
        kernels::streaming_pass(syn.w.as_mut_slice(), syn.trace.as_mut_slice(), a, b);
    }
}

/// Criterion's measurement by the CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`
/// on Linux), in nanoseconds like the wall clock. A benchmark timed by it must run on the thread
/// that criterion calls it on.
struct ThreadCpu;

/// The wall clock, whose formatter of nanoseconds [`ThreadCpu`] borrows.
static WALL: WallTime = WallTime;

impl Measurement for ThreadCpu {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }

    fn end(&self, started: ThreadTime) -> Duration {
        started.elapsed()
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

/// The Euler steps and their streaming floors by the wall clock, in f64 and in f32.
fn euler_wall(c: &mut Criterion) {
    euler::<_, f64>(c, "");
    euler::<_, f32>(c, "_f32");
}

/// The Euler steps and their streaming floors by the thread's CPU time, in f64 and in f32.
fn euler_cpu(c: &mut Criterion<ThreadCpu>) {
    euler::<_, f64>(c, "_cpu");
    euler::<_, f32>(c, "_f32_cpu");
}

/// Each network's step with weights and traces stored in `T`, then its streaming floor, in groups
/// named `euler_step<suffix>` and `stream_floor<suffix>`.
fn euler<M: Measurement, T: Element>(c: &mut Criterion<M>, suffix: &str) {
    for net in &NETS {
        let cfg = config(net);
        let (mut circuit, _) = nudged_network::<T>(&cfg);
        let mut group = c.benchmark_group(format!("euler_step{suffix}"));
        group.bench_function(net.name, |b| b.iter(|| circuit.step(black_box(true)).expect("stable")));
        group.finish();
        // The floor is measured right after the step on the same weights, so that both see the
        // same machine load.
        let mut weights = circuit.weights.clone();
        let mut group = c.benchmark_group(format!("stream_floor{suffix}"));
        group.throughput(Throughput::Bytes(plastic_bytes(&mut weights)));
        let (a, d) = (T::ZERO, T::from_f64(1.0));
        group.bench_function(net.name, |b| b.iter(|| stream_pass(&mut weights, black_box(a), black_box(d))));
        group.finish();
    }
}

fn pattern(c: &mut Criterion) {
    let cfg = config(&NETS[0]);
    let (mut circuit, mut inputs) = nudged_network::<Real>(&cfg);
    let mut next = vec![0.0; cfg.network.sizes[0]];
    let mut group = c.benchmark_group("pattern_100ms");
    group.sample_size(20);
    group.bench_function(NETS[0].name, |b| {
        b.iter(|| {
            inputs.next_into(&mut next);
            circuit.set_input(&next);
            circuit.run_steps(1000, true).expect("stable");
        })
    });
    group.finish();
}

/// Four independent runs of 2000 steps, one per seed, in a pool of `threads` threads.
fn seeds(c: &mut Criterion) {
    let cfg = config(&NETS[0]);
    let mut group = c.benchmark_group("seeds");
    group.sample_size(10);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool");
        group.bench_function(format!("threads-{threads}"), |b| {
            b.iter(|| {
                pool.install(|| {
                    (0..4u64).into_par_iter().for_each(|seed| {
                        let mut cfg = cfg.clone();
                        cfg.seed = seed;
                        let (mut circuit, _) = nudged_network::<Real>(&cfg);
                        circuit.run_steps(2000, true).expect("stable");
                        black_box(circuit.output_rates());
                    })
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = euler_wall, pattern, seeds
}
criterion_group! {
    name = cpu_benches;
    config = Criterion::default()
        .with_measurement(ThreadCpu)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = euler_cpu
}
criterion_main!(benches, cpu_benches);
