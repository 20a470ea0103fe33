//! Opening and locking: creating a ledger, opening it (settling an interrupted append and
//! completing what derives from the log), the sled database and its lock, and waiting for
//! another holder to let go.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sled::{Batch, Db};

use crate::entry::{Head, LAYOUT_VERSION};
use crate::error::{Damage, StoreError, Verdict, damaged, storage};
use crate::index::Memo;
use crate::keys;
use crate::ledger::{Faults, HeadRecord, Ledger, encode_cache_record, encode_head, read_head};
use crate::loan::Loan;
use crate::lock::Lock;
use crate::staging::{Staging, Target, check_target};
use crate::verify::{VERIFY_WINDOW, verify_db_with};

/// The memory sled may use for its page cache (its default is 1 GiB). Reads are of whole
/// chunks and blocks, so a small cache costs little; with 64 MiB, a 1M-event import peaked
/// 100 MiB higher.
const SLED_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// Whether the folder holds the files of a sled database (without opening it, which would
/// create them).
pub(crate) fn has_database(path: &Path) -> bool {
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
    let Ok(file) = std::fs::File::open(dir.join("db")) else {
        return;
    };
    if file.try_lock().is_err() {
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
    let _ = file.unlock();
}

/// Opens the sled database in `path`, creating it if missing, once the ledger's lock is taken.
pub(crate) fn open_db(path: &Path) -> Result<Sled, StoreError> {
    Closing::wait_for(path);
    open_db_locked(path, Lock::take(path)?)
}

/// [`open_db`] with the ledger's lock already taken (a ledger being built holds its folder's
/// lock from the moment the folder is made).
pub(crate) fn open_db_locked(path: &Path, lock: Lock) -> Result<Sled, StoreError> {
    remove_unfinished_snapshots(path);
    // With the ledger's lock held, sled's own lock can only be held by what has not let go of
    // it yet: this process's closing (waited for by `open_db`), or a child another thread of
    // this process is starting, which holds a copy of sled's handle until it runs its program.
    let deadline = Instant::now() + CLOSE_WAIT;
    let db = loop {
        let opened = sled::Config::new()
            .path(path)
            .cache_capacity(SLED_CACHE_BYTES)
            .open()
            .map_err(storage(path));
        match opened {
            Err(StoreError::InUse { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            opened => break opened?,
        }
    };
    Ok(Sled {
        db: Some(db),
        dir: path.to_owned(),
        lock: Some(lock),
    })
}

/// The sled database of a ledger, and the ledger's lock. Dropping it waits until sled's
/// background threads have let go of sled's file lock too, then lets go of the ledger's, so
/// that the ledger can be opened again at once, in this process as in any other.
pub struct Sled {
    db: Option<Db>,
    dir: PathBuf,
    lock: Option<Lock>,
}

impl Sled {
    /// Opens the sled database in `dir` as the store does, creating it if missing.
    pub fn open(dir: &Path) -> Result<Sled, StoreError> {
        open_db(dir)
    }

    /// The ledger's lock.
    pub(crate) fn lock(&self) -> &Lock {
        self.lock
            .as_ref()
            .expect("the lock is held until the database is dropped")
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
        // bounded time on a thread of its own; past that, the handle is abandoned to that
        // thread, which lets go of the ledger's lock once sled has let go of its own (or the
        // operating system does, when the process ends).
        let lock = self.lock.take();
        let dir = self.dir.clone();
        let closing = Closing::begin(&dir);
        let (closed, on_close) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sled-close".into())
            .spawn(move || {
                drop(db);
                wait_released(&dir);
                drop(lock);
                drop(closing);
                let _ = closed.send(());
            });
        if thread.is_ok() {
            let _ = on_close.recv_timeout(CLOSE_WAIT);
        }
    }
}

/// The databases this process is still closing, by folder, with how many closings of each are
/// under way: an open of one of them in this process waits for them ([`Closing::wait_for`]),
/// instead of finding the ledger held by its own past.
static CLOSING: std::sync::Mutex<Vec<(PathBuf, usize)>> = std::sync::Mutex::new(Vec::new());

/// Told whenever a closing ends.
static CLOSED: std::sync::Condvar = std::sync::Condvar::new();

/// One closing under way, from the moment the database is dropped until its locks are let go.
struct Closing {
    dir: PathBuf,
}

impl Closing {
    /// The closing of the database in `dir` begins.
    fn begin(dir: &Path) -> Closing {
        let dir = closing_key(dir);
        let mut closing = CLOSING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match closing.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, count)) => *count += 1,
            None => closing.push((dir.clone(), 1)),
        }
        Closing { dir }
    }

    /// Waits, up to [`CLOSE_WAIT`], until this process closes no database in `dir`.
    fn wait_for(dir: &Path) {
        let dir = closing_key(dir);
        let deadline = Instant::now() + CLOSE_WAIT;
        let mut closing = CLOSING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while closing.iter().any(|(d, _)| *d == dir) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            closing = CLOSED
                .wait_timeout(closing, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for Closing {
    fn drop(&mut self) {
        let mut closing = CLOSING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(at) = closing.iter().position(|(d, _)| *d == self.dir) {
            closing[at].1 -= 1;
            if closing[at].1 == 0 {
                closing.swap_remove(at);
            }
        }
        CLOSED.notify_all();
    }
}

/// The same folder named two ways (relative and absolute) is one key.
fn closing_key(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned())
}

/// How long dropping a database waits for sled's final flush before abandoning it.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long dropping a database waits for sled's threads to release its lock. They take
/// milliseconds, but seconds on a loaded machine; meanwhile the ledger's own lock is still
/// held, so nobody that takes it first (every opener of the store) can be what holds sled's.
const RELEASE_WAIT: std::time::Duration = CLOSE_WAIT;

/// Waits until nobody holds the lock of the database in `dir` (or [`RELEASE_WAIT`] passed).
fn wait_released(dir: &Path) {
    let deadline = std::time::Instant::now() + RELEASE_WAIT;
    let Ok(file) = std::fs::File::open(dir.join("db")) else {
        return;
    };
    while file.try_lock().is_err() {
        if std::time::Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let _ = file.unlock();
}

impl Ledger {
    /// Creates an empty ledger at `path` (a folder, made with its parents if missing; an
    /// existing empty folder is fine). It is built aside and moved into place, so a crash
    /// never leaves half a ledger.
    ///
    /// What a `create` or [`Ledger::import`] of the same path left when it was killed outright
    /// (its staging folder, locked by nobody) is removed first.
    pub fn create(path: &Path) -> Result<Ledger, StoreError> {
        Ledger::create_waiting(path, Duration::ZERO)
    }

    /// [`Ledger::create`], waiting up to `wait` for another process to let go of what stands
    /// at `path` (to say whether a ledger is there, and to open the new one) instead of
    /// failing at once with [`StoreError::InUse`]. The new ledger is never made twice: only
    /// those two steps are retried.
    pub fn create_waiting(path: &Path, wait: Duration) -> Result<Ledger, StoreError> {
        if let Target::Ledger(_) = waiting(path, wait, || check_target(path))? {
            return Err(StoreError::AlreadyExists {
                path: path.to_owned(),
            });
        }
        let mut staging = Staging::new(path)?;
        let mut build = || {
            let db = staging.open_db()?;
            Ledger::write_new_meta(&db, staging.path())
        };
        // An error names the user's path, never the folder the ledger was built in.
        build().map_err(|e| e.moved(staging.path(), path))?;
        staging.finish(false)?;
        Ledger::open_waiting(path, wait)
    }

    pub(crate) fn write_new_meta(db: &Sled, path: &Path) -> Result<(), StoreError> {
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
                Damage::HeadNotLast {
                    count: ledger.head.count,
                    hash: ledger.head.hash,
                },
            ));
        }
        ledger.ensure_cache()?;
        ledger.ensure_tree()?;
        Ok(ledger)
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
    ///
    /// A holder that lends the ledger (`serve`) lends it to this handle until it is dropped.
    pub fn open_waiting(path: &Path, wait: Duration) -> Result<Ledger, StoreError> {
        let (mut ledger, loan) = waiting_on_loan(path, wait, || Ledger::open(path))?;
        ledger.loan = loan;
        Ok(ledger)
    }

    /// [`Ledger::open_waiting`] for a process that will hold the ledger for long and lend it
    /// (`serve`): it waits for the holder to let go and never borrows, since a loan lasts only
    /// as long as its borrower and another holder's loan would be taken from under it.
    pub fn open_waiting_to_hold(path: &Path, wait: Duration) -> Result<Ledger, StoreError> {
        waiting_with(path, wait, false, || Ledger::open(path)).map(|(ledger, _)| ledger)
    }

    /// Opens without checking the chain or the cache: for verification and import checks.
    pub(crate) fn open_raw(path: &Path) -> Result<Ledger, StoreError> {
        let (db, head) = Ledger::open_unverified(path)?;
        Ledger::from_db(path, db, head)
    }

    /// The ledger of an open database, given its head record.
    fn from_db(path: &Path, db: Sled, head: HeadRecord) -> Result<Ledger, StoreError> {
        let (head, last_time) = head.map_err(|reason| damaged(path, Damage::HeadRecord(reason)))?;
        Ok(Ledger {
            path: path.to_owned(),
            db,
            head,
            last_time,
            memo: Memo::default(),
            recovery: None,
            faults: Faults::default(),
            loan: None,
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
            .map_err(|_| damaged(path, Damage::FormatRecord))?;
        if found != LAYOUT_VERSION {
            return Err(StoreError::UnsupportedFormat {
                path: path.to_owned(),
                found,
            });
        }
        let head = read_head(&db, path)?;
        Ok((db, head))
    }
}

/// Runs `attempt` until it does not fail with [`StoreError::InUse`] or `wait` has passed.
pub(crate) fn waiting<T>(
    path: &Path,
    wait: Duration,
    attempt: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    // The loan, if there is one, lasts as long as the attempt that used it.
    waiting_on_loan(path, wait, attempt).map(|(value, _loan)| value)
}

/// [`waiting`], borrowing the ledger from its holder when the holder lends it (`serve` does:
/// [`crate::loan`]), and returning the loan with the result: the caller gives the ledger back
/// by dropping it, once done with the ledger.
pub(crate) fn waiting_on_loan<T>(
    path: &Path,
    wait: Duration,
    attempt: impl FnMut() -> Result<T, StoreError>,
) -> Result<(T, Option<Loan>), StoreError> {
    waiting_with(path, wait, true, attempt)
}

/// [`waiting_on_loan`], borrowing only when `borrow` says so.
fn waiting_with<T>(
    path: &Path,
    wait: Duration,
    borrow: bool,
    mut attempt: impl FnMut() -> Result<T, StoreError>,
) -> Result<(T, Option<Loan>), StoreError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    let mut loan = None;
    loop {
        match attempt() {
            Err(StoreError::InUse { holder, .. }) if !wait.is_zero() => {
                let waited = started.elapsed();
                if waited >= wait {
                    return Err(StoreError::StillInUse {
                        path: path.to_owned(),
                        waited,
                        holder,
                    });
                }
                if borrow && loan.is_none() {
                    loan = crate::loan::borrow(path, wait - waited);
                    if loan.is_some() {
                        // The lender has closed the ledger: try again at once.
                        continue;
                    }
                }
                // A little jitter, so that waiters polling together do not collide for ever.
                let jitter = Duration::from_micros(u64::from(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.subsec_micros())
                        % 2_000,
                ));
                std::thread::sleep((pause + jitter).min(wait - started.elapsed().min(wait)));
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other.map(|value| (value, loan)),
        }
    }
}
