//! Network models. [`analytical`]: NCCL's alpha-beta cost model per tier (the NVLink
//! domain, then the scale-out NIC), the slowest tier wins.

pub mod analytical;
