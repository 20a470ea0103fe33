//! The files of a mirror: each written whole or not at all (a temporary file beside it, synced,
//! then renamed over it), so that a reader, or the next publish, finds either nothing or the
//! whole file. New files follow the umask: a mirror is meant to be served.
//!
//! A publish killed outright leaves its temporary file (`.actledger-XXXXXX.tmp`, hidden) in
//! the folder it was writing into; the next publish that writes into that folder removes it.
//! Two publishes never write one mirror at once: each holds its ledger open, and a folder
//! holding another ledger's mirror is refused before anything is written.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::PublishError;

/// How the temporary file of a file being written is named: `.actledger-XXXXXX.tmp`.
const TEMP_PREFIX: &str = ".actledger-";
const TEMP_SUFFIX: &str = ".tmp";

/// A mirror's folder, and the folders a publish wrote into (synced before the checkpoint).
#[derive(Debug)]
pub(crate) struct MirrorDir {
    root: PathBuf,
    touched: BTreeSet<PathBuf>,
}

impl MirrorDir {
    /// The mirror at `root`, created when missing.
    pub fn create(root: &Path) -> Result<MirrorDir, PublishError> {
        fs::create_dir_all(root).map_err(|source| PublishError::Write {
            path: root.to_owned(),
            source,
        })?;
        Ok(MirrorDir {
            root: root.to_owned(),
            touched: BTreeSet::new(),
        })
    }

    /// The mirror at `root`, as it is (nothing created).
    pub fn at(root: &Path) -> MirrorDir {
        MirrorDir {
            root: root.to_owned(),
            touched: BTreeSet::new(),
        }
    }

    /// The mirror's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of the file `name` (a path under the mirror, with `/`).
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The bytes of `name`, or `None` when there is no such file.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, PublishError> {
        let path = self.path(name);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PublishError::Read { path, source }),
        }
    }

    /// Writes `name` whole with `bytes`, replacing what was there.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), PublishError> {
        let path = self.path(name);
        let failed = |source| PublishError::Write {
            path: path.clone(),
            source,
        };
        let dir = path.parent().unwrap_or(&self.root).to_owned();
        fs::create_dir_all(&dir).map_err(failed)?;
        if !self.touched.contains(&dir) {
            remove_leftovers(&dir).map_err(failed)?;
        }
        // Opened by us rather than by `NamedTempFile`, whose files are 0600 whatever the umask.
        let temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .suffix(TEMP_SUFFIX)
            .make_in(&dir, |temp| {
                OpenOptions::new().write(true).create_new(true).open(temp)
            })
            .map_err(failed)?;
        temp.as_file()
            .write_all(bytes)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(failed)?;
        temp.persist(&path).map_err(|e| failed(e.error))?;
        self.touched.insert(dir);
        Ok(())
    }

    /// Makes the renames done so far durable: every folder written into is synced.
    pub fn sync(&mut self) -> Result<(), PublishError> {
        for dir in std::mem::take(&mut self.touched) {
            #[cfg(unix)]
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|source| PublishError::Write { path: dir, source })?;
        }
        Ok(())
    }
}

/// Removes what killed publishes left in `dir`: their temporary files, which no reader asks for.
fn remove_leftovers(dir: &Path) -> io::Result<()> {
    for item in fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TEMP_PREFIX)
            && name.ends_with(TEMP_SUFFIX)
            && item.file_type()?.is_file()
        {
            fs::remove_file(item.path())?;
        }
    }
    Ok(())
}
