//! Compaction: the ledger's database written afresh, record for record, and put in place of
//! the old one in one atomic step.
//!
//! sled frees the space of a replaced value only once its cleaner has moved the live pages out
//! of the segment that holds it, and a ledger grown by many small appends, each a process of
//! its own, keeps most of what every append replaced (`docs/PERFORMANCE.md`, "A clerk's
//! ledger"). A fresh database holds each record once.
//!
//! Nothing is trusted to luck: the copy is built in a staging folder beside the ledger (as an
//! import is), compared record by record with the ledger, then exchanged with the ledger's
//! folder in one `renameat2(RENAME_EXCHANGE)`. A crash before the exchange leaves the ledger as
//! it was; after it, the compacted ledger. Either way the other folder is left under a staging
//! name, and the next build of the same path (an import, a create, a compaction) removes it.
//! The ledger is held, not lent, from start to end, so nothing is appended meanwhile and no
//! server keeps answering from the folder that is replaced.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::error::{StoreError, io_error, storage};
use crate::ledger::Ledger;
use crate::rebuild::BoundedBatch;
use crate::staging::Staging;
use crate::writes::Writes;

/// How often (in records) a compaction reports progress.
const PROGRESS_EVERY: u64 = 4096;

/// The copy's passes over the records: 19.3 MB for a clerk's ledger whose records took 23.3 MB
/// copied in key order and 16.3 MB imported (`bench/sled-ceiling copy`, `COPY_ORDER=stride`).
const STRIDE: usize = 8;

/// The file, in a ledger's folder beside sled's, that holds the folder's bytes just after its
/// last compaction (or when first measured): what [`compact_if_grown`] measures growth
/// against. Only a hint for when to compact: no answer depends on it, and a lost or damaged
/// one is measured again.
const BASELINE_FILE: &str = "compacted-bytes";

/// When an append compacts its ledger: [`GrowthBound::APPEND`] is the policy; tests give
/// others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrowthBound {
    /// Compact once the folder holds more than `grown.0 / grown.1` times its bytes after its
    /// last compaction.
    pub grown: (u64, u64),
    /// Never below this many bytes.
    pub floor: u64,
    /// Keep the copy only when its folder is below `kept.0 / kept.1` of the ledger's, so that
    /// an append never leaves its ledger bigger: sled lays out a copy less tightly than a
    /// large batch, so a ledger written mostly in large batches comes out of a copy bigger.
    pub kept: (u64, u64),
    /// A batch of more events than this is a large one (see [`compact_if_grown`]).
    pub large_batch: u64,
}

/// The append a growth check follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendedBatch {
    /// The events it recorded.
    pub events: u64,
    /// The folder's bytes before it, when they were measured.
    pub bytes_before: Option<u64>,
}

impl GrowthBound {
    /// 1.2x, so that with a copy at most 1.2x the records' imported size the folder stays
    /// under 1.5x of it; past 4 MiB, since a compaction costs a process start's worth of time
    /// and a few megabytes are not worth it; a copy kept below 0.9x; over 1,000 events, a
    /// batch is written in sled batches as large as an import's.
    pub const APPEND: GrowthBound = GrowthBound {
        grown: (6, 5),
        floor: 4 << 20,
        kept: (9, 10),
        large_batch: 1_000,
    };
}

/// What a compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Compacted {
    /// The records copied: every key of the database, log, derived records and kept
    /// checkpoints alike.
    pub records: u64,
    /// The bytes of the ledger's folder before.
    pub before_bytes: u64,
    /// The bytes of the ledger's folder after.
    pub after_bytes: u64,
}

/// Compacts the ledger at `path`, waiting up to `wait` for another process to let go of it.
/// `progress` receives the number of records copied so far.
///
/// The folder compacted is the one `path` leads to: a symbolic link, `.` or a path with `..`
/// stays what it is, and the ledger it leads to is the one replaced.
pub fn compact_path(
    path: &Path,
    wait: Duration,
    progress: &mut dyn FnMut(u64),
) -> Result<Compacted, StoreError> {
    // A path that leads nowhere is opened as it is, to be refused as any command refuses it.
    let folder = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    Ledger::open_waiting_to_hold(&folder, wait)?.compact(progress)
}

impl Ledger {
    /// Writes every record into a fresh database beside the ledger, checks that it holds the
    /// same records, and puts it in the ledger's place (see the module's comment).
    pub fn compact(self, progress: &mut dyn FnMut(u64)) -> Result<Compacted, StoreError> {
        Ok(self
            .compact_keeping(None, progress, None)?
            .expect("a compaction with no bound is never abandoned"))
    }

    /// [`Ledger::compact`], abandoned (the ledger left as it was, `None`) when `bound` is
    /// given and the copy is not below `bound.0 / bound.1` of the ledger's folder: sled lays
    /// out a copy less tightly than a large batch, so a ledger written mostly in large batches
    /// can come out of a copy bigger than it went in. `stop`, once set, abandons the copy
    /// before the ledger is replaced: [`StoreError::CompactionStopped`], the ledger as it was.
    fn compact_keeping(
        self,
        bound: Option<(u64, u64)>,
        progress: &mut dyn FnMut(u64),
        stop: Option<&AtomicBool>,
    ) -> Result<Option<Compacted>, StoreError> {
        let stopped = || {
            stop.is_some_and(|stop| stop.load(Ordering::SeqCst))
                .then(|| StoreError::CompactionStopped {
                    path: self.path.clone(),
                })
        };
        let before_bytes = folder_bytes(&self.path)?;
        let mut staging = Staging::new(&self.path)?;
        let copy = staging.open_db()?;
        // Written as a rebuild writes: in slices, flushed every few megabytes. The records go
        // in STRIDE passes, every STRIDE-th record in each: sled fills its nodes more tightly
        // than with keys in order, which leaves nodes half full as each splits
        // (`docs/PERFORMANCE.md`, "A clerk's ledger").
        let mut writer = BoundedBatch::new(&copy, staging.path());
        let mut records = 0u64;
        for pass in 0..STRIDE {
            let every = self.db.iter().skip(pass).step_by(STRIDE);
            for item in every {
                let (key, value) = item.map_err(storage(&self.path))?;
                let bytes = key.len() + value.len();
                writer.batch.insert(key, value);
                writer.counted(bytes)?;
                records += 1;
                if records.is_multiple_of(PROGRESS_EVERY) {
                    progress(records);
                    if let Some(stopped) = stopped() {
                        // Dropping the staging removes the copy; the ledger is untouched.
                        return Err(stopped);
                    }
                }
            }
        }
        writer.apply()?;
        progress(records);
        same_records(&self, &copy, staging.path())?;
        // The copy's database closes here; the staging folder stays locked until it is gone.
        drop(copy);
        if let Some((times, per)) = bound {
            let copied = folder_bytes(staging.path())?;
            if copied.saturating_mul(per) >= before_bytes.saturating_mul(times) {
                // Dropping the staging removes the copy; the ledger is untouched.
                return Ok(None);
            }
        }
        if let Some(stopped) = stopped() {
            return Err(stopped);
        }
        exchange(staging.path(), &self.path)?;
        // The staging name now holds the old ledger: dropping the ledger, then the staging,
        // closes it and removes it.
        let path = self.path.clone();
        drop(self);
        drop(staging);
        let after_bytes = folder_bytes(&path)?;
        write_baseline(&path, after_bytes);
        Ok(Some(Compacted {
            records,
            before_bytes,
            after_bytes,
        }))
    }
}

/// How a ledger's folder has grown since its last compaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Growth {
    /// The folder's bytes now.
    pub bytes: u64,
    /// Its bytes just after its last compaction, or when first measured.
    pub baseline: u64,
}

/// Compacts the ledger at `path` when its folder has grown past `bound` since its last
/// compaction, keeping the copy only when it is smaller: what an append does
/// once it has written and closed the ledger, since sled keeps much of what a process's small
/// writes replace. `None` when no compaction was due; a ledger held by another process (a
/// server) is not waited for, and not compacted. The first measure of a ledger only records
/// its size.
///
/// A large batch (`appended`, of more than `bound.large_batch` events) is written in large
/// sled batches, as an import writes: what it added to the folder is not the growth a
/// compaction takes back, so it moves the baseline up instead, and nothing is compacted (nor
/// the baseline moved when the folder's size before it is unknown).
///
/// `stop`, once set (by a signal handler, say), abandons a compaction under way:
/// [`StoreError::CompactionStopped`], with the ledger and its baseline as they were.
pub fn compact_if_grown(
    path: &Path,
    bound: GrowthBound,
    appended: AppendedBatch,
    progress: &mut dyn FnMut(u64),
    stop: Option<&AtomicBool>,
) -> Result<Option<(Growth, Compacted)>, StoreError> {
    if !cfg!(target_os = "linux") {
        // Compaction needs Linux's atomic exchange of two folders: elsewhere an append would
        // only be told, every time, that it cannot compact.
        return Ok(None);
    }
    let folder = std::fs::canonicalize(path).map_err(io_error("reading", path))?;
    let bytes = folder_bytes(&folder)?;
    let Some(baseline) = read_baseline(&folder) else {
        write_baseline(&folder, bytes);
        return Ok(None);
    };
    if appended.events > bound.large_batch {
        if let Some(before) = appended.bytes_before {
            write_baseline(
                &folder,
                baseline.saturating_add(bytes.saturating_sub(before)),
            );
        }
        return Ok(None);
    }
    let growth = Growth { bytes, baseline };
    let (times, per) = bound.grown;
    if bytes < bound.floor || bytes.saturating_mul(per) <= baseline.saturating_mul(times) {
        return Ok(None);
    }
    let ledger = match Ledger::open_waiting_to_hold(&folder, Duration::ZERO) {
        Ok(ledger) => ledger,
        Err(StoreError::InUse { .. } | StoreError::StillInUse { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let kept = ledger.compact_keeping(Some(bound.kept), progress, stop);
    // Errors name the ledger as the caller did, not the folder it resolved to.
    match kept.map_err(|e| e.moved(&folder, path))? {
        Some(compacted) => Ok(Some((growth, compacted))),
        None => {
            // The folder's size is its records' (a copy would not be smaller): the bound is
            // measured from here.
            write_baseline(&folder, bytes);
            Ok(None)
        }
    }
}

fn read_baseline(folder: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(folder.join(BASELINE_FILE)).ok()?;
    text.trim().parse().ok()
}

/// Records `bytes` as the folder's baseline. Best effort, written whole (a temporary file of
/// this process's own, created new so that nothing there is followed or shared, then
/// renamed): a baseline that is not written is measured again by the next append.
fn write_baseline(folder: &Path, bytes: u64) {
    use std::io::Write as _;
    let temp = folder.join(format!("{BASELINE_FILE}.{}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut file| file.write_all(format!("{bytes}\n").as_bytes()));
    if written.is_ok() && std::fs::rename(&temp, folder.join(BASELINE_FILE)).is_ok() {
        return;
    }
    let _ = std::fs::remove_file(&temp);
}

/// Checks that `copy` holds exactly the records of `ledger`, in the same order.
fn same_records(ledger: &Ledger, copy: &sled::Db, copy_path: &Path) -> Result<(), StoreError> {
    let differs = |what: String| StoreError::Io {
        what: "checking the compacted copy".into(),
        path: copy_path.to_owned(),
        source: std::io::Error::other(what),
    };
    let mut copied = copy.iter();
    for (number, item) in ledger.db.iter().enumerate() {
        let (key, value) = item.map_err(storage(&ledger.path))?;
        match copied.next().transpose().map_err(storage(copy_path))? {
            Some((k, v)) if k == key && v == value => {}
            _ => return Err(differs(format!("record {} differs", number + 1))),
        }
    }
    if copied.next().is_some() {
        return Err(differs("the copy holds more records".into()));
    }
    Ok(())
}

/// Exchanges the folders `a` and `b` in one step.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> Result<(), StoreError> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE)
        .map_err(|errno| io_error("exchanging the compacted copy with", b)(errno.into()))
}

/// Exchanges the folders `a` and `b` in one step: only Linux offers it.
#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, b: &Path) -> Result<(), StoreError> {
    Err(io_error("exchanging the compacted copy with", b)(
        std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "compaction needs an atomic exchange of two folders (Linux renameat2)",
        ),
    ))
}

/// The bytes of the files under `dir` (a ledger's folder: what `compact` and an append's
/// growth measure).
pub fn folder_bytes(dir: &Path) -> Result<u64, StoreError> {
    let mut total = 0;
    let entries = std::fs::read_dir(dir).map_err(io_error("reading", dir))?;
    for entry in entries {
        let entry = entry.map_err(io_error("reading", dir))?;
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            // Gone since it was listed (sled replaces its snapshot files): not part of the size.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error("reading", &entry.path())(e)),
        };
        total += if meta.is_dir() {
            folder_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
