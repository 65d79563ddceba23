//! parse -> validate -> simulate through the public entry point, with both step models:
//! never panics, and predicts finite, positive times and a finite run (a refusal is
//! fine; a hang is caught by the fuzzer's -timeout).
#![no_main]
use libfuzzer_sys::fuzz_target;
use memphis_core::api::{self, SimulateOptions};
use memphis_core::scenario;
use memphis_core::step::StepModel;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(file) = scenario::parse_scenario("fuzz", text) else { return };
    let Ok(mut sc) = file.validate() else { return };
    sc.reliability.trials = sc.reliability.trials.min(3);
    for step_model in [StepModel::Analytical, StepModel::Timeline] {
        let opts = SimulateOptions { step_model, ..Default::default() };
        if let Ok(r) = api::simulate(&sc, &opts) {
            assert!(r.step.time_s.is_finite() && r.step.time_s > 0.0, "step {}", r.step.time_s);
            assert!(r.run.days_p50.is_finite() && r.run.days_p50 > 0.0);
            assert!(r.power.report.it_mw.is_finite() && r.energy.run_mwh.is_finite());
        }
    }
});
