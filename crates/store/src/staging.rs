//! Building a new ledger aside: the folder beside the target where `create` and `import`
//! build, moved into place at the end, and what already stands at the target.

use std::path::{Path, PathBuf};

use crate::error::{StoreError, io_error};
use crate::ledger::Ledger;
use crate::open::has_database;

/// A folder next to the target where a new ledger is built, renamed into place at the end
/// and removed (with everything in it) if anything fails before.
pub(crate) struct Staging {
    dir: Option<tempfile::TempDir>,
    target: PathBuf,
    /// The outermost folder made for the target's parent, removed too if the build fails.
    made: Option<PathBuf>,
}

impl Staging {
    pub(crate) fn new(target: &Path) -> Result<Staging, StoreError> {
        let name = target
            .file_name()
            .ok_or_else(|| StoreError::PathOccupied {
                path: target.to_owned(),
            })?
            .to_string_lossy()
            .into_owned();
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let made = parent
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .last()
            .map(Path::to_owned);
        std::fs::create_dir_all(&parent).map_err(io_error("creating", &parent))?;
        let mut staging = Staging {
            dir: None,
            target: target.to_owned(),
            made,
        };
        staging.dir = Some(
            tempfile::Builder::new()
                .prefix(&format!(".{name}.new-"))
                .tempdir_in(&parent)
                .map_err(io_error("creating a temporary folder in", &parent))?,
        );
        Ok(staging)
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .map(tempfile::TempDir::path)
            .expect("the folder is there until finished")
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
        // Moved: nothing is left to clean up.
        if let Some(dir) = self.dir.take() {
            let _ = dir.keep();
        }
        self.made = None;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        drop(self.dir.take());
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
