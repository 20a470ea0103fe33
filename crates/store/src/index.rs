//! The indexes and the query cache: the core's [`Recorded`] and [`Indexed`] over the tables of
//! the one sled tree.
//!
//! The indexes are written in the same atomic batch as the entries they index, by
//! [`add_index_keys`] from the core's [`index_entries`], so the store indexes exactly as the
//! core's `MemoryLedger` does (but for the digest, which it does not store: duplicates are
//! found through the act postings). The cache holds each office's timeline at the head, segments
//! apart (`S`, one lookup answers "who held it on D") and the rest by part (`W`); it is
//! versioned, rewritten with every append for the offices the append affects, rebuilt from the
//! log when missing or stale, and never read by verification.

use std::collections::{BTreeMap, HashSet};

use serde_json::from_slice;
use sled::Batch;

use actledger_core::{
    ActId, Day, Event, IndexEntry, Indexed, OfficeId, PersonId, Recorded, Segment, Seq, Timeline,
    index_entries,
};

use crate::error::StoreError;
use crate::keys;
use crate::ledger::{Ledger, storage};
use crate::postings::PostingWriter;

/// The version of the cache's layout and content. Change it whenever either changes (the
/// core's timeline rules included): a ledger whose cache has another version rebuilds it.
/// Version 2 added the checksum before every record's JSON.
pub const CACHE_VERSION: u32 = 2;

/// The bytes of a cache record's checksum: the first 8 bytes of SHA-256 over a domain tag,
/// the record's key and its JSON.
const CHECKSUM_LEN: usize = 8;

fn checksum(key: &[u8], json: &[u8]) -> [u8; CHECKSUM_LEN] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"actledger/cache\0");
    h.update(u32::try_from(key.len()).unwrap_or(u32::MAX).to_be_bytes());
    h.update(key);
    h.update(json);
    let digest = h.finalize();
    let mut out = [0; CHECKSUM_LEN];
    out.copy_from_slice(&digest[..CHECKSUM_LEN]);
    out
}

/// A cache record's value: its checksum, then its JSON.
fn sealed(key: &[u8], json: Vec<u8>) -> Vec<u8> {
    let mut value = Vec::with_capacity(CHECKSUM_LEN + json.len());
    value.extend_from_slice(&checksum(key, &json));
    value.extend_from_slice(&json);
    value
}

/// The JSON of a cache record whose checksum holds: a record changed on disk, or moved to
/// another key, is an error and never an answer.
fn unsealed<'a>(key: &[u8], value: &'a [u8]) -> Option<&'a [u8]> {
    let (sum, json) = value.split_first_chunk::<CHECKSUM_LEN>()?;
    (*sum == checksum(key, json)).then_some(json)
}

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

/// Adds the index keys of the event at `seq` to `batch`, its postings to `postings` (written
/// by [`PostingWriter::write`] once the whole batch is gathered). The digest is not indexed:
/// an identical event names the same act (or retracts the same position), and
/// [`Recorded::find_identical`] looks there.
pub(crate) fn add_index_keys(
    batch: &mut Batch,
    postings: &mut PostingWriter,
    memo: &Memo,
    seq: Seq,
    event: &Event,
) {
    for entry in index_entries(event) {
        match entry {
            IndexEntry::Digest(_) => {}
            IndexEntry::Act(a) => postings.add_act(a.as_str(), seq),
            IndexEntry::Revokes(a) => {
                batch.insert(keys::named(keys::REVOKED, a.as_str(), seq), &[]);
            }
            IndexEntry::Retracts(s) => batch.insert(&keys::retracted(s, seq), &[]),
            IndexEntry::Office(o) => {
                postings.add(keys::named_prefix(keys::OFFICE, o.as_str()), seq)
            }
            IndexEntry::Person(p) => {
                postings.add(keys::named_prefix(keys::PERSON, p.as_str()), seq)
            }
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

/// The manifest of an office's cached timeline, under `W office 0x00 'n' 0`: how many records
/// of each kind the timeline has, so that a record gone missing is noticed.
const MANIFEST: u8 = b'n';

/// "No segment" in a segment's links.
const NO_SEGMENT: u32 = u32::MAX;

/// What the manifest counts, in this order: segments, tenures, delegations, trips, departures.
type Counts = [usize; 5];

fn counts(timeline: &Timeline) -> Counts {
    [
        timeline.segments.len(),
        timeline.tenures.len(),
        timeline.delegations.len(),
        timeline.trips.len(),
        timeline.departures.len(),
    ]
}

fn manifest_key(office: &str) -> Vec<u8> {
    let mut key = keys::named_prefix(keys::TIMELINE, office);
    key.push(MANIFEST);
    key.extend_from_slice(&0u32.to_be_bytes());
    key
}

/// Every cache key and value of one office's timeline. A segment's value holds, after its
/// checksum, the first days of the segments before and after it (its links), then its JSON:
/// a query reads a segment and its successor and checks that they name each other, so a
/// segment moved or gone is an error, never a vacancy.
fn timeline_records(timeline: &Timeline) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let office = timeline.office.as_str();
    let mut records = BTreeMap::new();
    let segment_prefix = keys::named_prefix(keys::SEGMENT, office);
    let from = |i: Option<usize>| {
        i.and_then(|i| timeline.segments.get(i))
            .map_or(NO_SEGMENT, |s| s.from.ordinal())
    };
    for (i, segment) in timeline.segments.iter().enumerate() {
        let mut key = segment_prefix.clone();
        key.extend_from_slice(&segment.from.ordinal().to_be_bytes());
        let mut body = Vec::new();
        body.extend_from_slice(&from(i.checked_sub(1)).to_be_bytes());
        body.extend_from_slice(&from(Some(i + 1)).to_be_bytes());
        body.extend_from_slice(&json(segment));
        let value = sealed(&key, body);
        records.insert(key, value);
    }
    let part_prefix = keys::named_prefix(keys::TIMELINE, office);
    let mut part = |tag: u8, items: Vec<Vec<u8>>| {
        for (i, value) in items.into_iter().enumerate() {
            let mut key = part_prefix.clone();
            key.push(tag);
            key.extend_from_slice(&u32::try_from(i).unwrap_or(u32::MAX).to_be_bytes());
            let value = sealed(&key, value);
            records.insert(key, value);
        }
    };
    part(TENURES, timeline.tenures.iter().map(json).collect());
    part(DELEGATIONS, timeline.delegations.iter().map(json).collect());
    part(TRIPS, timeline.trips.iter().map(json).collect());
    part(DEPARTURES, timeline.departures.iter().map(json).collect());
    let key = manifest_key(office);
    let value = sealed(&key, json(&counts(timeline)));
    records.insert(key, value);
    records
}

/// Adds an office's cache records to a batch (after every old one is removed), and says how
/// many.
pub(crate) fn insert_timeline(batch: &mut Batch, timeline: &Timeline) -> usize {
    let records = timeline_records(timeline);
    let count = records.len();
    for (key, value) in records {
        batch.insert(key, value);
    }
    count
}

impl Ledger {
    /// A cache record whose checksum does not hold.
    fn tampered(&self, what: &str) -> StoreError {
        StoreError::Damaged {
            path: self.path.clone(),
            reason: format!(
                "{what} of the query cache fails its checksum (the cache is derived from the log: export, then import into a new ledger, rebuilds it)"
            ),
        }
    }

    /// A cached segment, its checksum checked, with its links: the first days of the
    /// segments before and after it ([`NO_SEGMENT`] for none).
    fn segment(&self, key: &[u8], value: &[u8]) -> Result<(Segment, u32, u32), StoreError> {
        let body = unsealed(key, value).ok_or_else(|| self.tampered("a segment"))?;
        let (prev, rest) = body
            .split_first_chunk::<4>()
            .ok_or_else(|| self.tampered("a segment"))?;
        let (next, json) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| self.tampered("a segment"))?;
        let segment: Segment = from_slice(json).map_err(|e| self.unreadable("a segment", e))?;
        Ok((
            segment,
            u32::from_be_bytes(*prev),
            u32::from_be_bytes(*next),
        ))
    }

    /// A segment whose links do not match its neighbours': one was moved, lost or added.
    fn unlinked(&self, office: &OfficeId) -> StoreError {
        StoreError::Damaged {
            path: self.path.clone(),
            reason: format!(
                "the query cache of office {office} is inconsistent: a segment is missing or out of place (the cache is derived from the log: export, then import into a new ledger, rebuilds it)"
            ),
        }
    }

    /// The counts of an office's manifest, if it has one.
    fn manifest(&self, office: &OfficeId) -> Result<Option<Counts>, StoreError> {
        let key = manifest_key(office.as_str());
        let Some(value) = self.db.get(&key).map_err(storage(&self.path))? else {
            return Ok(None);
        };
        let json = unsealed(&key, &value).ok_or_else(|| self.tampered("a timeline manifest"))?;
        from_slice(json)
            .map(Some)
            .map_err(|e| self.unreadable("a timeline manifest", e))
    }

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

    fn find_identical(&self, event: &Event) -> Result<Option<Seq>, StoreError> {
        let candidates = match (event, event.act()) {
            (Event::RecordRetracted(r), _) => self.retractions_of(r.seq)?,
            (_, Some(act)) => self.events_of_act(act)?,
            (_, None) => Vec::new(),
        };
        for seq in candidates {
            if self.event(seq)? == *event {
                return Ok(Some(seq));
            }
        }
        Ok(None)
    }

    fn events_of_act(&self, act: &ActId) -> Result<Vec<Seq>, StoreError> {
        crate::postings::read_act(&self.db, &self.path, act.as_str())
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
        crate::postings::read_postings(
            &self.db,
            &self.path,
            &keys::named_prefix(keys::OFFICE, office.as_str()),
        )
    }

    fn person_events(&self, person: &PersonId) -> Result<Vec<Seq>, StoreError> {
        crate::postings::read_postings(
            &self.db,
            &self.path,
            &keys::named_prefix(keys::PERSON, person.as_str()),
        )
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
        let mut expected_prev = NO_SEGMENT;
        let mut next_of_last = NO_SEGMENT;
        for item in self
            .db
            .scan_prefix(keys::named_prefix(keys::SEGMENT, office.as_str()))
        {
            let (key, value) = item.map_err(storage(&self.path))?;
            let (segment, prev, next) = self.segment(&key, &value)?;
            let from = segment.from.ordinal();
            if prev != expected_prev || (found && next_of_last != from) {
                return Err(self.unlinked(office));
            }
            expected_prev = from;
            next_of_last = next;
            timeline.segments.push(segment);
            found = true;
        }
        if next_of_last != NO_SEGMENT {
            return Err(self.unlinked(office));
        }
        let prefix = keys::named_prefix(keys::TIMELINE, office.as_str());
        let mut manifest = None;
        for item in self.db.scan_prefix(&prefix) {
            let (key, value) = item.map_err(storage(&self.path))?;
            let bad = |e: serde_json::Error| self.unreadable("a timeline part", e);
            let value = unsealed(&key, &value).ok_or_else(|| self.tampered("a timeline part"))?;
            // Items are numbered from 0 in each part: a gap or a stray number is a moved key.
            let index = key
                .get(prefix.len() + 1..)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes)
                .map(|i| i as usize);
            let position = |len: usize| index == Some(len);
            let in_place = match key.get(prefix.len()) {
                Some(&TENURES) => {
                    let ok = position(timeline.tenures.len());
                    timeline.tenures.push(from_slice(value).map_err(bad)?);
                    ok
                }
                Some(&DELEGATIONS) => {
                    let ok = position(timeline.delegations.len());
                    timeline.delegations.push(from_slice(value).map_err(bad)?);
                    ok
                }
                Some(&TRIPS) => {
                    let ok = position(timeline.trips.len());
                    timeline.trips.push(from_slice(value).map_err(bad)?);
                    ok
                }
                Some(&DEPARTURES) => {
                    let ok = position(timeline.departures.len());
                    timeline.departures.push(from_slice(value).map_err(bad)?);
                    ok
                }
                Some(&MANIFEST) => {
                    let counts: Counts =
                        from_slice(value).map_err(|e| self.unreadable("a timeline manifest", e))?;
                    manifest = Some(counts);
                    position(0)
                }
                _ => return Err(self.unreadable("a timeline key", "unknown part")),
            };
            if !in_place {
                return Err(self.unlinked(office));
            }
            found = true;
        }
        match manifest {
            None if !found => Ok(None),
            Some(counts) if counts == self::counts(&timeline) => Ok(Some(timeline)),
            _ => Err(self.unlinked(office)),
        }
    }

    fn head_segment(&self, office: &OfficeId, day: Day) -> Result<Option<Segment>, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let prefix = keys::named_prefix(keys::SEGMENT, office.as_str());
        let mut upto = prefix.clone();
        upto.extend_from_slice(&day.ordinal().to_be_bytes());
        let before = match self.db.range(prefix.clone()..=upto.clone()).next_back() {
            None => None,
            Some(item) => {
                let (key, value) = item.map_err(storage(&self.path))?;
                Some(self.segment(&key, &value)?)
            }
        };
        let after = match self.db.range((Excluded(upto), Unbounded)).next() {
            None => None,
            Some(item) => {
                let (key, value) = item.map_err(storage(&self.path))?;
                if key.starts_with(&prefix) {
                    Some(self.segment(&key, &value)?)
                } else {
                    None
                }
            }
        };
        // The two segments around the day must name each other.
        let from = |s: &Option<(Segment, u32, u32)>| {
            s.as_ref().map_or(NO_SEGMENT, |(s, _, _)| s.from.ordinal())
        };
        let linked = before
            .as_ref()
            .is_none_or(|(_, _, next)| *next == from(&after))
            && after
                .as_ref()
                .is_none_or(|(_, prev, _)| *prev == from(&before));
        if !linked {
            return Err(self.unlinked(office));
        }
        if before.is_none() && after.is_none() {
            // No segment at all: so says the manifest, when there is one.
            if self.manifest(office)?.is_some_and(|counts| counts[0] > 0) {
                return Err(self.unlinked(office));
            }
        }
        Ok(before.and_then(|(segment, _, _)| segment.covers(day).then_some(segment)))
    }
}
