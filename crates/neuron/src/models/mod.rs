//! The registry of neuron models. To add a model, add a file here and one line to [`MODELS`].

mod dendritic;
mod latent_equilibrium;

pub use dendritic::Dendritic;
pub use latent_equilibrium::LatentEquilibrium;

use crate::{Compartments, NeuronModel};

/// A constructor from the conductances of a role.
pub type Constructor = fn(Compartments) -> Box<dyn NeuronModel>;

/// Every registered model, by configuration name.
pub const MODELS: &[(&str, Constructor)] =
    &[("dendritic", |c| Box::new(Dendritic(c))), ("latent-equilibrium", |c| Box::new(LatentEquilibrium(c)))];
