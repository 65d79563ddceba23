//! The progress line: on a terminal, once a command has run for a second, a line on
//! stderr says which long computation runs and how far it has got (the core's
//! `progress` counters), until the command ends. `MEMPHIS_PROGRESS=always` shows it at
//! once and off a terminal too (for tests and logs); `--quiet` silences it either way.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a command runs before the line shows.
const AFTER: Duration = Duration::from_secs(1);
/// How often it is redrawn.
const EVERY: Duration = Duration::from_millis(200);

/// Runs `work`, drawing the progress line beside it when it takes a while.
pub fn around<T>(work: impl FnOnce() -> T) -> T {
    let forced = std::env::var("MEMPHIS_PROGRESS").is_ok_and(|v| v == "always");
    if super::quiet() || super::embedded() || !(forced || super::progress_enabled()) {
        return work();
    }
    let after = if forced { Duration::ZERO } else { AFTER };
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| draw(&stop, after));
        let out = work();
        stop.store(true, Ordering::Relaxed);
        out
    })
}

fn draw(stop: &AtomicBool, after: Duration) {
    let start = Instant::now();
    let (mut drawn, mut next) = (false, after);
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
        let t = start.elapsed();
        if t < next {
            continue;
        }
        next = t + EVERY;
        let what = match memphis_core::progress::now() {
            Some((stage, done, total)) => format!(
                "{} {done}/{total} ({:.0}%)",
                stage.what(),
                done as f64 * 100.0 / total.max(1) as f64
            ),
            None => "working".into(),
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K  {what} · {:.1} s", t.as_secs_f64());
        let _ = err.flush();
        drawn = true;
    }
    if drawn {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K");
        let _ = err.flush();
    }
}
