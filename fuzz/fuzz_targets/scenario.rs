//! Parsing scenarios, model files and Hugging Face configs never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use memphis_core::{hf_config, scenario};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = scenario::parse_scenario("fuzz", text);
        let _ = scenario::parse_model("fuzz", text);
        // The whole path of `--model config.json`: read, then validate (MoE layouts,
        // MLA, windows), as `memphis model` does.
        if let Ok(m) = hf_config::model_from_hf_config("fuzz", text) {
            let _ = m.validate("model");
        }
    }
});
