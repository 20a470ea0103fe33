//! Appending: validating a batch and writing its entries, indexes, tree hashes and cache
//! records in one atomic step, durable before it is acknowledged.

use std::collections::HashMap;

use chrono::Utc;
use sled::Batch;

use actledger_core::{
    BatchError, Event, Indexed, InputEvent, NewEvents, Outcome, Seq, WithPending, validate_batch,
};

use crate::chunk;
use crate::entry::{Entry, Head, format_time};
use crate::error::{AppendError, StoreError, storage};
use crate::index::add_index_keys;
use crate::keys;
use crate::ledger::{Ledger, encode_cache_record, encode_head};
use crate::postings::PostingWriter;
use crate::tree::TreeAppender;
use crate::writes::{Undoable, Writes};

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

impl Ledger {
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
            let mut batch = Undoable::default();
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
            let (batch, undo) = batch.with_undo(&self.db, &self.path)?;
            // sled does not keep a batch whole when its own writes fail: the intent record
            // lets the next open undo whatever part of this one reached the disk.
            self.begin_append(self.head, head)?;
            if let Err(e) = self.write_durably(batch) {
                // The tree holds (some of) the batch, which was not acknowledged: take it back
                // out before an answer or the next append sees it.
                self.undo_append(undo);
                return Err(e.into());
            }
            self.end_append();
            // Only now, the append durable, does anything held in memory move.
            self.memo.note(valid.events());
            self.head = head;
            self.last_time = time;
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

    /// Applies an append's batch and flushes it.
    fn write_durably(&self, batch: Batch) -> Result<(), StoreError> {
        self.db.apply_batch(batch).map_err(storage(&self.path))?;
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
