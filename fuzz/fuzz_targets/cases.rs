//! Parsing case files and predicting them (closed form) never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use memphis_core::validate::{parse_cases, run_cases};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cases) = parse_cases("fuzz", text) {
            let _ = run_cases(&cases, false);
        }
    }
});
