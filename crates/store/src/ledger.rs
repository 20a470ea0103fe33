//! The ledger on disk: creating and opening it, appending batches, reading entries back,
//! verification, export and import.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sled::{Batch, Db};

use actledger_core::{
    BatchError, Event, Indexed, InputEvent, NewEvents, Outcome, Seq, WithPending, validate_batch,
};

use crate::chunk;
use crate::entry::{Entry, EntryError, Head, LAYOUT_VERSION, Stored, ZERO_HASH, format_time};
use crate::error::{AppendError, ImportError, Problem, StoreError, Verdict};
use crate::index::{CACHE_VERSION, Memo, add_index_keys};
use crate::keys;
use crate::postings::PostingWriter;
use crate::recovery::Recovery;
use crate::tree::{self, StoredTree, TreeAppender, tree_error};
use crate::verify::{VERIFY_WINDOW, out_of_place, verify_db_with};
use actledger_proof::{Checkpoint, ConsistencyProof, Hash, InclusionProof, SignerKey};

/// The memory sled may use for its page cache (its default is 1 GiB). Reads are of whole
/// chunks and blocks, so a small cache costs little; with 64 MiB, a 1M-event import peaked
/// 100 MiB higher.
const SLED_CACHE_BYTES: u64 = 16 * 1024 * 1024;
/// Entries per batch when completing the stored tree hashes.
const TREE_REBUILD_CHUNK: usize = 10_000;

/// How many export lines an import validates and writes at a time (bounds its memory).
const IMPORT_CHUNK: usize = 10_000;

/// How often (in entries) export reports progress.
const PROGRESS_EVERY: u64 = 1024;

/// An open ledger. It holds the ledger's lock until dropped: one writer at a time.
pub struct Ledger {
    pub(crate) path: PathBuf,
    pub(crate) db: Sled,
    pub(crate) head: Head,
    /// The recording time of the last entry ("" when there is none).
    pub(crate) last_time: String,
    pub(crate) memo: Memo,
    /// What opening did about an append that had not completed, if there was one.
    recovery: Option<Recovery>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

/// What became of one event of an appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Recorded at `seq`, with this entry hash.
    Recorded {
        /// Its position.
        seq: Seq,
        /// The hash of its entry.
        hash: [u8; 32],
    },
    /// Identical to the event already recorded at `seq`: skipped.
    AlreadyRecorded {
        /// The position of the identical event.
        seq: Seq,
    },
}

/// The result of an append that succeeded: durable on disk before it is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendReport {
    /// For each input event, in input order: its input line and what became of it.
    pub outcomes: Vec<(usize, Appended)>,
    /// The head after the append.
    pub head: Head,
}

pub(crate) fn storage(path: &Path) -> impl Fn(sled::Error) -> StoreError + '_ {
    move |e| {
        if let sled::Error::Io(io) = &e {
            if io.to_string().contains("could not acquire lock") {
                return StoreError::InUse {
                    path: path.to_owned(),
                };
            }
        }
        let corrupt = match &e {
            sled::Error::Corruption { .. } => true,
            sled::Error::Io(io) => matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ),
            _ => false,
        };
        if corrupt {
            return StoreError::Corrupt {
                path: path.to_owned(),
                reason: describe(&e),
            };
        }
        StoreError::Storage {
            path: path.to_owned(),
            reason: describe(&e),
            error: Box::new(e),
        }
    }
}

/// A sled error in words: sled prints I/O errors in debug form and corruption with an empty
/// backtrace.
fn describe(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::StorageFull => "no space left on the device".into(),
            std::io::ErrorKind::FileTooLarge => {
                "file too large: a file of the ledger would pass the file-size limit".into()
            }
            _ => format!("I/O error: {io}"),
        },
        sled::Error::Corruption { at, .. } => format!(
            "it read corrupted data{}: the ledger's files are damaged (restore them from a backup, or import an export)",
            at.map(|at| format!(" at offset {at}")).unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

fn io_error(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_owned();
    let what = what.to_owned();
    move |source| StoreError::Io { what, path, source }
}

pub(crate) fn damaged(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Damaged {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Whether the folder holds the files of a sled database (without opening it, which would
/// create them).
fn has_database(path: &Path) -> bool {
    path.join("db").is_file() && path.join("conf").is_file()
}

/// Removes the snapshot files that sled began and never finished. sled 0.34.7 writes a
/// snapshot to `snap.N.generating` and renames it to `snap.N` when complete, but reads the
/// last file whose name starts with `snap.`, an unfinished one included: one left by a process
/// killed while writing it, or by a full disk, makes every later open fail with "corrupted
/// data". An unfinished snapshot is never needed (the log and the previous snapshot hold
/// everything), and it is removed only while holding the database's lock, so that no live
/// writer loses its file.
fn remove_unfinished_snapshots(dir: &Path) {
    use fs2::FileExt;
    let Ok(file) = std::fs::File::open(dir.join("db")) else {
        return;
    };
    if FileExt::try_lock_exclusive(&file).is_err() {
        return; // in use: sled's open says so
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("snap.") && name.ends_with(".generating") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let _ = FileExt::unlock(&file);
}

fn open_db(path: &Path) -> Result<Sled, StoreError> {
    remove_unfinished_snapshots(path);
    let db = sled::Config::new()
        .path(path)
        .cache_capacity(SLED_CACHE_BYTES)
        .open()
        .map_err(storage(path))?;
    Ok(Sled {
        db: Some(db),
        dir: path.to_owned(),
    })
}

/// The sled database of a ledger. Dropping it waits until sled's background threads have let
/// go of the file lock too, so that the ledger can be opened again at once, in this process
/// as in any other.
pub struct Sled {
    db: Option<Db>,
    dir: PathBuf,
}

impl Sled {
    /// Opens the sled database in `dir` as the store does, creating it if missing.
    pub fn open(dir: &Path) -> Result<Sled, StoreError> {
        open_db(dir)
    }
}

impl std::fmt::Debug for Sled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sled")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for Sled {
    type Target = Db;

    fn deref(&self) -> &Db {
        self.db
            .as_ref()
            .expect("the database is there until dropped")
    }
}

impl Drop for Sled {
    fn drop(&mut self) {
        let Some(db) = self.db.take() else { return };
        // sled flushes when the database is dropped. After a failed write (a full disk), that
        // flush can wait forever for a buffer that will never be written. Nothing
        // acknowledged depends on it (every append flushes before it returns), so it gets a
        // bounded time on a thread of its own; past that, the handle is abandoned and the
        // operating system releases the lock when the process ends.
        let (closed, on_close) = std::sync::mpsc::channel();
        let closing = std::thread::Builder::new()
            .name("sled-close".into())
            .spawn(move || {
                drop(db);
                let _ = closed.send(());
            });
        if closing.is_ok() && on_close.recv_timeout(CLOSE_WAIT).is_err() {
            return;
        }
        wait_released(&self.dir);
    }
}

/// How long dropping a database waits for sled's final flush before abandoning it.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long dropping a database waits for sled's threads to release its lock; they take
/// milliseconds, and another process that takes the lock meanwhile only shortens the wait.
const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits until nobody holds the lock of the database in `dir` (or [`RELEASE_WAIT`] passed).
fn wait_released(dir: &Path) {
    use fs2::FileExt;
    let deadline = std::time::Instant::now() + RELEASE_WAIT;
    let Ok(file) = std::fs::File::open(dir.join("db")) else {
        return;
    };
    while FileExt::try_lock_exclusive(&file).is_err() {
        if std::time::Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let _ = FileExt::unlock(&file);
}

/// The head record: count, hash of the last entry, time of the last entry.
pub(crate) fn encode_head(head: Head, time: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + time.len());
    out.extend_from_slice(&head.count.to_be_bytes());
    out.extend_from_slice(&head.hash);
    out.extend_from_slice(time.as_bytes());
    out
}

fn decode_head(bytes: &[u8]) -> Result<(Head, String), String> {
    let (count, rest) = bytes
        .split_first_chunk::<8>()
        .ok_or("the head record is cut short")?;
    let (hash, time) = rest
        .split_first_chunk::<32>()
        .ok_or("the head record is cut short")?;
    let time = std::str::from_utf8(time).map_err(|_| "the head record's time is not UTF-8")?;
    Ok((
        Head {
            count: u64::from_be_bytes(*count),
            hash: *hash,
        },
        time.to_owned(),
    ))
}

pub(crate) fn encode_cache_record(count: u64) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..4].copy_from_slice(&CACHE_VERSION.to_be_bytes());
    out[4..].copy_from_slice(&count.to_be_bytes());
    out
}

/// The head and the time of the last entry, as the head record gives them, or why it cannot.
pub(crate) type HeadRecord = Result<(Head, String), String>;

/// The stored head record, or why it cannot be had.
pub(crate) fn read_head(db: &Db, path: &Path) -> Result<HeadRecord, StoreError> {
    Ok(match db.get(keys::META_HEAD).map_err(storage(path))? {
        None => Err("the head record is missing".to_owned()),
        Some(bytes) => decode_head(&bytes),
    })
}

/// A folder next to the target where a new ledger is built, renamed into place at the end
/// and removed (with everything in it) if anything fails before.
struct Staging {
    dir: Option<tempfile::TempDir>,
    target: PathBuf,
    /// The outermost folder made for the target's parent, removed too if the build fails.
    made: Option<PathBuf>,
}

impl Staging {
    fn new(target: &Path) -> Result<Staging, StoreError> {
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

    fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .map(tempfile::TempDir::path)
            .expect("the folder is there until finished")
    }

    /// Moves the built ledger to the target: an empty folder there is replaced.
    fn finish(mut self, replace_empty_ledger: bool) -> Result<(), StoreError> {
        let target = self.target.clone();
        if replace_empty_ledger {
            std::fs::remove_dir_all(&target).map_err(io_error("removing", &target))?;
        }
        let built = self.path().to_owned();
        std::fs::rename(&built, &target).map_err(io_error(
            &format!("moving the new ledger from {} to", built.display()),
            &target,
        ))?;
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
enum Target {
    /// Nothing, or an empty folder.
    Free,
    /// A ledger, with this many entries.
    Ledger(u64),
}

fn check_target(path: &Path) -> Result<Target, StoreError> {
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

impl Ledger {
    /// Creates an empty ledger at `path` (a folder, made with its parents if missing; an
    /// existing empty folder is fine). It is built aside and moved into place, so a crash
    /// never leaves half a ledger.
    pub fn create(path: &Path) -> Result<Ledger, StoreError> {
        if let Target::Ledger(_) = check_target(path)? {
            return Err(StoreError::AlreadyExists {
                path: path.to_owned(),
            });
        }
        let staging = Staging::new(path)?;
        {
            let db = open_db(staging.path())?;
            Ledger::write_new_meta(&db, staging.path())?;
        }
        staging.finish(false)?;
        Ledger::open(path)
    }

    fn write_new_meta(db: &Sled, path: &Path) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        batch.insert(keys::META_FORMAT, &LAYOUT_VERSION.to_be_bytes());
        batch.insert(keys::META_HEAD, encode_head(Head::EMPTY, ""));
        batch.insert(keys::META_CACHE, &encode_cache_record(0));
        batch.insert(keys::META_TREE, &0u64.to_be_bytes()[..]);
        db.apply_batch(batch).map_err(storage(path))?;
        db.flush().map_err(storage(path))?;
        Ok(())
    }

    /// Opens the ledger at `path`. Fails, and creates nothing, when there is no ledger there;
    /// fails at once when another process has it open. Rebuilds the query cache when it is
    /// missing or stale.
    pub fn open(path: &Path) -> Result<Ledger, StoreError> {
        let mut ledger = Ledger::open_raw(path)?;
        ledger.recovery = ledger.recover()?;
        ledger.complete_repair()?;
        // One read of the last chunk: its last entry must be the head.
        let consistent = match ledger.last_stored()? {
            None => ledger.head.count == 0,
            Some(last) => last.seq == ledger.head.count && last.hash == ledger.head.hash,
        };
        if !consistent {
            return Err(damaged(
                path,
                format!(
                    "its head record says {} entries ending in {}, which is not its last stored entry (run verify)",
                    ledger.head.count,
                    hex::encode(ledger.head.hash)
                ),
            ));
        }
        ledger.ensure_cache()?;
        ledger.ensure_tree()?;
        Ok(ledger)
    }

    /// What opening did about an append that had not completed (a crash or a failed write
    /// between its first write and its flush), if there was one: `crate::recovery`.
    pub fn recovery(&self) -> Option<Recovery> {
        self.recovery
    }

    /// The database and its head record after settling an interrupted append, if there was
    /// one: what verification reads.
    fn open_settled(path: &Path) -> Result<(Sled, HeadRecord), StoreError> {
        let (db, head) = Ledger::open_unverified(path)?;
        if !db.contains_key(keys::META_PENDING).map_err(storage(path))? {
            return Ok((db, head));
        }
        let mut ledger = Ledger::from_db(path, db, head)?;
        ledger.recover()?;
        let head = read_head(&ledger.db, path)?;
        Ok((ledger.db, head))
    }

    /// The ledger as [`Ledger::open_settled`] leaves it: an interrupted append settled, the
    /// head record read, nothing derived checked or rebuilt.
    /// When the head record cannot be read, the verdict of the log instead.
    pub(crate) fn open_settled_ledger(path: &Path) -> Result<Result<Ledger, Verdict>, StoreError> {
        let (db, head) = Ledger::open_settled(path)?;
        match head {
            Err(_) => Ok(Err(verify_db_with(
                &db,
                path,
                head,
                None,
                false,
                VERIFY_WINDOW,
            )?)),
            Ok(_) => Ok(Ok(Ledger::from_db(path, db, head)?)),
        }
    }

    /// [`Ledger::open`], waiting up to `wait` for another process to let go of the ledger
    /// instead of failing at once with [`StoreError::InUse`]; a zero wait does not wait.
    /// Waiting polls the lock (sled's is a non-blocking file lock), so it is not fair between
    /// several waiters, only bounded.
    pub fn open_waiting(path: &Path, wait: Duration) -> Result<Ledger, StoreError> {
        waiting(path, wait, || Ledger::open(path))
    }

    /// Opens without checking the chain or the cache: for verification and import checks.
    fn open_raw(path: &Path) -> Result<Ledger, StoreError> {
        let (db, head) = Ledger::open_unverified(path)?;
        Ledger::from_db(path, db, head)
    }

    /// The ledger of an open database, given its head record.
    fn from_db(path: &Path, db: Sled, head: HeadRecord) -> Result<Ledger, StoreError> {
        let (head, last_time) = head.map_err(|reason| damaged(path, reason))?;
        Ok(Ledger {
            path: path.to_owned(),
            db,
            head,
            last_time,
            memo: Memo::default(),
            recovery: None,
        })
    }

    /// The database and its head record (or why there is none): fails only when there is no
    /// ledger at all.
    fn open_unverified(path: &Path) -> Result<(Sled, HeadRecord), StoreError> {
        let not_a_ledger = || StoreError::NotALedger {
            path: path.to_owned(),
        };
        if !has_database(path) {
            return Err(not_a_ledger());
        }
        let db = open_db(path)?;
        let format = db.get(keys::META_FORMAT).map_err(storage(path))?;
        let Some(format) = format else {
            return Err(not_a_ledger());
        };
        let found = <[u8; 4]>::try_from(format.as_ref())
            .map(u32::from_be_bytes)
            .map_err(|_| damaged(path, "its format record is unreadable"))?;
        if found != LAYOUT_VERSION {
            return Err(StoreError::UnsupportedFormat {
                path: path.to_owned(),
                found,
            });
        }
        let head = read_head(&db, path)?;
        Ok((db, head))
    }

    /// The ledger's folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The position and hash of the last entry.
    pub fn head(&self) -> Head {
        self.head
    }

    /// The last stored entry (the last of the last chunk), whatever the head record says,
    /// checked as any entry read for an answer is (its hash is the hash of its fields).
    fn last_stored(&self) -> Result<Option<Entry>, StoreError> {
        let Some(item) = self.db.scan_prefix([keys::ENTRY]).next_back() else {
            return Ok(None);
        };
        let (key, value) = item.map_err(storage(&self.path))?;
        let first = keys::entry_seq(&key)
            .ok_or_else(|| damaged(&self.path, "an entry key is malformed"))?;
        let unreadable = |e: EntryError| {
            damaged(
                &self.path,
                format!(
                    "its last chunk of entries is unreadable: {} (run verify)",
                    e.0
                ),
            )
        };
        let mut last = None;
        let mut body = chunk::Body::default();
        for stored in body.open(first, &value).map_err(unreadable)? {
            last = Some(stored.map_err(unreadable)?);
        }
        let Some(last) = last else {
            return Ok(None);
        };
        check_stored(&last, last.seq)?;
        Ok(Some(last.to_entry()))
    }

    /// Shows `f` the stored entry at `seq`, checked (its hash is the hash of its fields), or
    /// returns `None` when no chunk holds it.
    fn with_stored<T>(
        &self,
        seq: Seq,
        f: impl FnOnce(&Stored<'_>) -> T,
    ) -> Result<Option<T>, StoreError> {
        let mut f = Some(f);
        let mut found = None;
        self.each_stored(&[seq], &mut |stored| found = f.take().map(|f| f(stored)))?;
        Ok(found)
    }

    /// Shows `f` each stored entry at the positions `seqs` (ascending, no repeats), checked
    /// (its hash is the hash of its fields), in order, reading each chunk once; returns the
    /// first position no chunk holds, if any (`f` has seen the entries before it).
    pub(crate) fn each_stored(
        &self,
        seqs: &[Seq],
        f: &mut dyn FnMut(&Stored<'_>),
    ) -> Result<Option<Seq>, StoreError> {
        let mut wanted = seqs.iter().copied().peekable();
        let mut body = chunk::Body::default();
        while let Some(&next) = wanted.peek() {
            let first = chunk::chunk_first(next);
            let Some(bytes) = self
                .db
                .get(keys::entry(first))
                .map_err(storage(&self.path))?
            else {
                return Ok(Some(next));
            };
            let mut reader = body.open(first, &bytes).map_err(|e| unparsable(first, e))?;
            while let Some(&seq) = wanted.peek() {
                if chunk::chunk_first(seq) != first {
                    break;
                }
                let stored = loop {
                    let Some(item) = reader.next() else {
                        return Ok(Some(seq));
                    };
                    let stored = item.map_err(|e| unparsable(reader.seq(), e))?;
                    if stored.seq >= seq {
                        break stored;
                    }
                };
                if stored.seq != seq {
                    return Ok(Some(seq));
                }
                check_stored(&stored, seq)?;
                f(&stored);
                wanted.next();
            }
        }
        Ok(None)
    }

    /// The stored time and hash of the entry at `seq`, without parsing its event.
    pub(crate) fn stored(&self, seq: Seq) -> Result<Option<(String, [u8; 32])>, StoreError> {
        self.with_stored(seq, |stored| (stored.time.to_owned(), stored.hash))
    }

    /// Validates `batch` against the ledger and the batch so far, then writes it whole, with
    /// its index and cache updates, in one atomic step, and flushes it to disk before
    /// returning. An invalid batch writes nothing; events already recorded are reported and
    /// skipped.
    pub fn append(&mut self, batch: Vec<InputEvent>) -> Result<AppendReport, AppendError> {
        let valid = validate_batch(&*self, batch).map_err(|e| match e {
            BatchError::Invalid(invalid) => AppendError::Invalid(invalid),
            BatchError::Ledger(store) => AppendError::Store(store),
        })?;
        let first = self.head.count + 1;
        let count = self.head.count + valid.events().len() as u64;
        let mut hashes = Vec::with_capacity(valid.events().len());
        if !valid.events().is_empty() {
            let now = format_time(Utc::now());
            // Recording times never decrease along the chain, even if the clock steps back.
            let time = if now < self.last_time {
                self.last_time.clone()
            } else {
                now
            };
            let view = WithPending {
                ledger: &*self,
                pending: &valid.new_events,
            };
            let mut prev = self.head.hash;
            let entries: Vec<Entry> = (first..)
                .zip(valid.events())
                .map(|(seq, event)| {
                    let entry = Entry::new(seq, time.clone(), prev, event.canonical_bytes());
                    prev = entry.hash;
                    entry
                })
                .collect();
            hashes.extend(entries.iter().map(|entry| entry.hash));
            let mut batch = Batch::default();
            self.write_entries(&mut batch, &entries, valid.events())?;
            // From the cached timeline at the head: replaying the office's whole history is
            // needed only when the batch revokes or retracts something.
            let new_events = NewEvents::of(first, valid.events());
            for office in &new_events.offices(&view)? {
                let before = if new_events.extends_before() {
                    self.head_timeline(office)?
                } else {
                    None
                };
                let timeline = new_events.timeline(&view, office, before.as_ref())?;
                self.write_timeline(&mut batch, &timeline)?;
            }
            let head = Head { count, hash: prev };
            batch.insert(keys::META_HEAD, encode_head(head, &time));
            batch.insert(keys::META_CACHE, &encode_cache_record(count));
            // sled does not keep a batch whole when its own writes fail: the intent record
            // lets the next open undo whatever part of this one reached the disk.
            self.begin_append(self.head, head)?;
            self.db.apply_batch(batch).map_err(storage(&self.path))?;
            // The tree holds the batch now: later reads see it whatever the flush does.
            self.memo.note(valid.events());
            self.head = head;
            self.last_time = time;
            self.db.flush().map_err(storage(&self.path))?;
            self.end_append();
        }
        let outcomes = valid
            .outcomes
            .into_iter()
            .map(|(line, outcome)| {
                let appended = match outcome {
                    Outcome::Recorded(seq) => Appended::Recorded {
                        seq,
                        hash: hashes[(seq - first) as usize],
                    },
                    Outcome::AlreadyRecorded(seq) => Appended::AlreadyRecorded { seq },
                };
                (line, appended)
            })
            .collect();
        Ok(AppendReport {
            outcomes,
            head: self.head,
        })
    }

    /// The entry at `seq`, or `None` outside `1..=head`.
    pub fn entry(&self, seq: Seq) -> Result<Option<Entry>, StoreError> {
        if seq == 0 || seq > self.head.count {
            return Ok(None);
        }
        match self.with_stored(seq, |stored| stored.to_entry())? {
            Some(entry) => Ok(Some(entry)),
            None => Err(StoreError::Broken {
                seq,
                problem: Problem::Unparsable("the entry is missing".into()),
            }),
        }
    }

    /// The entries from position `from` to the head, in order.
    pub fn entries(&self, from: Seq) -> impl Iterator<Item = Result<Entry, StoreError>> + '_ {
        let from = from.max(1);
        let head = self.head.count;
        let range = if from > head {
            // An empty range: nothing is stored under the zero key.
            self.db.range(keys::entry(0)..keys::entry(0))
        } else {
            self.db
                .range(keys::entry(chunk::chunk_first(from))..=keys::entry(head))
        };
        // One buffer for the unpacked chunks, reused from chunk to chunk.
        let mut body = chunk::Body::default();
        range.flat_map(move |item| {
            let mut out = Vec::new();
            let (key, value) = match item {
                Ok(kv) => kv,
                Err(e) => {
                    out.push(Err(storage(&self.path)(e)));
                    return out;
                }
            };
            let first = keys::entry_seq(&key).unwrap_or(0);
            let mut reader = match body.open(first, &value) {
                Ok(reader) => reader,
                Err(e) => {
                    out.push(Err(unparsable(first, e)));
                    return out;
                }
            };
            while let Some(item) = reader.next() {
                match item {
                    Err(e) => {
                        out.push(Err(unparsable(reader.seq(), e)));
                        break;
                    }
                    Ok(stored) if stored.seq > head => break,
                    Ok(stored) if stored.seq < from => {}
                    Ok(stored) => {
                        out.push(check_stored(&stored, stored.seq).map(|()| stored.to_entry()));
                    }
                }
            }
            out
        })
    }

    /// The last position recorded at or before `t`, or `None` when the first entry is later
    /// (or there is none). Recording times never decrease, so this is a binary search.
    pub fn seq_at_time(&self, t: DateTime<Utc>) -> Result<Option<Seq>, StoreError> {
        let time_of = |seq: Seq| -> Result<DateTime<Utc>, StoreError> {
            let (time, _) = self.stored(seq)?.ok_or_else(|| StoreError::Broken {
                seq,
                problem: Problem::Unparsable("the entry is missing".into()),
            })?;
            crate::entry::parse_time(&time).map_err(|e| StoreError::Broken {
                seq,
                problem: Problem::Unparsable(e.0),
            })
        };
        // Invariant: entries below `low` are at or before t; entries from `high` on are after.
        let (mut low, mut high) = (1, self.head.count + 1);
        while low < high {
            let mid = low + (high - low) / 2;
            if time_of(mid)? <= t {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        Ok(low.checked_sub(1).filter(|seq| *seq > 0))
    }

    /// Writes every entry as one export line (NDJSON; no header, no trailer), checking the
    /// chain as it goes, and returns how many. `progress` receives the number of entries
    /// written so far.
    pub fn export(
        &self,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, StoreError> {
        let mut prev = ZERO_HASH;
        let mut expected: Seq = 1;
        let mut previous_time = String::new();
        for item in self.entries(1) {
            let entry = item?;
            if let Some(problem) = check_entry(&entry, expected, &prev, &previous_time) {
                return Err(StoreError::Broken {
                    seq: expected,
                    problem,
                });
            }
            out.write_all(entry.export_line().as_bytes())
                .map_err(StoreError::Write)?;
            prev = entry.hash;
            previous_time = entry.time;
            if expected % PROGRESS_EVERY == 0 {
                progress(expected);
            }
            expected += 1;
        }
        let count = expected - 1;
        if count != self.head.count {
            return Err(StoreError::Broken {
                seq: expected,
                problem: Problem::Gap {
                    expected,
                    found: self.head.count,
                },
            });
        }
        out.flush().map_err(StoreError::Write)?;
        progress(count);
        Ok(count)
    }

    /// Builds a new ledger at `path` from an export, checking every line's form, hash, link
    /// and time and validating every event with the core rules. It is built in a folder
    /// beside `path` and moved into place at the end, so a refused export leaves nothing
    /// behind. `path` may be missing, an empty folder or a ledger with no entries.
    /// `progress` receives the number of bytes read so far.
    pub fn import(
        path: &Path,
        input: &mut dyn BufRead,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Ledger, ImportError> {
        let target = check_target(path)?;
        if let Target::Ledger(count) = target {
            if count > 0 {
                return Err(ImportError::NotEmpty {
                    path: path.to_owned(),
                    count,
                });
            }
        }
        let staging = Staging::new(path)?;
        {
            let db = open_db(staging.path())?;
            Ledger::write_new_meta(&db, staging.path())?;
            let mut ledger = Ledger {
                path: staging.path().to_owned(),
                db,
                head: Head::EMPTY,
                last_time: String::new(),
                memo: Memo::of_empty_ledger(),
                recovery: None,
            };
            ledger.import_lines(input, progress)?;
            ledger.rebuild_cache()?;
        }
        staging.finish(matches!(target, Target::Ledger(_)))?;
        Ok(Ledger::open(path)?)
    }

    fn import_lines(
        &mut self,
        input: &mut dyn BufRead,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), ImportError> {
        let mut buf = Vec::new();
        let mut line: u64 = 0;
        let mut bytes: u64 = 0;
        let mut prev = ZERO_HASH;
        let mut previous_time = String::new();
        let mut chunk: Vec<(Entry, InputEvent)> = Vec::with_capacity(IMPORT_CHUNK);
        loop {
            buf.clear();
            let read = input
                .read_until(b'\n', &mut buf)
                .map_err(|source| ImportError::Read {
                    line: line + 1,
                    source,
                })?;
            if read == 0 {
                break;
            }
            line += 1;
            bytes += read as u64;
            let refuse = |reason: String| ImportError::Line { line, reason };
            if !buf.ends_with(b"\n") {
                return Err(refuse(
                    "does not end with a newline (export ends every line with one)".into(),
                ));
            }
            let checked_time = (line > 1).then_some(previous_time.as_str());
            let (entry, event) = crate::entry::parse_export_line_event(&buf, checked_time)
                .map_err(|e| refuse(format!("not an export line: {e}")))?;
            if let Some(problem) = check_entry(&entry, line, &prev, &previous_time) {
                return Err(refuse(problem.to_string()));
            }
            prev = entry.hash;
            previous_time.clone_from(&entry.time);
            chunk.push((
                entry,
                InputEvent {
                    line: usize::try_from(line).unwrap_or(usize::MAX),
                    event,
                },
            ));
            if chunk.len() == IMPORT_CHUNK {
                self.import_chunk(std::mem::take(&mut chunk))?;
                progress(bytes);
            }
        }
        if !chunk.is_empty() {
            self.import_chunk(chunk)?;
        }
        progress(bytes);
        Ok(())
    }

    /// Validates and writes entries whose form and chain are already checked.
    fn import_chunk(&mut self, chunk: Vec<(Entry, InputEvent)>) -> Result<(), ImportError> {
        let (entries, inputs): (Vec<Entry>, Vec<InputEvent>) = chunk.into_iter().unzip();
        let valid = validate_batch(&*self, inputs).map_err(|e| match e {
            BatchError::Invalid(invalid) => ImportError::Line {
                line: invalid.line as u64,
                reason: match &invalid.field {
                    Some(field) => format!("field {field:?}: {}", invalid.reason),
                    None => invalid.reason.clone(),
                },
            },
            BatchError::Ledger(store) => ImportError::Store(store),
        })?;
        for (line, outcome) in &valid.outcomes {
            if let Outcome::AlreadyRecorded(seq) = outcome {
                return Err(ImportError::Line {
                    line: *line as u64,
                    reason: format!(
                        "repeats the event of entry {seq}: a ledger never records one event twice"
                    ),
                });
            }
        }
        let mut batch = Batch::default();
        self.write_entries(&mut batch, &entries, valid.events())?;
        if let Some(last) = entries.last() {
            let head = Head {
                count: last.seq,
                hash: last.hash,
            };
            batch.insert(keys::META_HEAD, encode_head(head, &last.time));
            self.db.apply_batch(batch).map_err(storage(&self.path))?;
            self.memo.note(valid.events());
            self.head = head;
            self.last_time.clone_from(&last.time);
        }
        Ok(())
    }

    /// Puts into `batch` `entries`, the next after the head, in the log's chunks, and their
    /// index keys, postings and Merkle tree hashes (`events` are their events).
    fn write_entries(
        &self,
        batch: &mut Batch,
        entries: &[Entry],
        events: &[Event],
    ) -> Result<(), StoreError> {
        let mut log = chunk::Writer::new(&self.db, &self.path, self.head.count)?;
        for entry in entries {
            log.push(batch, entry);
        }
        log.write(batch);
        self.index_into(batch, entries, events)
    }

    /// Puts into `batch` the index keys, postings and Merkle tree hashes of `entries`, the
    /// entries right after those the stored tree covers, whose events are `events`.
    pub(crate) fn index_into(
        &self,
        batch: &mut Batch,
        entries: &[Entry],
        events: &[Event],
    ) -> Result<(), StoreError> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        let mut named = HashSet::new();
        let mut tree = TreeAppender::new(&self.db, &self.path, first.seq - 1);
        let mut postings = PostingWriter::default();
        for (entry, event) in entries.iter().zip(events) {
            tree.push(entry)?;
            add_index_keys(batch, &mut postings, &mut named, entry.seq, event);
        }
        postings.write(&self.db, &self.path, batch)?;
        tree.write(batch)
    }

    /// Completes the stored Merkle tree hashes up to the head: after a crash during a rebuild,
    /// or for a ledger whose tree record is missing, it resumes from the leaves it covers.
    fn ensure_tree(&self) -> Result<(), StoreError> {
        let mut leaves = tree::stored_leaves(&self.db, &self.path)?;
        if leaves > self.head.count {
            leaves = 0; // a record past the head vouches for nothing: start over
        }
        let rebuilt = leaves < self.head.count;
        while leaves < self.head.count {
            let mut batch = Batch::default();
            let mut tree = TreeAppender::new(&self.db, &self.path, leaves);
            for entry in self.entries(leaves + 1).take(TREE_REBUILD_CHUNK) {
                tree.push(&entry?)?;
                leaves += 1;
            }
            // The tree record goes in once the hashes it counts are durable (below).
            tree.write_hashes(&mut batch)?;
            self.db.apply_batch(batch).map_err(storage(&self.path))?;
        }
        if rebuilt {
            self.db.flush().map_err(storage(&self.path))?;
            self.db
                .insert(keys::META_TREE, &leaves.to_be_bytes()[..])
                .map_err(storage(&self.path))?;
        }
        self.db.flush().map_err(storage(&self.path))?;
        Ok(())
    }

    fn stored_tree(&self) -> StoredTree<'_> {
        StoredTree {
            db: &self.db,
            path: &self.path,
        }
    }

    fn check_size(&self, size: u64) -> Result<(), StoreError> {
        if size > self.head.count {
            return Err(StoreError::OutOfRange(format!(
                "tree size {size}: the ledger holds {} entries",
                self.head.count
            )));
        }
        Ok(())
    }

    /// The Merkle root (RFC 6962) of the first `size` entries, from the stored hashes.
    pub fn tree_root(&self, size: u64) -> Result<Hash, StoreError> {
        self.check_size(size)?;
        actledger_proof::tree_root(size, &self.stored_tree()).map_err(|e| tree_error(&self.path, e))
    }

    /// The proof that entry `seq` is in the tree of the first `size` entries.
    pub fn inclusion_proof(&self, seq: Seq, size: u64) -> Result<InclusionProof, StoreError> {
        self.check_size(size)?;
        if seq == 0 || seq > size {
            return Err(StoreError::OutOfRange(format!(
                "entry {seq} is not in a tree of {size} entries"
            )));
        }
        let entry = self
            .entry(seq)?
            .ok_or_else(|| damaged(&self.path, format!("entry {seq} is missing")))?;
        let line = entry.export_line();
        let line = line.strip_suffix('\n').unwrap_or(&line).to_owned();
        InclusionProof::generate(seq, size, line, &self.stored_tree())
            .map_err(|e| tree_error(&self.path, e))
    }

    /// The proof that the tree of the first `first` entries is a prefix of the tree of the
    /// first `second`.
    pub fn consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> Result<ConsistencyProof, StoreError> {
        self.check_size(second)?;
        if first == 0 || first > second {
            return Err(StoreError::OutOfRange(format!(
                "no consistency proof from {first} to {second} entries: the first size must be from 1 to the second"
            )));
        }
        ConsistencyProof::generate(first, second, &self.stored_tree())
            .map_err(|e| tree_error(&self.path, e))
    }

    /// A checkpoint of the ledger at its head, signed with `key` (whose name is the origin).
    pub fn checkpoint(&self, key: &SignerKey) -> Result<String, StoreError> {
        let root = self.tree_root(self.head.count)?;
        Checkpoint::new(key.name(), self.head.count, root)
            .sign(key)
            .map_err(|e| StoreError::OutOfRange(format!("signing the checkpoint: {e}")))
    }

    /// Rebuilds the cache unless it is of this version and reflects the head.
    fn ensure_cache(&self) -> Result<(), StoreError> {
        let record = self.db.get(keys::META_CACHE).map_err(storage(&self.path))?;
        if record.as_deref() != Some(&encode_cache_record(self.head.count)[..]) {
            self.rebuild_cache()?;
        }
        Ok(())
    }

    /// The event at `seq`, read from the log (for [`Recorded::event`]).
    pub(crate) fn read_event(&self, seq: Seq) -> Result<Event, StoreError> {
        match self.with_stored(seq, |stored| crate::entry::parse_event_bytes(stored.event))? {
            Some(event) => event.map_err(|e| unparsable(seq, e)),
            None => Err(unparsable(seq, EntryError("the entry is missing".into()))),
        }
    }
}

/// An entry that cannot be read.
pub(crate) fn unparsable(seq: Seq, e: EntryError) -> StoreError {
    StoreError::Broken {
        seq,
        problem: Problem::Unparsable(e.0),
    }
}

/// The bytes of keys and values a rebuild puts in one sled batch: large enough that batches
/// are cheap, small enough that a batch and sled's copies of it stay a few tens of megabytes
/// (a count of records was not: records grew from tens of bytes to kilobytes with the blocks
/// of cache version 4, and 20,000 of them took some 300 MiB at the end of a 1M-event import).
const REBUILD_BATCH_BYTES: usize = 4 << 20;

/// What a removal costs a batch beyond its key's bytes, in the count of [`BoundedBatch`]:
/// sled holds each removal of a batch, and the pages it changes, in memory until the flush,
/// far beyond the key's bytes (counting the keys alone, removing the derived tables of
/// 100,000 entries took 180 MiB).
pub(crate) const REMOVAL_COST: usize = 1024;

/// A sled batch applied whenever it holds [`REBUILD_BATCH_BYTES`] bytes.
pub(crate) struct BoundedBatch<'a> {
    db: &'a Db,
    path: &'a Path,
    pub(crate) batch: Batch,
    bytes: usize,
}

impl<'a> BoundedBatch<'a> {
    pub(crate) fn new(db: &'a Db, path: &'a Path) -> Self {
        BoundedBatch {
            db,
            path,
            batch: Batch::default(),
            bytes: 0,
        }
    }

    /// Takes note of `bytes` more bytes in the batch, applying it when full.
    pub(crate) fn counted(&mut self, bytes: usize) -> Result<(), StoreError> {
        self.bytes += bytes;
        if self.bytes >= REBUILD_BATCH_BYTES {
            self.apply()?;
        }
        Ok(())
    }

    pub(crate) fn apply(&mut self) -> Result<(), StoreError> {
        let batch = std::mem::take(&mut self.batch);
        self.db.apply_batch(batch).map_err(storage(self.path))?;
        // sled keeps every page changed since its last flush in memory: flushing each batch
        // keeps a rebuild's memory at a batch, whatever the ledger's size, and makes it durable
        // before a record that vouches for it is written.
        self.db.flush().map_err(storage(self.path))?;
        self.bytes = 0;
        Ok(())
    }
}

/// Checks an entry read for an answer: it is the entry of its position and its stored hash is
/// the hash of its fields, so a changed byte anywhere in it is an error, never an answer.
/// (Its link to the entry before is for verification, which walks the chain.)
fn check_stored(stored: &Stored<'_>, seq: Seq) -> Result<(), StoreError> {
    if stored.seq != seq {
        return Err(StoreError::Broken {
            seq,
            problem: Problem::Misplaced { found: stored.seq },
        });
    }
    let actual = Entry::compute_hash(stored.seq, stored.time, &stored.prev, stored.event);
    if actual != stored.hash {
        return Err(StoreError::Broken {
            seq,
            problem: Problem::HashMismatch {
                expected: actual,
                actual: stored.hash,
            },
        });
    }
    Ok(())
}

/// Checks one entry against its expected position, the hash before it and the time before it.
fn check_entry(
    entry: &Entry,
    expected: Seq,
    prev: &[u8; 32],
    previous_time: &str,
) -> Option<Problem> {
    check_fields(
        entry.seq,
        &entry.time,
        &entry.prev,
        &entry.hash,
        &entry.event,
        expected,
        prev,
        previous_time,
    )
}

/// [`check_entry`] over borrowed fields (verification reads them without copying).
#[allow(clippy::too_many_arguments)] // the fields of an entry, then the chain before it
pub(crate) fn check_fields(
    seq: Seq,
    time: &str,
    entry_prev: &[u8; 32],
    hash: &[u8; 32],
    event: &[u8],
    expected: Seq,
    prev: &[u8; 32],
    previous_time: &str,
) -> Option<Problem> {
    if let Some(problem) = out_of_place(seq, expected) {
        return Some(problem);
    }
    if entry_prev != prev {
        return Some(Problem::BrokenLink);
    }
    let actual = Entry::compute_hash(seq, time, entry_prev, event);
    if &actual != hash {
        return Some(Problem::HashMismatch {
            expected: actual,
            actual: *hash,
        });
    }
    if time < previous_time {
        return Some(Problem::TimeWentBack {
            previous: previous_time.to_owned(),
            time: time.to_owned(),
        });
    }
    None
}

/// Runs `attempt` until it does not fail with [`StoreError::InUse`] or `wait` has passed.
pub(crate) fn waiting<T>(
    path: &Path,
    wait: Duration,
    mut attempt: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match attempt() {
            Err(StoreError::InUse { .. }) if !wait.is_zero() => {
                let waited = started.elapsed();
                if waited >= wait {
                    return Err(StoreError::StillInUse {
                        path: path.to_owned(),
                        waited,
                    });
                }
                // A little jitter, so that waiters polling together do not collide for ever.
                let jitter = Duration::from_micros(u64::from(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.subsec_micros())
                        % 2_000,
                ));
                std::thread::sleep((pause + jitter).min(wait - waited));
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}
