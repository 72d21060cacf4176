//! A configuration file: arbitrary bytes, as UTF-8 text, through the command-line tool's parsing
//! and the validation every run goes through.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(cfg) = apical::cli::parse_config(text, "fuzz.toml")
    {
        let _ = cfg.validate();
    }
});
