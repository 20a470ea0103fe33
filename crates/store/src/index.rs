//! The indexes and the query cache: the core's [`Recorded`] and [`Indexed`] over the tables of
//! the one sled tree.
//!
//! The indexes are written in the same atomic batch as the entries they index, by
//! [`add_index_keys`] from the core's [`index_entries`], so the store indexes exactly as the
//! core's `MemoryLedger` does. The cache holds each office's timeline at the head, segments
//! apart (`S`, one lookup answers "who held it on D") and the rest by part (`W`); it is
//! versioned, rewritten with every append for the offices the append affects, rebuilt from the
//! log when missing or stale, and never read by verification.

use std::collections::{BTreeMap, HashSet};

use serde_json::from_slice;
use sled::Batch;

use actledger_core::{
    ActId, Day, Event, EventDigest, IndexEntry, Indexed, OfficeId, PersonId, Recorded, Segment,
    Seq, Timeline, index_entries,
};

use crate::error::StoreError;
use crate::keys;
use crate::ledger::{Ledger, storage};

/// The version of the cache's layout and content. Change it whenever either changes (the
/// core's timeline rules included): a ledger whose cache has another version rebuilds it.
pub const CACHE_VERSION: u32 = 1;

/// What the store keeps in memory beside the tables, all derived from them: decoded events
/// (replay reads the same events again and again), and the positions that some retraction
/// names and the acts that some revocation names. Retractions and revocations are rare, while
/// replay asks about them for every event it reads: the sets answer "none" without a scan.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    events: std::sync::Mutex<std::collections::HashMap<Seq, Event>>,
    retracted: HashSet<Seq>,
    revoked: HashSet<ActId>,
    known_offices: HashSet<OfficeId>,
}

/// How many decoded events the memo holds before it starts over.
const EVENT_CACHE_LEN: usize = 1 << 16;

impl Memo {
    /// Loads the sets from the indexes.
    pub(crate) fn load(db: &sled::Db, path: &std::path::Path) -> Result<Memo, StoreError> {
        let mut memo = Memo::default();
        for item in db.scan_prefix([keys::RETRACTED]) {
            let (key, _) = item.map_err(storage(path))?;
            if let Some(target) = key.get(1..9).and_then(keys::seq_suffix) {
                memo.retracted.insert(target);
            }
        }
        for item in db.scan_prefix([keys::REVOKED]) {
            let (key, _) = item.map_err(storage(path))?;
            let act = key[1..].split(|b| *b == 0).next().unwrap_or_default();
            if let Some(act) = std::str::from_utf8(act)
                .ok()
                .and_then(|a| ActId::new(a).ok())
            {
                memo.revoked.insert(act);
            }
        }
        for item in db.scan_prefix([keys::KNOWN]) {
            let (key, _) = item.map_err(storage(path))?;
            if let Some(office) = std::str::from_utf8(&key[1..])
                .ok()
                .and_then(|o| OfficeId::new(o).ok())
            {
                memo.known_offices.insert(office);
            }
        }
        Ok(memo)
    }

    /// Takes note of events just written.
    pub(crate) fn note<'a>(&mut self, events: impl IntoIterator<Item = &'a Event>) {
        for event in events {
            match event {
                Event::RecordRetracted(r) => {
                    self.retracted.insert(r.seq);
                }
                Event::ActRevoked(r) => {
                    self.revoked.insert(r.revokes.clone());
                }
                _ => {}
            }
            self.known_offices.extend(event.named_offices().cloned());
        }
    }

    fn get(&self, seq: Seq) -> Option<Event> {
        self.events.lock().ok()?.get(&seq).cloned()
    }

    fn put(&self, seq: Seq, event: &Event) {
        if let Ok(mut map) = self.events.lock() {
            if map.len() >= EVENT_CACHE_LEN {
                map.clear();
            }
            map.insert(seq, event.clone());
        }
    }
}

/// Adds the index keys of the event at `seq` to `batch`.
pub(crate) fn add_index_keys(batch: &mut Batch, memo: &Memo, seq: Seq, event: &Event) {
    for entry in index_entries(event) {
        match entry {
            IndexEntry::Digest(d) => {
                let mut key = Vec::with_capacity(33);
                key.push(keys::DIGEST);
                key.extend_from_slice(&d);
                batch.insert(key, &seq.to_be_bytes());
            }
            IndexEntry::Act(a) => batch.insert(keys::named(keys::ACT, a.as_str(), seq), &[]),
            IndexEntry::Revokes(a) => {
                batch.insert(keys::named(keys::REVOKED, a.as_str(), seq), &[]);
            }
            IndexEntry::Retracts(s) => batch.insert(&keys::retracted(s, seq), &[]),
            IndexEntry::Office(o) => batch.insert(keys::named(keys::OFFICE, o.as_str(), seq), &[]),
            IndexEntry::Person(p) => batch.insert(keys::named(keys::PERSON, p.as_str(), seq), &[]),
            IndexEntry::KnownOffice(o) if !memo.known_offices.contains(&o) => {
                let mut key = Vec::with_capacity(o.as_str().len() + 1);
                key.push(keys::KNOWN);
                key.extend_from_slice(o.as_str().as_bytes());
                batch.insert(key, &[]);
            }
            IndexEntry::KnownOffice(_) => {}
        }
    }
}

/// The parts of a timeline stored under `W`, each list item under its own key.
const TENURES: u8 = b't';
const DELEGATIONS: u8 = b'd';
const TRIPS: u8 = b'r';
const DEPARTURES: u8 = b'l';

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("timeline parts are plain data and always serialize")
}

/// Every cache key and value of one office's timeline.
fn timeline_records(timeline: &Timeline) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let office = timeline.office.as_str();
    let mut records = BTreeMap::new();
    let segment_prefix = keys::named_prefix(keys::SEGMENT, office);
    for segment in &timeline.segments {
        let mut key = segment_prefix.clone();
        key.extend_from_slice(&segment.from.ordinal().to_be_bytes());
        records.insert(key, json(segment));
    }
    let part_prefix = keys::named_prefix(keys::TIMELINE, office);
    let mut part = |tag: u8, items: Vec<Vec<u8>>| {
        for (i, value) in items.into_iter().enumerate() {
            let mut key = part_prefix.clone();
            key.push(tag);
            key.extend_from_slice(&u32::try_from(i).unwrap_or(u32::MAX).to_be_bytes());
            records.insert(key, value);
        }
    };
    part(TENURES, timeline.tenures.iter().map(json).collect());
    part(DELEGATIONS, timeline.delegations.iter().map(json).collect());
    part(TRIPS, timeline.trips.iter().map(json).collect());
    part(DEPARTURES, timeline.departures.iter().map(json).collect());
    records
}

/// Adds an office's cache records to a batch that already removes every old one.
pub(crate) fn insert_timeline(batch: &mut Batch, timeline: &Timeline) {
    for (key, value) in timeline_records(timeline) {
        batch.insert(key, value);
    }
}

impl Ledger {
    fn unreadable(&self, what: &str, error: impl std::fmt::Display) -> StoreError {
        StoreError::Damaged {
            path: self.path.clone(),
            reason: format!("{what} is unreadable: {error}"),
        }
    }

    /// Rewrites an office's cache records in `batch`, touching only the keys that change (an
    /// append usually adds to the end of a timeline, so most records stay as they are).
    pub(crate) fn write_timeline(
        &self,
        batch: &mut Batch,
        timeline: &Timeline,
    ) -> Result<(), StoreError> {
        let mut new = timeline_records(timeline);
        let office = timeline.office.as_str();
        for prefix in [keys::SEGMENT, keys::TIMELINE] {
            for item in self.db.scan_prefix(keys::named_prefix(prefix, office)) {
                let (key, old) = item.map_err(storage(&self.path))?;
                match new.remove(key.as_ref()) {
                    Some(value) if value == old.as_ref() => {}
                    Some(value) => batch.insert(key, value),
                    None => batch.remove(key),
                }
            }
        }
        for (key, value) in new {
            batch.insert(key, value);
        }
        Ok(())
    }

    fn seqs_under(&self, prefix: &[u8]) -> Result<Vec<Seq>, StoreError> {
        let mut seqs = Vec::new();
        for item in self.db.scan_prefix(prefix) {
            let (key, _) = item.map_err(storage(&self.path))?;
            match keys::seq_suffix(&key) {
                Some(seq) if key.len() == prefix.len() + 8 => seqs.push(seq),
                _ => return Err(self.unreadable("an index key", "malformed")),
            }
        }
        Ok(seqs)
    }
}

impl Recorded for Ledger {
    type Error = StoreError;

    fn head(&self) -> Seq {
        self.head.count
    }

    fn event(&self, seq: Seq) -> Result<Event, StoreError> {
        if let Some(event) = self.memo.get(seq) {
            return Ok(event);
        }
        let event = self.read_event(seq)?;
        self.memo.put(seq, &event);
        Ok(event)
    }

    fn find_digest(&self, digest: &EventDigest) -> Result<Option<Seq>, StoreError> {
        let mut key = Vec::with_capacity(33);
        key.push(keys::DIGEST);
        key.extend_from_slice(digest);
        match self.db.get(key).map_err(storage(&self.path))? {
            None => Ok(None),
            Some(value) => <[u8; 8]>::try_from(value.as_ref())
                .map(|b| Some(Seq::from_be_bytes(b)))
                .map_err(|_| self.unreadable("a digest record", "malformed")),
        }
    }

    fn events_of_act(&self, act: &ActId) -> Result<Vec<Seq>, StoreError> {
        self.seqs_under(&keys::named_prefix(keys::ACT, act.as_str()))
    }

    fn revocations_of(&self, act: &ActId) -> Result<Vec<Seq>, StoreError> {
        if !self.memo.revoked.contains(act) {
            return Ok(Vec::new());
        }
        self.seqs_under(&keys::named_prefix(keys::REVOKED, act.as_str()))
    }

    fn retractions_of(&self, seq: Seq) -> Result<Vec<Seq>, StoreError> {
        if !self.memo.retracted.contains(&seq) {
            return Ok(Vec::new());
        }
        self.seqs_under(&keys::retracted_prefix(seq))
    }

    fn office_events(&self, office: &OfficeId) -> Result<Vec<Seq>, StoreError> {
        self.seqs_under(&keys::named_prefix(keys::OFFICE, office.as_str()))
    }

    fn person_events(&self, person: &PersonId) -> Result<Vec<Seq>, StoreError> {
        self.seqs_under(&keys::named_prefix(keys::PERSON, person.as_str()))
    }

    fn offices(&self) -> Result<Vec<OfficeId>, StoreError> {
        let mut offices = Vec::new();
        for item in self.db.scan_prefix([keys::KNOWN]) {
            let (key, _) = item.map_err(storage(&self.path))?;
            let office = std::str::from_utf8(&key[1..])
                .ok()
                .and_then(|text| OfficeId::new(text).ok())
                .ok_or_else(|| self.unreadable("a known office", "not an identifier"))?;
            offices.push(office);
        }
        Ok(offices)
    }
}

impl Indexed for Ledger {
    fn head_timeline(&self, office: &OfficeId) -> Result<Option<Timeline>, StoreError> {
        let mut timeline = Timeline {
            office: office.clone(),
            segments: Vec::new(),
            tenures: Vec::new(),
            delegations: Vec::new(),
            trips: Vec::new(),
            departures: Vec::new(),
        };
        let mut found = false;
        for item in self
            .db
            .scan_prefix(keys::named_prefix(keys::SEGMENT, office.as_str()))
        {
            let (_, value) = item.map_err(storage(&self.path))?;
            timeline
                .segments
                .push(from_slice(&value).map_err(|e| self.unreadable("a segment", e))?);
            found = true;
        }
        let prefix = keys::named_prefix(keys::TIMELINE, office.as_str());
        for item in self.db.scan_prefix(&prefix) {
            let (key, value) = item.map_err(storage(&self.path))?;
            let bad = |e: serde_json::Error| self.unreadable("a timeline part", e);
            match key.get(prefix.len()) {
                Some(&TENURES) => timeline.tenures.push(from_slice(&value).map_err(bad)?),
                Some(&DELEGATIONS) => timeline.delegations.push(from_slice(&value).map_err(bad)?),
                Some(&TRIPS) => timeline.trips.push(from_slice(&value).map_err(bad)?),
                Some(&DEPARTURES) => timeline.departures.push(from_slice(&value).map_err(bad)?),
                _ => return Err(self.unreadable("a timeline key", "unknown part")),
            }
            found = true;
        }
        Ok(found.then_some(timeline))
    }

    fn head_segment(&self, office: &OfficeId, day: Day) -> Result<Option<Segment>, StoreError> {
        let prefix = keys::named_prefix(keys::SEGMENT, office.as_str());
        let mut upto = prefix.clone();
        upto.extend_from_slice(&day.ordinal().to_be_bytes());
        let Some(item) = self.db.range(prefix..=upto).next_back() else {
            return Ok(None);
        };
        let (_, value) = item.map_err(storage(&self.path))?;
        let segment: Segment = from_slice(&value).map_err(|e| self.unreadable("a segment", e))?;
        Ok(segment.covers(day).then_some(segment))
    }
}
