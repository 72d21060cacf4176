//! apical-sim
