//! Apical: a simulator of the dendritic cortical microcircuits of Sacramento, Ponte Costa,
//! Bengio & Senn, "Dendritic cortical microcircuits approximate the backpropagation algorithm"
//! (NeurIPS 2018).
//!
//! This facade re-exports the workspace's crates, so that one dependency gives the whole
//! simulator; each crate can also be used on its own.
//!
//! * [`numerics`]: rate functions, kernels, filters, random streams.
//! * [`neuron`]: compartmental neuron models behind the `NeuronModel` trait.
//! * [`rules`]: the local plasticity rules (Eqs. 7–10).
//! * [`datasets`]: MNIST, the teacher network, random input patterns.
//! * [`sim`]: network assembly, engines, experiments, checkpoints.
//! * [`plot`]: PNG line plots.
//!
//! The `apical` binary's helpers (configuration loading) live in [`cli`].

pub mod cli;

pub use apical_datasets as datasets;
pub use apical_neuron as neuron;
pub use apical_numerics as numerics;
pub use apical_plot as plot;
pub use apical_rules as rules;
pub use apical_sim as sim;
