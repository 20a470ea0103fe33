//! The rebuild of the cache of timelines at the head (`S` and `W` records), and of the names
//! and the answers' state kept beside them (`N` and `V`, `crate::state`), from the log.
//!
//! An office's events are spread over the whole log (an office shapes one event in fifty or
//! so), so replaying the offices one after the other, each reading its own events, reads
//! every chunk of the log once per office. Instead the offices are taken in groups: the
//! events of a group's offices are read in one pass in log order, each chunk once, and kept
//! as their stored bytes (a few hundred bytes each) while the group's timelines are
//! replayed. Memory is bounded by [`GROUP_EVENTS`] events, or the events of the largest
//! office when it has more (replaying an office holds its events anyway), whatever the number
//! of offices and events.

use std::collections::BTreeMap;
use std::path::Path;

use sled::Db;

use actledger_core::{ActId, Event, OfficeId, PersonId, Recorded, Seq, Timeline, timeline_as_of};

use crate::entry::{EntryError, parse_event_bytes};
use crate::error::StoreError;
use crate::error::storage;
use crate::keys;
use crate::ledger::{Ledger, encode_cache_record};
use crate::read::unparsable;
use crate::state::{HeadNames, OfficeState, insert_state};
use crate::writes::{WriteSet, Writes};

/// The most events of a group of offices, kept while the group's timelines are replayed: at a
/// few hundred bytes each, tens of megabytes. An office with more events is a group alone.
pub(crate) const GROUP_EVENTS: usize = 200_000;

impl Ledger {
    /// Recomputes every office's cached timeline from the log and writes them in bounded
    /// batches. The cache record is removed (durably) first and written last: until the
    /// rebuild completes, the cache vouches for nothing, and an interrupted rebuild is done
    /// again by the next open.
    pub(crate) fn rebuild_cache(&self) -> Result<(), StoreError> {
        self.rebuild_cache_in_groups(GROUP_EVENTS)
    }

    /// [`Ledger::rebuild_cache`] with groups of at most `events_per_group` events.
    pub(crate) fn rebuild_cache_in_groups(
        &self,
        events_per_group: usize,
    ) -> Result<(), StoreError> {
        self.db
            .remove(keys::META_CACHE)
            .map_err(storage(&self.path))?;
        self.db.flush().map_err(storage(&self.path))?;
        let mut writer = BoundedBatch::new(&self.db, &self.path);
        for prefix in [
            keys::SEGMENT,
            keys::TIMELINE,
            keys::NAME,
            keys::STATE,
            keys::SEGMENT_HASHES,
        ] {
            for item in self.db.scan_prefix([prefix]) {
                let (key, _) = item.map_err(storage(&self.path))?;
                writer.counted(key.len() + REMOVAL_COST)?;
                writer.batch.remove(key);
            }
        }
        writer.apply()?;
        // The names first; the offices' leaves then name persons from them, in memory.
        let named = self.names_at_head()?;
        for (person, name) in &named {
            if let Some(name) = name {
                let key = keys::id_key(keys::NAME, person.as_str());
                writer.counted(key.len() + name.len())?;
                writer.batch.insert(key, name.as_bytes());
            }
        }
        writer.apply()?;
        let offices = self.offices()?;
        let mut names = HeadNames::new(self, named);
        self.each_timeline(offices, events_per_group, &mut |timeline| {
            let mut bytes = crate::cache::insert_timeline(&mut writer.batch, timeline);
            let (leaf, hashes) = OfficeState::kept_of(timeline, |person| names.of(person))?;
            // The old records are removed above: none is stored, every block is written.
            bytes += insert_state(&mut writer.batch, &leaf, &hashes, BTreeMap::new());
            writer.counted(bytes)
        })?;
        // Applied and flushed: the cache record vouches for the records only once they are
        // durable (sled may keep part of a batch whose writes failed).
        writer.apply()?;
        self.db
            .insert(keys::META_CACHE, &encode_cache_record(self.head.count))
            .map_err(storage(&self.path))?;
        self.db.flush().map_err(storage(&self.path))?;
        Ok(())
    }
}

impl Ledger {
    /// Replays the timeline at the head of each of `offices` and shows it to `f`, the offices
    /// in groups of at most `events_per_group` events, each group's events read in one pass
    /// in log order (the module's comment says why). Both the rebuild and the verification of
    /// the cache go through here, so the cache is checked against exactly what it is built
    /// from.
    pub(crate) fn each_timeline(
        &self,
        offices: Vec<OfficeId>,
        events_per_group: usize,
        f: &mut dyn FnMut(&Timeline) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let count = self.head.count;
        // How many events each office has; their positions are read again group by group, so
        // that only one group's are held.
        let mut sized = Vec::with_capacity(offices.len());
        for office in offices {
            let events = self.office_events_up_to(&office, count)?.len();
            sized.push((office, events));
        }
        for group in groups(sized, events_per_group) {
            let mut wanted: Vec<Seq> = Vec::new();
            for (office, _) in &group {
                wanted.extend(self.office_events_up_to(office, count)?);
            }
            wanted.sort_unstable();
            wanted.dedup();
            let read = ReadAhead::read(self, wanted)?;
            for (office, _) in &group {
                f(&timeline_as_of(&read, office, count)?)?;
            }
        }
        Ok(())
    }
}

impl Ledger {
    /// The positions of the events shaping `office`, up to `count`.
    fn office_events_up_to(&self, office: &OfficeId, count: Seq) -> Result<Vec<Seq>, StoreError> {
        let mut seqs = self.office_events(office)?;
        seqs.retain(|&seq| seq <= count);
        Ok(seqs)
    }
}

/// Consecutive offices (with their numbers of events) in groups of at most `limit` events, an
/// office with more in a group of its own.
fn groups<T>(offices: Vec<(T, usize)>, limit: usize) -> Vec<Vec<(T, usize)>> {
    let mut groups: Vec<Vec<(T, usize)>> = Vec::new();
    let mut events = 0;
    for office in offices {
        let more = office.1;
        match groups.last_mut() {
            Some(group) if events + more <= limit => group.push(office),
            _ => {
                groups.push(vec![office]);
                events = 0;
            }
        }
        events += more;
    }
    groups
}

/// The ledger, with the stored bytes of some of its events read ahead in one pass: replay
/// asks for those events one office at a time, and for a few others (revocations,
/// retractions), which are read as usual.
struct ReadAhead<'a> {
    ledger: &'a Ledger,
    /// The positions read ahead, ascending.
    seqs: Vec<Seq>,
    /// Where each event's bytes end in `bytes`.
    ends: Vec<usize>,
    bytes: Vec<u8>,
}

impl<'a> ReadAhead<'a> {
    fn read(ledger: &'a Ledger, seqs: Vec<Seq>) -> Result<ReadAhead<'a>, StoreError> {
        let mut ends = Vec::with_capacity(seqs.len());
        let mut bytes = Vec::new();
        let missing = ledger.each_stored(&seqs, &mut |stored| {
            bytes.extend_from_slice(stored.event);
            ends.push(bytes.len());
        })?;
        if let Some(seq) = missing {
            return Err(unparsable(seq, EntryError::Missing));
        }
        Ok(ReadAhead {
            ledger,
            seqs,
            ends,
            bytes,
        })
    }

    /// The stored bytes of the event at `seq`, when it was read ahead.
    fn stored(&self, seq: Seq) -> Option<&[u8]> {
        let at = self.seqs.binary_search(&seq).ok()?;
        let start = if at == 0 { 0 } else { self.ends[at - 1] };
        Some(&self.bytes[start..self.ends[at]])
    }
}

impl Recorded for ReadAhead<'_> {
    type Error = StoreError;

    fn head(&self) -> Seq {
        Recorded::head(self.ledger)
    }

    fn event(&self, seq: Seq) -> Result<Event, StoreError> {
        match self.stored(seq) {
            Some(bytes) => parse_event_bytes(bytes).map_err(|e| unparsable(seq, e)),
            None => self.ledger.event(seq),
        }
    }

    fn find_identical(&self, event: &Event) -> Result<Option<Seq>, StoreError> {
        self.ledger.find_identical(event)
    }

    fn events_of_act(&self, act: &ActId) -> Result<Vec<Seq>, StoreError> {
        self.ledger.events_of_act(act)
    }

    fn revocations_of(&self, act: &ActId) -> Result<Vec<Seq>, StoreError> {
        self.ledger.revocations_of(act)
    }

    fn retractions_of(&self, seq: Seq) -> Result<Vec<Seq>, StoreError> {
        self.ledger.retractions_of(seq)
    }

    fn office_events(&self, office: &OfficeId) -> Result<Vec<Seq>, StoreError> {
        self.ledger.office_events(office)
    }

    fn person_events(&self, person: &PersonId) -> Result<Vec<Seq>, StoreError> {
        self.ledger.person_events(person)
    }

    fn known_office(&self, office: &str) -> Result<Option<OfficeId>, StoreError> {
        self.ledger.known_office(office)
    }

    fn offices(&self) -> Result<Vec<OfficeId>, StoreError> {
        self.ledger.offices()
    }

    fn first_naming(&self, office: &OfficeId) -> Result<Option<Seq>, StoreError> {
        self.ledger.first_naming(office)
    }
}

/// The bytes of keys and values a rebuild writes between two flushes, handed to sled in
/// slices ([`WriteSet::apply_in_slices`], which is what bounds sled's memory): large enough
/// that flushes are few, small enough that the writes held stay a few megabytes. Counted in
/// bytes, not records: records grew from tens of bytes to kilobytes with the blocks of cache
/// version 4.
const REBUILD_BATCH_BYTES: usize = 4 << 20;

/// What a removal counts for in [`BoundedBatch`]'s bytes beyond its key's: it changes a page
/// far larger than the key (counting the keys alone, before writes went to sled in slices,
/// removing the derived tables of 100,000 entries took 180 MiB).
pub(crate) const REMOVAL_COST: usize = 1024;

/// Writes applied (in slices) and flushed whenever they hold [`REBUILD_BATCH_BYTES`] bytes.
pub(crate) struct BoundedBatch<'a> {
    db: &'a Db,
    path: &'a Path,
    pub(crate) batch: WriteSet,
    bytes: usize,
}

impl<'a> BoundedBatch<'a> {
    pub(crate) fn new(db: &'a Db, path: &'a Path) -> Self {
        BoundedBatch {
            db,
            path,
            batch: WriteSet::default(),
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
        std::mem::take(&mut self.batch).apply_in_slices(self.db, self.path)?;
        // Durable before a record that vouches for it is written.
        self.db.flush().map_err(storage(self.path))?;
        self.bytes = 0;
        Ok(())
    }
}

impl Ledger {
    /// Rebuilds the cache unless it is of this version and reflects the head.
    pub(crate) fn ensure_cache(&self) -> Result<(), StoreError> {
        let record = self.db.get(keys::META_CACHE).map_err(storage(&self.path))?;
        if record.as_deref() != Some(&encode_cache_record(self.head.count)[..]) {
            self.rebuild_cache()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::groups;

    fn sizes(groups: &[Vec<(char, usize)>]) -> Vec<Vec<char>> {
        groups
            .iter()
            .map(|group| group.iter().map(|(name, _)| *name).collect())
            .collect()
    }

    #[test]
    fn offices_are_grouped_up_to_the_limit_and_a_large_one_alone() {
        let offices = vec![('a', 2), ('b', 1), ('c', 5), ('d', 1), ('e', 2)];
        let grouped = groups(offices, 3);
        assert_eq!(
            sizes(&grouped),
            vec![vec!['a', 'b'], vec!['c'], vec!['d', 'e']]
        );
    }

    #[test]
    fn no_office_no_group() {
        assert!(groups(Vec::<(char, usize)>::new(), 3).is_empty());
    }
}
