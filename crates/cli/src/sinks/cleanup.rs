//! The temporary files of this process, removed if it is interrupted (SIGINT, SIGTERM,
//! SIGHUP). An error removes them the ordinary way ([`super::output`] drops its staged
//! files); a signal would end the process without unwinding, so a handler does it.
//!
//! The handler may only call async-signal-safe functions: it walks a fixed array of
//! C strings (atomic pointers, never freed while registered: the handler may be reading
//! one on another thread), `unlink`s each, then re-raises the signal with its default
//! action so the process ends as it would have (killed by the signal).

// The signal handler calls libc (sigaction, unlink, raise): the one place the
// workspace's `unsafe_code = "deny"` is lifted, with each block kept minimal.
#![allow(unsafe_code)]

use std::path::Path;

/// A registered temporary path; [`unregister`] it once the file is renamed or removed.
#[derive(Debug)]
pub struct Registered(#[allow(dead_code)] Option<usize>);

#[cfg(unix)]
mod imp {
    use super::Registered;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::sync::atomic::{AtomicPtr, Ordering};
    use std::sync::Once;

    /// At most this many temporary files at once (a run writes four outputs at most).
    const SLOTS: usize = 32;
    static PATHS: [AtomicPtr<libc::c_char>; SLOTS] =
        [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];
    static INSTALL: Once = Once::new();
    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    extern "C" fn on_signal(sig: libc::c_int) {
        remove_all();
        // SA_RESETHAND restored the default action; the signal is blocked while this
        // handler runs, so it ends the process as soon as the handler returns.
        // SAFETY: raise is async-signal-safe.
        unsafe {
            libc::raise(sig);
        }
    }

    /// Removes every registered file (async-signal-safe: atomic loads and unlink).
    pub fn remove_all() {
        for slot in &PATHS {
            let p = slot.load(Ordering::Acquire);
            if !p.is_null() {
                // SAFETY: a registered pointer is a NUL-terminated string that is never
                // freed while it is in the table.
                unsafe {
                    libc::unlink(p);
                }
            }
        }
    }

    fn install() {
        INSTALL.call_once(|| {
            for sig in SIGNALS {
                // SAFETY: plain sigaction calls on zeroed structs; the handler only
                // does async-signal-safe work.
                unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 {
                        continue;
                    }
                    // A signal the parent chose to ignore (nohup, a background job) stays
                    // ignored.
                    if old.sa_sigaction == libc::SIG_IGN {
                        continue;
                    }
                    let mut new: libc::sigaction = std::mem::zeroed();
                    new.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                    new.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
                    libc::sigemptyset(&mut new.sa_mask);
                    for s in SIGNALS {
                        libc::sigaddset(&mut new.sa_mask, s);
                    }
                    libc::sigaction(sig, &new, std::ptr::null_mut());
                }
            }
        });
    }

    pub fn register(path: &Path) -> Registered {
        install();
        let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
            return Registered(None);
        };
        let raw = c.into_raw();
        for (i, slot) in PATHS.iter().enumerate() {
            if slot
                .compare_exchange(
                    std::ptr::null_mut(),
                    raw,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                return Registered(Some(i));
            }
        }
        // SAFETY: `raw` came from into_raw above and was never shared.
        drop(unsafe { CString::from_raw(raw) });
        Registered(None)
    }

    pub fn unregister(r: Registered) {
        if let Some(i) = r.0 {
            // The string is leaked, not freed: a handler running on another thread may
            // still hold the pointer. A few hundred bytes per output file.
            PATHS[i].store(std::ptr::null_mut(), Ordering::Release);
        }
    }

    #[cfg(test)]
    pub fn registered() -> Vec<std::path::PathBuf> {
        use std::os::unix::ffi::OsStringExt;
        PATHS
            .iter()
            .map(|s| s.load(Ordering::Acquire))
            .filter(|p| !p.is_null())
            .map(|p| {
                // SAFETY: as in remove_all.
                let c = unsafe { std::ffi::CStr::from_ptr(p) };
                std::ffi::OsString::from_vec(c.to_bytes().to_vec()).into()
            })
            .collect()
    }
}

#[cfg(not(unix))]
mod imp {
    use super::Registered;
    use std::path::Path;
    pub fn register(_: &Path) -> Registered {
        Registered(None)
    }
    pub fn unregister(_: Registered) {}
    pub fn remove_all() {}
}

/// Registers a temporary file to remove should a signal end the process; installs the
/// handler on first use.
pub fn register(path: &Path) -> Registered {
    imp::register(path)
}

/// The file is gone or renamed: forget it.
pub fn unregister(r: Registered) {
    imp::unregister(r)
}

/// Tests that stage files hold this: [`remove_all`] in a test would take their files.
#[cfg(test)]
pub static TEST_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What the signal handler does: removes every registered file. Public for tests.
#[allow(dead_code)]
pub fn remove_all() {
    imp::remove_all()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn registered_files_are_removed_by_the_handler_work() {
        let _lock = TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let dir = std::env::temp_dir().join(format!("memphis-cleanup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join(".a.json.0123456789abcdef.tmp");
        let b = dir.join(".b.html.fedcba9876543210.tmp");
        std::fs::write(&a, "a").unwrap();
        std::fs::write(&b, "b").unwrap();
        let ra = register(&a);
        let rb = register(&b);
        assert!(imp::registered().contains(&a));
        unregister(rb);
        assert!(!imp::registered().contains(&b));
        remove_all();
        assert!(!a.exists(), "a registered file is removed");
        assert!(b.exists(), "an unregistered file is kept");
        unregister(ra);
        assert!(!imp::registered().contains(&a));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
