//! parse -> validate -> simulate through the public entry point, with both step models:
//! never panics, and predicts finite, positive times and a finite run (a refusal is
//! fine; a hang is caught by the fuzzer's -timeout). The timeline is left out past
//! `TIMELINE_OPS`: its cost is linear in its ops up to memphis's own bound, and an
//! instrumented build takes seconds per million, which the -timeout would call a hang
//! (a mutated batch of 6,144,000 did).
#![no_main]
use libfuzzer_sys::fuzz_target;
use memphis_core::api::{self, SimulateOptions};
use memphis_core::scenario;
use memphis_core::step::StepModel;

/// The most timeline ops a fuzz input runs (memphis's bound is 4,000,000).
const TIMELINE_OPS: u64 = 200_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = scenario::parse_scenario("fuzz", text) else {
        return;
    };
    let Ok(mut sc) = file.validate() else { return };
    sc.reliability.trials = sc.reliability.trials.min(3);
    let ops = 2 * sc.plan.micro_batches(&sc.run) * u64::from(sc.plan.vpp) * u64::from(sc.plan.pp);
    for step_model in [StepModel::Analytical, StepModel::Timeline] {
        if step_model == StepModel::Timeline && ops > TIMELINE_OPS {
            continue;
        }
        let opts = SimulateOptions {
            step_model,
            ..Default::default()
        };
        if let Ok(r) = api::simulate(&sc, &opts) {
            assert!(
                r.step.time_s.is_finite() && r.step.time_s > 0.0,
                "step {}",
                r.step.time_s
            );
            assert!(r.run.days_p50.is_finite() && r.run.days_p50 > 0.0);
            assert!(r.power.report.it_mw.is_finite() && r.energy.run_mwh.is_finite());
        }
    }
});
