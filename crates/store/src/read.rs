//! Reading entries back: by position, in order from a position, by recording time, each one
//! checked against its own hash before it becomes an answer.

use chrono::{DateTime, Utc};

use actledger_core::{Event, Seq};

use crate::chunk;
use crate::entry::{Entry, EntryError, Stored};
use crate::error::{Damage, Problem, StoreError, damaged, storage};
use crate::keys;
use crate::ledger::Ledger;

impl Ledger {
    /// The last stored entry (the last of the last chunk), whatever the head record says,
    /// checked as any entry read for an answer is (its hash is the hash of its fields).
    pub(crate) fn last_stored(&self) -> Result<Option<Entry>, StoreError> {
        let Some(item) = self.db.scan_prefix([keys::ENTRY]).next_back() else {
            return Ok(None);
        };
        let (key, value) = item.map_err(storage(&self.path))?;
        let first = keys::entry_seq(&key).ok_or_else(|| damaged(&self.path, Damage::EntryKey))?;
        let unreadable =
            |error: EntryError| damaged(&self.path, Damage::Entry { seq: first, error });
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
                problem: Problem::Unparsable(e.to_string()),
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

    /// The event at `seq`, read from the log (for [`Recorded::event`]).
    pub(crate) fn read_event(&self, seq: Seq) -> Result<Event, StoreError> {
        match self.with_stored(seq, |stored| crate::entry::parse_event_bytes(stored.event))? {
            Some(event) => event.map_err(|e| unparsable(seq, e)),
            None => Err(unparsable(seq, EntryError::Missing)),
        }
    }

    /// The events at the positions `seqs` (in any order, repeats allowed), by position, each
    /// checked as any entry read for an answer is. A log chunk holds many entries, so the
    /// positions are read in order, each chunk unpacked once: what an answer that names many
    /// events (an office's trips and leaves) reads instead of one event at a time.
    pub fn events_at(
        &self,
        seqs: impl IntoIterator<Item = Seq>,
    ) -> Result<std::collections::BTreeMap<Seq, Event>, StoreError> {
        let wanted: std::collections::BTreeSet<Seq> = seqs.into_iter().collect();
        let wanted: Vec<Seq> = wanted.into_iter().collect();
        let mut events = std::collections::BTreeMap::new();
        let mut failed = None;
        let missing = self.each_stored(&wanted, &mut |stored| {
            if failed.is_some() {
                return;
            }
            match crate::entry::parse_event_bytes(stored.event) {
                Ok(event) => {
                    events.insert(stored.seq, event);
                }
                Err(e) => failed = Some(unparsable(stored.seq, e)),
            }
        })?;
        if let Some(error) = failed {
            return Err(error);
        }
        if let Some(seq) = missing {
            return Err(unparsable(seq, EntryError::Missing));
        }
        Ok(events)
    }
}

/// An entry that cannot be read.
pub(crate) fn unparsable(seq: Seq, e: EntryError) -> StoreError {
    StoreError::Broken {
        seq,
        problem: Problem::Unparsable(e.to_string()),
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
