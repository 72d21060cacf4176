//! The engines: the model's configuration, the network's weights, the continuous-time
//! microcircuit with its steady-state solver, and the batched two-step scheme. The engine knows
//! nothing of experiments; it reads files only through `io`.

pub mod config;
pub mod microcircuit;
pub mod network;
pub mod two_step;
