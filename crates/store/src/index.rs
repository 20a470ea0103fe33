//! The indexes and the query cache: the core's [`Recorded`] and [`Indexed`] over the tables of
//! the one sled tree.
//!
//! The indexes are written in the same atomic batch as the entries they index, by
//! [`add_index_keys`] from the core's [`index_entries`], so the store indexes exactly as the
//! core's `MemoryLedger` does (but for the digest, which it does not store: duplicates are
//! found through the act postings). The cache holds each office's timeline at the head, segments
//! apart (`S`, one lookup answers "who held it on D") and the rest by part (`W`), each record
//! sealed by a checksum over its key and its compact binary body (`docs/FORMAT.md`); it is
//! versioned, rewritten with every append for the offices the append affects, rebuilt from the
//! log when missing or stale, and never read by verification.

use std::collections::{BTreeMap, HashMap, HashSet};

use sled::Batch;

use actledger_core::{
    ActId, Day, Delegation, Departure, Event, IndexEntry, Indexed, OfficeId, PersonId, Recorded,
    Segment, Seq, Stint, Tenure, Timeline, Trip, TripRef, identical_candidates, index_entries,
    segment_covering,
};

use crate::error::StoreError;
use crate::keys;
use crate::ledger::{Ledger, storage};
use crate::postings::PostingWriter;

/// The version of the cache's layout and content. Change it whenever either changes (the
/// core's timeline rules included): a ledger whose cache has another version rebuilds it.
/// Version 2 added the checksum before every record's JSON; version 3 replaced the JSON with
/// the binary encoding below (its values take about 38% of the bytes of the JSON ones);
/// version 4 packs segments and items in blocks of [`PER_BLOCK`], a record per block;
/// version 5 writes no record at all for an empty timeline (version 4 wrote a manifest of
/// zeros for some), so that each timeline has one form and verification compares records.
pub const CACHE_VERSION: u32 = 5;

/// The bytes of a cache record's checksum: the first 8 bytes of SHA-256 over a domain tag,
/// the cache version, the record's key and its body.
const CHECKSUM_LEN: usize = 8;

fn checksum(key: &[u8], body: &[u8]) -> [u8; CHECKSUM_LEN] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"actledger/cache\0");
    // A record of another version never passes for one of this version, whatever its bytes.
    h.update(CACHE_VERSION.to_be_bytes());
    h.update(u32::try_from(key.len()).unwrap_or(u32::MAX).to_be_bytes());
    h.update(key);
    h.update(body);
    let digest = h.finalize();
    let mut out = [0; CHECKSUM_LEN];
    out.copy_from_slice(&digest[..CHECKSUM_LEN]);
    out
}

/// A cache record's value: its checksum, then its body.
fn sealed(key: &[u8], body: Vec<u8>) -> Vec<u8> {
    let mut value = Vec::with_capacity(CHECKSUM_LEN + body.len());
    value.extend_from_slice(&checksum(key, &body));
    value.extend_from_slice(&body);
    value
}

/// The body of a cache record whose checksum holds: a record changed on disk, or moved to
/// another key, is an error and never an answer.
fn unsealed<'a>(key: &[u8], value: &'a [u8]) -> Option<&'a [u8]> {
    let (sum, body) = value.split_first_chunk::<CHECKSUM_LEN>()?;
    (*sum == checksum(key, body)).then_some(body)
}

/// "No day" where a day is optional (a delegation that takes no effect, no block of segments
/// before or after): no day has this ordinal, the last one (9999-12-31) being 3,652,058.
const NO_DAY: u32 = u32::MAX;

/// Why a sealed cache body does not decode. The checksum makes this unreachable but for a bug
/// or a record written by another program under our checksum; it is still an error, never a
/// panic or a guess.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Malformed(&'static str);

/// The writing half of the cache's binary encoding: days and counts as u32 big-endian,
/// positions as minimal LEB128 varints (most are far below 2^21: three bytes instead of
/// eight), identifiers as a length byte (they are at most 128 bytes) and their UTF-8.
#[derive(Default)]
struct Encoder(Vec<u8>);

impl Encoder {
    fn u8(&mut self, n: u8) {
        self.0.push(n);
    }

    fn u16(&mut self, n: u16) {
        self.0.extend_from_slice(&n.to_be_bytes());
    }

    fn u32(&mut self, n: u32) {
        self.0.extend_from_slice(&n.to_be_bytes());
    }

    fn day(&mut self, day: Day) {
        self.u32(day.ordinal());
    }

    fn optional_day(&mut self, day: Option<Day>) {
        self.u32(day.map_or(NO_DAY, Day::ordinal));
    }

    fn seq(&mut self, n: Seq) {
        crate::varint::put(&mut self.0, n);
    }

    fn id(&mut self, id: &str) {
        let len = u8::try_from(id.len()).expect("identifiers are at most 128 bytes");
        self.0.push(len);
        self.0.extend_from_slice(id.as_bytes());
    }

    fn stint(&mut self, stint: &Stint) {
        self.id(stint.person.as_str());
        self.seq(stint.seq);
        self.id(stint.act.as_str());
    }

    fn trip_ref(&mut self, trip: &TripRef) {
        self.seq(trip.seq);
        self.id(trip.act.as_str());
    }
}

/// The reading half: every read checks that the bytes are there and mean something, and
/// [`Decoder::end`] that nothing is left over.
struct Decoder<'a>(&'a [u8]);

impl Decoder<'_> {
    fn u8(&mut self) -> Result<u8, Malformed> {
        let (&b, rest) = self.0.split_first().ok_or(Malformed("cut short"))?;
        self.0 = rest;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, Malformed> {
        let (n, rest) = self
            .0
            .split_first_chunk::<2>()
            .ok_or(Malformed("cut short"))?;
        self.0 = rest;
        Ok(u16::from_be_bytes(*n))
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        let (n, rest) = self
            .0
            .split_first_chunk::<4>()
            .ok_or(Malformed("cut short"))?;
        self.0 = rest;
        Ok(u32::from_be_bytes(*n))
    }

    fn day(&mut self) -> Result<Day, Malformed> {
        Day::from_ordinal(self.u32()?).ok_or(Malformed("a day is out of range"))
    }

    fn optional_day(&mut self) -> Result<Option<Day>, Malformed> {
        match self.u32()? {
            NO_DAY => Ok(None),
            n => Day::from_ordinal(n)
                .map(Some)
                .ok_or(Malformed("a day is out of range")),
        }
    }

    /// A minimal varint, the only form [`Encoder::seq`] writes.
    fn seq(&mut self) -> Result<Seq, Malformed> {
        crate::varint::take(&mut self.0).ok_or(Malformed(
            "a position is cut short, too large or not minimally encoded",
        ))
    }

    fn id<T: std::str::FromStr>(&mut self) -> Result<T, Malformed> {
        let len = usize::from(self.u8()?);
        if self.0.len() < len {
            return Err(Malformed("cut short"));
        }
        let (bytes, rest) = self.0.split_at(len);
        self.0 = rest;
        std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or(Malformed("an identifier is not valid"))
    }

    fn stint(&mut self) -> Result<Stint, Malformed> {
        Ok(Stint {
            person: self.id()?,
            seq: self.seq()?,
            act: self.id()?,
        })
    }

    fn trip_ref(&mut self) -> Result<TripRef, Malformed> {
        Ok(TripRef {
            seq: self.seq()?,
            act: self.id()?,
        })
    }

    fn end(&self) -> Result<(), Malformed> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Malformed("bytes are left over"))
        }
    }
}

/// The flags byte of a segment: which of its optional holders follow.
const HAS_TITULAR: u8 = 1;
const HAS_TRIP: u8 = 2;
const HAS_ACTING: u8 = 4;

/// Segments per `S` record, and items per `W` record: an office's cache is a few records
/// per hundred segments, not one each (sled's open costs in proportion to its records), and an
/// append that changes the end of a timeline rewrites its last records only.
const PER_BLOCK: usize = 64;

/// One segment inside a block: its first and last days, the flags, then the titular, the trip
/// and the acting holder that the flags announce.
fn put_segment(out: &mut Encoder, segment: &Segment) {
    out.day(segment.from);
    out.day(segment.until);
    let flag = |present: bool, flag: u8| if present { flag } else { 0 };
    out.u8(flag(segment.titular.is_some(), HAS_TITULAR)
        | flag(segment.trip.is_some(), HAS_TRIP)
        | flag(segment.acting.is_some(), HAS_ACTING));
    if let Some(stint) = &segment.titular {
        out.stint(stint);
    }
    if let Some(trip) = &segment.trip {
        out.trip_ref(trip);
    }
    if let Some(stint) = &segment.acting {
        out.stint(stint);
    }
}

fn take_segment(input: &mut Decoder) -> Result<Segment, Malformed> {
    let from = input.day()?;
    let until = input.day()?;
    let flags = input.u8()?;
    if flags & !(HAS_TITULAR | HAS_TRIP | HAS_ACTING) != 0 {
        return Err(Malformed("unknown flags"));
    }
    let titular = (flags & HAS_TITULAR != 0)
        .then(|| input.stint())
        .transpose()?;
    let trip = (flags & HAS_TRIP != 0)
        .then(|| input.trip_ref())
        .transpose()?;
    let acting = (flags & HAS_ACTING != 0)
        .then(|| input.stint())
        .transpose()?;
    Ok(Segment {
        from,
        until,
        titular,
        trip,
        acting,
    })
}

/// A block of segments: its links (the first days of the blocks before and after it,
/// [`NO_DAY`] for none), how many segments (u16), then each segment. Its key names the
/// first day of its first segment, which the checksum covers.
fn encode_segment_block(segments: &[Segment], prev: u32, next: u32) -> Vec<u8> {
    let mut out = Encoder::default();
    out.u32(prev);
    out.u32(next);
    out.u16(u16::try_from(segments.len()).unwrap_or(u16::MAX));
    for segment in segments {
        put_segment(&mut out, segment);
    }
    out.0
}

/// A decoded block of segments with its links.
struct SegmentBlock {
    segments: Vec<Segment>,
    prev: u32,
    next: u32,
}

/// The inverse of [`encode_segment_block`], given the first day its key names: at least one
/// segment, in order, the first starting on that day.
fn decode_segment_block(first: Day, body: &[u8]) -> Result<SegmentBlock, Malformed> {
    let mut input = Decoder(body);
    let prev = input.u32()?;
    let next = input.u32()?;
    let count = usize::from(input.u16()?);
    if count == 0 || count > PER_BLOCK {
        return Err(Malformed("a block of segments holds too few or too many"));
    }
    let mut segments: Vec<Segment> = Vec::with_capacity(count);
    for _ in 0..count {
        let segment = take_segment(&mut input)?;
        if segment.until < segment.from
            || segments
                .last()
                .is_some_and(|last| last.until >= segment.from)
        {
            return Err(Malformed("segments out of order"));
        }
        segments.push(segment);
    }
    input.end()?;
    if segments[0].from != first {
        return Err(Malformed(
            "a block of segments starts on another day than its key",
        ));
    }
    Ok(SegmentBlock {
        segments,
        prev,
        next,
    })
}

fn encode_tenure(out: &mut Encoder, tenure: &Tenure) {
    out.day(tenure.from);
    out.day(tenure.until);
    out.stint(&tenure.stint);
}

fn decode_tenure(input: &mut Decoder) -> Result<Tenure, Malformed> {
    Ok(Tenure {
        from: input.day()?,
        until: input.day()?,
        stint: input.stint()?,
    })
}

fn encode_delegation(out: &mut Encoder, delegation: &Delegation) {
    out.day(delegation.from);
    out.day(delegation.until);
    out.optional_day(delegation.effective_until);
    out.stint(&delegation.stint);
}

fn decode_delegation(input: &mut Decoder) -> Result<Delegation, Malformed> {
    Ok(Delegation {
        from: input.day()?,
        until: input.day()?,
        effective_until: input.optional_day()?,
        stint: input.stint()?,
    })
}

fn encode_trip(out: &mut Encoder, trip: &Trip) {
    out.day(trip.from);
    out.day(trip.until);
    out.id(trip.person.as_str());
    out.trip_ref(&trip.trip);
}

fn decode_trip(input: &mut Decoder) -> Result<Trip, Malformed> {
    Ok(Trip {
        from: input.day()?,
        until: input.day()?,
        person: input.id()?,
        trip: input.trip_ref()?,
    })
}

fn encode_departure(out: &mut Encoder, departure: &Departure) {
    out.day(departure.on);
    out.stint(&departure.stint);
}

fn decode_departure(input: &mut Decoder) -> Result<Departure, Malformed> {
    Ok(Departure {
        on: input.day()?,
        stint: input.stint()?,
    })
}

/// A whole body decoded by `decode`, nothing left over.
fn decode_all<T>(
    body: &[u8],
    decode: impl FnOnce(&mut Decoder) -> Result<T, Malformed>,
) -> Result<T, Malformed> {
    let mut input = Decoder(body);
    let value = decode(&mut input)?;
    input.end()?;
    Ok(value)
}

/// What the store keeps in memory beside the tables, all derived from them: decoded events
/// (replay reads the same events again and again), the positions of recent acts' events, and
/// the positions that some retraction
/// names and the acts that some revocation names. Retractions and revocations are rare, while
/// replay asks about them for every event it reads: the sets answer "none" without a scan.
///
/// The sets are loaded only once replay asks often, not on open: a query answered from the
/// cache asks a few times or never, and each question is one lookup, while loading the sets
/// scans three tables.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    /// Decoded events, by position.
    events: Recent<Seq, Event, { 1 << 16 }>,
    /// The positions of the events of an act, as stored: validation asks twice an event
    /// (is the act issued, is the event recorded already), and an act's events come together.
    /// [`Memo::note`] forgets the acts of what is written.
    acts: Recent<ActId, Vec<Seq>, { 1 << 14 }>,
    sets: std::sync::OnceLock<Sets>,
    /// Questions answered by a lookup, before the sets are loaded.
    lookups: std::sync::atomic::AtomicUsize,
}

/// How many questions about revocations and retractions are answered by a lookup each before
/// the sets are loaded.
const LOOKUPS_BEFORE_LOADING: usize = 64;

/// The retracted positions and the revoked acts.
#[derive(Debug, Default)]
pub(crate) struct Sets {
    retracted: HashSet<Seq>,
    revoked: HashSet<ActId>,
}

/// Values kept by key, up to `LEN` of them, then dropped all at once to start over (the keys
/// asked for next are near those asked for last, so recency needs no bookkeeping). Shared
/// between the threads of a query; a poisoned lock only loses what is kept.
#[derive(Debug)]
pub(crate) struct Recent<K, V, const LEN: usize>(std::sync::Mutex<HashMap<K, V>>);

impl<K, V, const LEN: usize> Default for Recent<K, V, LEN> {
    fn default() -> Self {
        Recent(std::sync::Mutex::new(HashMap::new()))
    }
}

impl<K: std::hash::Hash + Eq, V: Clone, const LEN: usize> Recent<K, V, LEN> {
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        self.0.lock().ok()?.get(key).cloned()
    }

    pub(crate) fn put(&self, key: K, value: V) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= LEN {
                map.clear();
            }
            map.insert(key, value);
        }
    }

    /// Forgets `key` (no lock to take: the caller holds the memo alone).
    fn forget(&mut self, key: &K) {
        self.0
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }
}

impl Sets {
    /// Loads the sets from the indexes.
    fn load(db: &sled::Db, path: &std::path::Path) -> Result<Sets, StoreError> {
        let mut memo = Sets::default();
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
        Ok(memo)
    }
}

impl Memo {
    /// A memo for a ledger known to be empty: its sets are loaded already.
    pub(crate) fn of_empty_ledger() -> Memo {
        let memo = Memo::default();
        let _ = memo.sets.set(Sets::default());
        memo
    }

    /// Takes note of events just written: the positions kept for their acts are forgotten
    /// (the act postings have grown), and the sets, when loaded, take in their revocations and
    /// retractions. Sets not loaded yet need nothing: loading them reads the tables, which
    /// hold the events' keys already.
    pub(crate) fn note<'a>(&mut self, events: impl IntoIterator<Item = &'a Event>) {
        let mut sets = self.sets.get_mut();
        for event in events {
            if let Some(act) = event.act() {
                self.acts.forget(act);
            }
            let Some(sets) = sets.as_deref_mut() else {
                continue;
            };
            match event {
                Event::RecordRetracted(r) => {
                    sets.retracted.insert(r.seq);
                }
                Event::ActRevoked(r) => {
                    sets.revoked.insert(r.revokes.clone());
                }
                _ => {}
            }
        }
    }
}

/// Adds the index keys of the event at `seq` to `batch`, its postings to `postings` (written
/// by [`PostingWriter::write`] once the whole batch is gathered). Digests are not indexed: an
/// identical event names the same act (or retracts the same position), and
/// [`Recorded::find_identical`] looks there. An office's `K` key is put once per batch
/// (`named`: the offices named so far in the batch), whether or not it is stored already:
/// writing it again costs less than knowing.
pub(crate) fn add_index_keys(
    batch: &mut Batch,
    postings: &mut PostingWriter,
    named: &mut HashSet<OfficeId>,
    seq: Seq,
    event: &Event,
) {
    for entry in index_entries(event) {
        match entry {
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
            IndexEntry::KnownOffice(o) => {
                if !named.contains(&o) {
                    let mut key = Vec::with_capacity(o.as_str().len() + 1);
                    key.push(keys::KNOWN);
                    key.extend_from_slice(o.as_str().as_bytes());
                    batch.insert(key, &[]);
                    named.insert(o);
                }
            }
        }
    }
}

/// The parts of a timeline stored under `W`, each list item under its own key.
const TENURES: u8 = b't';
const DELEGATIONS: u8 = b'd';
const TRIPS: u8 = b'r';
const DEPARTURES: u8 = b'l';

/// The manifest of an office's cached timeline, under `W office 0x00 'n' 0`: how many records
/// of each kind the timeline has, so that a record gone missing is noticed.
const MANIFEST: u8 = b'n';

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

/// A manifest's body: the counts, u32 BE each.
fn encode_counts(counts: &Counts) -> Vec<u8> {
    let mut out = Encoder::default();
    for &count in counts {
        out.u32(u32::try_from(count).unwrap_or(u32::MAX));
    }
    out.0
}

fn decode_counts(input: &mut Decoder) -> Result<Counts, Malformed> {
    let mut counts = Counts::default();
    for count in &mut counts {
        *count = usize::try_from(input.u32()?).map_err(|_| Malformed("a count is too large"))?;
    }
    Ok(counts)
}

fn manifest_key(office: &str) -> Vec<u8> {
    let mut key = keys::named_prefix(keys::TIMELINE, office);
    key.push(MANIFEST);
    key.extend_from_slice(&0u32.to_be_bytes());
    key
}

/// Every cache key and value of one office's timeline: its segments in blocks of
/// [`PER_BLOCK`] under `S` (each block names the first days of the blocks before and after
/// it), each part in blocks of [`PER_BLOCK`] items under `W` (numbered from 0), and the
/// manifest. A query reads a block and its successor and checks that they name each other,
/// so a block moved or gone is an error, never a vacancy.
pub(crate) fn timeline_records(timeline: &Timeline) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let office = timeline.office.as_str();
    let mut records = BTreeMap::new();
    // An empty timeline has no records at all (not even a manifest of zeros), however the
    // office became known: one form per timeline, so that verification can compare records.
    if timeline.is_empty() {
        return records;
    }
    let segment_prefix = keys::named_prefix(keys::SEGMENT, office);
    let blocks: Vec<&[Segment]> = timeline.segments.chunks(PER_BLOCK).collect();
    let first = |i: Option<usize>| {
        i.and_then(|i| blocks.get(i))
            .map_or(NO_DAY, |block| block[0].from.ordinal())
    };
    for (i, block) in blocks.iter().enumerate() {
        let mut key = segment_prefix.clone();
        key.extend_from_slice(&block[0].from.ordinal().to_be_bytes());
        let body = encode_segment_block(block, first(i.checked_sub(1)), first(Some(i + 1)));
        let value = sealed(&key, body);
        records.insert(key, value);
    }
    let part_prefix = keys::named_prefix(keys::TIMELINE, office);
    put_part(
        &mut records,
        &part_prefix,
        TENURES,
        &timeline.tenures,
        encode_tenure,
    );
    put_part(
        &mut records,
        &part_prefix,
        DELEGATIONS,
        &timeline.delegations,
        encode_delegation,
    );
    put_part(
        &mut records,
        &part_prefix,
        TRIPS,
        &timeline.trips,
        encode_trip,
    );
    put_part(
        &mut records,
        &part_prefix,
        DEPARTURES,
        &timeline.departures,
        encode_departure,
    );
    let key = manifest_key(office);
    let value = sealed(&key, encode_counts(&counts(timeline)));
    records.insert(key, value);
    records
}

/// The records of one part of a timeline: blocks of [`PER_BLOCK`] items, numbered from 0,
/// each its count (u16) and its items.
fn put_part<T>(
    records: &mut BTreeMap<Vec<u8>, Vec<u8>>,
    prefix: &[u8],
    tag: u8,
    items: &[T],
    encode: fn(&mut Encoder, &T),
) {
    for (i, block) in items.chunks(PER_BLOCK).enumerate() {
        let mut key = prefix.to_vec();
        key.push(tag);
        key.extend_from_slice(&u32::try_from(i).unwrap_or(u32::MAX).to_be_bytes());
        let mut body = Encoder::default();
        body.u16(u16::try_from(block.len()).unwrap_or(u16::MAX));
        for item in block {
            encode(&mut body, item);
        }
        let value = sealed(&key, body.0);
        records.insert(key, value);
    }
}

/// The items of one block of a part (the inverse of [`put_part`]'s blocks).
fn take_part<T>(
    body: &[u8],
    decode: fn(&mut Decoder) -> Result<T, Malformed>,
) -> Result<Vec<T>, Malformed> {
    let mut input = Decoder(body);
    let count = usize::from(input.u16()?);
    if count == 0 || count > PER_BLOCK {
        return Err(Malformed("a block holds too few or too many items"));
    }
    let items = (0..count)
        .map(|_| decode(&mut input))
        .collect::<Result<Vec<_>, _>>()?;
    input.end()?;
    Ok(items)
}

/// Adds the items of one block of a part to `list`, and says whether the block is in its place:
/// numbered `blocks` (how many blocks of the part came before it) and after full blocks only.
fn take_block<T>(
    list: &mut Vec<T>,
    blocks: &mut usize,
    index: Option<usize>,
    body: &[u8],
    decode: fn(&mut Decoder) -> Result<T, Malformed>,
) -> Result<bool, Malformed> {
    let in_place = index == Some(*blocks) && list.len() == *blocks * PER_BLOCK;
    *blocks += 1;
    list.extend(take_part(body, decode)?);
    Ok(in_place)
}

/// Adds an office's cache records to a batch (after every old one is removed), and says how
/// many bytes of keys and values.
pub(crate) fn insert_timeline(batch: &mut Batch, timeline: &Timeline) -> usize {
    let mut bytes = 0;
    for (key, value) in timeline_records(timeline) {
        bytes += key.len() + value.len();
        batch.insert(key, value);
    }
    bytes
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

    /// A cached block of segments under `key` (`prefix`, then its first day), its checksum
    /// checked, with its links: the first days of the blocks before and after it
    /// ([`NO_DAY`] for none).
    fn segment_block(
        &self,
        prefix: &[u8],
        key: &[u8],
        value: &[u8],
    ) -> Result<SegmentBlock, StoreError> {
        let body = unsealed(key, value).ok_or_else(|| self.tampered("a block of segments"))?;
        let first = key
            .strip_prefix(prefix)
            .and_then(|day| <[u8; 4]>::try_from(day).ok())
            .map(u32::from_be_bytes)
            .and_then(Day::from_ordinal)
            .ok_or_else(|| self.unreadable("a segment key", "not a day"))?;
        decode_segment_block(first, body).map_err(|e| self.unreadable("a block of segments", e))
    }

    /// A block whose links do not match its neighbours': one was moved, lost or added.
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
        let body = unsealed(&key, &value).ok_or_else(|| self.tampered("a timeline manifest"))?;
        decode_all(body, decode_counts)
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

impl Ledger {
    /// The memo's sets, loaded on first use.
    fn memo_sets(&self) -> Result<&Sets, StoreError> {
        if let Some(sets) = self.memo.sets.get() {
            return Ok(sets);
        }
        let sets = Sets::load(&self.db, &self.path)?;
        Ok(self.memo.sets.get_or_init(|| sets))
    }

    /// The memo's sets once replay has asked [`LOOKUPS_BEFORE_LOADING`] questions; before,
    /// `None`: look the answer up.
    fn sets_for_replay(&self) -> Result<Option<&Sets>, StoreError> {
        use std::sync::atomic::Ordering;
        if let Some(sets) = self.memo.sets.get() {
            return Ok(Some(sets));
        }
        if self.memo.lookups.fetch_add(1, Ordering::Relaxed) < LOOKUPS_BEFORE_LOADING {
            return Ok(None);
        }
        self.memo_sets().map(Some)
    }
}

impl Recorded for Ledger {
    type Error = StoreError;

    fn head(&self) -> Seq {
        self.head.count
    }

    fn event(&self, seq: Seq) -> Result<Event, StoreError> {
        if let Some(event) = self.memo.events.get(&seq) {
            return Ok(event);
        }
        let event = self.read_event(seq)?;
        self.memo.events.put(seq, event.clone());
        Ok(event)
    }

    fn find_identical(&self, event: &Event) -> Result<Option<Seq>, StoreError> {
        for seq in identical_candidates(self, event)? {
            if self.event(seq)? == *event {
                return Ok(Some(seq));
            }
        }
        Ok(None)
    }

    fn events_of_act(&self, act: &ActId) -> Result<Vec<Seq>, StoreError> {
        if let Some(seqs) = self.memo.acts.get(act) {
            return Ok(seqs);
        }
        let seqs = crate::postings::read_act(&self.db, &self.path, act.as_str())?;
        self.memo.acts.put(act.clone(), seqs.clone());
        Ok(seqs)
    }

    fn revocations_of(&self, act: &ActId) -> Result<Vec<Seq>, StoreError> {
        if !self
            .sets_for_replay()?
            .is_none_or(|sets| sets.revoked.contains(act))
        {
            return Ok(Vec::new());
        }
        self.seqs_under(&keys::named_prefix(keys::REVOKED, act.as_str()))
    }

    fn retractions_of(&self, seq: Seq) -> Result<Vec<Seq>, StoreError> {
        if !self
            .sets_for_replay()?
            .is_none_or(|sets| sets.retracted.contains(&seq))
        {
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
        let mut expected_prev = NO_DAY;
        let mut next_of_last = NO_DAY;
        let segment_prefix = keys::named_prefix(keys::SEGMENT, office.as_str());
        for item in self.db.scan_prefix(&segment_prefix) {
            let (key, value) = item.map_err(storage(&self.path))?;
            let block = self.segment_block(&segment_prefix, &key, &value)?;
            let first = block.segments[0].from.ordinal();
            let after_last = timeline
                .segments
                .last()
                .is_none_or(|last| last.until < block.segments[0].from);
            if block.prev != expected_prev || (found && next_of_last != first) || !after_last {
                return Err(self.unlinked(office));
            }
            expected_prev = first;
            next_of_last = block.next;
            timeline.segments.extend(block.segments);
            found = true;
        }
        if next_of_last != NO_DAY {
            return Err(self.unlinked(office));
        }
        let prefix = keys::named_prefix(keys::TIMELINE, office.as_str());
        let mut manifest = None;
        // Blocks seen so far of tenures, delegations, trips and departures.
        let mut blocks = [0usize; 4];
        for item in self.db.scan_prefix(&prefix) {
            let (key, value) = item.map_err(storage(&self.path))?;
            let bad = |e: Malformed| self.unreadable("a timeline part", e);
            let value = unsealed(&key, &value).ok_or_else(|| self.tampered("a timeline part"))?;
            // Blocks are numbered from 0 in each part, all full but the last: a gap, a stray
            // number or a short block before the last is a moved or lost key.
            let index = key
                .get(prefix.len() + 1..)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes)
                .map(|i| i as usize);
            let in_place = match key.get(prefix.len()) {
                Some(&TENURES) => take_block(
                    &mut timeline.tenures,
                    &mut blocks[0],
                    index,
                    value,
                    decode_tenure,
                )
                .map_err(bad)?,
                Some(&DELEGATIONS) => take_block(
                    &mut timeline.delegations,
                    &mut blocks[1],
                    index,
                    value,
                    decode_delegation,
                )
                .map_err(bad)?,
                Some(&TRIPS) => take_block(
                    &mut timeline.trips,
                    &mut blocks[2],
                    index,
                    value,
                    decode_trip,
                )
                .map_err(bad)?,
                Some(&DEPARTURES) => take_block(
                    &mut timeline.departures,
                    &mut blocks[3],
                    index,
                    value,
                    decode_departure,
                )
                .map_err(bad)?,
                Some(&MANIFEST) => {
                    let counts = decode_all(value, decode_counts)
                        .map_err(|e| self.unreadable("a timeline manifest", e))?;
                    manifest = Some(counts);
                    index == Some(0)
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
                Some(self.segment_block(&prefix, &key, &value)?)
            }
        };
        let after = match self.db.range((Excluded(upto), Unbounded)).next() {
            None => None,
            Some(item) => {
                let (key, value) = item.map_err(storage(&self.path))?;
                if key.starts_with(&prefix) {
                    Some(self.segment_block(&prefix, &key, &value)?)
                } else {
                    None
                }
            }
        };
        // The two blocks around the day must name each other.
        let first =
            |b: &Option<SegmentBlock>| b.as_ref().map_or(NO_DAY, |b| b.segments[0].from.ordinal());
        let linked = before.as_ref().is_none_or(|b| b.next == first(&after))
            && after.as_ref().is_none_or(|b| b.prev == first(&before));
        if !linked {
            return Err(self.unlinked(office));
        }
        if before.is_none() && after.is_none() {
            // No segment at all: so says the manifest, when there is one.
            if self.manifest(office)?.is_some_and(|counts| counts[0] > 0) {
                return Err(self.unlinked(office));
            }
        }
        Ok(before.and_then(|block| segment_covering(&block.segments, day).cloned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    fn stint(person: &str, seq: Seq, act: &str) -> Stint {
        Stint {
            person: PersonId::new(person).unwrap(),
            seq,
            act: ActId::new(act).unwrap(),
        }
    }

    fn trip_ref(seq: Seq) -> TripRef {
        TripRef {
            seq,
            act: ActId::new("RS-200-2024-PCM").unwrap(),
        }
    }

    /// A timeline with every kind of record and every optional field both ways, positions
    /// of one to ten varint bytes included.
    fn timeline() -> Timeline {
        let titular = stint("jose-arista", 2, "RS-131-2024-PCM");
        let acting = stint("walter-astudillo", 300_000, "RS-200-2024-PCM");
        Timeline {
            office: OfficeId::new("MEF").unwrap(),
            segments: vec![
                Segment {
                    from: day("2024-06-01"),
                    until: day("2024-07-01"),
                    titular: Some(titular.clone()),
                    trip: None,
                    acting: None,
                },
                Segment {
                    from: day("2024-07-02"),
                    until: day("2024-07-05"),
                    titular: Some(titular.clone()),
                    trip: Some(trip_ref(127)),
                    acting: Some(acting.clone()),
                },
                Segment {
                    from: day("2024-09-01"),
                    until: Day::MAX,
                    titular: None,
                    trip: None,
                    acting: Some(stint("ana", u64::MAX, "A")),
                },
            ],
            tenures: vec![Tenure {
                stint: titular.clone(),
                from: day("2024-06-01"),
                until: Day::MAX,
            }],
            delegations: vec![
                Delegation {
                    stint: acting.clone(),
                    from: day("2024-07-02"),
                    until: day("2024-07-05"),
                    effective_until: Some(day("2024-07-05")),
                },
                Delegation {
                    stint: acting,
                    from: day("2024-07-02"),
                    until: day("2024-07-05"),
                    effective_until: None,
                },
            ],
            trips: vec![Trip {
                person: titular.person.clone(),
                trip: trip_ref(128),
                from: day("2024-07-02"),
                until: day("2024-07-05"),
            }],
            departures: vec![Departure {
                stint: titular,
                on: day("2024-08-31"),
            }],
        }
    }

    /// The timeline the records of `timeline_records` say, decoded without a ledger.
    /// The timeline `records` hold, read back by the store's own reader ([`Ledger`]'s
    /// `head_timeline`, with every check of blocks, links and manifest) from a scratch ledger.
    fn decoded(records: &BTreeMap<Vec<u8>, Vec<u8>>, office: &OfficeId) -> Timeline {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::create(&dir.path().join("ledger")).unwrap();
        for (key, value) in records {
            ledger.db.insert(key, value.as_slice()).unwrap();
        }
        ledger.head_timeline(office).unwrap().unwrap()
    }

    /// `timeline()` with `n` one-day segments and as many tenures, so that it needs several
    /// blocks.
    fn long_timeline(n: u32) -> Timeline {
        let mut timeline = timeline();
        let first = day("2000-01-01").ordinal();
        timeline.segments = (0..n)
            .map(|i| Segment {
                from: Day::from_ordinal(first + 2 * i).unwrap(),
                until: Day::from_ordinal(first + 2 * i).unwrap(),
                titular: Some(stint("p", u64::from(i), "A")),
                trip: None,
                acting: None,
            })
            .collect();
        timeline.tenures = (0..n)
            .map(|i| Tenure {
                stint: stint("p", u64::from(i), "A"),
                from: Day::from_ordinal(first + 2 * i).unwrap(),
                until: Day::from_ordinal(first + 2 * i).unwrap(),
            })
            .collect();
        timeline
    }

    #[test]
    fn every_record_round_trips() {
        let timeline = timeline();
        let records = timeline_records(&timeline);
        assert_eq!(records.len(), 1 + 1 + 1 + 1 + 1 + 1);
        assert_eq!(decoded(&records, &timeline.office), timeline);
        // Several blocks: 130 segments and tenures take 3 records each.
        let timeline = long_timeline(130);
        let records = timeline_records(&timeline);
        assert_eq!(records.len(), 3 + 3 + 1 + 1 + 1 + 1);
        assert_eq!(decoded(&records, &timeline.office), timeline);
    }

    #[test]
    fn blocks_of_segments_name_their_neighbours() {
        let timeline = long_timeline(130);
        let links: Vec<_> = timeline_records(&timeline)
            .iter()
            .filter(|(key, _)| key[0] == keys::SEGMENT)
            .map(|(key, value)| {
                let body = unsealed(key, value).unwrap();
                let first =
                    Day::from_ordinal(u32::from_be_bytes(key[key.len() - 4..].try_into().unwrap()))
                        .unwrap();
                let block = decode_segment_block(first, body).unwrap();
                (block.prev, block.next, block.segments.len())
            })
            .collect();
        let from = |i: usize| timeline.segments[i].from.ordinal();
        assert_eq!(
            links,
            [
                (NO_DAY, from(64), 64),
                (from(0), from(128), 64),
                (from(64), NO_DAY, 2)
            ]
        );
    }

    #[test]
    fn a_record_changed_or_under_another_key_fails_its_checksum() {
        let records = timeline_records(&timeline());
        let (key, value) = records.iter().next().unwrap();
        assert!(unsealed(key, value).is_some());
        let mut moved = key.clone();
        moved[2] ^= 1;
        assert!(unsealed(&moved, value).is_none());
        for at in 0..value.len() {
            let mut changed = value.clone();
            changed[at] ^= 0x10;
            assert!(unsealed(key, &changed).is_none(), "byte {at}");
        }
    }

    #[test]
    fn a_body_cut_short_or_too_long_is_malformed() {
        let timeline = timeline();
        let body = encode_segment_block(&timeline.segments, 1, 2);
        let from = timeline.segments[0].from;
        assert_eq!(
            decode_segment_block(from, &body).unwrap().segments,
            timeline.segments
        );
        for len in 0..body.len() {
            assert!(
                decode_segment_block(from, &body[..len]).is_err(),
                "length {len}"
            );
        }
        let mut longer = body.clone();
        longer.push(0);
        assert!(decode_segment_block(from, &longer).is_err());
        // Another first day than the key's.
        assert!(decode_segment_block(timeline.segments[1].from, &body).is_err());
        let mut body = Encoder::default();
        body.u16(1);
        encode_delegation(&mut body, &timeline.delegations[0]);
        for len in 0..body.0.len() {
            assert!(take_part(&body.0[..len], decode_delegation).is_err());
        }
        assert_eq!(
            take_part(&body.0, decode_delegation).unwrap(),
            [timeline.delegations[0].clone()]
        );
    }

    #[test]
    fn malformed_fields_are_refused() {
        let segments = &timeline().segments[..1];
        let first = segments[0].from;
        // The flags byte follows the links, the count and the segment's two days.
        let mut body = encode_segment_block(segments, NO_DAY, NO_DAY);
        body[18] |= 8;
        assert!(decode_segment_block(first, &body).is_err());
        // A day past 9999-12-31.
        let mut body = encode_segment_block(segments, NO_DAY, NO_DAY);
        body[14..18].copy_from_slice(&(Day::MAX.ordinal() + 1).to_be_bytes());
        assert!(decode_segment_block(first, &body).is_err());
        // No segment, or segments out of order.
        let mut body = encode_segment_block(segments, NO_DAY, NO_DAY);
        body[8..10].copy_from_slice(&0u16.to_be_bytes());
        assert!(decode_segment_block(first, &body).is_err());
        let twice = [segments[0].clone(), segments[0].clone()];
        let body = encode_segment_block(&twice, NO_DAY, NO_DAY);
        assert!(decode_segment_block(first, &body).is_err());
        // Positions: minimal varints only, and none beyond 64 bits.
        assert_eq!(Decoder(&[0x80, 0x01]).seq().unwrap(), 128);
        assert!(Decoder(&[0x80, 0x00]).seq().is_err());
        assert!(Decoder(&[0xff; 10]).seq().is_err());
        let mut max = Encoder::default();
        max.seq(u64::MAX);
        assert_eq!(Decoder(&max.0).seq().unwrap(), u64::MAX);
        // An identifier that is not one.
        assert!(Decoder(b"\x02a b").id::<ActId>().is_err());
        assert!(Decoder(b"\x00").id::<ActId>().is_err());
        assert!(Decoder(b"\x05abc").id::<ActId>().is_err());
    }
}
