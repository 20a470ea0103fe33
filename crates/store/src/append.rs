//! Appending: validating a batch and writing its entries, indexes, tree hashes and cache
//! records in one atomic step, durable before it is acknowledged; a batch larger than a part
//! in parts, under an intent record that takes every part back out unless the last is
//! written.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::Utc;
use sled::{Batch, IVec};

use actledger_core::{
    BatchError, Event, Indexed, InputEvent, NewEvents, OfficeId, Seq, ValidBatch, WithPending,
    validate_batch,
};

use crate::chunk;
use crate::entry::{Entry, Head, format_time};
use crate::error::{AppendError, StoreError, storage};
use crate::index::{Memo, add_index_keys};
use crate::keys;
use crate::ledger::{Ledger, encode_cache_record, encode_head};
use crate::postings::PostingWriter;
use crate::report::{AppendReport, Runs};
use crate::state::Touched;
use crate::tree::TreeAppender;
use crate::writes::{WriteSet, Writes};

/// Events per part of a batch written in parts ([`Ledger::append_stream`]): a part's events,
/// entries and sled batch are what an append holds in memory, whatever the batch's size.
pub(crate) const PART_EVENTS: usize = 10_000;

/// What [`Ledger::append_stream`] asks its caller about a batch: the clerk's warnings, and
/// `--strict`'s refusal. An error refuses the whole batch (the parts already written are
/// taken back out), except from [`PartCheck::after`], which comes once the batch is durable.
pub trait PartCheck<E> {
    /// `part` (input events), validated as `valid` against `ledger`, which holds the parts
    /// before it; nothing of the part is written yet. `whole` when the part is the whole batch,
    /// written in one step: then `ledger`'s timelines are current, and [`PartCheck::after`]
    /// follows the write. Otherwise the batch is written in parts, and the timelines the
    /// ledger keeps are those from before the batch until [`PartCheck::finish`].
    fn before(
        &mut self,
        ledger: &Ledger,
        part: &[InputEvent],
        valid: &ValidBatch,
        whole: bool,
    ) -> Result<(), E>;

    /// A batch written whole is durable: `ledger` holds it.
    fn after(&mut self, ledger: &Ledger) -> Result<(), E>;

    /// A batch written in parts: `ledger` holds every part and keeps the timelines at its
    /// head, the batch not yet acknowledged (an error takes it back out).
    fn finish(&mut self, ledger: &Ledger) -> Result<(), E>;
}

/// No check: every part is written as validated.
impl PartCheck<AppendError> for () {
    fn before(
        &mut self,
        _: &Ledger,
        _: &[InputEvent],
        _: &ValidBatch,
        _: bool,
    ) -> Result<(), AppendError> {
        Ok(())
    }

    fn after(&mut self, _: &Ledger) -> Result<(), AppendError> {
        Ok(())
    }

    fn finish(&mut self, _: &Ledger) -> Result<(), AppendError> {
        Ok(())
    }
}

/// The values that the keys an append in parts writes had before it, each read before its
/// first write: what puts the ledger back as it was. Most keys are new (the batch's chunks,
/// postings, tree tiles and cache blocks), and are kept apart, as keys alone.
#[derive(Debug, Default)]
struct Originals {
    values: HashMap<IVec, IVec>,
    new: HashSet<IVec>,
}

impl Originals {
    fn note<'k>(
        &mut self,
        db: &sled::Db,
        path: &std::path::Path,
        keys: impl IntoIterator<Item = &'k IVec>,
    ) -> Result<(), StoreError> {
        for key in keys {
            if !self.values.contains_key(key) && !self.new.contains(key) {
                match db.get(key).map_err(storage(path))? {
                    Some(old) => {
                        self.values.insert(key.clone(), old);
                    }
                    None => {
                        self.new.insert(key.clone());
                    }
                }
            }
        }
        Ok(())
    }

    fn into_batch(self) -> Batch {
        let mut batch = Batch::default();
        for (key, value) in self.values {
            batch.insert(key, value);
        }
        for key in self.new {
            batch.remove(key);
        }
        batch
    }
}

/// A batch validated and laid out, not yet applied.
struct Prepared {
    batch: WriteSet,
    head: Head,
}

impl Ledger {
    /// Validates `batch` against the ledger and the batch so far, then writes it whole, with
    /// its index and cache updates, and flushes it to disk before returning. An invalid batch
    /// writes nothing; events already recorded are reported and skipped. A batch larger than
    /// a part is written as [`Ledger::append_stream`] writes it.
    pub fn append(&mut self, batch: Vec<InputEvent>) -> Result<AppendReport, AppendError> {
        self.append_stream(batch.into_iter().map(Ok), &mut ())
    }

    /// Appends the events `events` yields, in order, as one batch: all or nothing, durable
    /// before it returns, events already recorded reported and skipped, as [`Ledger::append`].
    ///
    /// A batch of up to a part (10,000 events) is validated whole and written in one atomic
    /// step. A larger one is read, validated and written a part at a time, so that its size
    /// does not bound the memory: a durable intent record says that an append in parts is
    /// unfinished from before its first part until the one write that completes it, and the
    /// values its writes replace are kept, so that a refusal, an error of `events` or a failed
    /// write takes every part written back out (and an open after a crash removes them:
    /// `crate::recovery`). Each part is validated against the ledger holding the parts before
    /// it, which is what validating the whole batch does. The cached timelines are brought up
    /// to date once, after the last part. An error of `events` wins over a refusal of an event
    /// before it, as when a batch was parsed whole before it was validated: the rest of
    /// `events` is read to look for one. `check` is asked about every part before its write,
    /// and about the batch once it is written ([`PartCheck`]).
    pub fn append_stream<E: From<AppendError>>(
        &mut self,
        events: impl IntoIterator<Item = Result<InputEvent, E>>,
        check: &mut impl PartCheck<E>,
    ) -> Result<AppendReport, E> {
        let mut events = events.into_iter();
        let size = self.faults.part_events();
        let part = next_part(&mut events, None, size)?;
        let following = events.next().transpose()?;
        if following.is_none() {
            let valid = self.validate(part.clone())?;
            check.before(self, &part, &valid, true)?;
            let report = self.write_whole(valid)?;
            check.after(self)?;
            return Ok(report);
        }
        let before = self.head;
        let before_time = self.last_time.clone();
        let time = self.append_time();
        self.begin_parts(before).map_err(AppendError::from)?;
        let mut parts = Parts {
            before: before.count,
            time,
            originals: Originals::default(),
            runs: Runs::default(),
            size,
            affected: BTreeSet::new(),
            touched: Touched::default(),
        };
        let written = self
            .write_parts(&mut events, part, following, check, &mut parts)
            .and_then(|()| {
                // The events validation decoded and kept are not asked for again: their memory
                // is the finish's.
                self.memo = Memo::default();
                self.finish_parts(check, &mut parts)
            });
        if let Err(e) = written {
            self.roll_back(parts.originals, before, before_time);
            return Err(e);
        }
        Ok(AppendReport::new(parts.runs, self.head))
    }

    /// Writes the parts of an append in parts: entries, indexes and tree hashes, each part
    /// flushed, the head moving with them in memory so that the next part is validated against
    /// them. The cached timelines are left as they were before the batch (replaying an office
    /// that a revocation touches, part after part, would cost its whole history each time):
    /// the offices the parts change are noted, for [`Ledger::finish_parts`]. On an error, what
    /// was written is still there: the caller takes it back out.
    fn write_parts<E: From<AppendError>>(
        &mut self,
        events: &mut impl Iterator<Item = Result<InputEvent, E>>,
        mut part: Vec<InputEvent>,
        mut following: Option<InputEvent>,
        check: &mut impl PartCheck<E>,
        parts: &mut Parts,
    ) -> Result<(), E> {
        for number in 1.. {
            let valid = match self.validate(part.clone()) {
                Ok(valid) => valid,
                Err(AppendError::Invalid(invalid)) => {
                    // An error of the input after the refused event is the one reported.
                    for event in events.by_ref() {
                        event?;
                    }
                    return Err(AppendError::Invalid(invalid).into());
                }
                Err(e) => return Err(e.into()),
            };
            check.before(self, &part, &valid, false)?;
            if valid.events().is_empty() {
                parts.runs.extend(valid.outcomes);
            } else {
                let prepared = self.prepare_part(
                    &valid,
                    &parts.time,
                    &mut parts.affected,
                    &mut parts.touched,
                )?;
                parts
                    .originals
                    .note(&self.db, &self.path, prepared.batch.keys())
                    .map_err(AppendError::from)?;
                self.write_in_slices(prepared.batch)
                    .map_err(AppendError::from)?;
                if self.faults.part_fails(number) {
                    return Err(AppendError::from(storage(&self.path)(sled::Error::Io(
                        std::io::Error::other(format!("injected failure of part {number}")),
                    )))
                    .into());
                }
                self.memo.note(valid.events());
                self.head = prepared.head;
                self.last_time = parts.time.clone();
                parts.runs.extend(valid.outcomes);
            }
            if following.is_none() {
                return Ok(());
            }
            part = next_part(events, following.take(), parts.size)?;
            following = events.next().transpose()?;
        }
        Ok(())
    }

    /// After the last part: the timelines of the offices the parts changed, replayed once
    /// from the log (in groups, as a rebuild of the cache replays them) and written in batches
    /// of bounded size; then `check`'s last word; then the cache record and the end of the
    /// intent record, in one atomic write that makes the batch whole.
    fn finish_parts<E: From<AppendError>>(
        &mut self,
        check: &mut impl PartCheck<E>,
        parts: &mut Parts,
    ) -> Result<(), E> {
        let offices: Vec<OfficeId> = std::mem::take(&mut parts.affected).into_iter().collect();
        let mut batch = WriteSet::default();
        let mut bytes = 0;
        let touched = std::mem::take(&mut parts.touched);
        let mut restating = self
            .restating(self, self.head.count, parts.before, touched, &mut batch)
            .map_err(AppendError::from)?;
        let originals = &mut parts.originals;
        self.each_timeline(offices, FINISH_GROUP_EVENTS, &mut |timeline| {
            bytes += self.write_timeline(&mut batch, timeline)?.bytes;
            restating.office(timeline, &mut batch)?;
            if bytes >= CACHE_BATCH_BYTES {
                let full = std::mem::take(&mut batch);
                originals.note(&self.db, &self.path, full.keys())?;
                self.write_in_slices(full)?;
                bytes = 0;
            }
            Ok(())
        })
        .map_err(AppendError::from)?;
        restating
            .finish(self, &mut batch)
            .map_err(AppendError::from)?;
        parts
            .originals
            .note(&self.db, &self.path, batch.keys())
            .map_err(AppendError::from)?;
        self.write_in_slices(batch).map_err(AppendError::from)?;
        check.finish(self)?;
        let mut commit = WriteSet::default();
        commit.insert(keys::META_CACHE, &encode_cache_record(self.head.count));
        parts
            .originals
            .note(&self.db, &self.path, commit.keys())
            .map_err(AppendError::from)?;
        let mut commit = commit.into_batch();
        // The end of the intent record goes with the cache record: the batch is whole at once.
        commit.remove(keys::META_PENDING);
        self.write_durably(commit).map_err(AppendError::from)?;
        Ok(())
    }

    /// Validates a batch (or part) against the ledger.
    fn validate(&self, batch: Vec<InputEvent>) -> Result<ValidBatch, AppendError> {
        validate_batch(self, batch).map_err(|e| match e {
            BatchError::Invalid(invalid) => AppendError::Invalid(invalid),
            BatchError::Ledger(store) => AppendError::Store(store),
        })
    }

    /// The recording time of a batch appended now: the clock's, or the last entry's if that
    /// is later, so that times never decrease along the chain even if the clock steps back.
    fn append_time(&self) -> String {
        let now = self
            .faults
            .fixed_time()
            .unwrap_or_else(|| format_time(Utc::now()));
        if now < self.last_time {
            self.last_time.clone()
        } else {
            now
        }
    }

    /// Lays out the writes of `valid`, the next events after the head, recorded at `time`:
    /// entries, indexes, tree hashes, the affected offices' cache records, head and cache
    /// records.
    fn prepare(&self, valid: &ValidBatch, time: &str) -> Result<Prepared, AppendError> {
        let first = self.head.count + 1;
        let count = self.head.count + valid.events().len() as u64;
        let view = WithPending {
            ledger: self,
            pending: &valid.new_events,
        };
        let entries = self.entries_of(valid, time);
        let prev = entries.last().map_or(self.head.hash, |entry| entry.hash);
        let mut batch = WriteSet::default();
        self.write_entries(&mut batch, &entries, valid.events())?;
        // From the cached timeline at the head: replaying the office's whole history is
        // needed only when the batch revokes or retracts one of the office's events.
        let mut new_events = NewEvents::of(first, valid.events());
        let mut touched = Touched::default();
        touched.add(&view, first, valid.events())?;
        let mut restating = self.restating(&view, count, self.head.count, touched, &mut batch)?;
        for office in &new_events.offices(&view)? {
            // Extending needs the timeline's parts, not its segments (made again from them):
            // an office's segments are most of its cache, and decoding them cost a one-act
            // append at 1,000,000 events a tenth of its time.
            let before = if new_events.extends(office) {
                self.head_timeline_unsegmented(office)?
            } else {
                None
            };
            let timeline = new_events.timeline(&view, office, before.as_ref())?;
            let written = self.write_timeline(&mut batch, &timeline)?;
            match before {
                // The segments before the first block rewritten are those stored: the state is
                // restated from there.
                Some(_) => {
                    restating.office_since(&timeline, written.first_changed_segments, &mut batch)?
                }
                None => restating.office(&timeline, &mut batch)?,
            }
        }
        restating.finish(&view, &mut batch)?;
        let head = Head { count, hash: prev };
        batch.insert(keys::META_HEAD, encode_head(head, time));
        batch.insert(keys::META_CACHE, &encode_cache_record(count));
        Ok(Prepared { batch, head })
    }

    /// Lays out the writes of a part of an append in parts: entries, indexes, tree hashes and
    /// the head record, not the cached timelines, whose offices are added to `affected`.
    fn prepare_part(
        &self,
        valid: &ValidBatch,
        time: &str,
        affected: &mut BTreeSet<OfficeId>,
        touched: &mut Touched,
    ) -> Result<Prepared, AppendError> {
        let first = self.head.count + 1;
        let count = self.head.count + valid.events().len() as u64;
        let view = WithPending {
            ledger: self,
            pending: &valid.new_events,
        };
        let entries = self.entries_of(valid, time);
        let mut batch = WriteSet::default();
        self.write_entries(&mut batch, &entries, valid.events())?;
        affected.extend(NewEvents::of(first, valid.events()).offices(&view)?);
        touched.add(&view, first, valid.events())?;
        let head = Head {
            count,
            hash: entries.last().map_or(self.head.hash, |entry| entry.hash),
        };
        batch.insert(keys::META_HEAD, encode_head(head, time));
        Ok(Prepared { batch, head })
    }

    /// The entries of `valid`'s events, the next after the head, recorded at `time`.
    fn entries_of(&self, valid: &ValidBatch, time: &str) -> Vec<Entry> {
        let mut prev = self.head.hash;
        (self.head.count + 1..)
            .zip(valid.events())
            .map(|(seq, event)| {
                let entry = Entry::new(seq, time.to_owned(), prev, event.canonical_bytes());
                prev = entry.hash;
                entry
            })
            .collect()
    }

    /// Writes a validated batch in one atomic step, durable before it returns.
    fn write_whole(&mut self, valid: ValidBatch) -> Result<AppendReport, AppendError> {
        if !valid.events().is_empty() {
            let time = self.append_time();
            let prepared = self.prepare(&valid, &time)?;
            let (batch, undo) = prepared.batch.with_undo(&self.db, &self.path)?;
            // sled does not keep a batch whole when its own writes fail: the intent record
            // lets the next open undo whatever part of this one reached the disk.
            self.begin_append(self.head, prepared.head)?;
            if let Err(e) = self.write_durably(batch) {
                // The tree holds (some of) the batch, which was not acknowledged: take it back
                // out before an answer or the next append sees it.
                self.undo_append(undo);
                return Err(e.into());
            }
            self.end_append();
            // Only now, the append durable, does anything held in memory move.
            self.memo.note(valid.events());
            self.head = prepared.head;
            self.last_time = time;
        }
        let mut runs = Runs::default();
        runs.extend(valid.outcomes);
        Ok(AppendReport::new(runs, self.head))
    }

    /// Takes the parts of an append in parts back out (every key written put back as it was
    /// before the first part), then drops the intent record. In memory, the ledger is back at
    /// once; when the disk fails again, the intent record stays and the next open removes the
    /// parts (`crate::recovery`).
    fn roll_back(&mut self, originals: Originals, before: Head, time: String) {
        self.head = before;
        self.last_time = time;
        self.memo = Memo::default();
        if self.db.apply_batch(originals.into_batch()).is_ok() && self.db.flush().is_ok() {
            self.end_append();
            let _ = self.db.flush();
        }
    }

    /// Applies an append's batch, whole or not at all, and flushes it.
    fn write_durably(&self, batch: Batch) -> Result<(), StoreError> {
        self.db.apply_batch(batch).map_err(storage(&self.path))?;
        self.flush_durably()
    }

    /// Applies writes of an append in parts in slices (the intent record covers a crash
    /// between two of them: `crate::recovery`), and flushes them.
    fn write_in_slices(&self, writes: WriteSet) -> Result<(), StoreError> {
        writes.apply_in_slices(&self.db, &self.path)?;
        self.flush_durably()
    }

    /// Flushes what an append applied.
    fn flush_durably(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(storage(&self.path))?;
        if self.faults.append_flush_fails() {
            return Err(storage(&self.path)(sled::Error::Io(std::io::Error::other(
                "injected failure of the append's flush",
            ))));
        }
        Ok(())
    }

    /// Takes back out of the tree the batch of an append that failed (`undo` puts back every
    /// key it wrote), so that answers and the next append see the ledger as it was, then tries
    /// to make that durable and to drop the intent record. When the disk fails again, the
    /// intent record stays and the next open settles the append (`crate::recovery`).
    fn undo_append(&self, undo: Batch) {
        if self.db.apply_batch(undo).is_ok() && self.db.flush().is_ok() {
            self.end_append();
            let _ = self.db.flush();
        }
    }

    /// Puts into `batch` `entries`, the next after the head, in the log's chunks, and their
    /// index keys, postings and Merkle tree hashes (`events` are their events).
    pub(crate) fn write_entries(
        &self,
        batch: &mut impl Writes,
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
        batch: &mut impl Writes,
        entries: &[Entry],
        events: &[Event],
    ) -> Result<(), StoreError> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        let mut named = HashMap::new();
        let mut tree = TreeAppender::new(&self.db, &self.path, first.seq - 1);
        let mut postings = PostingWriter::default();
        for (entry, event) in entries.iter().zip(events) {
            tree.push(entry)?;
            add_index_keys(batch, &mut postings, &mut named, entry.seq, event);
        }
        postings.write(&self.db, &self.path, batch)?;
        crate::index::add_known_offices(batch, &self.db, &self.path, named)?;
        tree.write(batch)
    }
}

/// What an append in parts carries from part to part.
struct Parts {
    /// The position the batch follows.
    before: Seq,
    /// The recording time of every entry of the batch.
    time: String,
    originals: Originals,
    /// What became of each event, as runs (a batch of new events is one run, whatever its
    /// size), without hashes: [`Ledger::appended`] reads them back from the log.
    runs: Runs,
    /// Events per part.
    size: usize,
    /// The offices whose timelines the parts written change.
    affected: BTreeSet<OfficeId>,
    /// What else of the state the parts may change.
    touched: Touched,
}

/// The bytes of cache records written at a time at the end of an append in parts.
const CACHE_BATCH_BYTES: usize = 4 << 20;

/// The most events of a group of offices replayed at once at the end of an append in parts:
/// a rebuild's ([`crate::rebuild::GROUP_EVENTS`]). Each group reads the log once (an office's
/// events touch most of its chunks), so fewer, larger groups read it fewer times: at 1,000,000
/// events, groups of 20,000 read it once per office, 55 times, for 0.9x the time of the whole
/// append and the same peak memory as groups of 200,000 (`docs/PERFORMANCE.md`).
const FINISH_GROUP_EVENTS: usize = crate::rebuild::GROUP_EVENTS;

/// Up to `size` events: `first`, if given, then the next of `events`.
fn next_part<E>(
    events: &mut impl Iterator<Item = Result<InputEvent, E>>,
    first: Option<InputEvent>,
    size: usize,
) -> Result<Vec<InputEvent>, E> {
    let mut part = Vec::with_capacity(size.min(1024));
    part.extend(first);
    while part.len() < size {
        match events.next() {
            Some(event) => part.push(event?),
            None => break,
        }
    }
    Ok(part)
}
