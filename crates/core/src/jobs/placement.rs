//! Placing jobs on servers: explicit lists first, then packed jobs (the first free
//! contiguous run on the alignment unit's boundary), then scattered ones (a seeded
//! shuffle of the free servers that are left, taken in server order as a scheduler
//! lists them), each in file order. Jobs never share a server.

use super::{Align, PlacementKind};
use crate::error::{Error, Result};
use crate::rng::SplitMix64;
use crate::text::grouped;

/// The cluster's servers as placement sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Servers {
    /// Whole servers in the cluster.
    pub count: u32,
    /// Servers per rack.
    pub per_rack: u32,
    /// Servers per array.
    pub per_array: u32,
}

/// What one job asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The job's name, for errors.
    pub name: String,
    /// GPUs asked for (as written), for errors.
    pub gpus: u64,
    /// Servers needed.
    pub servers: u32,
    /// How to place it.
    pub kind: PlacementKind,
    /// Boundary of a packed job.
    pub align: Align,
    /// The servers of an explicit placement.
    pub explicit: Vec<u32>,
    /// Seed of a scattered placement.
    pub seed: u64,
}

/// What the file gets wrong whatever the policy, checked before any is tried: more
/// servers asked for than the cluster has, and an explicit list that is not a list of
/// the job's servers (its length, an id past the cluster, an id given twice) or that
/// names a server another job's list names. Packed and scattered jobs that find no room
/// beside the explicit ones are a placement that fails, not bad input: `place` compares
/// the policies that can place them.
pub fn check(s: Servers, requests: &[Request]) -> Result<()> {
    capacity(s, requests)?;
    let mut owner: Vec<Option<usize>> = vec![None; s.count as usize];
    for (i, r) in requests.iter().enumerate() {
        if r.kind == PlacementKind::Explicit {
            explicit(s, r, &owner, requests)?;
            r.explicit.iter().for_each(|&v| owner[v as usize] = Some(i));
        }
    }
    Ok(())
}

/// Each request's servers, in rank order, in request order.
pub fn place(s: Servers, requests: &[Request]) -> Result<Vec<Vec<u32>>> {
    capacity(s, requests)?;
    let mut owner: Vec<Option<usize>> = vec![None; s.count as usize];
    let mut out = vec![Vec::new(); requests.len()];
    // Explicit lists first, then packed jobs, then scattered ones (they take what is
    // left), each in file order.
    let rank = |k: PlacementKind| match k {
        PlacementKind::Explicit => 0,
        PlacementKind::Packed => 1,
        PlacementKind::Scattered => 2,
    };
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by_key(|&i| rank(requests[i].kind));
    let explicit_first = order.into_iter().map(|i| (i, &requests[i]));
    for (i, r) in explicit_first {
        let servers = match r.kind {
            PlacementKind::Explicit => explicit(s, r, &owner, requests)?,
            PlacementKind::Packed => packed(s, r, &owner)?,
            PlacementKind::Scattered => scattered(r, &owner)?,
        };
        for &v in &servers {
            owner[v as usize] = Some(i);
        }
        out[i] = servers;
    }
    Ok(out)
}

/// More servers asked for than there are: no order of placing helps, so the whole file
/// is named rather than whichever job comes last.
fn capacity(s: Servers, requests: &[Request]) -> Result<()> {
    let asked: u64 = requests.iter().map(|r| u64::from(r.servers)).sum();
    if asked <= u64::from(s.count) {
        return Ok(());
    }
    let each: Vec<String> = requests
        .iter()
        .map(|r| format!("'{}' {}", r.name, grouped(r.gpus)))
        .collect();
    let gpus: u64 = requests.iter().map(|r| r.gpus).sum();
    Err(Error::invalid(
        "the jobs' gpus",
        format!(
            "{} on {} servers in all ({})",
            grouped(gpus),
            grouped(asked),
            each.join(" + ")
        ),
        format!(
            "at most the cluster's {} servers: jobs never share a server",
            grouped(u64::from(s.count))
        ),
    ))
}

/// An explicit list's own errors (see [`check`]).
fn check_list(s: Servers, r: &Request) -> Result<()> {
    let field = format!("job '{}': servers", r.name);
    if r.explicit.len() != r.servers as usize {
        return Err(Error::invalid(
            field,
            format!("a list of {}", r.explicit.len()),
            format!(
                "a list of {} server indices (the job's GPUs / GPUs per server)",
                r.servers
            ),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for &v in &r.explicit {
        if v >= s.count {
            return Err(Error::invalid(
                field,
                v,
                format!("server ids 0 to {}", s.count.saturating_sub(1)),
            ));
        }
        if !seen.insert(v) {
            return Err(Error::invalid(
                field,
                v,
                format!("each server once (server {v} is listed twice)"),
            ));
        }
    }
    Ok(())
}

fn explicit(s: Servers, r: &Request, owner: &[Option<usize>], all: &[Request]) -> Result<Vec<u32>> {
    check_list(s, r)?;
    if let Some((v, o)) = r
        .explicit
        .iter()
        .find_map(|&v| owner[v as usize].map(|o| (v, o)))
    {
        return Err(Error::invalid(
            format!("job '{}': servers", r.name),
            v,
            format!(
                "servers no other job holds (job '{}' lists it)",
                all[o].name
            ),
        ));
    }
    Ok(r.explicit.clone())
}

fn packed(s: Servers, r: &Request, owner: &[Option<usize>]) -> Result<Vec<u32>> {
    let unit = match r.align {
        Align::Server => 1,
        Align::Rack => s.per_rack.max(1),
        Align::Array => s.per_array.max(1),
    } as usize;
    let n = r.servers as usize;
    // run[i]: free servers in a row starting at i.
    let mut run = vec![0usize; owner.len() + 1];
    for i in (0..owner.len()).rev() {
        run[i] = if owner[i].is_none() {
            run[i + 1] + 1
        } else {
            0
        };
    }
    let start = (0..owner.len())
        .step_by(unit)
        .find(|&i| run[i] >= n && (n > unit || i / unit == (i + n - 1) / unit));
    let free = owner.iter().filter(|o| o.is_none()).count();
    match start {
        Some(i) => Ok((i as u32..(i + n) as u32).collect()),
        // Too few free servers at all: no placement helps, only a smaller job.
        None if free < n => Err(too_few_free(r, free)),
        None => {
            let longest = run.iter().max().copied().unwrap_or(0);
            // The longest run the alignment can use: from a boundary, and within one unit
            // for a job no larger than one.
            let aligned = (0..owner.len())
                .step_by(unit)
                .map(|i| if n > unit { run[i] } else { run[i].min(unit) })
                .max()
                .unwrap_or(0);
            let boundary = match r.align {
                Align::Server => "a server",
                Align::Rack => "a rack",
                Align::Array => "an array",
            };
            // Packing from any server helps only where a run that long is free.
            let mut fixes = vec!["scattered".to_string()];
            if aligned > 0 {
                fixes.push(format!("a job of at most {aligned} servers"));
            }
            let runs = if r.align != Align::Server && longest > aligned {
                if longest >= n {
                    fixes.push("align = \"server\"".into());
                }
                format!("the longest from {boundary} boundary is {aligned} servers, from any server {longest}")
            } else {
                format!("the longest free run is {longest} servers")
            };
            let last = fixes.pop().unwrap_or_default();
            let fixes = match fixes.is_empty() {
                true => last,
                false => format!("{}, or {last}", fixes.join(", ")),
            };
            Err(Error::invalid(
                format!("job '{}': placement", r.name),
                format!("packed, align {:?}", r.align).to_lowercase(),
                format!(
                    "{n} free servers in a row starting on {boundary} boundary, but no such run is free ({runs}): {fixes}"
                ),
            ))
        }
    }
}

/// A job larger than the servers the jobs placed before it leave free.
fn too_few_free(r: &Request, free: usize) -> Error {
    Error::invalid(
        format!("job '{}': gpus", r.name),
        format!("{} ({} servers)", r.gpus, r.servers),
        format!(
            "at most the {free} servers ({} GPUs) the jobs placed before it leave free (explicit lists first, then packed jobs, then scattered ones, each in file order)",
            free as u64 * r.gpus / u64::from(r.servers.max(1))
        ),
    )
}

fn scattered(r: &Request, owner: &[Option<usize>]) -> Result<Vec<u32>> {
    let mut free: Vec<u32> = (0..owner.len() as u32)
        .filter(|&v| owner[v as usize].is_none())
        .collect();
    if free.len() < r.servers as usize {
        return Err(too_few_free(r, free.len()));
    }
    SplitMix64::new(r.seed).shuffle(&mut free);
    free.truncate(r.servers as usize);
    free.sort_unstable();
    Ok(free)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(name: &str, servers: u32, kind: PlacementKind, align: Align) -> Request {
        Request {
            gpus: u64::from(servers) * 8,
            name: name.into(),
            servers,
            kind,
            align,
            explicit: Vec::new(),
            seed: 1,
        }
    }

    const S: Servers = Servers {
        count: 32,
        per_rack: 4,
        per_array: 16,
    };

    #[test]
    fn packed_aligned_keeps_a_job_inside_one_array() {
        let p = place(
            S,
            &[
                req("a", 4, PlacementKind::Packed, Align::Server),
                req("b", 16, PlacementKind::Packed, Align::Array),
                req("c", 8, PlacementKind::Packed, Align::Server),
            ],
        )
        .unwrap();
        assert_eq!(p[0], (0..4).collect::<Vec<_>>());
        assert_eq!(p[1], (16..32).collect::<Vec<_>>());
        assert_eq!(p[2], (4..12).collect::<Vec<_>>());
    }

    #[test]
    fn scattered_is_seeded_disjoint_and_sorted() {
        let rs = [
            req("a", 10, PlacementKind::Scattered, Align::Server),
            req("b", 10, PlacementKind::Scattered, Align::Server),
        ];
        let p = place(S, &rs).unwrap();
        assert_eq!(p, place(S, &rs).unwrap());
        assert!(p[0].windows(2).all(|w| w[0] < w[1]));
        assert!(p[0].iter().all(|v| !p[1].contains(v)));
        assert_ne!(p[0], (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn overlaps_and_no_room_are_errors_naming_the_job() {
        let mut a = req("a", 2, PlacementKind::Explicit, Align::Server);
        a.explicit = vec![3, 4];
        let mut b = req("b", 2, PlacementKind::Explicit, Align::Server);
        b.explicit = vec![4, 5];
        let e = place(S, &[a.clone(), b]).unwrap_err().to_string();
        assert!(e.contains("job 'b'") && e.contains("job 'a'"), "{e}");
        let big = req("big", 17, PlacementKind::Packed, Align::Array);
        let e = place(S, &[a.clone(), big]).unwrap_err().to_string();
        assert!(e.contains("job 'big': placement"), "{e}");
        // Servers 5-31 are a free run of 27 from no array boundary: packing from any
        // server would place it; from a boundary (16) the run is 16 long.
        assert!(
            e.contains("(the longest from an array boundary is 16 servers, from any server 27): scattered, a job of at most 16 servers, or align = \"server\""),
            "{e}"
        );
        // No free run is as long as the job: packing from any server would not help
        // either, and the advice does not offer it.
        let mut split = req("split", 2, PlacementKind::Explicit, Align::Server);
        split.explicit = vec![10, 20];
        let twelve = req("twelve", 12, PlacementKind::Packed, Align::Array);
        let e = place(S, &[split, twelve]).unwrap_err().to_string();
        assert!(
            e.contains("(the longest from an array boundary is 10 servers, from any server 11): scattered, or a job of at most 10 servers")
                && !e.contains("align = \"server\""),
            "{e}"
        );
        // More servers asked for than the cluster has: no placement would do, and the
        // error gives every job's share, packed or scattered alike.
        for kind in [PlacementKind::Packed, PlacementKind::Scattered] {
            let huge = req("huge", 31, kind, Align::Server);
            let e = place(S, &[a.clone(), huge]).unwrap_err().to_string();
            assert!(
                e.contains("the jobs' gpus = 264 on 33 servers in all ('a' 16 + 'huge' 248): at most the cluster's 32 servers"),
                "{e}"
            );
        }
    }
}
