#![allow(clippy::print_stdout)] // a benchmark reports on stdout
//! `cargo bench -p memphis-core --bench flow`: the max-min solver against the floor set
//! by touching each flow's path and each link once, on a random permutation over the
//! Memphis fabric (100,000 GPUs, ECMP), in one run so that the ratio is fair on a noisy
//! machine. Also 1,000,000 GPUs on a radix-256 fabric.

use memphis_core::fabric::bench::{pattern_pairs, Pattern};
use memphis_core::fabric::{max_min_rates, Fabric, FabricSpec, RoutedFlows, Routing};
use std::hint::black_box;
use std::time::Instant;

/// Best of `n` runs of `f`, seconds.
fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// The floor: read every flow's path once and every resource once, and write a rate per
/// flow (what any solver must do at least).
fn touch_once(rf: &RoutedFlows) -> Vec<f64> {
    let mut load = vec![0u32; rf.capacity.len()];
    for &r in &rf.path {
        load[r as usize] += 1;
    }
    let share: Vec<f64> = rf
        .capacity
        .iter()
        .zip(&load)
        .map(|(c, &n)| c / f64::from(n.max(1)))
        .collect();
    (0..rf.flows())
        .map(|f| {
            rf.resources(f)
                .iter()
                .map(|&r| share[r as usize])
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

fn run(name: &str, spec: &FabricSpec) {
    let t = Instant::now();
    let fabric = Fabric::build(spec);
    let build = t.elapsed().as_secs_f64();
    let pairs = pattern_pairs(
        Pattern::Permutation,
        spec.endpoints as u32,
        spec.gpus_per_node,
        1,
    )
    .expect("pattern");
    let t = Instant::now();
    let rf = fabric.route(Routing::Ecmp, &pairs, 1);
    let route = t.elapsed().as_secs_f64();
    // The first solve on a thread allocates its buffers; later ones reuse them.
    let cold = std::thread::scope(|s| {
        s.spawn(|| best_of(1, || max_min_rates(&rf, None)))
            .join()
            .expect("solve")
    });
    let solve = best_of(5, || max_min_rates(&rf, None));
    let floor = best_of(5, || touch_once(&rf));
    println!(
        "{name}: build {:.1} ms, route {:.1} ms, first solve {:.2} ms, solve {:.2} ms, floor {:.3} ms: solve / floor = {:.1}x ({} flows, {} resources)",
        build * 1e3,
        route * 1e3,
        cold * 1e3,
        solve * 1e3,
        floor * 1e3,
        solve / floor,
        rf.flows(),
        rf.capacity.len()
    );
}

fn main() {
    let memphis = FabricSpec {
        endpoints: 100_000,
        gpus_per_node: 8,
        servers_per_array: 64,
        radix: 128,
        link_gbps: 400.0,
        tiers: 3,
        oversubscription: [1.0, 1.0],
        rail_optimized: true,
        arrays_per_pod: None,
    };
    run("permutation, 100,000 GPUs (Memphis)", &memphis);
    let million = FabricSpec {
        endpoints: 1_000_000,
        radix: 256,
        ..memphis
    };
    run("permutation, 1,000,000 GPUs (radix 256)", &million);
}
