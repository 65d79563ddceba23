//! Quantities with their units in the type.
//!
//! Simulated time is an integer ([`SimTime`], nanoseconds) so that event order and output
//! are exact and reproducible. The closed-form models work in [`Seconds`] (f64) and round
//! to [`SimTime`] only where an event needs a timestamp.

use serde::Serialize;
use std::ops::{Add, AddAssign, Div, Mul, Sub};

/// Integer simulated time in nanoseconds. Ordered, hashable, exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct SimTime(pub u64);

impl SimTime {
    /// Time zero.
    pub const ZERO: SimTime = SimTime(0);

    /// Rounds a non-negative duration in seconds to the nearest nanosecond.
    /// Negative or non-finite inputs saturate to zero / `u64::MAX`.
    pub fn from_seconds(s: Seconds) -> SimTime {
        let ns = (s.0 * 1e9).round();
        if ns.is_nan() || ns <= 0.0 {
            SimTime(0)
        } else if ns >= u64::MAX as f64 {
            SimTime(u64::MAX)
        } else {
            SimTime(ns as u64)
        }
    }

    /// This time as seconds.
    pub fn as_seconds(self) -> Seconds {
        Seconds(self.0 as f64 * 1e-9)
    }
}

/// `s` seconds to the nanosecond, as a figure to show: a count of samples times their
/// length carries float noise (3 x 0.1 = 0.30000000000000004) that no one asked for.
pub fn to_whole_ns(s: f64) -> f64 {
    (s * 1e9).round() / 1e9
}

impl Add for SimTime {
    type Output = SimTime;
    fn add(self, o: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(o.0))
    }
}

/// Defines an f64 newtype with addition, subtraction, scaling and a unit-free ratio.
macro_rules! f64_quantity {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, schemars::JsonSchema)]
        pub struct $name(pub f64);

        impl $name {
            /// Zero of this quantity.
            pub const ZERO: $name = $name(0.0);
            /// The larger of two values.
            pub fn max(self, o: $name) -> $name { $name(self.0.max(o.0)) }
            /// The smaller of two values.
            pub fn min(self, o: $name) -> $name { $name(self.0.min(o.0)) }
        }
        impl Add for $name { type Output = $name; fn add(self, o: $name) -> $name { $name(self.0 + o.0) } }
        impl AddAssign for $name { fn add_assign(&mut self, o: $name) { self.0 += o.0; } }
        impl Sub for $name { type Output = $name; fn sub(self, o: $name) -> $name { $name(self.0 - o.0) } }
        impl Mul<f64> for $name { type Output = $name; fn mul(self, k: f64) -> $name { $name(self.0 * k) } }
        impl Div<f64> for $name { type Output = $name; fn div(self, k: f64) -> $name { $name(self.0 / k) } }
        /// The ratio of two values of the same unit is a plain number.
        impl Div for $name { type Output = f64; fn div(self, o: $name) -> f64 { self.0 / o.0 } }
        impl std::iter::Sum for $name {
            fn sum<I: Iterator<Item = $name>>(it: I) -> $name { $name(it.map(|x| x.0).sum()) }
        }
    };
}

f64_quantity!(
    /// A duration in seconds (closed-form models).
    Seconds
);
f64_quantity!(
    /// An amount of data in bytes. f64 because model sizes are averages over shards.
    Bytes
);
f64_quantity!(
    /// A data rate in bytes per second.
    Bandwidth
);
f64_quantity!(
    /// A count of floating-point operations.
    Flops
);
f64_quantity!(
    /// A compute rate in FLOP per second.
    FlopRate
);
f64_quantity!(
    /// Power in watts.
    Watts
);

/// One gibibyte, 2^30 bytes.
pub const GIB: f64 = 1024.0 * MIB;
/// One mebibyte in bytes.
pub const MIB: f64 = 1024.0 * 1024.0;

impl Bytes {
    /// This amount in GiB.
    pub fn gib(self) -> f64 {
        self.0 / GIB
    }
}

impl Bandwidth {
    /// From gigabits per second (network convention, 10^9 bit/s).
    pub fn from_gbit_per_s(gbps: f64) -> Bandwidth {
        Bandwidth(gbps * 1e9 / 8.0)
    }
    /// From gigabytes per second (10^9 B/s).
    pub fn from_gbyte_per_s(gbs: f64) -> Bandwidth {
        Bandwidth(gbs * 1e9)
    }
    /// This rate in GB/s (10^9 B/s).
    pub fn gbyte_per_s(self) -> f64 {
        self.0 / 1e9
    }
}

impl FlopRate {
    /// From TFLOP/s (10^12).
    pub fn from_tflops(t: f64) -> FlopRate {
        FlopRate(t * 1e12)
    }
    /// This rate in TFLOP/s.
    pub fn tflops(self) -> f64 {
        self.0 / 1e12
    }
}

/// Time to move `b` bytes at rate `bw`.
impl Div<Bandwidth> for Bytes {
    type Output = Seconds;
    fn div(self, bw: Bandwidth) -> Seconds {
        Seconds(self.0 / bw.0)
    }
}

/// Time to do `f` operations at rate `r`.
impl Div<FlopRate> for Flops {
    type Output = Seconds;
    fn div(self, r: FlopRate) -> Seconds {
        Seconds(self.0 / r.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simtime_rounds_and_saturates() {
        assert_eq!(SimTime::from_seconds(Seconds(1.5e-9)), SimTime(2));
        assert_eq!(SimTime::from_seconds(Seconds(-3.0)), SimTime(0));
        assert_eq!(SimTime::from_seconds(Seconds(f64::NAN)), SimTime(0));
        assert_eq!(SimTime::from_seconds(Seconds(1e30)), SimTime(u64::MAX));
        assert_eq!(SimTime(2_000_000_000).as_seconds(), Seconds(2.0));
    }

    #[test]
    fn unit_conversions() {
        assert_eq!(Bandwidth::from_gbit_per_s(400.0).gbyte_per_s(), 50.0);
        let t = Bytes(100e9) / Bandwidth::from_gbyte_per_s(50.0);
        assert_eq!(t, Seconds(2.0));
        let t = Flops(2e15) / FlopRate::from_tflops(1000.0);
        assert_eq!(t, Seconds(2.0));
        assert_eq!(Bytes(GIB * 2.0).gib(), 2.0);
    }
}
