//! Finishing or undoing an append that did not complete.
//!
//! sled applies a batch whole or not at all across a crash, but not after its own writes
//! fail: on a full filesystem, a batch whose flush had failed came back in part (chunks of its
//! end without the chunks before them, and without the new head record). The store does not
//! rely on that promise. Before an append writes anything, a durable intent record (`Mpending`)
//! names the head before and the head after; once the append is durable, the record is
//! removed. Opening a ledger that still has one settles the write:
//!
//! - when the log holds every entry up to the head after, each linked to the one before from
//!   the head before, the append is whole on disk (it may have been acknowledged: the process
//!   can die between the flush and the removal), and it is kept;
//! - otherwise it was never acknowledged, and the log is cut back to the head before, whose
//!   entry must still be there with its hash.
//!
//! An append in parts (`crate::append`) writes a record naming the head before alone while it
//! writes its parts, each flushed, and removes it in the one write that completes the batch
//! (the cache record at the new head): an open that finds the record "unfinished" cuts the log
//! back to the head before, since no part of such an append was ever acknowledged.
//!
//! Either way, any part of the interrupted batch may or may not be in the indexes, the query
//! cache and the stored Merkle hashes, so all of them are rebuilt from the log. Only then is the
//! intent record removed: a recovery interrupted in its turn is done again, and it decides the
//! same way, because it only ever removes what it would remove again.

use sled::Batch;

use actledger_core::Seq;

use crate::chunk;
use crate::entry::{Entry, Head};
use crate::error::{Damage, StoreError, damaged, storage};
use crate::index::Memo;
use crate::keys;
use crate::ledger::{Ledger, encode_head};
use crate::read::unparsable;
use crate::rebuild::{BoundedBatch, REMOVAL_COST};
use crate::writes::{WriteSet, Writes};

/// Entries read, indexed and written at a time while rebuilding the indexes.
const REBUILD_CHUNK: u64 = 10_000;

/// What opening a ledger did about an append that had not completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recovery {
    /// The append was whole on disk and is kept: the ledger's head is `head`.
    Kept {
        /// The head, with the append.
        head: Head,
    },
    /// The append was not whole on disk, was never acknowledged, and was undone.
    RolledBack {
        /// The head the ledger is back at.
        head: Head,
        /// How many entries the undone append would have added.
        undone: u64,
    },
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recovery::Kept { head } => write!(
                f,
                "an interrupted append was complete on disk and is kept ({} entries)",
                head.count
            ),
            Recovery::RolledBack { head, undone } => write!(
                f,
                "an interrupted append of {undone} entries, never acknowledged, was undone ({} entries)",
                head.count
            ),
        }
    }
}

/// The intent record of an append: the heads before and after it, or, while an append in
/// parts has parts still to write, the head before alone ("unfinished").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pending {
    pub before: Head,
    /// `None` while an append in parts is unfinished.
    pub after: Option<Head>,
}

const HEAD_LEN: usize = 8 + 32;

impl Pending {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 * HEAD_LEN);
        for head in std::iter::once(self.before).chain(self.after) {
            out.extend_from_slice(&head.count.to_be_bytes());
            out.extend_from_slice(&head.hash);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Pending> {
        let head = |bytes: &[u8]| {
            let (count, hash) = bytes.split_first_chunk::<8>()?;
            Some(Head {
                count: u64::from_be_bytes(*count),
                hash: hash.try_into().ok()?,
            })
        };
        match bytes.len() {
            HEAD_LEN => Some(Pending {
                before: head(bytes)?,
                after: None,
            }),
            len if len == 2 * HEAD_LEN => {
                let pending = Pending {
                    before: head(&bytes[..HEAD_LEN])?,
                    after: Some(head(&bytes[HEAD_LEN..])?),
                };
                let after = pending.after?;
                (pending.before.count < after.count).then_some(pending)
            }
            _ => None,
        }
    }
}

impl Ledger {
    /// Records, durably, that an append from `before` to `after` is about to be written.
    pub(crate) fn begin_append(&self, before: Head, after: Head) -> Result<(), StoreError> {
        self.write_intent(Pending {
            before,
            after: Some(after),
        })
    }

    /// Records, durably, that an append in parts from `before` is about to write its parts:
    /// until the write that completes the batch removes the record, an open removes them.
    pub(crate) fn begin_parts(&self, before: Head) -> Result<(), StoreError> {
        self.write_intent(Pending {
            before,
            after: None,
        })
    }

    fn write_intent(&self, pending: Pending) -> Result<(), StoreError> {
        self.db
            .insert(keys::META_PENDING, pending.encode())
            .map_err(storage(&self.path))?;
        self.db.flush().map_err(storage(&self.path))?;
        Ok(())
    }

    /// Takes note that the append begun last is durable. The removal needs no flush of its
    /// own: until it reaches the disk, the next open finds the append whole and keeps it.
    pub(crate) fn end_append(&self) {
        // The append is durable whatever happens here; a record left behind costs the next
        // open a rebuild of the indexes, never an entry.
        let _ = self.db.remove(keys::META_PENDING);
    }

    /// Settles an append that did not complete, if there is one (see the module's comment).
    pub(crate) fn recover(&mut self) -> Result<Option<Recovery>, StoreError> {
        let Some(record) = self
            .db
            .get(keys::META_PENDING)
            .map_err(storage(&self.path))?
        else {
            return Ok(None);
        };
        let pending =
            Pending::decode(&record).ok_or_else(|| damaged(&self.path, Damage::PendingRecord))?;
        // An unfinished append in parts ends, as far as it got, at the head its last part
        // written recorded.
        let after = pending.after.unwrap_or(self.head);
        let recovery = match pending.after {
            Some(after) if self.log_reaches(pending.before, after)? => {
                Recovery::Kept { head: after }
            }
            _ if self.log_holds(pending.before)? => Recovery::RolledBack {
                head: pending.before,
                undone: after.count.saturating_sub(pending.before.count),
            },
            _ => {
                return Err(damaged(
                    &self.path,
                    Damage::InterruptedAppend {
                        before: pending.before.count,
                        after: after.count,
                    },
                ));
            }
        };
        let head = match recovery {
            Recovery::Kept { head } | Recovery::RolledBack { head, .. } => head,
        };
        self.cut_log(head)?;
        self.rebuild_derived()?;
        self.db
            .remove(keys::META_PENDING)
            .map_err(storage(&self.path))?;
        self.db.flush().map_err(storage(&self.path))?;
        Ok(Some(recovery))
    }

    /// Whether the log holds every entry after `before` up to `after`, each sound and linked
    /// to the one before.
    fn log_reaches(&self, before: Head, after: Head) -> Result<bool, StoreError> {
        let mut expected = before.count + 1;
        let mut prev = before.hash;
        let start = keys::entry(chunk::chunk_first(expected));
        let mut body = chunk::Body::default();
        for item in self.db.range(start..) {
            let (key, value) = item.map_err(storage(&self.path))?;
            let Some(first) = keys::entry_seq(&key) else {
                break; // past the log
            };
            let Ok(reader) = body.open(first, &value) else {
                return Ok(false);
            };
            for stored in reader {
                let Ok(stored) = stored else {
                    return Ok(false);
                };
                if stored.seq < expected {
                    continue;
                }
                let sound = stored.seq == expected
                    && stored.prev == prev
                    && Entry::compute_hash(stored.seq, stored.time, &stored.prev, stored.event)
                        == stored.hash;
                if !sound {
                    return Ok(false);
                }
                prev = stored.hash;
                if expected == after.count {
                    return Ok(prev == after.hash);
                }
                expected += 1;
            }
        }
        Ok(false)
    }

    /// Whether the log holds the entry of `head` with its hash (an empty head always).
    fn log_holds(&self, head: Head) -> Result<bool, StoreError> {
        if head.count == 0 {
            return Ok(true);
        }
        match self.stored(head.count) {
            Ok(stored) => Ok(stored.map(|(_, hash)| hash) == Some(head.hash)),
            Err(StoreError::Broken { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Removes every entry after `head` and writes `head` as the head record, durably.
    fn cut_log(&mut self, head: Head) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        let tail = chunk::chunk_first(head.count);
        let mut time = String::new();
        // Only the tail chunk and those after it change (with no head, the tail is the first).
        for item in self.db.range(keys::entry(tail)..=keys::entry(Seq::MAX)) {
            let (key, value) = item.map_err(storage(&self.path))?;
            let Some(first) = keys::entry_seq(&key) else {
                continue;
            };
            if head.count == 0 || first > tail {
                batch.remove(key);
            } else if first == tail {
                let mut entries = chunk::decode(first, &value)
                    .map_err(|(seq, error)| damaged(&self.path, Damage::Entry { seq, error }))?;
                entries.truncate((head.count - first + 1) as usize);
                time = entries.last().map(|e| e.time.clone()).unwrap_or_default();
                batch.insert(key, chunk::encode(&entries));
            }
        }
        batch.insert(keys::META_HEAD, encode_head(head, &time));
        self.db.apply_batch(batch).map_err(storage(&self.path))?;
        self.db.flush().map_err(storage(&self.path))?;
        self.head = head;
        self.last_time = time;
        Ok(())
    }

    /// Rebuilds every table derived from the log: the indexes, the stored Merkle hashes and
    /// the query cache.
    pub(crate) fn rebuild_derived(&mut self) -> Result<(), StoreError> {
        let mut writer = BoundedBatch::new(&self.db, &self.path);
        for prefix in keys::DERIVED {
            for item in self.db.scan_prefix([prefix]) {
                let (key, _) = item.map_err(storage(&self.path))?;
                writer.counted(key.len() + REMOVAL_COST)?;
                writer.batch.remove(key);
            }
        }
        writer.batch.remove(keys::META_CACHE);
        // The tree record counts no leaf until the tree is rebuilt below (an empty log
        // rebuilds none, and must still have it).
        writer
            .batch
            .insert(keys::META_TREE, &0u64.to_be_bytes()[..]);
        writer.apply()?;
        // The memo starts empty; its sets load from the rebuilt tables when asked.
        self.memo = Memo::default();
        let mut next: Seq = 1;
        while next <= self.head.count {
            let entries: Vec<Entry> = self
                .entries(next)
                .take(REBUILD_CHUNK as usize)
                .collect::<Result<_, _>>()?;
            let events = entries
                .iter()
                .map(|entry| entry.event().map_err(|e| unparsable(entry.seq, e)))
                .collect::<Result<Vec<_>, _>>()?;
            let mut batch = WriteSet::default();
            self.index_into(&mut batch, &entries, &events)?;
            batch.apply_in_slices(&self.db, &self.path)?;
            // A flush per batch (before writes went to sled in slices, a repair of 1,000,000
            // entries without it peaked at 2.3 GB).
            self.db.flush().map_err(storage(&self.path))?;
            next += entries.len() as u64;
            if entries.is_empty() {
                // The chunks end before the head: nothing more to index (verify reports it).
                break;
            }
        }
        self.db.flush().map_err(storage(&self.path))?;
        self.rebuild_cache()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_intent_record_round_trips_and_refuses_nonsense() {
        let before = Head {
            count: 7,
            hash: [1; 32],
        };
        let after = Head {
            count: 9,
            hash: [2; 32],
        };
        let pending = Pending {
            before,
            after: Some(after),
        };
        assert_eq!(Pending::decode(&pending.encode()), Some(pending));
        assert_eq!(Pending::decode(&pending.encode()[1..]), None);
        let unfinished = Pending {
            before,
            after: None,
        };
        assert_eq!(unfinished.encode().len(), 40);
        assert_eq!(Pending::decode(&unfinished.encode()), Some(unfinished));
        assert_eq!(Pending::decode(&unfinished.encode()[1..]), None);
        let backwards = Pending {
            before: after,
            after: Some(before),
        };
        assert_eq!(Pending::decode(&backwards.encode()), None);
    }
}
