//! Collectives: the algorithms as explicit schedules ([`schedule`], executed on real
//! data in tests), and their cost at two fidelities behind one interface, [`CommModel`]:
//! the analytical NCCL model (`net::analytical`) and the flow level ([`flow`]), where
//! every concurrent group's traffic is routed on the fabric graph together.

pub mod flow;
pub mod nccl_tests;
pub mod schedule;

pub use crate::net::analytical::{
    Algorithm, AllToAllRoute, Alternative, BusbwCeiling, CollectiveEstimate, CollectiveOp,
    FasterBecause, GroupShape, NetworkParams, Protocol,
};

/// The communicator kinds live with the rank layout that defines them.
pub use crate::workload::layout::GroupKind;

use crate::units::{Bytes, Seconds};

/// The cost of communication in a training step, at some fidelity.
pub trait CommModel {
    /// One collective of `size` (nccl-tests convention) on every group of `kind`, all
    /// groups of that kind running at once: its time, and the algorithm and protocol
    /// NCCL's tuner picks for it.
    fn estimate(
        &self,
        op: CollectiveOp,
        size: Bytes,
        kind: GroupKind,
        shape: GroupShape,
    ) -> CollectiveEstimate;
    /// The time of [`CommModel::estimate`].
    fn collective(
        &self,
        op: CollectiveOp,
        size: Bytes,
        kind: GroupKind,
        shape: GroupShape,
    ) -> Seconds {
        self.estimate(op, size, kind, shape).time
    }
    /// An all-to-all of `size` on every group of `kind`, reaching other servers by
    /// `route` (see [`NetworkParams::all_to_all`]).
    fn all_to_all(
        &self,
        size: Bytes,
        route: AllToAllRoute,
        kind: GroupKind,
        shape: GroupShape,
    ) -> Seconds;
    /// One pipeline send of `size` between neighbouring stages.
    fn p2p(&self, size: Bytes, same_node: bool) -> Seconds;
}

/// The analytical model: groups do not see each other.
impl CommModel for NetworkParams {
    fn estimate(
        &self,
        op: CollectiveOp,
        size: Bytes,
        _kind: GroupKind,
        shape: GroupShape,
    ) -> CollectiveEstimate {
        NetworkParams::collective(self, op, size, shape)
    }
    fn all_to_all(
        &self,
        size: Bytes,
        route: AllToAllRoute,
        _kind: GroupKind,
        shape: GroupShape,
    ) -> Seconds {
        NetworkParams::all_to_all(self, size, shape, route)
    }
    fn p2p(&self, size: Bytes, same_node: bool) -> Seconds {
        NetworkParams::p2p(self, size, same_node)
    }
}

/// Parses an nccl-tests size: a number of bytes with an optional binary suffix (K, M, G,
/// T: powers of 1024), such as 8, 64K, 1M or 16G; with a suffix, a decimal (14.7G, as
/// `simulate` lists a message) is rounded to whole bytes. Zero is refused.
pub fn parse_size(field: &str, text: &str) -> crate::Result<u64> {
    let bad = || {
        crate::Error::invalid(
            field,
            text,
            "a whole number of bytes from 1 to 16T, or a number with a suffix K, M, G or T \
             (powers of 1024), such as 8, 64K, 1M, 16G or 14.7G",
        )
    };
    let t = text.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(bad()),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let v = match digits.parse::<u64>() {
        Ok(n) => n.checked_mul(mult),
        // Plain digits and a point only: no sign, exponent or infinity.
        Err(_) if mult > 1 && digits.chars().all(|c| c.is_ascii_digit() || c == '.') => digits
            .parse::<f64>()
            .ok()
            .map(|x| (x * mult as f64).round())
            .filter(|x| *x <= (1u64 << 44) as f64)
            .map(|x| x as u64),
        Err(_) => None,
    };
    match v {
        Some(v) if v > 0 && v <= 1 << 44 => Ok(v),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_nccl_tests() {
        assert_eq!(parse_size("-b", "8").unwrap(), 8);
        assert_eq!(parse_size("-b", "64K").unwrap(), 65536);
        assert_eq!(parse_size("-b", "1m").unwrap(), 1 << 20);
        assert_eq!(parse_size("-e", "16G").unwrap(), 16 << 30);
        // A decimal with a suffix, as `simulate` lists a message, is rounded to bytes.
        assert_eq!(parse_size("-b", "1.5M").unwrap(), 1_572_864);
        assert_eq!(parse_size("-b", "14.7G").unwrap(), 15_784_004_813);
        for bad in [
            "0",
            "",
            "1X",
            "-5",
            "K",
            "1.5",
            "-1.5M",
            "1e3M",
            "infK",
            ".",
            "0.0M",
            "99999999999T",
            "17T",
        ] {
            assert!(parse_size("-b", bad).is_err(), "{bad}");
        }
    }
}
