//! The timeline cache's records: each office's timeline at the head, segments apart (`S`, one
//! lookup answers "who held it on D") and the rest by part (`W`), in blocks of [`PER_BLOCK`],
//! each record sealed by a checksum over its key and its compact binary body
//! (`docs/FORMAT.md`). This module encodes and decodes them and writes an office's records;
//! [`crate::index`] reads them to answer [`Indexed`](actledger_core::Indexed).

use std::collections::BTreeMap;

use actledger_core::{
    Absence, AbsenceKind, AbsenceRef, Day, Delegation, Departure, Segment, Seq, Stint, Tenure,
    Timeline,
};

use crate::error::{StoreError, storage};
use crate::keys;
use crate::ledger::Ledger;
use crate::writes::Writes;

/// The version of the cache's layout and content. Change it whenever either changes (the
/// core's timeline rules included): a ledger whose cache has another version rebuilds it.
/// Version 2 added the checksum before every record's JSON; version 3 replaced the JSON with
/// the binary encoding below (its values take about 38% of the bytes of the JSON ones);
/// version 4 packs segments and items in blocks of 64 (`PER_BLOCK`), a record per block;
/// version 5 writes no record at all for an empty timeline (version 4 wrote a manifest of
/// zeros for some), so that each timeline has one form and verification compares records;
/// version 6 adds the kind of each absence (a trip or a leave, with `leave_granted`) to every
/// absence ref, so that answers name a leave as one; version 7 keeps beside the timelines the
/// names (`N`) and the answers' state (`V`) at the head (`crate::state`); version 8 keeps
/// with each leaf its segments' first days and hashes (`G`), so that a proof names and hashes
/// one segment; version 9 keeps them in blocks of 256 segments (`G` office 0x00 number), so
/// that an append rewrites the office's last block, not its whole list, and version 10 in
/// blocks of 64, a quarter of the bytes an append rewrites there.
pub const CACHE_VERSION: u32 = 10;

/// The bytes of a cache record's checksum: the first 8 bytes of SHA-256 over a domain tag,
/// the cache version, the record's key and its body.
pub(crate) const CHECKSUM_LEN: usize = 8;

pub(crate) fn checksum(key: &[u8], body: &[u8]) -> [u8; CHECKSUM_LEN] {
    checksum_of_version(CACHE_VERSION, key, body)
}

/// [`checksum`] as cache version `version` computed it (the tests write older caches).
fn checksum_of_version(version: u32, key: &[u8], body: &[u8]) -> [u8; CHECKSUM_LEN] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"actledger/cache\0");
    // A record of another version never passes for one of this version, whatever its bytes.
    h.update(version.to_be_bytes());
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
pub(crate) fn unsealed<'a>(key: &[u8], value: &'a [u8]) -> Option<&'a [u8]> {
    let (sum, body) = value.split_first_chunk::<CHECKSUM_LEN>()?;
    (*sum == checksum(key, body)).then_some(body)
}

/// "No day" where a day is optional (a delegation that takes no effect, no block of segments
/// before or after): no day has this ordinal, the last one (9999-12-31) being 3,652,058.
pub(crate) const NO_DAY: u32 = u32::MAX;

/// Why a sealed cache body does not decode. The checksum makes this unreachable but for a bug
/// or a record written by another program under our checksum; it is still an error, never a
/// panic or a guess.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Malformed(pub(crate) &'static str);

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

    fn absence_ref(&mut self, absence: &AbsenceRef) {
        self.seq(absence.seq);
        self.id(absence.act.as_str());
        self.u8(match absence.kind {
            AbsenceKind::Trip => TRIP,
            AbsenceKind::Leave => LEAVE,
        });
    }
}

/// The reading half: every read checks that the bytes are there and mean something, and
/// [`Decoder::end`] that nothing is left over; a skip (`skip_id`, `skip_stint`) checks only
/// that they are there, for items a read since a day leaves out (the record's checksum has
/// vouched for all its bytes already).
#[derive(Clone, Copy)]
pub(crate) struct Decoder<'a>(&'a [u8]);

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

    /// Past an identifier, without reading it.
    fn skip_id(&mut self) -> Result<(), Malformed> {
        let len = usize::from(self.u8()?);
        self.0 = self.0.get(len..).ok_or(Malformed("cut short"))?;
        Ok(())
    }

    /// Past a stint, without reading its identifiers.
    fn skip_stint(&mut self) -> Result<(), Malformed> {
        self.skip_id()?;
        self.seq()?;
        self.skip_id()
    }

    fn stint(&mut self) -> Result<Stint, Malformed> {
        Ok(Stint {
            person: self.id()?,
            seq: self.seq()?,
            act: self.id()?,
        })
    }

    fn absence_ref(&mut self) -> Result<AbsenceRef, Malformed> {
        Ok(AbsenceRef {
            seq: self.seq()?,
            act: self.id()?,
            kind: match self.u8()? {
                TRIP => AbsenceKind::Trip,
                LEAVE => AbsenceKind::Leave,
                _ => return Err(Malformed("an unknown kind of absence")),
            },
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
const HAS_ABSENCE: u8 = 2;
const HAS_ACTING: u8 = 4;

/// The byte that ends an absence ref: which kind of absence it is.
const TRIP: u8 = 0;
const LEAVE: u8 = 1;

/// Segments per `S` record, and items per `W` record: an office's cache is a few records
/// per hundred segments, not one each (sled's open costs in proportion to its records), and an
/// append that changes the end of a timeline rewrites its last records only.
const PER_BLOCK: usize = 64;

/// One segment inside a block: its first and last days, the flags, then the titular, the
/// absence and the acting holder that the flags announce.
fn put_segment(out: &mut Encoder, segment: &Segment) {
    out.day(segment.from);
    out.day(segment.until);
    let flag = |present: bool, flag: u8| if present { flag } else { 0 };
    out.u8(flag(segment.titular.is_some(), HAS_TITULAR)
        | flag(segment.absence.is_some(), HAS_ABSENCE)
        | flag(segment.acting.is_some(), HAS_ACTING));
    if let Some(stint) = &segment.titular {
        out.stint(stint);
    }
    if let Some(absence) = &segment.absence {
        out.absence_ref(absence);
    }
    if let Some(stint) = &segment.acting {
        out.stint(stint);
    }
}

fn take_segment(input: &mut Decoder) -> Result<Segment, Malformed> {
    let from = input.day()?;
    let until = input.day()?;
    let flags = input.u8()?;
    if flags & !(HAS_TITULAR | HAS_ABSENCE | HAS_ACTING) != 0 {
        return Err(Malformed("unknown flags"));
    }
    let titular = (flags & HAS_TITULAR != 0)
        .then(|| input.stint())
        .transpose()?;
    let absence = (flags & HAS_ABSENCE != 0)
        .then(|| input.absence_ref())
        .transpose()?;
    let acting = (flags & HAS_ACTING != 0)
        .then(|| input.stint())
        .transpose()?;
    Ok(Segment {
        from,
        until,
        titular,
        absence,
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
#[derive(Debug)]
pub(crate) struct SegmentBlock {
    pub(crate) segments: Vec<Segment>,
    pub(crate) prev: u32,
    pub(crate) next: u32,
}

/// The inverse of [`encode_segment_block`], given the first day its key names: at least one
/// segment, in order, the first starting on that day.
pub(crate) fn decode_segment_block(first: Day, body: &[u8]) -> Result<SegmentBlock, Malformed> {
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

pub(crate) fn decode_tenure(input: &mut Decoder) -> Result<Tenure, Malformed> {
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

pub(crate) fn decode_delegation(input: &mut Decoder) -> Result<Delegation, Malformed> {
    Ok(Delegation {
        from: input.day()?,
        until: input.day()?,
        effective_until: input.optional_day()?,
        stint: input.stint()?,
    })
}

fn encode_absence(out: &mut Encoder, absence: &Absence) {
    out.day(absence.from);
    out.day(absence.until);
    out.id(absence.person.as_str());
    out.absence_ref(&absence.absence);
}

pub(crate) fn decode_absence(input: &mut Decoder) -> Result<Absence, Malformed> {
    Ok(Absence {
        from: input.day()?,
        until: input.day()?,
        person: input.id()?,
        absence: input.absence_ref()?,
    })
}

fn encode_departure(out: &mut Encoder, departure: &Departure) {
    out.day(departure.on);
    out.stint(&departure.stint);
}

pub(crate) fn decode_departure(input: &mut Decoder) -> Result<Departure, Malformed> {
    Ok(Departure {
        on: input.day()?,
        stint: input.stint()?,
    })
}

/// How a part's items are read: whole, or only as far as their last day (the day
/// [`Timeline::since`] keeps them by), the rest skipped.
pub(crate) struct PartItems<T> {
    pub(crate) decode: fn(&mut Decoder) -> Result<T, Malformed>,
    pub(crate) last_day: fn(&mut Decoder) -> Result<Day, Malformed>,
}

pub(crate) const TENURE_ITEMS: PartItems<Tenure> = PartItems {
    decode: decode_tenure,
    last_day: |input| {
        input.day()?;
        let until = input.day()?;
        input.skip_stint()?;
        Ok(until)
    },
};

pub(crate) const DELEGATION_ITEMS: PartItems<Delegation> = PartItems {
    decode: decode_delegation,
    last_day: |input| {
        input.day()?;
        let until = input.day()?;
        input.optional_day()?;
        input.skip_stint()?;
        Ok(until)
    },
};

pub(crate) const ABSENCE_ITEMS: PartItems<Absence> = PartItems {
    decode: decode_absence,
    last_day: |input| {
        input.day()?;
        let until = input.day()?;
        input.skip_id()?;
        input.seq()?;
        input.skip_id()?;
        input.u8()?;
        Ok(until)
    },
};

pub(crate) const DEPARTURE_ITEMS: PartItems<Departure> = PartItems {
    decode: decode_departure,
    last_day: |input| {
        let on = input.day()?;
        input.skip_stint()?;
        Ok(on)
    },
};

/// A whole body decoded by `decode`, nothing left over.
pub(crate) fn decode_all<T>(
    body: &[u8],
    decode: impl FnOnce(&mut Decoder) -> Result<T, Malformed>,
) -> Result<T, Malformed> {
    let mut input = Decoder(body);
    let value = decode(&mut input)?;
    input.end()?;
    Ok(value)
}

/// The parts of a timeline stored under `W`, each list item under its own key.
pub(crate) const TENURES: u8 = b't';
pub(crate) const DELEGATIONS: u8 = b'd';
/// Absences, trips and leaves alike (`r` from when they were trips only).
pub(crate) const ABSENCES: u8 = b'r';
pub(crate) const DEPARTURES: u8 = b'l';

/// The manifest of an office's cached timeline, under `W office 0x00 'n' 0`: how many records
/// of each kind the timeline has, so that a record gone missing is noticed.
pub(crate) const MANIFEST: u8 = b'n';

/// What the manifest counts, in this order: segments, tenures, delegations, absences,
/// departures.
pub(crate) type Counts = [usize; 5];

pub(crate) fn counts(timeline: &Timeline) -> Counts {
    [
        timeline.segments.len(),
        timeline.tenures.len(),
        timeline.delegations.len(),
        timeline.absences.len(),
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

pub(crate) fn decode_counts(input: &mut Decoder) -> Result<Counts, Malformed> {
    let mut counts = Counts::default();
    for count in &mut counts {
        *count = usize::try_from(input.u32()?).map_err(|_| Malformed("a count is too large"))?;
    }
    Ok(counts)
}

pub(crate) fn manifest_key(office: &str) -> Vec<u8> {
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
        ABSENCES,
        &timeline.absences,
        encode_absence,
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

/// The items of one block of a part (the inverse of [`put_part`]'s blocks), those ending
/// before `since` (when given) skipped.
fn take_part<T>(
    body: &[u8],
    items: &PartItems<T>,
    since: Option<Day>,
) -> Result<(usize, Vec<T>), Malformed> {
    let mut input = Decoder(body);
    let count = usize::from(input.u16()?);
    if count == 0 || count > PER_BLOCK {
        return Err(Malformed("a block holds too few or too many items"));
    }
    let mut kept = Vec::with_capacity(if since.is_some() { 0 } else { count });
    for _ in 0..count {
        if let Some(day) = since {
            let mut past = input;
            if (items.last_day)(&mut past)? < day {
                input = past;
                continue;
            }
        }
        kept.push((items.decode)(&mut input)?);
    }
    input.end()?;
    Ok((count, kept))
}

/// What [`Ledger::write_timeline`] wrote.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimelineWritten {
    /// Bytes of keys and values.
    pub(crate) bytes: usize,
    /// The first day of the first block of segments changed, added or removed.
    pub(crate) first_changed_segments: Day,
}

/// How much of one part of a timeline was read: blocks, and the items they hold.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Taken {
    pub(crate) blocks: usize,
    pub(crate) items: usize,
}

/// Adds the items of one block of a part to `list` (those ending on `since` or later, when
/// given), and says whether the block is in its place: numbered `taken.blocks` (how many
/// blocks of the part came before it) and after full blocks only.
pub(crate) fn take_block<T>(
    list: &mut Vec<T>,
    taken: &mut Taken,
    index: Option<usize>,
    body: &[u8],
    items: &PartItems<T>,
    since: Option<Day>,
) -> Result<bool, Malformed> {
    let in_place = index == Some(taken.blocks) && taken.items == taken.blocks * PER_BLOCK;
    taken.blocks += 1;
    let (count, kept) = take_part(body, items, since)?;
    taken.items += count;
    list.extend(kept);
    Ok(in_place)
}

/// Adds an office's cache records to a batch (after every old one is removed), and says how
/// many bytes of keys and values.
pub(crate) fn insert_timeline(batch: &mut impl Writes, timeline: &Timeline) -> usize {
    let mut bytes = 0;
    for (key, value) in timeline_records(timeline) {
        bytes += key.len() + value.len();
        batch.insert(key, value);
    }
    bytes
}

impl Ledger {
    /// Rewrites an office's cache records in `batch`, touching only the keys that change (an
    /// append that extends the end of a timeline rewrites its last blocks only), and says how
    /// many bytes of keys and values it wrote, and the first day of the first block of segments
    /// it changed, added or removed ([`Day::MAX`] when none): every segment starting before it
    /// is in a block written before and left as it was.
    pub(crate) fn write_timeline(
        &self,
        batch: &mut impl Writes,
        timeline: &Timeline,
    ) -> Result<TimelineWritten, StoreError> {
        let mut new = timeline_records(timeline);
        let office = timeline.office.as_str();
        let segment_prefix = keys::named_prefix(keys::SEGMENT, office);
        let mut written = TimelineWritten {
            bytes: 0,
            first_changed_segments: Day::MAX,
        };
        let changed = |key: &[u8], written: &mut TimelineWritten| {
            if let Some(day) = key
                .strip_prefix(segment_prefix.as_slice())
                .and_then(|day| <[u8; 4]>::try_from(day).ok())
                .and_then(|day| Day::from_ordinal(u32::from_be_bytes(day)))
            {
                written.first_changed_segments = written.first_changed_segments.min(day);
            }
        };
        for prefix in [keys::SEGMENT, keys::TIMELINE] {
            for item in self.db.scan_prefix(keys::named_prefix(prefix, office)) {
                let (key, old) = item.map_err(storage(&self.path))?;
                match new.remove(key.as_ref()) {
                    Some(value) if value == old.as_ref() => {}
                    Some(value) => {
                        changed(&key, &mut written);
                        written.bytes += key.len() + value.len();
                        batch.insert(key, value);
                    }
                    None => {
                        changed(&key, &mut written);
                        written.bytes += key.len();
                        batch.remove(key);
                    }
                }
            }
        }
        for (key, value) in new {
            changed(&key, &mut written);
            written.bytes += key.len() + value.len();
            batch.insert(key, value);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests;
