//! The ledger's lock: a file of the store's own in the ledger's folder (`lock`), held while the
//! ledger is open, which carries a short description of its holder that the holder may set
//! ([`Ledger::describe_holder`]), so that an opener refused with
//! [`StoreError::InUse`] can say who holds it.
//!
//! The description is only ever read while someone holds the lock, and whoever takes the lock
//! replaces it first (with what the process says of itself, [`describe_process`], or nothing):
//! a description left by a holder that was killed is never shown. sled keeps its own lock on
//! its `db` file; the store takes its lock first and lets it go last.

use std::fs::{File, TryLockError};
use std::io::{Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::StoreError;
use crate::ledger::Ledger;

/// The lock file's name in the ledger's folder.
pub(crate) const LOCK_FILE: &str = "lock";

/// The longest description kept, in bytes: it goes into one line of an error message.
const DESCRIPTION_MAX: usize = 200;

/// What this process says of itself in every lock it takes ([`describe_process`]).
static PROCESS: Mutex<String> = Mutex::new(String::new());

/// Says who this process is, in every ledger lock it takes from now on (a ledger opened,
/// verified, repaired, or built by `create` or `import`), so that a process refused because
/// the ledger is in use, or that gives up waiting for it, can name this one
/// ([`StoreError::InUse`], [`StoreError::StillInUse`]): for example `actledger who-held (pid
/// 4242)`. One line, at most 200 bytes; an empty text says nothing.
/// [`Ledger::describe_holder`] replaces it for one open ledger.
pub fn describe_process(text: &str) {
    let text = one_line(text).to_owned();
    // A poisoned lock still holds a whole string: it is only ever replaced.
    *PROCESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = text;
}

/// What this process says of itself.
fn process_description() -> String {
    PROCESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// The first line of `text`, cut to at most [`DESCRIPTION_MAX`] bytes.
fn one_line(text: &str) -> &str {
    let line = text.lines().next().unwrap_or_default();
    let mut end = line.len().min(DESCRIPTION_MAX);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

/// The ledger's lock, held until dropped.
#[derive(Debug)]
pub(crate) struct Lock {
    file: File,
    path: PathBuf,
    /// This lock among the ones this process holds, until the lock is dropped.
    _held: Held,
}

/// How long a lock this process let go of moments ago, and now finds held by a handle nobody
/// describes, is waited for before the ledger is called in use ([`Lock::take`]).
const GHOST_WAIT: Duration = Duration::from_secs(2);

/// The lock files this process holds, and those it let go of with when: a lock file is known
/// by its identity on disk (device and inode), which a build moved into place keeps.
static HELD: Mutex<Vec<FileId>> = Mutex::new(Vec::new());
static RELEASED: Mutex<Vec<(FileId, Instant)>> = Mutex::new(Vec::new());

/// A file's identity on disk; none where it cannot be told (then nothing is waited for).
type FileId = (u64, u64);

#[cfg(unix)]
fn file_id(file: &File) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt as _;
    file.metadata().ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &File) -> Option<FileId> {
    None
}

/// Whether the lock of `file`, held by a handle nobody describes, is most likely this
/// process's own past: a lock it let go of within [`GHOST_WAIT`] and does not hold now, whose
/// handle a child being started by another thread still copies.
fn ghost_of_ours(file: &File) -> bool {
    let Some(id) = file_id(file) else {
        return false;
    };
    let held = HELD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let released = RELEASED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    !held.contains(&id)
        && released
            .iter()
            .any(|(r, at)| *r == id && at.elapsed() < GHOST_WAIT)
}

/// One entry of [`HELD`], moved to [`RELEASED`] when dropped.
#[derive(Debug)]
struct Held(Option<FileId>);

impl Held {
    fn add(file: &File) -> Held {
        let id = file_id(file);
        if let Some(id) = id {
            HELD.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(id);
        }
        Held(id)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(id) = self.0 else { return };
        let mut released = RELEASED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        released.retain(|(r, at)| *r != id && at.elapsed() < GHOST_WAIT);
        released.push((id, Instant::now()));
        drop(released);
        let mut held = HELD
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(at) = held.iter().position(|h| *h == id) {
            held.swap_remove(at);
        }
    }
}

impl Lock {
    /// Takes the lock of the ledger in `dir`, or says who holds it.
    pub(crate) fn take(dir: &Path) -> Result<Lock, StoreError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| StoreError::Io {
            what: "opening the lock file".into(),
            path: dir.join(LOCK_FILE),
            source,
        };
        // sled makes the folder when it is missing; the lock goes in first.
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            what: "creating".into(),
            path: dir.to_owned(),
            source,
        })?;
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let ghost_until = Instant::now() + GHOST_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let holder = holder(&path);
                    // Nobody described (a holder that lets go clears its description), and a
                    // lock this process let go of a moment ago: most likely a child another
                    // thread of this process is starting, which holds a copy of the lock's
                    // handle until it runs its program. It lets go in milliseconds; any other
                    // holder is refused at once.
                    let ghost = holder.is_none() && ghost_of_ours(&file);
                    if !ghost || Instant::now() >= ghost_until {
                        return Err(StoreError::InUse {
                            path: dir.to_owned(),
                            holder,
                        });
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TryLockError::Error(source)) => return Err(io(source)),
            }
        }
        let lock = Lock {
            _held: Held::add(&file),
            file,
            path,
        };
        // A description left by a holder that is gone describes nobody: this one replaces it.
        lock.describe(&process_description()).map_err(io)?;
        Ok(lock)
    }

    /// Another handle on the lock file that keeps the lock held after this `Lock` is dropped,
    /// until it is closed too (the lock belongs to the open file, which both share). A ledger
    /// being built keeps its folder locked this way between closing its database and moving it
    /// into place, so that no other process takes it for the leftover of a killed one.
    pub(crate) fn keep(&self) -> std::io::Result<File> {
        self.file.try_clone()
    }

    /// Replaces the holder's description.
    fn describe(&self, text: &str) -> std::io::Result<()> {
        let mut file = &self.file;
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(text.as_bytes())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // The lock goes with the file; the description first, so that nobody reads it after.
        let _ = self.describe("");
    }
}

/// The description in the lock file at `path`, if there is one (and it can be read: where
/// locks are mandatory, a held file cannot).
fn holder(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(DESCRIPTION_MAX)]);
    let line = text.lines().next().unwrap_or_default().trim();
    (!line.is_empty()).then(|| line.to_owned())
}

impl Ledger {
    /// Says who holds the ledger, for as long as this handle does: an opener refused because
    /// the ledger is in use gets it in [`StoreError::InUse`] ("the ledger at PATH is held by
    /// TEXT"). One line, at most 200 bytes, for example `actledger serve at
    /// http://127.0.0.1:8080 (pid 4242)`; an empty text says nothing.
    pub fn describe_holder(&self, text: &str) -> Result<(), StoreError> {
        let lock = self.db.lock();
        lock.describe(one_line(text))
            .map_err(|source| StoreError::Io {
                what: "writing the holder's description into".into(),
                path: lock.path.clone(),
                source,
            })
    }
}
