//! Megatron's order of forward and backward passes on one pipeline stage: the order the
//! step's timeline runs, and the one the memory model walks to find how many
//! micro-batches each stage holds at once.

/// A pass: forward or backward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    F,
    B,
}

/// One op of a stage's schedule: a pass of one micro-batch through one model chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub dir: Dir,
    pub mb: u32,
    pub chunk: u32,
}

/// Megatron's order of forward and backward chunk-microbatches on stage `s` of `p`, with
/// `v` chunks a stage and `m` micro-batches, as calls of `f`. Virtual micro-batch k maps
/// to micro-batch (k / (p·v))·p + k % p and chunk (k / p) % v (backward: v - 1 - that),
/// groups of p micro-batches at a time; 1F1B warms up with p - s - 1 forwards,
/// interleaved with 2(p - s - 1) + (v - 1)·p.
pub fn for_each_op(s: u32, p: u32, v: u32, m: u32, mut f: impl FnMut(Op)) {
    let total = m * v;
    let warmup = warmup(s, p, v, m);
    let (mut fwd, mut bwd) = (0, 0);
    for _ in 0..warmup {
        f(op_at(fwd, Dir::F, p, v, m));
        fwd += 1;
    }
    while fwd < total {
        f(op_at(fwd, Dir::F, p, v, m));
        fwd += 1;
        f(op_at(bwd, Dir::B, p, v, m));
        bwd += 1;
    }
    while bwd < total {
        f(op_at(bwd, Dir::B, p, v, m));
        bwd += 1;
    }
}

/// Forwards stage `s` runs before its first backward (at most all m·v of them).
pub fn warmup(s: u32, p: u32, v: u32, m: u32) -> u32 {
    if v == 1 {
        (p - s - 1).min(m)
    } else {
        ((p - s - 1) * 2 + (v - 1) * p).min(m * v)
    }
}

/// The `k`-th pass of direction `dir` on a stage: groups of p micro-batches (the last
/// group may be smaller) go through the chunks in order (backward: in reverse).
pub fn op_at(k: u32, dir: Dir, p: u32, v: u32, m: u32) -> Op {
    let group = k / (p * v);
    let base = group * p;
    let size = p.min(m - base);
    let within = k - group * p * v;
    let chunk = within / size;
    let mb = base + within % size;
    let chunk = if dir == Dir::B { v - 1 - chunk } else { chunk };
    Op { dir, mb, chunk }
}

/// [`for_each_op`] as a list.
pub fn stage_schedule(s: u32, p: u32, v: u32, m: u32) -> Vec<Op> {
    let mut ops = Vec::with_capacity(2 * (m * v) as usize);
    for_each_op(s, p, v, m, |op| ops.push(op));
    ops
}
