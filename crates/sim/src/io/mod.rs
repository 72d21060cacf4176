//! File formats and writing: atomic writes, the checkpoint codec, NumPy `.npy`/`.npz` files and
//! metrics tables. This layer knows nothing of the engines or the experiments.

pub mod codec;
pub mod files;
pub mod npy;
pub mod record;
