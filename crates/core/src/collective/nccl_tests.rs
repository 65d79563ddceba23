//! Reading the text output of nccl-tests' `*_perf` programs, so that users can compare
//! their own cluster's measurements with the prediction.

use super::CollectiveOp;
use crate::error::{Error, Result};

/// One measured size (out-of-place columns).
#[derive(Debug, Clone, PartialEq)]
pub struct NcclRow {
    /// Message size, bytes (nccl-tests convention).
    pub size_bytes: u64,
    /// Time per operation, µs.
    pub time_us: f64,
    /// Algorithm bandwidth, GB/s.
    pub algbw_gbps: f64,
    /// Bus bandwidth, GB/s.
    pub busbw_gbps: f64,
    /// 1-based line number in the log.
    pub line: usize,
}

/// A parsed log.
#[derive(Debug, Clone, PartialEq)]
pub struct NcclLog {
    /// Ranks: the `# Rank` lines, or nThread x nGpus of the header.
    pub ranks: Option<u32>,
    /// The most ranks on one host, where the `# Rank` lines name their hosts
    /// (`... on HOST device ...`).
    pub most_per_host: Option<u32>,
    /// The collective, when the log names it (`all_reduce_perf` in a command line).
    pub op: Option<CollectiveOp>,
    /// Whether the rows reduce (a `redop` column other than `none`), where they have one:
    /// all-gather and all-to-all print `none`, all-reduce and reduce-scatter an operator.
    pub reduces: Option<bool>,
    /// Data rows in order.
    pub rows: Vec<NcclRow>,
    /// Ranks on each host the `# Rank` lines name, in order of first appearance.
    pub ranks_per_host: Vec<u32>,
    /// Lines of rows whose `#wrong` column counts wrong results (a broken run).
    pub wrong_lines: Vec<usize>,
}

impl NcclLog {
    /// Whether the `# Rank` lines put the ranks on hosts in a way the sweep cannot place
    /// them: it fills servers in order, the same number on each and fewer on the last.
    pub fn uneven_hosts(&self) -> bool {
        let hosts = &self.ranks_per_host;
        let most = hosts.iter().copied().max().unwrap_or(0);
        hosts.len() > 1
            && (hosts[..hosts.len() - 1].iter().any(|&n| n != most)
                || hosts[hosts.len() - 1] > most)
    }

    /// The ranks a host, as listed ("8, 5, 3"; the first eight).
    pub fn hosts_listed(&self) -> String {
        let hosts = &self.ranks_per_host;
        let shown: Vec<String> = hosts.iter().take(8).map(u32::to_string).collect();
        format!(
            "{}{}",
            shown.join(", "),
            if hosts.len() > 8 { ", ..." } else { "" }
        )
    }
}

/// What a log holds that the comparison does not follow, said with it: ranks spread
/// unevenly over hosts (compared as `--per-server` places them, which the sweep requires
/// of such a log), and rows nccl-tests found wrong results in (shown, not counted).
pub fn log_notes(context: &str, log: &NcclLog) -> Vec<String> {
    let mut notes = Vec::new();
    if log.uneven_hosts() {
        notes.push(format!(
            "--compare {context}: its ranks sit unevenly on {} hosts ({}): compared as --per-server places them, not as the log ran",
            log.ranks_per_host.len(),
            log.hosts_listed()
        ));
    }
    if !log.wrong_lines.is_empty() {
        let lines: Vec<String> = log
            .wrong_lines
            .iter()
            .take(8)
            .map(usize::to_string)
            .collect();
        notes.push(format!(
            "--compare {context}: nccl-tests counted wrong results (#wrong above 0) on line{} {}{}: a broken run, its sizes shown but left out of the mean error",
            if log.wrong_lines.len() == 1 { "" } else { "s" },
            lines.join(", "),
            if log.wrong_lines.len() > 8 { ", ..." } else { "" }
        ));
    }
    notes
}

/// Parses nccl-tests output. Comment lines (`#`) and blank lines are read for the header
/// only; every other line must be a data row, or the error names it.
pub fn parse(context: &str, text: &str) -> Result<NcclLog> {
    let mut rank_lines = 0u32;
    let mut hosts: Vec<(String, u32)> = Vec::new();
    let mut header_ranks: Option<u32> = None;
    let mut op = None;
    let mut reduces = None;
    let mut rows = Vec::new();
    let mut wrong_lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        for (name, o) in [
            ("all_reduce_perf", CollectiveOp::AllReduce),
            ("all_gather_perf", CollectiveOp::AllGather),
            ("reduce_scatter_perf", CollectiveOp::ReduceScatter),
            ("alltoall_perf", CollectiveOp::AllToAll),
        ] {
            if line.contains(name) {
                op = Some(o);
            }
        }
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let words: Vec<&str> = rest.split_whitespace().collect();
            if words.first() == Some(&"Rank") {
                rank_lines += 1;
                let host = words
                    .iter()
                    .position(|w| *w == "on")
                    .and_then(|p| words.get(p + 1));
                if let Some(h) = host {
                    match hosts.iter_mut().find(|(name, _)| name == h) {
                        Some((_, n)) => *n += 1,
                        None => hosts.push((h.to_string(), 1)),
                    }
                }
            }
            if words.first() == Some(&"nThread") {
                let get = |k: &str| {
                    words
                        .iter()
                        .position(|w| *w == k)
                        .and_then(|p| words.get(p + 1))
                        .and_then(|v| v.parse::<u32>().ok())
                };
                if let (Some(t), Some(g)) = (get("nThread"), get("nGpus")) {
                    header_ranks = Some(t.saturating_mul(g));
                }
            }
            continue;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        let bad = |why: &str| {
            Error::parse(
                format!("{context}: line {line_no}"),
                format!("{why}: `{}`", line.chars().take(100).collect::<String>()),
            )
        };
        let size: u64 = t
            .first()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("not an nccl-tests data row (expected a size in bytes first)"))?;
        // size count type [redop [root]] time algbw busbw #wrong time algbw busbw #wrong
        let first = match t.len() {
            n if n >= 13 => 5,
            12 => 4,
            11 => 3,
            _ => return Err(bad("expected 11 to 13 columns")),
        };
        let num = |k: usize| {
            t.get(k)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        if first >= 4 {
            reduces = Some(t[3] != "none");
        }
        let (Some(time_us), Some(algbw_gbps), Some(busbw_gbps)) =
            (num(first), num(first + 1), num(first + 2))
        else {
            return Err(bad("time, algbw and busbw must be non-negative numbers"));
        };
        // #wrong, out of place and in place: "N/A" where the run did not check.
        let wrong = [first + 3, first + 7].iter().any(|&k| {
            t.get(k)
                .and_then(|v| v.parse::<f64>().ok())
                .is_some_and(|w| w > 0.0)
        });
        if wrong {
            wrong_lines.push(line_no);
        }
        rows.push(NcclRow {
            size_bytes: size,
            time_us,
            algbw_gbps,
            busbw_gbps,
            line: line_no,
        });
    }
    if rows.is_empty() {
        return Err(Error::parse(
            context,
            "no data rows: is this the output of an nccl-tests *_perf program?",
        ));
    }
    let ranks = if rank_lines > 0 {
        Some(rank_lines)
    } else {
        header_ranks
    };
    Ok(NcclLog {
        ranks,
        most_per_host: hosts.iter().map(|(_, n)| *n).max(),
        op,
        reduces,
        rows,
        ranks_per_host: hosts.iter().map(|(_, n)| *n).collect(),
        wrong_lines,
    })
}

/// Bus bandwidth, GB/s, as nccl-tests computes it from a time: size x the op's bus factor
/// over `ranks` / time.
pub fn busbw_of_time(op: CollectiveOp, size_bytes: u64, ranks: u32, time_us: f64) -> f64 {
    size_bytes as f64 * op.bus_factor(ranks) / (time_us * 1e3)
}

/// Sizes from this one up count in a comparison's summary (`memphis collective
/// --compare`, `memphis validate`): below it, latency rules and nccl-tests' own timing
/// noise dominates.
pub const COMPARE_MIN_BYTES: u64 = 1 << 20;

/// A measured bus bandwidth agrees with the one its time gives to this fraction; beyond
/// it, the two columns cannot be one run's.
pub const BUSBW_TIME_TOLERANCE: f64 = 0.02;

/// Half the last of the two decimals nccl-tests prints a bus bandwidth with, GB/s: a
/// printed 0.01 stands for anything from 0.005 to 0.015, which no fraction of it bounds.
pub const BUSBW_PRINTED_HALF_DIGIT: f64 = 0.005;

/// The bus bandwidth `time_us` gives where it disagrees with the `busbw_gbps` measured
/// beside it; `None` where they agree: within [`BUSBW_TIME_TOLERANCE`] of the printed
/// value, or within its rounding ([`BUSBW_PRINTED_HALF_DIGIT`]) where that is wider
/// (below 0.25 GB/s). At every size: a slip of the busbw column (0.5 for 18 GB/s) would
/// otherwise pass wherever it lands below 1 GB/s.
pub fn busbw_disagrees_with_time(
    op: CollectiveOp,
    size_bytes: u64,
    ranks: u32,
    time_us: f64,
    busbw_gbps: f64,
) -> Option<f64> {
    let implied = busbw_of_time(op, size_bytes, ranks, time_us);
    // A hair over the half digit: a value printed exactly at the rounding edge agrees.
    let allowed = (BUSBW_TIME_TOLERANCE * busbw_gbps).max(BUSBW_PRINTED_HALF_DIGIT * (1.0 + 1e-9));
    ((implied - busbw_gbps).abs() > allowed).then_some(implied)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "# nThread 1 nGpus 8 minBytes 8 maxBytes 134217728 step: 2(factor) warmup iters: 5 iters: 20
#
# Using devices
#  Rank  0 Group  0 Pid  1 on node1 device  0 [0x18] NVIDIA H100 80GB HBM3
#  Rank  1 Group  0 Pid  1 on node1 device  1 [0x2a] NVIDIA H100 80GB HBM3
#
#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong
#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)
           8             2     float     sum      -1    13.67    0.00    0.00      0    13.28    0.00    0.00      0
     1048576        262144     float     sum      -1    27.37   38.31   67.04      0    27.10   38.69   67.71      0
# Out of bounds values : 0 OK
# Avg bus bandwidth    : 33.52
";

    #[test]
    fn parses_a_log() {
        let l = parse("log", LOG).unwrap();
        assert_eq!(l.ranks, Some(2));
        assert_eq!(l.rows.len(), 2);
        assert_eq!(l.rows[1].size_bytes, 1 << 20);
        assert_eq!(l.rows[1].busbw_gbps, 67.04);
        assert_eq!(l.rows[1].line, 10);
        assert_eq!(l.reduces, Some(true));
        assert_eq!(l.most_per_host, Some(2));
        let gather = LOG.replace("  sum ", " none ");
        assert_eq!(parse("log", &gather).unwrap().reduces, Some(false));
    }

    /// Ranks spread unevenly over hosts, and rows nccl-tests found wrong results in, are
    /// said before the comparison (helper-124: both went unsaid).
    #[test]
    fn uneven_hosts_and_wrong_rows_are_said() {
        let l = parse("log", LOG).unwrap();
        assert_eq!(log_notes("log", &l), Vec::<String>::new());
        let uneven = LOG.replace(
            "#  Rank  1 Group  0 Pid  1 on node1 device  1",
            "#  Rank  1 Group  0 Pid  1 on node2 device  1 [0x2a] NVIDIA H100 80GB HBM3\n#  Rank  2 Group  0 Pid  1 on node2 device  1",
        );
        let l = parse("log", &uneven).unwrap();
        assert_eq!(l.ranks_per_host, [1, 2]);
        let wrong = uneven.replace("67.04      0", "67.04      3");
        let notes = log_notes("log", &parse("log", &wrong).unwrap());
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].starts_with("--compare log: its ranks sit unevenly on 2 hosts (1, 2): compared as --per-server places them"),
            "{}",
            notes[0]
        );
        // Full hosts and a last one with fewer: as the sweep places them, nothing said.
        let last_fewer = uneven
            .replace("on node1 device  0", "on node0 device  0")
            .replace(
                "#  Rank  1 Group  0 Pid  1 on node2",
                "#  Rank  1 Group  0 Pid  1 on node0",
            );
        let l = parse("log", &last_fewer).unwrap();
        assert_eq!(l.ranks_per_host, [2, 1]);
        assert!(!l.uneven_hosts());
        assert!(
            notes[1].contains("#wrong above 0) on line 11:"),
            "{}",
            notes[1]
        );
    }

    #[test]
    fn bad_lines_are_named() {
        let bad = LOG.replace("    27.37   38.31", "    fast   38.31");
        let e = parse("log", &bad).unwrap_err().to_string();
        assert!(e.contains("line 10"), "{e}");
        let e = parse("log", "hello world\n").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        assert!(parse("log", "# only comments\n").is_err());
    }

    /// Busbw and time agree at every size: to 2%, or to the rounding of the busbw's two
    /// decimals where that is wider; a slip of the busbw column below 1 GB/s is caught.
    #[test]
    fn busbw_and_time_agree_at_every_size() {
        let ar = CollectiveOp::AllReduce;
        // 1 MiB in 109.2 µs on 16 ranks is 18.00 GB/s: 0.5 (a slip) disagrees.
        assert!(busbw_disagrees_with_time(ar, 1 << 20, 16, 109.2, 0.5).is_some());
        assert!(busbw_disagrees_with_time(ar, 1 << 20, 16, 109.2, 18.0).is_none());
        // 8 B in 15 µs is 0.0009 GB/s, printed 0.00; 128 B in 15 µs is 0.016, printed 0.02.
        assert!(busbw_disagrees_with_time(ar, 8, 16, 15.0, 0.0).is_none());
        assert!(busbw_disagrees_with_time(ar, 128, 16, 15.0, 0.02).is_none());
        assert!(busbw_disagrees_with_time(ar, 128, 16, 15.0, 0.03).is_some());
        // 64 KiB in 31.14 µs on 16 ranks is 3.95 GB/s: a slip to 0.39 is caught.
        assert!(busbw_disagrees_with_time(ar, 65536, 16, 31.14, 3.95).is_none());
        assert!(busbw_disagrees_with_time(ar, 65536, 16, 31.14, 0.39).is_some());
        // Above 1 GB/s, 2% as before.
        assert!(busbw_disagrees_with_time(ar, 1 << 20, 16, 109.2, 18.3).is_none());
        assert!(busbw_disagrees_with_time(ar, 1 << 20, 16, 109.2, 18.5).is_some());
    }
}
