//! Verification: the walk of the log's chunks, checked on every core (hash, link, position,
//! time, canonical event, then the head record), and, unless only the log is asked for, the
//! comparison of every derived record with what the log implies (`crate::derived`), fed from
//! the same pass.

use std::path::Path;
use std::time::Duration;

use sled::Db;

use actledger_core::{Event, IndexEntry, Seq, index_entries};
use actledger_proof::{Checkpoint, RootAccumulator};

use crate::chunk;
use crate::entry::{Entry, EntryError, Stored, ZERO_HASH};
use crate::error::storage;
use crate::error::{Problem, StoreError, Verdict};
use crate::keys;
use crate::ledger::{HeadRecord, Ledger, read_head};
use crate::open::waiting;

impl Ledger {
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
}

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
                    problem: Problem::Unparsable(e.to_string()),
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
pub(crate) fn verify_db_with(
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
pub(crate) fn out_of_place(found: Seq, expected: Seq) -> Option<Problem> {
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
        Err(e) => return broken(Problem::Unparsable(e.to_string())),
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
    if new_time && let Err(e) = crate::entry::parse_time(stored.time) {
        return broken(Problem::Unparsable(e.to_string()));
    }
    let event = match crate::entry::parse_event_bytes(stored.event) {
        Ok(event) if event.has_canonical_bytes(stored.event) => event,
        Ok(_) => {
            return broken(Problem::Unparsable(
                "its event is not in canonical form".into(),
            ));
        }
        Err(e) => return broken(Problem::Unparsable(e.to_string())),
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

/// [`verify_path_waiting`], telling `progress` how many entries were checked so far, every
/// few thousand (for a progress bar). Only [`Scope::Everything`] reports: its pass already
/// shows every entry to the comparison of derived records, while a tap on [`Scope::Log`]
/// would re-read every chunk on the calling thread and slow the check it reports on.
pub fn verify_path_reporting(
    path: &Path,
    scope: Scope,
    wait: Duration,
    progress: &mut dyn FnMut(u64),
) -> Result<Verdict, StoreError> {
    if scope == Scope::Log {
        return verify_path_waiting(path, scope, wait);
    }
    waiting(path, wait, || {
        let mut checked = 0u64;
        let mut tap = |_: &Stored<'_>, _: &[IndexEntry]| {
            checked += 1;
            if checked.is_multiple_of(PROGRESS_EVERY) {
                progress(checked);
            }
        };
        verdict_of(|| verify_settled(path, scope, Some(&mut tap)))
    })
}

/// How many entries pass between two reports of [`verify_path_reporting`].
const PROGRESS_EVERY: u64 = 4096;

/// [`verify_path`] in `scope`: [`Scope::Log`] checks the log alone.
pub fn verify_path_scoped(path: &Path, scope: Scope) -> Result<Verdict, StoreError> {
    verdict_of(|| verify_settled(path, scope, None))
}

/// Opens the ledger at `path` and verifies it. Fails closed: a missing path, a folder that
/// holds no ledger (or a database without the ledger's records) is an error, never
/// "0 entries, intact"; a ledger whose head record is missing or disagrees with its entries
/// is broken. Neither the chain's state nor the cache needs to be sound to get a verdict.
pub fn verify_path(path: &Path) -> Result<Verdict, StoreError> {
    verify_path_scoped(path, Scope::Everything)
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
