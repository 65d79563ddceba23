//! Network models. [`analytical`]: NCCL's alpha-beta cost model per tier (the NVLink
//! domain, then the scale-out NIC), the slowest tier wins. [`flow`]: max-min fair
//! rates of flows routed on the fabric graph.

pub mod analytical;
pub mod flow;
