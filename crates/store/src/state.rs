//! The answers' state at the head, kept beside the timeline cache so that signing it and
//! proving an answer cost little: `N` + person holds each person's name at the head, `V` +
//! office each known office's leaf of the state (`docs/PROOFS.md`, "The state").
//!
//! Both are derived records, vouched for by the cache record like the timelines: every write
//! that brings a timeline up to date brings them up to date in the same batch, `verify`
//! compares them with what the log implies (names by `name_of`, leaves from the replayed
//! timelines), and a rebuild of the cache rebuilds them. What an office's leaf says depends on
//! its timeline and on the names of the persons in it, so an append restates the offices whose
//! timelines it changes, the offices it names for the first time, and the offices in which a
//! person it renames appears.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use actledger_core::{
    Day, Event, HexHash, Liveness, OfficeId, OfficeLeaf, PersonId, Recorded, SegmentLeaf, Seq,
    Timeline, answer_segments, each_answer_segment, each_answer_segment_from, name_of,
    unnamed_segment_at,
};
use actledger_proof::{Hash, StateTree};
use memchr::memmem;
use sled::Db;

use crate::entry::parse_event_bytes;
use crate::error::{StoreError, storage};
use crate::keys;
use crate::ledger::Ledger;
use crate::writes::Writes;

/// An office's answer segments, their leaf hashes and its leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeState {
    /// The office's leaf.
    pub leaf: OfficeLeaf,
    /// Its answer segments, by day.
    pub segments: Vec<SegmentLeaf>,
    /// Their leaf hashes.
    pub hashes: Vec<Hash>,
}

impl OfficeState {
    /// The state of `timeline`'s office, persons named by `name`.
    pub fn of<E>(
        timeline: &Timeline,
        name: impl FnMut(&PersonId) -> Result<Option<String>, E>,
    ) -> Result<OfficeState, E> {
        let (record_starts, segments) = answer_segments(timeline, name)?;
        Ok(OfficeState::from_segments(
            &timeline.office,
            record_starts,
            segments,
        ))
    }

    /// The state of `office` made of `segments` (as a mirror publishes them), its record
    /// starting on `record_starts`.
    pub fn from_segments(
        office: &OfficeId,
        record_starts: Option<Day>,
        segments: Vec<SegmentLeaf>,
    ) -> OfficeState {
        let hashes: Vec<Hash> = segments.iter().map(segment_hash).collect();
        OfficeState {
            leaf: leaf(office, record_starts, &hashes),
            segments,
            hashes,
        }
    }

    /// The leaf of `timeline`'s office and the value of its `G` record (each segment's first
    /// day and leaf hash), persons named by `name`, its segments hashed one at a time and none
    /// of them held: what restating and rebuilding keep, and verifying compares.
    pub(crate) fn kept_of<E>(
        timeline: &Timeline,
        name: impl FnMut(&PersonId) -> Result<Option<String>, E>,
    ) -> Result<(OfficeLeaf, SegmentHashes), E> {
        let mut kept = SegmentHashes::default();
        let record_starts = each_answer_segment(timeline, name, |segment| {
            kept.froms.push(segment.from);
            kept.hashes.push(segment_hash(&segment));
        })?;
        Ok((leaf(&timeline.office, record_starts, &kept.hashes), kept))
    }

    /// The index of the segment covering `day`, if any.
    pub fn segment_at(&self, day: Day) -> Option<usize> {
        let after = self.segments.partition_point(|s| s.from <= day);
        after
            .checked_sub(1)
            .filter(|&i| self.segments[i].covers(day))
    }
}

/// An office's segments as its `G` records keep them: each one's first day and leaf hash, in
/// order, stored in blocks of [`SegmentHashes::PER_BLOCK`] ([`segment_hash_records`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SegmentHashes {
    froms: Vec<Day>,
    hashes: Vec<Hash>,
}

impl SegmentHashes {
    /// A segment's bytes in a block: its first day (u32 BE ordinal) and its leaf hash.
    const ENTRY: usize = 4 + 32;

    /// Segments per `G` record: 2.3 KiB a block (as many segments as an `S` block), so that
    /// an append, which changes an office's last segments, rewrites its last block or two,
    /// not a record that grows with the office's whole history (hundreds of KiB at 1,000,000
    /// events). Blocks of 256 made the `G` block the largest record an append rewrote.
    pub(crate) const PER_BLOCK: usize = 64;

    /// Adds the segments of a block, or `None` for bytes that are no block.
    fn extend_from_block(&mut self, block: &[u8]) -> Option<()> {
        if !block.len().is_multiple_of(Self::ENTRY) {
            return None;
        }
        for entry in block.chunks_exact(Self::ENTRY) {
            let (from, hash) = entry.split_at(4);
            self.froms.push(Day::from_ordinal(u32::from_be_bytes(
                from.try_into().ok()?,
            ))?);
            self.hashes.push(hash.try_into().ok()?);
        }
        Some(())
    }
}

/// What proving an answer about one office on one day needs: the office's leaf, the answer
/// segment covering the day (with its index; none before the record starts) and the leaf
/// hashes of all its segments.
#[derive(Debug, Clone)]
pub struct OfficeProof {
    /// The office's leaf.
    pub leaf: OfficeLeaf,
    /// The segment covering the day, and its index.
    pub covering: Option<(usize, SegmentLeaf)>,
    /// The leaf hashes of the office's segments.
    pub hashes: Vec<Hash>,
}

impl OfficeState {
    /// What proving an answer on `day` needs of this state.
    pub fn proof_on(self, day: Day) -> OfficeProof {
        let covering = self.segment_at(day).map(|j| (j, self.segments[j].clone()));
        OfficeProof {
            leaf: self.leaf,
            covering,
            hashes: self.hashes,
        }
    }
}

/// The `G` records of `office` holding `kept`: `G` office 0x00 block number (u32 BE), each
/// block [`SegmentHashes::PER_BLOCK`] segments but the last, numbered from 0; none for an
/// office without segments.
pub(crate) fn segment_hash_records(
    office: &str,
    kept: &SegmentHashes,
) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let prefix = keys::named_prefix(keys::SEGMENT_HASHES, office);
    let blocks = kept.froms.chunks(SegmentHashes::PER_BLOCK);
    blocks
        .zip(kept.hashes.chunks(SegmentHashes::PER_BLOCK))
        .enumerate()
        .map(|(number, (froms, hashes))| {
            let mut key = prefix.clone();
            key.extend_from_slice(&(number as u32).to_be_bytes());
            let mut block = Vec::with_capacity(froms.len() * SegmentHashes::ENTRY);
            for (from, hash) in froms.iter().zip(hashes) {
                block.extend_from_slice(&from.ordinal().to_be_bytes());
                block.extend_from_slice(hash);
            }
            (key, block)
        })
        .collect()
}

/// The `G` records `db` holds for `office`, by key.
pub(crate) fn stored_segment_hash_records(
    db: &Db,
    path: &Path,
    office: &str,
) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, StoreError> {
    db.scan_prefix(keys::named_prefix(keys::SEGMENT_HASHES, office))
        .map(|item| {
            let (key, value) = item.map_err(storage(path))?;
            Ok((key.to_vec(), value.to_vec()))
        })
        .collect()
}

/// The segments `db` keeps for `office`, read back from its `G` blocks: `None` when the
/// blocks are not those [`segment_hash_records`] writes for some list of segments (a block
/// lost, moved, cut or out of place).
fn read_segment_hashes(
    db: &Db,
    path: &Path,
    office: &str,
) -> Result<Option<SegmentHashes>, StoreError> {
    let records = stored_segment_hash_records(db, path, office)?;
    Ok(segment_hashes_of(office, &records))
}

/// The segments `records` (an office's `G` records, by key) hold, or `None` as
/// [`read_segment_hashes`] says.
fn segment_hashes_of(office: &str, records: &BTreeMap<Vec<u8>, Vec<u8>>) -> Option<SegmentHashes> {
    let key_len = keys::named_prefix(keys::SEGMENT_HASHES, office).len() + 4;
    let mut kept = SegmentHashes::default();
    let mut last_full = true;
    for (number, (key, block)) in records.iter().enumerate() {
        let in_place = key.len() == key_len && key.ends_with(&(number as u32).to_be_bytes());
        // Every block but the last is full; none is empty.
        if !in_place || !last_full || block.is_empty() {
            return None;
        }
        last_full = block.len() == SegmentHashes::ENTRY * SegmentHashes::PER_BLOCK;
        kept.extend_from_block(block)?;
    }
    Some(kept)
}

/// Inserts in `batch` an office's `V` record (`leaf`) and those of its `G` records (`kept`)
/// that differ from `stored` (the `G` records the database holds for the office, by key),
/// and removes the ones it no longer needs; returns the bytes written.
pub(crate) fn insert_state(
    batch: &mut impl Writes,
    leaf: &OfficeLeaf,
    kept: &SegmentHashes,
    mut stored: BTreeMap<Vec<u8>, Vec<u8>>,
) -> usize {
    let office = leaf.office.as_str();
    let key = keys::id_key(keys::STATE, office);
    let value = leaf.canonical().into_bytes();
    let mut bytes = key.len() + value.len();
    batch.insert(key, value);
    for (key, block) in segment_hash_records(office, kept) {
        if stored.remove(&key).as_ref() != Some(&block) {
            bytes += key.len() + block.len();
            batch.insert(key, block);
        }
    }
    for key in stored.into_keys() {
        bytes += key.len();
        batch.remove(key);
    }
    bytes
}

/// The hash of a segment's leaf in its office's segments tree.
fn segment_hash(segment: &SegmentLeaf) -> Hash {
    StateTree::Segments.leaf_hash(segment.canonical().as_bytes())
}

/// The leaf of `office`, whose record starts on `record_starts` and whose segments hash to
/// `hashes`.
fn leaf(office: &OfficeId, record_starts: Option<Day>, hashes: &[Hash]) -> OfficeLeaf {
    OfficeLeaf {
        office: office.clone(),
        record_starts,
        segments: hashes.len() as u64,
        segments_root: HexHash(StateTree::Segments.root(hashes)),
    }
}

/// The hash of an office's leaf in the offices tree.
pub fn office_leaf_hash(leaf: &OfficeLeaf) -> Hash {
    StateTree::Offices.leaf_hash(leaf.canonical().as_bytes())
}

/// Names of persons at the head, each read once: the ones an append is changing first, then
/// the `N` records.
pub(crate) struct HeadNames<'a> {
    ledger: &'a Ledger,
    known: HashMap<PersonId, Option<String>>,
}

impl<'a> HeadNames<'a> {
    /// The names `ledger` keeps, with `changed` (what a batch not yet written renames) over
    /// them.
    pub(crate) fn new(
        ledger: &'a Ledger,
        changed: HashMap<PersonId, Option<String>>,
    ) -> HeadNames<'a> {
        HeadNames {
            ledger,
            known: changed,
        }
    }

    pub(crate) fn of(&mut self, person: &PersonId) -> Result<Option<String>, StoreError> {
        if let Some(name) = self.known.get(person) {
            return Ok(name.clone());
        }
        let name = self.ledger.stored_name(person)?;
        self.known.insert(person.clone(), name.clone());
        Ok(name)
    }
}

impl Ledger {
    /// `person`'s name at the head, as the `N` records keep it.
    pub fn stored_name(&self, person: &PersonId) -> Result<Option<String>, StoreError> {
        let value = self
            .db
            .get(keys::id_key(keys::NAME, person.as_str()))
            .map_err(storage(&self.path))?;
        value.map(|bytes| self.name_in_value(&bytes)).transpose()
    }

    /// The name an `N` record's value holds.
    fn name_in_value(&self, bytes: &[u8]) -> Result<String, StoreError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| self.unreadable("a name", "not UTF-8"))
    }

    /// Every named person's name at the head, by id, as the `N` records keep them: one pass
    /// where asking [`Ledger::stored_name`] of each person would seek once each.
    pub fn stored_names(&self) -> Result<HashMap<PersonId, String>, StoreError> {
        let mut names = HashMap::new();
        for item in self.db.scan_prefix([keys::NAME]) {
            let (key, value) = item.map_err(storage(&self.path))?;
            let person: PersonId = self.id_in_key(&key[1..], "a name's key")?;
            names.insert(person, self.name_in_value(&value)?);
        }
        Ok(names)
    }

    /// `office`'s leaf of the state at the head, as the `V` records keep it.
    pub fn stored_office_leaf(&self, office: &str) -> Result<Option<OfficeLeaf>, StoreError> {
        let value = self
            .db
            .get(keys::id_key(keys::STATE, office))
            .map_err(storage(&self.path))?;
        value.map(|bytes| self.decode_leaf(&bytes)).transpose()
    }

    /// Every known office's leaf of the state at the head, by id, as the `V` records keep
    /// them.
    pub fn stored_state(&self) -> Result<Vec<OfficeLeaf>, StoreError> {
        self.db
            .scan_prefix([keys::STATE])
            .map(|item| {
                let (_, value) = item.map_err(storage(&self.path))?;
                self.decode_leaf(&value)
            })
            .collect()
    }

    /// `office`'s state at the head, from its cached timeline and the kept names (an office
    /// the ledger knows: its leaf is among [`Ledger::stored_state`]'s).
    pub fn head_office_state(&self, office: &OfficeId) -> Result<OfficeState, StoreError> {
        let timeline = self.timeline_or_empty(office)?;
        let mut names = HeadNames::new(self, HashMap::new());
        OfficeState::of(&timeline, |person| names.of(person))
    }

    /// What proving an answer on `day` at the head needs of the office whose kept leaf (`V`,
    /// among [`Ledger::stored_state`]'s) is `leaf`: its segments' hashes (`G`, held to the
    /// leaf's root and count), and the one segment covering the day, computed from the cached
    /// timeline, named from the kept names and held to its kept hash. Every other segment is
    /// neither named nor hashed. `None` when these records disagree (one of them was changed
    /// behind the ledger's back: `verify` names which), so that no proof is made from them.
    pub fn head_office_proof(
        &self,
        leaf: &OfficeLeaf,
        day: Day,
    ) -> Result<Option<OfficeProof>, StoreError> {
        let office = &leaf.office;
        let Some(SegmentHashes { froms, hashes }) =
            read_segment_hashes(&self.db, &self.path, office.as_str())?
        else {
            return Ok(None);
        };
        if hashes.len() as u64 != leaf.segments
            || StateTree::Segments.root(&hashes) != leaf.segments_root.0
        {
            return Ok(None);
        }
        let timeline = self.timeline_or_empty(office)?;
        let covering = match unnamed_segment_at(&timeline, day) {
            None => None,
            Some((j, segment)) => {
                let mut names = HeadNames::new(self, HashMap::new());
                let segment = segment.named(|person| names.of(person))?;
                if froms.get(j) != Some(&segment.from) || hashes[j] != segment_hash(&segment) {
                    return Ok(None);
                }
                Some((j, segment))
            }
        };
        // Before the record starts, the kept record must start no earlier than the timeline's.
        if covering.is_none() && froms.first().is_some_and(|first| *first <= day) {
            return Ok(None);
        }
        Ok(Some(OfficeProof {
            leaf: leaf.clone(),
            covering,
            hashes,
        }))
    }

    fn decode_leaf(&self, bytes: &[u8]) -> Result<OfficeLeaf, StoreError> {
        serde_json::from_slice(bytes)
            .map_err(|_| self.unreadable("an office's leaf of the state", "not an office leaf"))
    }

    /// Starts bringing the `N` and `V` records up to date in `batch` for a batch after
    /// position `before` that `view` holds up to `count` (`view` is the ledger itself once a
    /// batch in parts is written): writes the names of `touched`'s persons that change. The
    /// offices whose timelines the batch changes are then restated one by one
    /// ([`Restating::office`]), and the rest at [`Restating::finish`].
    pub(crate) fn restating<'a, R: Recorded<Error = StoreError>>(
        &'a self,
        view: &R,
        count: Seq,
        before: Seq,
        touched: Touched,
        batch: &mut impl Writes,
    ) -> Result<Restating<'a>, StoreError> {
        let Touched {
            persons,
            offices,
            named,
        } = touched;
        let names = resolve_names(view, count, named, &persons)?;
        let changed = self.rename(names, batch)?;
        let renamed: Vec<PersonId> = changed.keys().cloned().collect();
        Ok(Restating {
            ledger: self,
            names: HeadNames::new(self, changed),
            done: BTreeSet::new(),
            before,
            renamed,
            offices,
        })
    }

    /// `office`'s timeline at the head, as cached (empty when it has none).
    fn timeline_or_empty(&self, office: &OfficeId) -> Result<Timeline, StoreError> {
        use actledger_core::Indexed;
        Ok(self
            .head_timeline(office)?
            .unwrap_or_else(|| Timeline::build(office.clone(), &[])))
    }

    /// Every named person's name at the head, as `name_of` gives it, from one pass over the
    /// log in order, chunk by chunk: the latest naming event of each not retracted (`name_of`
    /// itself for a person whose last few are all retracted). Asking `name_of` person by person
    /// read each person's latest events wherever they were: at 1,000,000 events, tens of
    /// thousands of scattered chunk reads (15 s more for a rebuild of the cache).
    pub(crate) fn names_at_head(&self) -> Result<HashMap<PersonId, Option<String>>, StoreError> {
        /// Positions read at a time.
        const WINDOW: Seq = 1 << 16;
        let head = self.head.count;
        let mut named = NamingEvents::default();
        let mut start = 1;
        while start <= head {
            let end = head.min(start + WINDOW - 1);
            let seqs: Vec<Seq> = (start..=end).collect();
            let mut failed = None;
            let missing = self.each_stored(&seqs, &mut |stored| {
                // Only events that name a person carry one of these fields.
                let bytes = stored.event;
                if failed.is_some()
                    || memmem::find(bytes, b"\"person_name\":").is_none()
                        && memmem::find(bytes, b"\"delegate_name\":").is_none()
                {
                    return;
                }
                match parse_event_bytes(bytes) {
                    Ok(event) => named.add(stored.seq, &event),
                    Err(e) => failed = Some(crate::read::unparsable(stored.seq, e)),
                }
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            if let Some(seq) = missing {
                return Err(crate::read::unparsable(
                    seq,
                    crate::entry::EntryError::Missing,
                ));
            }
            start = end + 1;
        }
        let persons = named.persons();
        resolve_names(self, head, named, &persons)
    }

    /// Writes in `batch` the names of `names` that differ from the kept ones, and returns
    /// those.
    fn rename(
        &self,
        names: HashMap<PersonId, Option<String>>,
        batch: &mut impl Writes,
    ) -> Result<HashMap<PersonId, Option<String>>, StoreError> {
        let mut changed = HashMap::new();
        for (person, name) in names {
            if name != self.stored_name(&person)? {
                let key = keys::id_key(keys::NAME, person.as_str());
                match &name {
                    Some(name) => batch.insert(key, name.as_bytes()),
                    None => batch.remove(key),
                }
                changed.insert(person, name);
            }
        }
        Ok(changed)
    }

    /// Writes `leaf` and its segments' `hashes` in `batch` unless the leaf is the one kept
    /// (the hashes change only with it: they hash to its root).
    fn write_leaf(
        &self,
        batch: &mut impl Writes,
        leaf: &OfficeLeaf,
        hashes: SegmentHashes,
    ) -> Result<(), StoreError> {
        let kept = self
            .db
            .get(keys::id_key(keys::STATE, leaf.office.as_str()))
            .map_err(storage(&self.path))?;
        if kept.as_deref() != Some(leaf.canonical().as_bytes()) {
            let office = leaf.office.as_str();
            let stored = stored_segment_hash_records(&self.db, &self.path, office)?;
            insert_state(batch, leaf, &hashes, stored);
        }
        Ok(())
    }
}

/// The last few naming events of each person, newest last: what names a person at the head
/// unless all of them are retracted.
#[derive(Debug, Default)]
pub(crate) struct NamingEvents(HashMap<PersonId, Vec<(Seq, String)>>);

impl NamingEvents {
    /// Naming events kept per person.
    const KEPT: usize = 4;

    /// Notes `event`, at `seq`, if it names its person.
    fn add(&mut self, seq: Seq, event: &Event) {
        if let (Some(person), Some(name)) = (event.person(), event.person_name()) {
            let names = self.0.entry(person.clone()).or_default();
            if names.len() == Self::KEPT {
                names.remove(0);
            }
            names.push((seq, name.to_owned()));
        }
    }

    fn persons(&self) -> BTreeSet<PersonId> {
        self.0.keys().cloned().collect()
    }
}

/// The names of `persons` as of `count` in `view`, from `named` (which holds every naming
/// event of theirs after those `view` held before them): the latest not retracted, or, for a
/// person with none, `name_of` itself.
fn resolve_names<R: Recorded<Error = StoreError>>(
    view: &R,
    count: Seq,
    named: NamingEvents,
    persons: &BTreeSet<PersonId>,
) -> Result<HashMap<PersonId, Option<String>>, StoreError> {
    let mut live = Liveness::new(view, count);
    let mut names = HashMap::new();
    let mut by_person = named.0;
    for person in persons {
        let mut found = None;
        let candidates = by_person.remove(person).unwrap_or_default();
        for (seq, name) in candidates.into_iter().rev() {
            if !live.is_retracted(seq)? {
                found = Some(name);
                break;
            }
        }
        let name = match found {
            Some(name) => Some(name),
            None => name_of(view, person, count)?,
        };
        names.insert(person.clone(), name);
    }
    Ok(names)
}

/// The restating of the offices an append changes ([`Ledger::restating`]).
pub(crate) struct Restating<'a> {
    ledger: &'a Ledger,
    names: HeadNames<'a>,
    /// The offices restated.
    done: BTreeSet<OfficeId>,
    /// The position the batch follows.
    before: Seq,
    /// The persons the batch renames.
    renamed: Vec<PersonId>,
    /// The offices the batch names.
    offices: BTreeSet<OfficeId>,
}

impl Restating<'_> {
    /// Restates the office of `timeline`, as it is after the batch, knowing that its segments
    /// before `first_changed` are what they were before it: the answer segments before the one
    /// covering the day before are kept as stored (their hashes read from the `G` blocks), and
    /// only the rest are named and hashed again. An office's whole history costs a name read
    /// per person who ever held it; a one-act append changes its last days. Restated whole
    /// when the batch renames anyone, when the office's record start moved, or when the stored
    /// blocks are not those of its stored leaf.
    pub(crate) fn office_since(
        &mut self,
        timeline: &Timeline,
        first_changed: Day,
        batch: &mut impl Writes,
    ) -> Result<(), StoreError> {
        if self.restated_since(timeline, first_changed, batch)? {
            self.done.insert(timeline.office.clone());
            Ok(())
        } else {
            self.office(timeline, batch)
        }
    }

    /// Writes the leaf and `G` blocks of [`Restating::office_since`] into `batch`, from the
    /// stored ones read once; false, writing nothing, where the office is restated whole.
    fn restated_since(
        &mut self,
        timeline: &Timeline,
        first_changed: Day,
        batch: &mut impl Writes,
    ) -> Result<bool, StoreError> {
        if !self.renamed.is_empty() {
            return Ok(false);
        }
        let office = timeline.office.as_str();
        let (db, path) = (&self.ledger.db, &self.ledger.path);
        let records = stored_segment_hash_records(db, path, office)?;
        let Some(mut kept) = segment_hashes_of(office, &records) else {
            return Ok(false);
        };
        let record_starts = timeline.days_on_record().map(|(first, _)| first);
        let kept_leaf = db
            .get(keys::id_key(keys::STATE, office))
            .map_err(storage(path))?;
        let stored_leaf = leaf(&timeline.office, record_starts, &kept.hashes);
        if kept_leaf.as_deref() != Some(stored_leaf.canonical().as_bytes()) {
            return Ok(false);
        }
        // The stored segment covering the day before the first changed one: it may now run on
        // into the days changed, so it is made again, with everything after it.
        let Some(again) = kept
            .froms
            .partition_point(|from| *from < first_changed)
            .checked_sub(1)
        else {
            return Ok(false);
        };
        let from = kept.froms[again];
        kept.froms.truncate(again);
        kept.hashes.truncate(again);
        let mut first = None;
        let names = &mut self.names;
        each_answer_segment_from(
            timeline,
            Some(from),
            |person| names.of(person),
            |segment| {
                first.get_or_insert(segment.from);
                kept.froms.push(segment.from);
                kept.hashes.push(segment_hash(&segment));
            },
        )?;
        if first != Some(from) {
            return Ok(false);
        }
        let leaf = leaf(&timeline.office, record_starts, &kept.hashes);
        if kept_leaf.as_deref() != Some(leaf.canonical().as_bytes()) {
            insert_state(batch, &leaf, &kept, records);
        }
        Ok(true)
    }

    /// Restates the office of `timeline`, as it is after the batch.
    pub(crate) fn office(
        &mut self,
        timeline: &Timeline,
        batch: &mut impl Writes,
    ) -> Result<(), StoreError> {
        let (leaf, hashes) = OfficeState::kept_of(timeline, |person| self.names.of(person))?;
        self.ledger.write_leaf(batch, &leaf, hashes)?;
        self.done.insert(timeline.office.clone());
        Ok(())
    }

    /// Restates what the batch changes beyond the timelines restated: the offices it names
    /// that have no leaf yet, and the offices where a person it renames appears (their
    /// timelines unchanged, as cached). `view` holds the batch.
    pub(crate) fn finish<R: Recorded<Error = StoreError>>(
        mut self,
        view: &R,
        batch: &mut impl Writes,
    ) -> Result<(), StoreError> {
        let mut more = BTreeSet::new();
        for person in &self.renamed {
            // The offices of the batch's own events are among those whose timelines it
            // changes, restated already: only the person's earlier events are read (none for
            // a person the batch names first, as all are in a ledger's first batch).
            for seq in view.person_events(person)? {
                if seq > self.before {
                    break;
                }
                more.extend(view.event(seq)?.office().cloned());
            }
        }
        for office in std::mem::take(&mut self.offices) {
            if self.ledger.stored_office_leaf(office.as_str())?.is_none() {
                more.insert(office);
            }
        }
        for office in more {
            if !self.done.contains(&office) {
                let timeline = self.ledger.timeline_or_empty(&office)?;
                self.office(&timeline, batch)?;
            }
        }
        Ok(())
    }
}

/// What a batch of events may change in the state beyond the timelines it changes: the
/// persons it may rename (those it names, and those of the events its retractions reach,
/// retracted or brought back) and the offices it names.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    pub(crate) persons: BTreeSet<PersonId>,
    pub(crate) offices: BTreeSet<OfficeId>,
    /// The batch's last naming events of each person it names, so that a batch written in
    /// parts knows its names without reading itself again.
    pub(crate) named: NamingEvents,
}

impl Touched {
    /// Adds what `events` touch, the next after position `first - 1`; `view` holds them.
    pub(crate) fn add<R: Recorded>(
        &mut self,
        view: &R,
        first: Seq,
        events: &[Event],
    ) -> Result<(), R::Error> {
        for (seq, event) in (first..).zip(events) {
            if let (Some(_), Some(person)) = (event.person_name(), event.person()) {
                self.persons.insert(person.clone());
                self.named.add(seq, event);
            }
            self.offices.extend(event.office().cloned());
            self.offices.extend(event.named_offices().cloned());
            // A retraction changes the names its target (or, for a retracted retraction, the
            // target of that) gave.
            let mut target = match event {
                Event::RecordRetracted(e) => Some(e.seq),
                _ => None,
            };
            let mut seen = BTreeSet::new();
            while let Some(seq) = target.filter(|seq| seen.insert(*seq)) {
                let retracted = view.event(seq)?;
                if let Some(person) = retracted.person() {
                    self.persons.insert(person.clone());
                }
                target = match retracted {
                    Event::RecordRetracted(e) => Some(e.seq),
                    _ => None,
                };
            }
        }
        Ok(())
    }
}
