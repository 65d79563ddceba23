//! The collectives a step runs, as they are priced: each communicator's call, its
//! message and group, and the algorithm and protocol NCCL's tuner picks. Recorded while
//! [`super::costs::step_costs`] prices the step, so the list is the pricing itself, not
//! a second account of it; `memphis collective` prices the same calls.

use crate::collective::{
    Algorithm, AllToAllRoute, CollectiveEstimate, CollectiveOp, CommModel, GroupKind, GroupShape,
    Protocol,
};
use crate::units::{Bytes, Seconds};
use serde::Serialize;
use std::cell::RefCell;

/// One communicator's collective: of the calls a step makes with the same communicator
/// and operation, the largest (for data parallelism, one full bucket of the stage with
/// the most parameters, or its whole buffer without overlap).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CollectiveUse {
    /// The communicator: tp, cp, ep, dp, expert_dp, expert_tp.
    pub group: &'static str,
    /// The collective.
    pub op: CollectiveOp,
    /// The message, bytes (nccl-tests convention: the buffer for all-reduce, the whole
    /// gathered array for all-gather and reduce-scatter, each rank's send buffer for
    /// all-to-all).
    pub size_bytes: f64,
    /// Ranks in each group.
    pub ranks: u32,
    /// Servers each group spans.
    pub servers: u32,
    /// The fewest ranks of a group on one of its servers, as the call is priced (as many
    /// NICs carry the group's traffic there). Where a group fills its servers evenly
    /// (ranks = servers x this), `memphis collective -g <ranks> --per-server <this>`
    /// places it so and prices the call the same; a group split unevenly (3 and 5 ranks
    /// on two racks of an NVL72 cluster) is priced by its fewest, which that command
    /// cannot place.
    pub ranks_per_server: u32,
    /// What NCCL runs (`direct` for an all-to-all: a send and a receive per peer;
    /// `deepep` for DeepEP's dispatch and combine, which NCCL does not run).
    pub algorithm: Algorithm,
    /// NCCL's protocol.
    pub protocol: Protocol,
    /// One call, alone on its stream, seconds.
    pub time_s: f64,
}

/// A [`CommModel`] that passes every call through and keeps, per communicator and
/// operation, the largest call it saw.
pub(crate) struct Recorder<'a> {
    inner: &'a dyn CommModel,
    /// Each kept call with its communicator and operation, compared as enums.
    seen: RefCell<Vec<((GroupKind, CollectiveOp), CollectiveUse)>>,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(inner: &'a dyn CommModel) -> Recorder<'a> {
        Recorder {
            inner,
            seen: RefCell::new(Vec::new()),
        }
    }

    /// The calls kept, in the order their communicator and operation were first seen.
    pub(crate) fn into_uses(self) -> Vec<CollectiveUse> {
        self.seen.into_inner().into_iter().map(|(_, u)| u).collect()
    }

    fn note(
        &self,
        kind: GroupKind,
        op: CollectiveOp,
        size: Bytes,
        shape: GroupShape,
        e: CollectiveEstimate,
    ) {
        if shape.ranks <= 1 || size.0 <= 0.0 {
            return;
        }
        let mut seen = self.seen.borrow_mut();
        let slot = seen.iter().position(|(k, _)| *k == (kind, op));
        if slot.is_some_and(|i| seen[i].1.size_bytes >= size.0) {
            return;
        }
        let using = CollectiveUse {
            group: kind.name(),
            op,
            // A mean over ranks (an all-to-all's routed tokens) is no whole number of
            // bytes; the call is priced on the exact size, shown to the byte.
            size_bytes: size.0.round(),
            ranks: shape.ranks,
            servers: shape.nodes,
            ranks_per_server: shape.ranks_per_node,
            algorithm: e.algorithm,
            protocol: e.protocol,
            time_s: e.time.0,
        };
        match slot {
            Some(i) => seen[i].1 = using,
            None => seen.push(((kind, op), using)),
        }
    }
}

impl CommModel for Recorder<'_> {
    fn estimate(
        &self,
        op: CollectiveOp,
        size: Bytes,
        kind: GroupKind,
        shape: GroupShape,
    ) -> CollectiveEstimate {
        let e = self.inner.estimate(op, size, kind, shape);
        self.note(kind, op, size, shape, e);
        e
    }

    fn all_to_all(
        &self,
        size: Bytes,
        route: AllToAllRoute,
        kind: GroupKind,
        shape: GroupShape,
    ) -> Seconds {
        let time = self.inner.all_to_all(size, route, kind, shape);
        // NCCL's proxy posts each peer's sends; DeepEP's GPU posts its own.
        let algorithm = if route.proxy_posts {
            Algorithm::Direct
        } else {
            Algorithm::Deepep
        };
        let e = CollectiveEstimate {
            time,
            algorithm,
            protocol: Protocol::Simple,
            faster: None,
        };
        self.note(kind, CollectiveOp::AllToAll, size, shape, e);
        time
    }

    fn p2p(&self, size: Bytes, same_node: bool) -> Seconds {
        self.inner.p2p(size, same_node)
    }
}
