//! apical-rules
