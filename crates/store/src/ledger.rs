//! The ledger on disk: creating and opening it, appending batches, reading entries back,
//! verification, export and import.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sled::{Batch, Db};

use actledger_core::{
    BatchError, Event, IndexEntry, Indexed, InputEvent, NewEvents, Outcome, Seq, WithPending,
    index_entries, validate_batch,
};

use crate::chunk;
use crate::entry::{Entry, EntryError, Head, LAYOUT_VERSION, Stored, ZERO_HASH, format_time};
use crate::error::{AppendError, ImportError, Problem, StoreError, Verdict};
use crate::index::{CACHE_VERSION, Memo, add_index_keys};
use crate::keys;
use crate::postings::PostingWriter;
use crate::recovery::Recovery;
use crate::tree::{self, StoredTree, TreeAppender, tree_error};
use actledger_proof::{
    Checkpoint, ConsistencyProof, Hash, InclusionProof, RootAccumulator, SignerKey,
};

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
type HeadRecord = Result<(Head, String), String>;

/// The stored head record, or why it cannot be had.
fn read_head(db: &Db, path: &Path) -> Result<HeadRecord, StoreError> {
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

    /// Recomputes every hash from the first entry and checks every link, position, time and
    /// event, then the head record; then compares every derived record (indexes, timeline
    /// cache, stored tree hashes, their meta records) with what the log implies
    /// (`crate::derived`). Repairs nothing.
    pub fn verify(&self) -> Result<Verdict, StoreError> {
        self.verify_scoped(Scope::Everything, None)
    }

    /// [`Ledger::verify`] of the given scope, showing every sound entry to `on_entry` too.
    pub(crate) fn verify_scoped(
        &self,
        scope: Scope,
        on_entry: Option<EntryTap<'_>>,
    ) -> Result<Verdict, StoreError> {
        let head = read_head(&self.db, &self.path)?;
        if scope == Scope::Log {
            return verify_db_with(&self.db, &self.path, head, on_entry, false, VERIFY_WINDOW);
        }
        let expected = crate::derived::Expected::new(self)?;
        // What the log implies is gathered on a thread of its own, fed with the entries of
        // each window once checked, while the chain's check goes on with the next windows.
        let (verdict, expected) = std::thread::scope(|scope| {
            let (send, receive) = std::sync::mpsc::sync_channel::<Gathered>(4);
            let gathering = scope.spawn(move || {
                let mut expected = expected;
                for entries in receive {
                    for (entry, index) in &entries {
                        expected.see(entry, index);
                    }
                }
                expected
            });
            let mut on_entry = on_entry;
            let mut entries = Vec::with_capacity(GATHER_BATCH);
            let verdict = verify_db_with(
                &self.db,
                &self.path,
                head,
                Some(&mut |stored, index| {
                    entries.push((stored.to_entry(), index.to_vec()));
                    if entries.len() == GATHER_BATCH {
                        // A closed channel means the gathering thread panicked: join says so.
                        let _ = send.send(std::mem::take(&mut entries));
                    }
                    if let Some(f) = on_entry.as_mut() {
                        f(stored, index);
                    }
                }),
                true,
                VERIFY_WINDOW,
            );
            if !entries.is_empty() {
                let _ = send.send(entries);
            }
            drop(send);
            let expected = gathering
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (verdict, expected)
        });
        let verdict = verdict?;
        let Verdict::Intact { count, head } = verdict else {
            return Ok(verdict);
        };
        let findings = expected.finish(count)?;
        if findings.is_empty() {
            Ok(Verdict::Intact { count, head })
        } else {
            Ok(Verdict::Diverged {
                count,
                head,
                findings,
            })
        }
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
fn check_fields(
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

/// The walk of verification over the stored entries, then the head record.
/// Chunks of the log read at a time by verification and checked across the cores (16,384
/// entries), unless [`VERIFY_WINDOW_BYTES`] come first.
pub(crate) const VERIFY_WINDOW: usize = 16_384 / chunk::CHUNK as usize;

/// The unpacked bytes after which a window of verification ends: two windows are in memory at
/// once (one checked, the next read), and chunks of large events are up to 2 MiB unpacked.
const VERIFY_WINDOW_BYTES: usize = 16 << 20;

/// The largest buffer kept for reuse after its chunk is checked: a chunk of ordinary events
/// unpacks to about 10 KB; one of large events should not hold its megabytes for the rest of
/// the walk.
const SPARE_BODY_BYTES: usize = 64 << 10;

/// A chunk of the log waiting to be checked, unpacked (or why it does not unpack), with the
/// hash and time of the entry before it (as stored: each check of a link is against what is
/// stored, whatever the thread).
struct ChunkToCheck {
    first: Seq,
    body: chunk::Body,
    unpacked: Result<(), EntryError>,
    prev: [u8; 32],
    previous_time: String,
    /// When the derived records are to be compared: the index entries of each entry of the
    /// chunk, in order, taken from the event the check parses anyway (filled by the thread
    /// that checks the chunk, and by it alone).
    index: Option<std::sync::Mutex<Vec<Vec<IndexEntry>>>>,
}

impl ChunkToCheck {
    /// The first problem of the chunk, checking every entry exactly as a walk of the whole
    /// chain would.
    fn check(&self) -> Option<Verdict> {
        let reader = match self
            .unpacked
            .clone()
            .and_then(|()| self.body.read(self.first))
        {
            Ok(reader) => reader,
            Err(e) => {
                return Some(Verdict::Broken {
                    seq: self.first,
                    problem: Problem::Unparsable(e.0),
                });
            }
        };
        let mut prev = self.prev;
        let mut previous_time = self.previous_time.clone();
        let mut index = self.index.as_ref().map(|index| {
            index
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        });
        (self.first..).zip(reader).find_map(|(expected, item)| {
            verify_stored(
                item,
                expected,
                &mut prev,
                &mut previous_time,
                &mut |_, event| {
                    if let Some(index) = index.as_mut() {
                        index.push(index_entries(event));
                    }
                },
            )
        })
    }
}

/// The first problem among `chunks`, in log order, checking them on `threads` threads while
/// this thread runs `meanwhile` (reading the next window), then checks with them.
fn check_chunks_while<T>(
    chunks: &[ChunkToCheck],
    threads: usize,
    meanwhile: impl FnOnce() -> T,
) -> (Option<Verdict>, T) {
    // Chunks are handed out one at a time, in order, so a thread slowed by another (or by
    // another process) holds up nothing but its own chunk.
    let next = std::sync::atomic::AtomicUsize::new(0);
    // The first chunk found with a problem so far: chunks after it need no check.
    let first_bad = std::sync::atomic::AtomicUsize::new(usize::MAX);
    let check = || {
        loop {
            let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if at >= chunks.len() || at > first_bad.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            if let Some(verdict) = chunks[at].check() {
                first_bad.fetch_min(at, std::sync::atomic::Ordering::Relaxed);
                return Some((at, verdict));
            }
        }
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(check)).collect();
        let done = meanwhile();
        let mine = check();
        let found = handles
            .into_iter()
            .filter_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .chain(mine);
        (first_in_log_order(found), done)
    })
}

/// Of the problems found by the threads (each the first its thread met, with the index of its
/// chunk), the first in log order. Every chunk before the lowest index found was handed out,
/// so checked, and had no problem: that one is the first of the window.
fn first_in_log_order(found: impl IntoIterator<Item = (usize, Verdict)>) -> Option<Verdict> {
    found
        .into_iter()
        .min_by_key(|(at, _)| *at)
        .map(|(_, verdict)| verdict)
}

/// The number of entries of a chunk and the hash and time of its last, as stored (no hash is
/// computed), or `None` when it cannot be read (its check says why).
fn walk_chunk(first: Seq, body: &chunk::Body) -> Option<(u64, [u8; 32], String)> {
    let mut count = 0;
    let mut last = None;
    for stored in body.read(first).ok()? {
        let stored = stored.ok()?;
        count += 1;
        last = Some((stored.hash, stored.time));
    }
    let (hash, time) = last?;
    Some((count, hash, time.to_owned()))
}

/// The chunks of the log read in order, window by window, each with the hash and time of the
/// entry before it as stored, so that a window is checked apart from the walk.
struct LogWalk<'a> {
    path: &'a Path,
    scan: sled::Iter,
    /// The most chunks a window holds.
    window: usize,
    /// The position of the next chunk's first entry.
    expected: Seq,
    /// The hash and time of the last entry walked.
    prev: [u8; 32],
    previous_time: String,
    /// Whether the checks gather the index entries of each entry.
    index: bool,
}

/// One window of chunks to check, and how the walk ended it.
struct Window {
    chunks: Vec<ChunkToCheck>,
    /// A problem of the keys themselves, reported once the chunks before it are checked.
    stop: Option<Verdict>,
    /// No window follows: the log ended, or a chunk could not be walked (its check says why).
    last: bool,
}

impl LogWalk<'_> {
    /// The next window of up to `self.window` chunks or [`VERIFY_WINDOW_BYTES`] unpacked
    /// bytes, unpacked into buffers taken from `spare`.
    fn next_window(&mut self, spare: &mut Vec<chunk::Body>) -> Result<Window, StoreError> {
        let mut window = Window {
            chunks: Vec::with_capacity(self.window),
            stop: None,
            last: false,
        };
        let mut bytes = 0;
        while window.chunks.len() < self.window && bytes < VERIFY_WINDOW_BYTES {
            let Some(item) = self.scan.next() else {
                window.last = true;
                break;
            };
            let (key, value) = item.map_err(storage(self.path))?;
            if let Some(verdict) = check_chunk_key(&key, self.expected) {
                window.stop = Some(verdict);
                window.last = true;
                break;
            }
            let first = self.expected;
            let mut body = spare.pop().unwrap_or_default();
            let unpacked = body.unpack(&value);
            bytes += body.bytes().len();
            let walked = unpacked.is_ok().then(|| walk_chunk(first, &body)).flatten();
            window.chunks.push(ChunkToCheck {
                first,
                body,
                unpacked,
                prev: self.prev,
                previous_time: self.previous_time.clone(),
                index: self
                    .index
                    .then(|| std::sync::Mutex::new(Vec::with_capacity(chunk::CHUNK as usize))),
            });
            match walked {
                Some((count, hash, time)) => {
                    self.expected += count;
                    self.prev = hash;
                    self.previous_time = time;
                }
                None => {
                    window.last = true;
                    break;
                }
            }
        }
        Ok(window)
    }
}

/// Verifies the chain, showing every sound entry to `on_entry`, if any, in order. The chunks
/// are read in order, window by window; the entries of a window are checked (hash, link,
/// time, event) on every core while this thread reads the next window, then checks with
/// them. The first problem in log order is the verdict.
fn verify_db_with(
    db: &Db,
    path: &Path,
    head: HeadRecord,
    mut on_entry: Option<EntryTap<'_>>,
    index: bool,
    window_chunks: usize,
) -> Result<Verdict, StoreError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut walk = LogWalk {
        path,
        scan: db.scan_prefix([keys::ENTRY]),
        window: window_chunks.max(1),
        expected: 1,
        prev: ZERO_HASH,
        previous_time: String::new(),
        index,
    };
    // The buffers of the chunks checked, reused for the windows after.
    let mut spare: Vec<chunk::Body> = Vec::new();
    let mut window = walk.next_window(&mut spare)?;
    loop {
        let last = window.last;
        let (found, next) = check_chunks_while(&window.chunks, threads, || {
            (!last).then(|| walk.next_window(&mut spare))
        });
        // The window's verdict comes first: the next one was read past it.
        if let Some(verdict) = found {
            return Ok(verdict);
        }
        if let Some(on_entry) = on_entry.as_mut() {
            for chunk in &window.chunks {
                let index = chunk.index.as_ref().map(|index| {
                    index
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                });
                let stored = chunk.body.read(chunk.first).into_iter().flatten();
                for (at, stored) in stored.enumerate() {
                    let entries = index
                        .as_ref()
                        .and_then(|index| index.get(at))
                        .map_or(&[][..], Vec::as_slice);
                    match stored {
                        Ok(stored) => on_entry(&stored, entries),
                        Err(_) => break,
                    }
                }
            }
        }
        if let Some(verdict) = window.stop.take() {
            return Ok(verdict);
        }
        spare.extend(
            window
                .chunks
                .drain(..)
                .map(|chunk| chunk.body)
                .filter(|body| body.capacity() <= SPARE_BODY_BYTES),
        );
        match next {
            Some(next) => window = next?,
            None => break,
        }
    }
    let (expected, prev) = (walk.expected, walk.prev);
    let count = expected - 1;
    let (stored, stored_time) = match head {
        Ok(head) => head,
        Err(reason) => {
            return Ok(Verdict::Broken {
                seq: count + 1,
                problem: Problem::NoHead(reason),
            });
        }
    };
    if stored.count != count || stored.hash != prev {
        // The first position the two disagree on: one past the shorter, or the last entry.
        let seq = if stored.count == count {
            count
        } else {
            stored.count.min(count) + 1
        };
        return Ok(Verdict::Broken {
            seq,
            problem: Problem::HeadMismatch {
                stored_count: stored.count,
                stored_hash: stored.hash,
                found_count: count,
                found_hash: prev,
            },
        });
    }
    // The head record's time is the next append's lower bound on its recording time: a time
    // forged there would be vouched for by the chain from the next entry on.
    if stored_time != walk.previous_time {
        return Ok(Verdict::Broken {
            seq: count.max(1),
            problem: Problem::HeadTimeMismatch {
                stored: stored_time,
                found: walk.previous_time,
            },
        });
    }
    Ok(Verdict::Intact { count, head: prev })
}

/// An entry (or chunk) found at `found` where the walk expected `expected`: a gap when it is
/// further, misplaced when it is before.
fn out_of_place(found: Seq, expected: Seq) -> Option<Problem> {
    match found.cmp(&expected) {
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Greater => Some(Problem::Gap { expected, found }),
        std::cmp::Ordering::Less => Some(Problem::Misplaced { found }),
    }
}

/// What is wrong with the key of the chunk expected to start at `expected`, if anything.
fn check_chunk_key(key: &[u8], expected: Seq) -> Option<Verdict> {
    let broken = |problem| {
        Some(Verdict::Broken {
            seq: expected,
            problem,
        })
    };
    let Some(first) = keys::entry_seq(key) else {
        return broken(Problem::Unparsable(format!(
            "a key of the log is malformed ({} bytes)",
            key.len()
        )));
    };
    if let Some(problem) = out_of_place(first, expected) {
        return broken(problem);
    }
    if chunk::chunk_first(first) != first {
        return broken(Problem::Unparsable(format!(
            "a chunk of the log starts at {first}, not at a chunk boundary"
        )));
    }
    None
}

/// Checks the next entry of the walk (or why it cannot be read) at position `expected`,
/// advancing the chain; returns the verdict when it is bad.
fn verify_stored(
    item: Result<Stored<'_>, EntryError>,
    expected: Seq,
    prev: &mut [u8; 32],
    previous_time: &mut String,
    on_entry: &mut dyn FnMut(&Stored<'_>, &Event),
) -> Option<Verdict> {
    let broken = |problem| {
        Some(Verdict::Broken {
            seq: expected,
            problem,
        })
    };
    let stored = match item {
        Ok(stored) => stored,
        Err(e) => return broken(Problem::Unparsable(e.0)),
    };
    if let Some(problem) = check_fields(
        stored.seq,
        stored.time,
        &stored.prev,
        &stored.hash,
        stored.event,
        expected,
        prev,
        previous_time,
    ) {
        return broken(problem);
    }
    // The first entry has no time before it: its time is always parsed (an empty one too).
    let new_time = expected == 1 || stored.time != previous_time.as_str();
    if new_time {
        if let Err(e) = crate::entry::parse_time(stored.time) {
            return broken(Problem::Unparsable(e.0));
        }
    }
    let event = match crate::entry::parse_event_bytes(stored.event) {
        Ok(event) if event.has_canonical_bytes(stored.event) => event,
        Ok(_) => {
            return broken(Problem::Unparsable(
                "its event is not in canonical form".into(),
            ));
        }
        Err(e) => return broken(Problem::Unparsable(e.0)),
    };
    on_entry(&stored, &event);
    *prev = stored.hash;
    if new_time {
        previous_time.clear();
        previous_time.push_str(stored.time);
    }
    None
}

/// What a verification shows each sound entry to, in log order: the entry, and its index
/// entries when the derived records are compared (else none).
pub(crate) type EntryTap<'a> = &'a mut dyn FnMut(&Stored<'_>, &[IndexEntry]);

/// Entries with their index entries, as handed to the thread that gathers what the log
/// implies.
type Gathered = Vec<(Entry, Vec<IndexEntry>)>;

/// Entries handed at a time to the thread that gathers what the log implies.
const GATHER_BATCH: usize = 4096;

/// What a verification checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The log alone: chain, positions, times, canonical events and the head record.
    Log,
    /// The log, then every record that answers are read from, against what the log implies.
    Everything,
}

/// Runs a verification, turning damage that the storage engine itself detects (its
/// checksums, a file it cannot read) into a verdict rather than an error: it is a finding
/// about the ledger, not a failure of the run.
fn verdict_of(run: impl FnOnce() -> Result<Verdict, StoreError>) -> Result<Verdict, StoreError> {
    match run() {
        Err(StoreError::Corrupt { reason, .. }) => Ok(Verdict::Unreadable { reason }),
        other => other,
    }
}

/// The settled ledger at `path`, verified in `scope`, with `on_entry` shown every sound entry.
fn verify_settled(
    path: &Path,
    scope: Scope,
    on_entry: Option<EntryTap<'_>>,
) -> Result<Verdict, StoreError> {
    // Without a head record there is no ledger to compare derived records with; the chain's
    // check says what is wrong.
    match Ledger::open_settled_ledger(path)? {
        Err(verdict) => Ok(verdict),
        Ok(ledger) => ledger.verify_scoped(scope, on_entry),
    }
}

/// Opens the ledger at `path`, verifies its chain, and checks that it extends `checkpoint`:
/// it holds at least the checkpoint's entries, and the Merkle root of its first
/// `checkpoint.size` entries, recomputed from the entries themselves (never from stored tree
/// hashes), is the checkpoint's root. Removed tail entries and rewritten history are caught
/// even when the head record was rewritten to match. Fails closed: no ledger is an error, and
/// an empty ledger extends no checkpoint.
pub fn verify_path_against(
    path: &Path,
    checkpoint: &Checkpoint,
    scope: Scope,
) -> Result<Verdict, StoreError> {
    verdict_of(|| verify_against(path, checkpoint, scope))
}

fn verify_against(
    path: &Path,
    checkpoint: &Checkpoint,
    scope: Scope,
) -> Result<Verdict, StoreError> {
    let mut accumulator = RootAccumulator::new();
    let size = checkpoint.size;
    let mut root_at_size = (size == 0).then(|| accumulator.root());
    let verdict = verify_settled(
        path,
        scope,
        Some(&mut |stored, _| {
            if accumulator.size() < size {
                let line = stored.to_entry().export_line();
                accumulator.push(line.strip_suffix('\n').unwrap_or(&line).as_bytes());
                if accumulator.size() == size {
                    root_at_size = Some(accumulator.root());
                }
            }
        }),
    )?;
    let count = match verdict {
        Verdict::Intact { count, .. } | Verdict::Diverged { count, .. } => count,
        _ => return Ok(verdict),
    };
    // A log that does not extend the checkpoint is the graver finding.
    if count == 0 || count < size {
        return Ok(Verdict::Broken {
            seq: count + 1,
            problem: Problem::ShorterThanCheckpoint { count, size },
        });
    }
    let actual = root_at_size.unwrap_or_else(|| accumulator.root());
    if actual != checkpoint.root {
        return Ok(Verdict::Broken {
            seq: size,
            problem: Problem::RootMismatch {
                size,
                expected: checkpoint.root,
                actual,
            },
        });
    }
    Ok(verdict)
}

/// Verifies a database that is already open (tests tamper with one directly), reading
/// `window_chunks` chunks at a time.
pub(crate) fn verify_open_db(db: &Db, window_chunks: usize) -> Result<Verdict, StoreError> {
    let path = Path::new("(test)");
    let head = read_head(db, path)?;
    verify_db_with(db, path, head, None, false, window_chunks)
}

/// [`verify_path_against`], waiting up to `wait` for another process to let go of the ledger.
pub fn verify_path_against_waiting(
    path: &Path,
    checkpoint: &Checkpoint,
    scope: Scope,
    wait: Duration,
) -> Result<Verdict, StoreError> {
    waiting(path, wait, || verify_path_against(path, checkpoint, scope))
}

/// [`verify_path`] in `scope`, waiting up to `wait` for another process to let go of the
/// ledger.
pub fn verify_path_waiting(
    path: &Path,
    scope: Scope,
    wait: Duration,
) -> Result<Verdict, StoreError> {
    waiting(path, wait, || verify_path_scoped(path, scope))
}

/// [`verify_path`] in `scope`: [`Scope::Log`] checks the log alone.
pub fn verify_path_scoped(path: &Path, scope: Scope) -> Result<Verdict, StoreError> {
    verdict_of(|| verify_settled(path, scope, None))
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

/// Opens the ledger at `path` and verifies it. Fails closed: a missing path, a folder that
/// holds no ledger (or a database without the ledger's records) is an error, never
/// "0 entries, intact"; a ledger whose head record is missing or disagrees with its entries
/// is broken. Neither the chain's state nor the cache needs to be sound to get a verdict.
pub fn verify_path(path: &Path) -> Result<Verdict, StoreError> {
    verify_path_scoped(path, Scope::Everything)
}

#[cfg(test)]
mod tests {
    use super::{Problem, Verdict, first_in_log_order};

    fn broken(seq: u64) -> Verdict {
        Verdict::Broken {
            seq,
            problem: Problem::Unparsable(format!("at {seq}")),
        }
    }

    #[test]
    fn the_problem_of_the_earliest_chunk_is_the_verdict_whatever_thread_found_it_first() {
        let found = vec![
            (7, broken(7 * 32 + 1)),
            (2, broken(2 * 32 + 5)),
            (9, broken(9 * 32 + 1)),
        ];
        let Some(Verdict::Broken { seq, .. }) = first_in_log_order(found) else {
            panic!("a problem was found");
        };
        assert_eq!(seq, 2 * 32 + 5);
        assert!(first_in_log_order(Vec::new()).is_none());
    }
}
