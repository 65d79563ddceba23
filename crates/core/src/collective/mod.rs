//! Collectives: the algorithms as explicit schedules ([`schedule`], executed on real
//! data in tests), and their cost at two fidelities behind one interface, [`CommModel`]:
//! the analytical NCCL model (`net::analytical`) and the flow level ([`flow`]), where
//! every concurrent group's traffic is routed on the fabric graph together.

pub mod flow;
pub mod schedule;

pub use crate::net::analytical::{
    Algorithm, CollectiveEstimate, CollectiveOp, GroupShape, NetworkParams, Protocol,
};

use crate::units::{Bytes, Seconds};

/// Which communicator of a training job a collective runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKind {
    /// Tensor parallel (inside the NVLink domain when tp <= GPUs per server).
    Tp,
    /// Context parallel.
    Cp,
    /// Expert parallel.
    Ep,
    /// Data parallel (dense weights: dp x cp ranks).
    Dp,
    /// Data parallel of expert weights.
    ExpertDp,
    /// Pipeline neighbours.
    Pp,
}

/// The cost of communication in a training step, at some fidelity.
pub trait CommModel {
    /// One collective of `size` (nccl-tests convention) on every group of `kind`, all
    /// groups of that kind running at once.
    fn collective(
        &self,
        op: CollectiveOp,
        size: Bytes,
        kind: GroupKind,
        shape: GroupShape,
    ) -> Seconds;
    /// One pipeline send of `size` between neighbouring stages.
    fn p2p(&self, size: Bytes, same_node: bool) -> Seconds;
}

/// The analytical model: groups do not see each other.
impl CommModel for NetworkParams {
    fn collective(
        &self,
        op: CollectiveOp,
        size: Bytes,
        _kind: GroupKind,
        shape: GroupShape,
    ) -> Seconds {
        NetworkParams::collective(self, op, size, shape).time
    }
    fn p2p(&self, size: Bytes, same_node: bool) -> Seconds {
        NetworkParams::p2p(self, size, same_node)
    }
}
