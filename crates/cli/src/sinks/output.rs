//! The output files of one run (`-o`, `--trace`, `--html`, `--out`), written safely.
//!
//! 1. [`Outputs::file`] / [`Outputs::report`] check every path before any work: the
//!    directory exists and is writable, the path is no directory, no two outputs share a
//!    file. A bad path is the user's input: exit 2.
//! 2. [`Outputs::put`] stages a finished output. A regular file (new or existing) is
//!    written to a temporary file beside it, created with `O_CREAT|O_EXCL|O_NOFOLLOW`
//!    under a random name (so a symlink planted at a guessed name is never followed),
//!    with the target's mode and owner, and synced. Anything else (a character device
//!    such as `/dev/null`, a FIFO, `-` for stdout) is written through at commit, never
//!    replaced.
//! 3. [`Outputs::commit`] writes the pass-through outputs, renames the staged files
//!    over their targets, and writes stdout last, so that a report on stdout means
//!    every file was written. A failure here is the environment's (full disk, I/O
//!    error): exit 1.
//!
//! Staged files are removed when an error drops the `Outputs`, and by the signal
//! handler of [`super::cleanup`] on SIGINT, SIGTERM or SIGHUP.
//!
//! A symbolic link is followed to its target (as the shell's `>` does): a regular file
//! there is replaced in its own directory (the link stays), a device or FIFO is written
//! through. Not followed, refused instead: a link to nothing (it would create a file
//! wherever it points), and a link owned by another user in a sticky world-writable
//! directory such as `/tmp` (the kernel's `protected_symlinks` rule, which a rename
//! would otherwise bypass).

// faccessat through libc to check an output's directory before the run: a lifted
// `unsafe_code = "deny"`, with each block kept minimal.
#![allow(unsafe_code)]

use super::cleanup::{self, Registered};
use crate::errors::{CliError, CliResult};
use crate::input::{io_reason, special_kind};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An output of the run, as returned by [`Outputs::file`] and [`Outputs::report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot(usize);

/// The checked outputs of one run; see the module documentation.
#[derive(Default)]
pub struct Outputs {
    items: Vec<Item>,
}

struct Item {
    /// The command's report (stdout when no path is given).
    report: bool,
    flag: &'static str,
    shown: String,
    target: Target,
    state: State,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// The process's stdout (`-`, `/dev/stdout`, or no path for the report).
    Stdout,
    /// Opened and written, never replaced: a character device or a FIFO.
    Through(PathBuf),
    /// A regular file (or none yet): staged beside it and renamed over it.
    Replace {
        path: PathBuf,
        dir: PathBuf,
        name: OsString,
        keep: Option<Keep>,
    },
}

/// What an existing regular file keeps when it is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Keep {
    mode: u32,
    uid: u32,
    gid: u32,
}

enum State {
    Empty,
    Held(Vec<u8>),
    Staged { tmp: PathBuf, reg: Registered },
}

impl Outputs {
    /// An optional output file (`--trace`, `--html`), checked now; `None` when not
    /// asked for.
    pub fn file(&mut self, flag: &'static str, path: Option<&Path>) -> CliResult<Option<Slot>> {
        path.map(|p| self.add(flag, Some(p), false)).transpose()
    }

    /// The report: to the file given (checked now), or to stdout when there is none or
    /// it is `-`.
    pub fn report(&mut self, flag: &'static str, path: Option<&Path>) -> CliResult<Slot> {
        self.add(flag, path, true)
    }

    fn add(&mut self, flag: &'static str, path: Option<&Path>, report: bool) -> CliResult<Slot> {
        let shown = path.map_or("-".to_string(), |p| p.display().to_string());
        let bad = |why: String| CliError::bad(format!("{flag} '{shown}': {why}"));
        let target = match path {
            None => Target::Stdout,
            Some(p) => check(p).map_err(bad)?,
        };
        if let Some(other) = self.items.iter().find(|i| same(&i.target, &target)) {
            return Err(bad(match (&target, other.report) {
                (Target::Stdout, true) => format!(
                    "stdout already carries the report (give {} FILE for it)",
                    other.flag
                ),
                (Target::Stdout, false) => format!("stdout already carries {}", other.flag),
                _ => format!("the same file as {} '{}'", other.flag, other.shown),
            }));
        }
        self.items.push(Item {
            report,
            flag,
            shown,
            target,
            state: State::Empty,
        });
        Ok(Slot(self.items.len() - 1))
    }

    /// Hands over a finished output. A file is staged at once (a temporary file beside
    /// the target, which appears only at [`commit`](Self::commit)); stdout and
    /// pass-through targets keep the bytes until then.
    pub fn put(&mut self, slot: Slot, bytes: impl Into<Vec<u8>>) -> CliResult {
        let item = &mut self.items[slot.0];
        let mut bytes = bytes.into();
        // The terminal's bold belongs on the terminal: a file (or a pipe given by name)
        // gets the text plain, whatever stdout is.
        if !matches!(item.target, Target::Stdout) {
            bytes = super::unstyled(bytes);
        }
        discard(std::mem::replace(&mut item.state, State::Empty));
        item.state = match &item.target {
            Target::Stdout | Target::Through(_) => State::Held(bytes),
            Target::Replace {
                dir, name, keep, ..
            } => {
                let (tmp, reg) = stage(dir, name, &bytes, *keep).map_err(|(e, created)| {
                    // A directory that refuses new files (`/proc`, a read-only mount)
                    // is the path the user gave: exit 2. A write that fails once the
                    // file exists (a full disk) is the environment's: exit 1.
                    let msg = format!(
                        "{} '{}': cannot write: {}",
                        item.flag,
                        item.shown,
                        io_reason(&e)
                    );
                    if !created && refused_here(&e) {
                        CliError::bad(format!("{msg} (no file can be created in that directory)"))
                    } else {
                        CliError::env(msg)
                    }
                })?;
                State::Staged { tmp, reg }
            }
        };
        Ok(())
    }

    /// Writes every output handed over: pass-through targets first, then the staged
    /// files renamed over their targets, then stdout. Outputs never handed over are
    /// skipped.
    pub fn commit(mut self) -> CliResult {
        // An output never replaces a file the run read (`-o` naming the scenario).
        for item in &self.items {
            if let Target::Replace { path, .. } = &item.target {
                if let Some(what) = crate::input::input_at(path) {
                    return Err(CliError::bad(format!(
                        "{} '{}': is the {what} this run read; write to another file",
                        item.flag, item.shown
                    )));
                }
            }
        }
        // Pass-through targets first: one that cannot be written (`--csv /dev/full`)
        // fails the run before stdout shows a report that reads as whole.
        self.write_held(false)?;
        for item in &mut self.items {
            let (State::Staged { .. }, Target::Replace { path, dir, .. }) =
                (&item.state, &item.target)
            else {
                continue;
            };
            let State::Staged { tmp, reg } = std::mem::replace(&mut item.state, State::Empty)
            else {
                continue;
            };
            let renamed = std::fs::rename(&tmp, path);
            if renamed.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            cleanup::unregister(reg);
            renamed.map_err(|e| cannot_write(item, &e))?;
            // The rename itself on disk (best effort: not every file system can).
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        // stdout last, once every file is in place.
        self.write_held(true)
    }

    /// Writes the held outputs: stdout's (`stdout`) or the pass-through targets'.
    fn write_held(&self, stdout: bool) -> CliResult {
        for item in &self.items {
            let State::Held(bytes) = &item.state else {
                continue;
            };
            let written = match (&item.target, stdout) {
                (Target::Through(p), false) => write_through(p, bytes),
                (Target::Through(_), true) | (_, false) => continue,
                (_, true) => super::stdout_bytes(bytes),
            };
            written.map_err(|e| cannot_write(item, &e))?;
        }
        Ok(())
    }
}

/// An output that could not be written: the environment's fault (exit 1). The report
/// with no path given is stdout's, not a flag's.
fn cannot_write(item: &Item, e: &std::io::Error) -> CliError {
    let what = match (&item.target, item.shown.as_str()) {
        (Target::Stdout, "-") if item.report => "stdout".to_string(),
        _ => format!("{} '{}'", item.flag, item.shown),
    };
    CliError::env(format!("{what}: cannot write: {}", io_reason(e)))
}

impl Drop for Outputs {
    /// An error (or a panic) before the commit: the staged files go.
    fn drop(&mut self) {
        for item in &mut self.items {
            discard(std::mem::replace(&mut item.state, State::Empty));
        }
    }
}

fn discard(state: State) {
    if let State::Staged { tmp, reg } = state {
        let _ = std::fs::remove_file(&tmp);
        cleanup::unregister(reg);
    }
}

/// Two outputs that would overwrite each other. Pass-through devices may repeat
/// (`--trace /dev/null -o /dev/null`).
fn same(a: &Target, b: &Target) -> bool {
    match (a, b) {
        (Target::Stdout, Target::Stdout) => true,
        (
            Target::Replace {
                dir: da, name: na, ..
            },
            Target::Replace {
                dir: db, name: nb, ..
            },
        ) => {
            na == nb
                && match (std::fs::canonicalize(da), std::fs::canonicalize(db)) {
                    (Ok(x), Ok(y)) => x == y,
                    _ => da == db,
                }
        }
        _ => false,
    }
}

/// Where an output path leads, or why it cannot be written (the user's input).
fn check(path: &Path) -> Result<Target, String> {
    if is_stdout(path) {
        return Ok(Target::Stdout);
    }
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => new_file(path, None),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(format!(
            "'{}' is not a directory (or a part of it is not)",
            parent(path).display()
        )),
        Err(e) => Err(io_reason(&e)),
        Ok(m) if m.file_type().is_symlink() => follow(path, &m),
        Ok(m) => existing(path, &m),
    }
}

/// `-` and the names of this process's stdout.
fn is_stdout(path: &Path) -> bool {
    ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"]
        .iter()
        .any(|s| path == Path::new(s))
}

/// An existing path that is no symbolic link.
fn existing(path: &Path, m: &std::fs::Metadata) -> Result<Target, String> {
    let ft = m.file_type();
    if ft.is_dir() {
        return Err("is a directory".into());
    }
    if ft.is_file() {
        if !writable(path) {
            return Err("permission denied (the file is not writable)".into());
        }
        return new_file(path, Some(keep_of(m)));
    }
    if is_through(&ft) {
        if !writable(path) {
            return Err("permission denied".into());
        }
        return Ok(Target::Through(path.to_path_buf()));
    }
    Err(format!(
        "is {}; outputs go to regular files, character devices, FIFOs or stdout (-)",
        special_kind(&ft)
    ))
}

/// A file type written through: a character device or a FIFO.
fn is_through(ft: &std::fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        ft.is_char_device() || ft.is_fifo()
    }
    #[cfg(not(unix))]
    {
        let _ = ft;
        false
    }
}

/// A symbolic link: followed to where it leads, unless it leads nowhere or it sits in a
/// shared sticky directory and belongs to someone else.
fn follow(path: &Path, link: &std::fs::Metadata) -> Result<Target, String> {
    if untrusted_link(path, link) {
        return Err("a symbolic link owned by another user in a shared (sticky, world-writable) directory: not followed".into());
    }
    let m = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let to = std::fs::read_link(path)
                .map(|t| format!(" '{}'", t.display()))
                .unwrap_or_default();
            return Err(format!(
                "a symbolic link to a missing file{to}: not followed; give the path to write"
            ));
        }
        Err(e) => return Err(io_reason(&e)),
    };
    if m.is_file() {
        // Replaced where it really is; the link keeps pointing at it.
        let real = std::fs::canonicalize(path).map_err(|e| io_reason(&e))?;
        return existing(&real, &m);
    }
    existing(path, &m)
}

#[cfg(unix)]
fn untrusted_link(path: &Path, link: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(dir) = std::fs::metadata(parent(path)) else {
        return false;
    };
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    dir.mode() & 0o1002 == 0o1002 && link.uid() != me && link.uid() != dir.uid()
}

#[cfg(not(unix))]
fn untrusted_link(_: &Path, _: &std::fs::Metadata) -> bool {
    false
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A regular file to be written by rename: its directory must exist and be writable.
fn new_file(path: &Path, keep: Option<Keep>) -> Result<Target, String> {
    let dir = parent(path);
    let Some(name) = path.file_name() else {
        return Err("not a file name".into());
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("directory '{}' does not exist", dir.display()))
        }
        Err(e) => return Err(format!("directory '{}': {}", dir.display(), io_reason(&e))),
        Ok(m) if !m.is_dir() => return Err(format!("'{}' is not a directory", dir.display())),
        Ok(_) => {}
    }
    if !writable(dir) {
        return Err(format!("directory '{}' is not writable", dir.display()));
    }
    Ok(Target::Replace {
        path: path.to_path_buf(),
        dir: dir.to_path_buf(),
        name: name.to_os_string(),
        keep,
    })
}

/// Whether this process may write `path` (and, for a directory, create files in it),
/// by the effective ids; a read-only file system says no even to root.
#[cfg(unix)]
fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mode = if path.is_dir() {
        libc::W_OK | libc::X_OK
    } else {
        libc::W_OK
    };
    // SAFETY: a valid C string; faccessat only reads it.
    unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), mode, libc::AT_EACCESS) == 0 }
}

#[cfg(not(unix))]
fn writable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.permissions().readonly())
}

#[cfg(unix)]
fn keep_of(m: &std::fs::Metadata) -> Keep {
    use std::os::unix::fs::MetadataExt;
    Keep {
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
    }
}

#[cfg(not(unix))]
fn keep_of(_: &std::fs::Metadata) -> Keep {
    Keep {
        mode: 0o644,
        uid: 0,
        gid: 0,
    }
}

/// A name no one can guess: 64 bits from std's randomly keyed SipHash (its keys come
/// from the operating system's random source).
fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// `.NAME.<random>.tmp` in `dir` (NAME shortened so the whole stays a legal name).
fn temp_path(dir: &Path, name: &std::ffi::OsStr) -> PathBuf {
    let name = name.to_string_lossy();
    let mut end = name.len().min(100);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    dir.join(format!(".{}.{}.tmp", &name[..end], random_suffix()))
}

/// Whether an error creating a file says the place refuses files (not that the system
/// failed): missing, forbidden, read-only.
fn refused_here(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{NotFound, PermissionDenied};
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::EROFS) {
        return true;
    }
    matches!(e.kind(), NotFound | PermissionDenied)
}

/// Writes `bytes` to a new temporary file in `dir`, registered for removal on a signal;
/// returns its path, or the error and whether the file had been created. A name already
/// taken (by anything, a symlink included) is never opened: another random name is
/// tried.
fn stage(
    dir: &Path,
    name: &std::ffi::OsStr,
    bytes: &[u8],
    keep: Option<Keep>,
) -> Result<(PathBuf, Registered), (std::io::Error, bool)> {
    let mut last = None;
    for _ in 0..8 {
        let tmp = temp_path(dir, name);
        // Registered before it exists, so that a signal right after the open finds it.
        let reg = cleanup::register(&tmp);
        match create_exclusive(&tmp, keep.is_none()) {
            Ok(f) => {
                return match fill(f, bytes, keep) {
                    Ok(()) => Ok((tmp, reg)),
                    Err(e) => {
                        let _ = std::fs::remove_file(&tmp);
                        cleanup::unregister(reg);
                        Err((e, true))
                    }
                };
            }
            Err(e) => {
                cleanup::unregister(reg);
                if e.kind() != std::io::ErrorKind::AlreadyExists {
                    return Err((e, false));
                }
                last = Some(e);
            }
        }
    }
    Err((
        last.unwrap_or_else(|| std::io::Error::other("no free temporary name")),
        false,
    ))
}

/// Creates `tmp`, failing if anything exists there; never follows a symbolic link. A
/// new file gets the usual mode (0666 less the umask); a replacement starts private
/// (0600) and takes the old file's mode once written.
#[cfg(unix)]
fn create_exclusive(tmp: &Path, fresh: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if fresh { 0o666 } else { 0o600 })
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(tmp)
}

#[cfg(not(unix))]
fn create_exclusive(tmp: &Path, _fresh: bool) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
}

/// The bytes, then the old file's owner (when root may set it) and mode, then a sync.
fn fill(mut f: std::fs::File, bytes: &[u8], keep: Option<Keep>) -> std::io::Result<()> {
    f.write_all(bytes)?;
    #[cfg(unix)]
    if let Some(k) = keep {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let m = f.metadata()?;
        if (m.uid(), m.gid()) != (k.uid, k.gid) {
            // Only root may give a file away; others keep their own (as an editor does).
            let _ = std::os::unix::fs::fchown(&f, Some(k.uid), Some(k.gid));
        }
        // After the chown, which clears set-id bits.
        f.set_permissions(std::fs::Permissions::from_mode(k.mode))?;
    }
    f.sync_all()
}

/// Writes to a device or FIFO in place (opening a FIFO waits for its reader). A path
/// that turned into a regular file since it was checked is not written.
fn write_through(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC);
    }
    let mut f = opts.open(path)?;
    if f.metadata()?.is_file() {
        return Err(std::io::Error::other(
            "it became a regular file after it was checked",
        ));
    }
    match f.write_all(bytes).and_then(|()| f.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("memphis-out-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_planted_symlink_at_the_temporary_name_is_never_followed() {
        let d = dir("planted");
        let victim = d.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let tmp = d.join(".out.json.0000000000000000.tmp");
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        let e = create_exclusive(&tmp, true).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        // A dangling link is not followed either (it would create its target).
        let ghost = d.join("ghost");
        let tmp2 = d.join(".out.json.1111111111111111.tmp");
        std::os::unix::fs::symlink(&ghost, &tmp2).unwrap();
        assert!(create_exclusive(&tmp2, true).is_err());
        assert!(!ghost.exists());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn staged_files_keep_the_mode_and_go_on_drop() {
        let _lock = cleanup::TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let d = dir("stage");
        let target = d.join("secret.json");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut outs = Outputs::default();
        let s = outs.report("-o", Some(&target)).unwrap();
        outs.put(s, "new").unwrap();
        assert_eq!(entries(&d).len(), 2, "{:?}", entries(&d));
        drop(outs);
        assert_eq!(entries(&d), ["secret.json"]);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        let mut outs = Outputs::default();
        let s = outs.report("-o", Some(&target)).unwrap();
        outs.put(s, "new").unwrap();
        outs.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o600);
        assert_eq!(entries(&d), ["secret.json"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn paths_are_checked_before_anything_is_written() {
        let _lock = cleanup::TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let d = dir("check");
        let f = d.join("a.json");
        let mut outs = Outputs::default();
        outs.file("--trace", Some(&f)).unwrap();
        let e = outs.report("-o", Some(&d.join("./a.json"))).err().unwrap();
        assert!(
            e.message.contains("the same file as --trace"),
            "{}",
            e.message
        );
        let e = outs.report("-o", Some(&d)).err().unwrap();
        assert!(e.message.ends_with("is a directory"), "{}", e.message);
        let e = outs
            .report("-o", Some(Path::new("/no/such/dir/x")))
            .err()
            .unwrap();
        assert!(e
            .message
            .contains("directory '/no/such/dir' does not exist"));
        assert_eq!(e.kind, crate::errors::Kind::BadInput);
        outs.report("-o", Some(Path::new("-"))).unwrap();
        let e = outs
            .file("--html", Some(Path::new("/dev/stdout")))
            .err()
            .unwrap();
        assert!(
            e.message
                .contains("stdout already carries the report (give -o FILE"),
            "{}",
            e.message
        );
        assert!(outs.file("--html", Some(Path::new("/dev/null"))).is_ok());
        assert!(outs.file("--x", Some(Path::new("/dev/null"))).is_ok());
        // A dangling link is refused.
        let link = d.join("dangling");
        std::os::unix::fs::symlink(d.join("nowhere"), &link).unwrap();
        let e = outs.file("--y", Some(&link)).err().unwrap();
        assert!(e.message.contains("missing file"), "{}", e.message);
        assert!(!d.join("nowhere").exists());
        drop(outs);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn symlinks_to_files_are_followed_and_stay_links() {
        let _lock = cleanup::TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let d = dir("follow");
        let real = d.join("run5.json");
        std::fs::write(&real, "old").unwrap();
        let link = d.join("latest.json");
        std::os::unix::fs::symlink("run5.json", &link).unwrap();
        let mut outs = Outputs::default();
        let s = outs.report("-o", Some(&link)).unwrap();
        outs.put(s, "new").unwrap();
        outs.commit().unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
