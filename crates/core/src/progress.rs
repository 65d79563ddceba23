//! How far the running long computation has got, for a front end to draw (a progress
//! line on a terminal, a bar in a notebook). The core only counts, with relaxed atomics:
//! it never prints and reads no clock, and what it computes does not depend on the
//! counts. Nested computations (the planner's finalists run timelines; a flow-level
//! step solves the fabric) report to the outermost one.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};

/// The long computations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Stage {
    /// The planner's closed form over the plan space.
    PlanSpace = 1,
    /// The planner's finalists, each a timeline.
    PlanFinalists = 2,
    /// Monte Carlo trials of the run.
    MonteCarlo = 3,
    /// Fabric solves (max-min rates) of a flow-level network model.
    FlowSolve = 4,
}

impl Stage {
    /// What it is, in words.
    pub fn what(self) -> &'static str {
        match self {
            Stage::PlanSpace => "planning: closed form over the plans",
            Stage::PlanFinalists => "planning: timelines of the finalists",
            Stage::MonteCarlo => "Monte Carlo trials",
            Stage::FlowSolve => "fabric solves",
        }
    }

    fn from_u8(v: u8) -> Option<Stage> {
        [
            Stage::PlanSpace,
            Stage::PlanFinalists,
            Stage::MonteCarlo,
            Stage::FlowSolve,
        ]
        .into_iter()
        .find(|s| *s as u8 == v)
    }
}

static DEPTH: AtomicU32 = AtomicU32::new(0);
static STAGE: AtomicU8 = AtomicU8::new(0);
static DONE: AtomicU64 = AtomicU64::new(0);
static TOTAL: AtomicU64 = AtomicU64::new(0);

/// A running computation; dropping it ends it.
#[derive(Debug)]
pub struct Task {
    outermost: bool,
}

/// Starts a computation of `total` units.
pub fn begin(stage: Stage, total: u64) -> Task {
    let outermost = DEPTH.fetch_add(1, Relaxed) == 0;
    let t = Task { outermost };
    t.phase(stage, total);
    t
}

impl Task {
    /// Moves on to another stage of the same computation.
    pub fn phase(&self, stage: Stage, total: u64) {
        if self.outermost {
            DONE.store(0, Relaxed);
            TOTAL.store(total, Relaxed);
            STAGE.store(stage as u8, Relaxed);
        }
    }

    /// `n` more units done.
    pub fn tick(&self, n: u64) {
        if self.outermost {
            DONE.fetch_add(n, Relaxed);
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if self.outermost {
            STAGE.store(0, Relaxed);
        }
        DEPTH.fetch_sub(1, Relaxed);
    }
}

/// The computation running now, if any: (stage, units done, units in all).
pub fn now() -> Option<(Stage, u64, u64)> {
    let stage = Stage::from_u8(STAGE.load(Relaxed))?;
    Some((stage, DONE.load(Relaxed), TOTAL.load(Relaxed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_tasks_report_to_the_outermost() {
        // Other tests may run computations at the same time, so only what holds with
        // them is checked: a task counts while it lives, and the nested one is silent.
        let outer = begin(Stage::MonteCarlo, 10);
        let inner = begin(Stage::FlowSolve, 99);
        inner.tick(5);
        if outer.outermost {
            outer.tick(3);
            assert!(!inner.outermost);
            assert_eq!(now().map(|n| n.0), Some(Stage::MonteCarlo));
        }
        drop(inner);
        drop(outer);
        for s in 1..=4 {
            assert_eq!(Stage::from_u8(s).map(|s| s as u8), Some(s));
        }
        assert_eq!(Stage::from_u8(0), None);
    }
}
