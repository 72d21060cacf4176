//! The bundled DejaVu Sans font and its one-time registration with plotters.

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

/// The DejaVu Sans font, embedded so that text renders without system fonts.
const DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The font family name under which the embedded font is registered.
pub(crate) const FONT_FAMILY: &str = "sans-serif";

/// Registers the embedded font once and reports whether that succeeded.
pub(crate) fn font_available() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| register_font(FONT_FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_font_registers() {
        assert!(font_available());
    }
}
