//! Parsing scenarios, model files and Hugging Face configs never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use memphis_core::scenario;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = scenario::parse_scenario("fuzz", text);
        let _ = scenario::parse_model("fuzz", text);
        let _ = scenario::model_from_hf_config("fuzz", text);
    }
});
