//! The progress line: on a terminal, once a command has run for a second, a line on
//! stderr says which long computation runs and how far it has got (the core's
//! `progress` counters), until the command ends. `MEMPHIS_PROGRESS=always` shows it at
//! once and off a terminal too (for tests and logs); `--quiet` silences it either way.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a command runs before the line shows.
const AFTER: Duration = Duration::from_secs(1);
/// How often it is redrawn.
const EVERY: Duration = Duration::from_millis(200);

/// The line's state, shared by the drawing thread and whoever writes meanwhile: a
/// status line or a note on stderr clears it first (it is drawn again after), and the
/// report on stdout ends it, so no output runs into it.
struct Line {
    /// Ended: never drawn again.
    ended: bool,
    /// On the terminal now.
    shown: bool,
}

static LINE: Mutex<Line> = Mutex::new(Line {
    ended: true,
    shown: false,
});

fn line() -> std::sync::MutexGuard<'static, Line> {
    LINE.lock().unwrap_or_else(|e| e.into_inner())
}

fn erase(l: &mut Line) {
    if l.shown {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K");
        let _ = err.flush();
        l.shown = false;
    }
}

/// Writes another line to stderr with the progress line cleared first, and not drawn
/// again until it is out (it is drawn again later). `write` must not come back here.
pub fn cleared<T>(write: impl FnOnce() -> T) -> T {
    let mut l = line();
    erase(&mut l);
    write()
}

/// Ends the line before the report goes out.
pub fn end() {
    let mut l = line();
    l.ended = true;
    erase(&mut l);
}

/// Runs `work`, drawing the progress line beside it when it takes a while.
pub fn around<T>(work: impl FnOnce() -> T) -> T {
    let forced = std::env::var("MEMPHIS_PROGRESS").is_ok_and(|v| v == "always");
    if super::quiet() || super::embedded() || !(forced || super::progress_enabled()) {
        return work();
    }
    let after = if forced { Duration::ZERO } else { AFTER };
    *line() = Line {
        ended: false,
        shown: false,
    };
    std::thread::scope(|s| {
        s.spawn(|| draw(after));
        let out = work();
        end();
        out
    })
}

fn draw(after: Duration) {
    let start = Instant::now();
    let mut next = after;
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let t = start.elapsed();
        if line().ended {
            return;
        }
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
        // Drawn under the lock: a writer's clear or end cannot fall between.
        let mut l = line();
        if l.ended {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K  {what} · {:.1} s", t.as_secs_f64());
        let _ = err.flush();
        l.shown = true;
    }
}
