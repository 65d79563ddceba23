#![allow(clippy::print_stdout)] // a benchmark reports on stdout
//! `cargo bench -p memphis-core --bench planner`: planner throughput on the Memphis
//! default (405B on 98,304 GPUs), analytical model, on 1 thread and on all cores.
//! A plain timing loop: criterion would add more compile time than it saves here.

use memphis_core::plan::{search, Objective};
use memphis_core::scenario::{build, ScenarioLayers};
use std::time::Instant;

fn main() {
    let sc = build(&ScenarioLayers::default()).expect("default scenario");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for t in [1, threads] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .expect("pool");
        let mut best = f64::INFINITY;
        let mut plans = 0;
        for _ in 0..5 {
            let start = Instant::now();
            let r = pool
                .install(|| search(&sc, Objective::Step, 5, None, &|_, _| {}))
                .expect("search");
            best = best.min(start.elapsed().as_secs_f64());
            plans = r.plans_evaluated;
        }
        println!(
            "planner: {plans} plans on {t} thread(s): best of 5 {:.1} ms = {:.0} plans/s",
            best * 1e3,
            plans as f64 / best
        );
    }
}
