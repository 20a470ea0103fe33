//! Building a new ledger aside: the folder beside the target where `create` and `import`
//! build, moved into place at the end, what already stands at the target, and the leftovers of
//! builds that were killed.
//!
//! A staging folder is named `.NAME.new-XXXXXX` (NAME the target's file name, six random
//! letters or digits) and holds the ledger's own lock file from the moment it is made until it
//! is moved into place or removed. A folder of that name whose lock nobody holds is the leftover
//! of a process killed outright (`kill -9`, a power cut): the next `create` or `import` to the
//! same target removes it. One that is locked belongs to a build still running and is left
//! alone.

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{StoreError, io_error};
use crate::ledger::Ledger;
use crate::lock::Lock;
use crate::open::{Sled, has_database, open_db_locked};

/// The random part of a staging folder's name: this many letters and digits.
const RANDOM_CHARS: usize = 6;

/// A folder next to the target where a new ledger is built, renamed into place at the end
/// and removed (with everything in it) if anything fails before.
pub(crate) struct Staging {
    dir: Option<tempfile::TempDir>,
    target: PathBuf,
    /// The outermost folder made for the target's parent, removed too if the build fails.
    made: Option<PathBuf>,
    /// The folder's lock, until the database is opened with it.
    lock: Option<Lock>,
    /// A handle that keeps the folder's lock held (after the database has closed too) until
    /// the folder is moved into place or removed.
    held: Option<File>,
}

impl Staging {
    /// Makes the staging folder of `target` and locks it, after removing the leftovers of
    /// builds of the same target that were killed.
    pub(crate) fn new(target: &Path) -> Result<Staging, StoreError> {
        let name = target
            .file_name()
            .ok_or_else(|| StoreError::PathOccupied {
                path: target.to_owned(),
            })?
            .to_owned();
        let parent = parent_of(target);
        let made = parent
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .last()
            .map(Path::to_owned);
        std::fs::create_dir_all(&parent).map_err(io_error("creating", &parent))?;
        remove_leftovers(&parent, &name);
        let mut staging = Staging {
            dir: None,
            target: target.to_owned(),
            made,
            lock: None,
            held: None,
        };
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(&name);
        prefix.push(".new-");
        let dir = tempfile::Builder::new()
            .prefix(&prefix)
            .rand_bytes(RANDOM_CHARS)
            .tempdir_in(&parent)
            .map_err(io_error("creating a temporary folder in", &parent))?;
        let path = dir.path().to_owned();
        staging.dir = Some(dir);
        // Locked at once, so that another build of the same target never takes it for a
        // leftover; an error names the user's path, never the staging folder.
        let lock = Lock::take(&path).map_err(|e| e.moved(&path, target))?;
        let held = lock
            .keep()
            .map_err(io_error("opening the lock file of", target))?;
        staging.lock = Some(lock);
        staging.held = Some(held);
        Ok(staging)
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .map(tempfile::TempDir::path)
            .expect("the folder is there until finished")
    }

    /// Opens the new ledger's database, with the folder's lock.
    pub(crate) fn open_db(&mut self) -> Result<Sled, StoreError> {
        let path = self.path().to_owned();
        let lock = match self.lock.take() {
            Some(lock) => lock,
            None => Lock::take(&path)?,
        };
        open_db_locked(&path, lock)
    }

    /// Moves the built ledger to the target: an empty folder there is replaced.
    pub(crate) fn finish(mut self, replace_empty_ledger: bool) -> Result<(), StoreError> {
        let target = self.target.clone();
        if replace_empty_ledger {
            std::fs::remove_dir_all(&target).map_err(io_error("removing", &target))?;
        }
        let built = self.path().to_owned();
        std::fs::rename(&built, &target)
            .map_err(io_error("moving the new ledger into place at", &target))?;
        // Moved: nothing is left to clean up, and the ledger's lock is let go so that it
        // can be opened where it now is.
        if let Some(dir) = self.dir.take() {
            let _ = dir.keep();
        }
        self.made = None;
        self.lock = None;
        self.held = None;
        Ok(())
    }
}

/// The folder a target is in (`.` for a bare name).
fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Whether `file` is the name of a staging folder of a target named `name`:
/// `.NAME.new-` and six letters or digits, exactly.
fn is_staging_name(file: &OsStr, name: &OsStr) -> bool {
    let file = file.as_encoded_bytes();
    let name = name.as_encoded_bytes();
    let Some(rest) = file
        .strip_prefix(b".")
        .and_then(|rest| rest.strip_prefix(name))
        .and_then(|rest| rest.strip_prefix(b".new-"))
    else {
        return false;
    };
    rest.len() == RANDOM_CHARS && rest.iter().all(u8::is_ascii_alphanumeric)
}

/// Removes the staging folders of the target `name` in `parent` that no process holds: what
/// a build killed outright left. Each is locked before it is removed, so a build still running
/// keeps its folder. Best effort: a leftover that cannot be removed stands in nobody's way
/// (every build makes a folder of its own).
fn remove_leftovers(parent: &Path, name: &OsStr) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if !is_staging_name(&entry.file_name(), name)
            || !entry.file_type().is_ok_and(|t| t.is_dir())
        {
            continue;
        }
        let path = entry.path();
        // Held by a live build: InUse. Taken: the build that made it is gone.
        if let Ok(lock) = Lock::take(&path) {
            let _ = std::fs::remove_dir_all(&path);
            drop(lock);
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        drop(self.lock.take());
        drop(self.dir.take());
        drop(self.held.take());
        if let Some(made) = self.made.take() {
            let _ = std::fs::remove_dir_all(made);
        }
    }
}

/// What is at a path where a new ledger is to go.
pub(crate) enum Target {
    /// Nothing, or an empty folder.
    Free,
    /// A ledger, with this many entries.
    Ledger(u64),
}

pub(crate) fn check_target(path: &Path) -> Result<Target, StoreError> {
    let occupied = || StoreError::PathOccupied {
        path: path.to_owned(),
    };
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::Free),
        Err(e) => return Err(io_error("reading", path)(e)),
        Ok(meta) if !meta.is_dir() => return Err(occupied()),
        Ok(_) => {}
    }
    let mut entries = std::fs::read_dir(path).map_err(io_error("reading", path))?;
    if entries.next().is_none() {
        return Ok(Target::Free);
    }
    if !has_database(path) {
        return Err(occupied());
    }
    let existing = match Ledger::open_raw(path) {
        Ok(ledger) => ledger,
        Err(StoreError::NotALedger { .. }) => return Err(occupied()),
        Err(e) => return Err(e),
    };
    let last = existing.last_stored()?.map_or(0, |entry| entry.seq);
    Ok(Target::Ledger(existing.head.count.max(last)))
}
