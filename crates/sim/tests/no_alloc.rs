//! Architecture invariant: an Euler step allocates nothing.
//!
//! A counting global allocator tallies the allocations made on the test's own thread while
//! thousands of steps run with learning, noise, nudging and pattern switches, for a three-layer
//! and a four-layer network.

// A global allocator is an `unsafe` trait; this one only counts and forwards to the system's.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use apical_numerics::{Element, Real, rate::RateFn};
use apical_sim::config::{LateralInit, RunConfig};
use apical_sim::microcircuit::Microcircuit;
use apical_sim::presets::preset;

struct Counting;

thread_local! {
    /// Allocations made by this thread while counting is on; `None` while it is off.
    static COUNT: Cell<Option<usize>> = const { Cell::new(None) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the bookkeeping touches
// only a thread-local `Cell` with a constant initialiser, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn count() {
    let _ = COUNT.try_with(|c| c.set(c.get().map(|n| n + 1)));
}

/// The number of allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(Some(0)));
    f();
    COUNT.with(|c| c.replace(None)).expect("counting was on")
}

/// A network of the given widths with every rule plastic (top-down weights included), noise on
/// and the given neuron model.
fn config(sizes: &[usize], bias: bool, neuron: &str) -> RunConfig {
    let mut cfg = preset("fig1").unwrap();
    let layers = sizes.len() - 1;
    cfg.network.sizes = sizes.to_vec();
    cfg.network.bias = bias;
    cfg.network.neuron = neuron.into();
    cfg.network.phi = RateFn::PAPER_SOFT_RECTIFIER;
    cfg.dynamics.sigma = 0.3;
    cfg.init.lateral = LateralInit::Random;
    cfg.plasticity.eta_up = vec![0.001; layers];
    cfg.plasticity.eta_ip = vec![0.001; layers - 1];
    cfg.plasticity.eta_pi = vec![0.005; layers - 1];
    cfg.plasticity.eta_down = vec![0.0005; layers - 1];
    cfg.validate().unwrap();
    cfg
}

fn pattern(n: usize, shift: usize) -> Vec<Real> {
    (0..n).map(|i| ((i + shift) as Real * 0.37).sin().abs()).collect()
}

/// Asserts that 2040 steps of a network stored in `T` allocate nothing after a warm-up.
fn assert_steps_allocate_nothing<T: Element>(sizes: &[usize], bias: bool, neuron: &str) {
    let cfg = config(sizes, bias, neuron);
    let mut net = Microcircuit::<T>::new(&cfg).unwrap();
    let inputs: Vec<Vec<Real>> = (0..4).map(|p| pattern(sizes[0], p)).collect();
    let targets: Vec<Vec<Real>> = (0..4).map(|p| pattern(sizes[sizes.len() - 1], 7 * p)).collect();
    // Warm-up: the first pattern and target are taken over at once, and f32 storage sizes its
    // staging buffers.
    net.set_input(&inputs[0]);
    net.set_target(Some(&targets[0]));
    net.run_steps(10, true).unwrap();
    let weights_before = net.weights.clone();
    let n = allocations(|| {
        for p in 0..4 {
            net.set_input(&inputs[p]);
            net.set_target((p % 2 == 0).then_some(&targets[p][..]));
            net.run_steps(500, true).unwrap();
            net.run_steps(10, false).unwrap();
        }
    });
    assert_eq!(n, 0, "{sizes:?} {neuron} {}: {n} allocations in 2040 steps", T::NAME);
    // The steps did learn, so the hot loop really ran.
    assert_ne!(net.weights, weights_before, "{sizes:?} {}", T::NAME);
}

#[test]
fn euler_steps_allocate_nothing() {
    // The counter works: a vector allocated while counting is seen.
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1.0; 8]))), 1);
    assert_steps_allocate_nothing::<Real>(&[30, 50, 10], false, "dendritic");
    assert_steps_allocate_nothing::<Real>(&[9, 12, 8, 3], true, "dendritic");
    assert_steps_allocate_nothing::<Real>(&[4, 7, 5, 2], true, "latent-equilibrium");
    assert_steps_allocate_nothing::<f32>(&[30, 50, 10], false, "dendritic");
    assert_steps_allocate_nothing::<f32>(&[9, 12, 8, 3], true, "dendritic");
}
