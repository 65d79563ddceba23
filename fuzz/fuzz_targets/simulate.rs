//! parse -> validate -> simulate (closed form, then the timeline and the run projection
//! when they accept the scenario) never panics, and predicts finite, positive times.
#![no_main]
use libfuzzer_sys::fuzz_target;
use memphis_core::{reliability, scenario, step};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(file) = scenario::parse_scenario("fuzz", text) else { return };
    let Ok(sc) = file.validate() else { return };
    let s = step::simulate_step(&sc);
    assert!(s.time.0.is_finite() && s.time.0 > 0.0, "step time {}", s.time.0);
    if let Ok((t, _)) = step::simulate_timeline_step(&sc, s.clone(), &Default::default()) {
        assert!(t.time.0.is_finite() && t.time.0 > 0.0);
    }
    let steps = (sc.run.tokens / (sc.run.global_batch * sc.run.seq_len) as f64).ceil();
    let cfg = reliability::ReliabilityConfig { trials: 3, ..sc.reliability.clone() };
    let r = reliability::project_run(steps * s.time.0 / 3600.0, s.time.0, sc.model.total_params(), sc.job_gpus(), sc.cluster.gpus_per_node, sc.spare_gpus(), &cfg);
    assert!(r.days_p50.is_finite());
});
