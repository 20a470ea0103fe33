//! The indexes and the memo: the core's [`Recorded`] and [`Indexed`] over the tables of the
//! one sled tree.
//!
//! The indexes are written in the same atomic batch as the entries they index, by
//! [`add_index_keys`] from the core's [`index_entries`], so the store indexes exactly as the
//! core's `MemoryLedger` does (but for the digest, which it does not store: duplicates are
//! found through the act postings). [`Indexed`] answers from the timeline cache
//! ([`crate::cache`]), which is versioned, rewritten with every append for the offices the
//! append affects, rebuilt from the log when missing or stale, and never read by verification.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actledger_core::{
    ActId, Day, Event, IndexEntry, Indexed, OfficeId, PersonId, Recorded, Segment, Seq, Timeline,
    identical_candidates, index_entries, segment_covering,
};

use crate::cache::{
    ABSENCE_ITEMS, ABSENCES, CHECKSUM_LEN, Counts, DELEGATION_ITEMS, DELEGATIONS, DEPARTURE_ITEMS,
    DEPARTURES, MANIFEST, Malformed, NO_DAY, SegmentBlock, TENURE_ITEMS, TENURES, Taken,
    decode_all, decode_counts, decode_segment_block, manifest_key, take_block, unsealed,
};
use crate::error::{Damage, StoreError, damaged, storage};
use crate::keys;
use crate::ledger::Ledger;
use crate::postings::PostingWriter;
use crate::writes::Writes;

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
    /// Decoded blocks of cached segments, by key and checksum: a block is decoded once for
    /// as long as its record is the same (a rewritten record has another checksum), since a
    /// server answers many who-held questions from the same few blocks.
    segment_blocks: Recent<(Vec<u8>, [u8; CHECKSUM_LEN]), Arc<SegmentBlock>, 1024>,
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
    batch: &mut impl Writes,
    postings: &mut PostingWriter,
    named: &mut HashMap<OfficeId, Seq>,
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
                named.entry(o).or_insert(seq);
            }
        }
    }
}

/// The key of `office`'s record in the known offices (`K`).
pub(crate) fn known_key(office: &OfficeId) -> Vec<u8> {
    let mut key = Vec::with_capacity(office.as_str().len() + 1);
    key.push(keys::KNOWN);
    key.extend_from_slice(office.as_str().as_bytes());
    key
}

/// Writes the known-office records of the offices `named` (each with the first position of
/// the batch that names it) that the ledger does not know yet: a record keeps the position of
/// the first event naming its office, so it is written once.
pub(crate) fn add_known_offices(
    batch: &mut impl Writes,
    db: &sled::Db,
    path: &std::path::Path,
    named: HashMap<OfficeId, Seq>,
) -> Result<(), StoreError> {
    for (office, seq) in named {
        let key = known_key(&office);
        if !db.contains_key(&key).map_err(storage(path))? {
            batch.insert(key, &seq.to_be_bytes()[..]);
        }
    }
    Ok(())
}

/// [`Recorded::first_naming`] by reading the log, for a ledger whose known-office records
/// predate the position they now keep.
fn first_naming_by_reading(ledger: &Ledger, office: &OfficeId) -> Result<Option<Seq>, StoreError> {
    let first_own = ledger.office_events(office)?.first().copied();
    let until = first_own.map_or(ledger.head.count, |seq| seq.saturating_sub(1));
    for entry in ledger
        .entries(1)
        .take(usize::try_from(until).unwrap_or(usize::MAX))
    {
        let entry = entry?;
        let event = entry
            .event()
            .map_err(|_| ledger.unreadable("an entry", "not an event"))?;
        if event.named_offices().any(|named| named == office) {
            return Ok(Some(entry.seq));
        }
    }
    Ok(first_own)
}

impl Ledger {
    /// A cache record whose checksum does not hold.
    fn tampered(&self, what: &'static str) -> StoreError {
        damaged(&self.path, Damage::CacheChecksum { what })
    }

    /// The cached block of segments stored under `key` (`prefix`, then its first day) as
    /// `value`, with its links: the first days of the blocks before and after it ([`NO_DAY`]
    /// for none). Decoded once for as long as the record stays the same; its checksum is still
    /// checked at every read, so a record changed behind the ledger's back is refused as at its
    /// first read.
    fn segment_block(
        &self,
        prefix: &[u8],
        key: &[u8],
        value: &[u8],
    ) -> Result<Arc<SegmentBlock>, StoreError> {
        let body = unsealed(key, value).ok_or_else(|| self.tampered("a block of segments"))?;
        let sum = value
            .first_chunk::<CHECKSUM_LEN>()
            .copied()
            .expect("an unsealed record starts with its checksum");
        let id = (key.to_vec(), sum);
        if let Some(block) = self.memo.segment_blocks.get(&id) {
            return Ok(block);
        }
        let block = Arc::new(
            decode_segment_block(self.block_first_day(prefix, key)?, body)
                .map_err(|e| self.unreadable("a block of segments", e))?,
        );
        self.memo.segment_blocks.put(id, Arc::clone(&block));
        Ok(block)
    }

    /// What a lookup of a day needs of the block after it: its first day (its key's, which
    /// decoding holds its first segment to) and the first day of the block before it, without
    /// decoding its segments.
    fn segment_block_link(
        &self,
        prefix: &[u8],
        key: &[u8],
        value: &[u8],
    ) -> Result<(u32, u32), StoreError> {
        let body = unsealed(key, value).ok_or_else(|| self.tampered("a block of segments"))?;
        let prev = body
            .first_chunk::<4>()
            .map(|prev| u32::from_be_bytes(*prev))
            .ok_or_else(|| self.unreadable("a block of segments", "cut short"))?;
        Ok((self.block_first_day(prefix, key)?.ordinal(), prev))
    }

    /// The first day of the block of segments under `key`, as the key names it.
    fn block_first_day(&self, prefix: &[u8], key: &[u8]) -> Result<Day, StoreError> {
        key.strip_prefix(prefix)
            .and_then(|day| <[u8; 4]>::try_from(day).ok())
            .map(u32::from_be_bytes)
            .and_then(Day::from_ordinal)
            .ok_or_else(|| self.unreadable("a segment key", "not a day"))
    }

    /// A block whose links do not match its neighbours': one was moved, lost or added.
    fn unlinked(&self, office: &OfficeId) -> StoreError {
        damaged(
            &self.path,
            Damage::CacheInconsistent {
                office: office.to_string(),
            },
        )
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

    /// The identifier (an office's or a person's) that `bytes` of a key spell.
    pub(crate) fn id_in_key<T: std::str::FromStr>(
        &self,
        bytes: &[u8],
        what: &'static str,
    ) -> Result<T, StoreError> {
        std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| self.unreadable(what, "not an identifier"))
    }

    pub(crate) fn unreadable(&self, what: &'static str, why: impl Into<Why>) -> StoreError {
        damaged(
            &self.path,
            Damage::Unreadable {
                what,
                why: why.into().0,
            },
        )
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

/// Why a record is unreadable: a decoding failure, or words.
pub(crate) struct Why(&'static str);

impl From<&'static str> for Why {
    fn from(why: &'static str) -> Why {
        Why(why)
    }
}

impl From<Malformed> for Why {
    fn from(malformed: Malformed) -> Why {
        Why(malformed.0)
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

    fn first_naming(&self, office: &OfficeId) -> Result<Option<Seq>, StoreError> {
        let Some(value) = self
            .db
            .get(known_key(office))
            .map_err(storage(&self.path))?
        else {
            return Ok(None);
        };
        match <[u8; 8]>::try_from(value.as_ref()) {
            Ok(seq) => Ok(Some(Seq::from_be_bytes(seq))),
            // Written before the record kept the position (an empty value): read the log.
            Err(_) if value.is_empty() => first_naming_by_reading(self, office),
            Err(_) => Err(self.unreadable("a known office", "not a position")),
        }
    }

    fn known_office(&self, office: &str) -> Result<Option<OfficeId>, StoreError> {
        // Not an identifier: no key of the known offices can name it.
        let Ok(office) = OfficeId::new(office) else {
            return Ok(None);
        };
        let known = self
            .db
            .contains_key(known_key(&office))
            .map_err(storage(&self.path))?;
        Ok(known.then_some(office))
    }

    fn offices(&self) -> Result<Vec<OfficeId>, StoreError> {
        let mut offices = Vec::new();
        for item in self.db.scan_prefix([keys::KNOWN]) {
            let (key, _) = item.map_err(storage(&self.path))?;
            let office = self.id_in_key(&key[1..], "a known office")?;
            offices.push(office);
        }
        Ok(offices)
    }
}

impl Ledger {
    /// Every person any recorded event names (as `person` or `delegate`), by id: one pass over
    /// the person postings, each person's blocks following each other (a person's events fill
    /// one block of 256 positions but for the few with more: a pass reads fewer keys than a
    /// seek per person costs).
    pub fn persons(&self) -> Result<Vec<PersonId>, StoreError> {
        let mut persons: Vec<PersonId> = Vec::new();
        for item in self.db.scan_prefix([keys::PERSON]) {
            let (key, _) = item.map_err(storage(&self.path))?;
            let end = key
                .iter()
                .position(|b| *b == 0)
                .ok_or_else(|| self.unreadable("a person posting", "no end of the id"))?;
            let id = &key[1..end];
            if persons
                .last()
                .is_some_and(|last| last.as_str().as_bytes() == id)
            {
                continue;
            }
            let person = self.id_in_key(id, "a person posting")?;
            persons.push(person);
        }
        Ok(persons)
    }
}

impl Indexed for Ledger {
    fn head_timeline(&self, office: &OfficeId) -> Result<Option<Timeline>, StoreError> {
        self.read_head_timeline(office, Reading::Whole)
    }

    fn head_timeline_since(
        &self,
        office: &OfficeId,
        day: Day,
    ) -> Result<Option<Timeline>, StoreError> {
        self.read_head_timeline(office, Reading::Since(day))
    }

    fn head_timeline_unsegmented(&self, office: &OfficeId) -> Result<Option<Timeline>, StoreError> {
        self.read_head_timeline(office, Reading::Unsegmented)
    }

    fn head_segment_started(&self, office: &OfficeId, day: Day) -> Result<bool, StoreError> {
        let prefix = keys::named_prefix(keys::SEGMENT, office.as_str());
        let mut upto = prefix.clone();
        upto.extend_from_slice(&day.ordinal().to_be_bytes());
        // A block's key is its first segment's first day.
        match self.db.range(prefix..=upto).next() {
            None => Ok(false),
            Some(item) => item.map(|_| true).map_err(storage(&self.path)),
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
        // Of the block after, only its link to the block before is needed: (first, prev).
        let after = match self.db.range((Excluded(upto), Unbounded)).next() {
            None => None,
            Some(item) => {
                let (key, value) = item.map_err(storage(&self.path))?;
                if key.starts_with(&prefix) {
                    Some(self.segment_block_link(&prefix, &key, &value)?)
                } else {
                    None
                }
            }
        };
        // The two blocks around the day must name each other.
        let before_first = before
            .as_ref()
            .map_or(NO_DAY, |b| b.segments[0].from.ordinal());
        let after_first = after.map_or(NO_DAY, |(first, _)| first);
        let linked = before.as_ref().is_none_or(|b| b.next == after_first)
            && after.is_none_or(|(_, prev)| prev == before_first);
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

/// What of an office's kept timeline a read takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// All of it.
    Whole,
    /// All but its segments.
    Unsegmented,
    /// The facts ending on the day or later ([`Timeline::since`]): the segment blocks from the
    /// one covering the day, and the parts' items that end that late.
    Since(Day),
}

impl Ledger {
    /// The office's timeline at the head as the cache keeps it, as much of it as `reading`
    /// asks, every block read checked and linked in place.
    fn read_head_timeline(
        &self,
        office: &OfficeId,
        reading: Reading,
    ) -> Result<Option<Timeline>, StoreError> {
        let mut timeline = Timeline {
            office: office.clone(),
            segments: Vec::new(),
            tenures: Vec::new(),
            delegations: Vec::new(),
            absences: Vec::new(),
            departures: Vec::new(),
        };
        let since = match reading {
            Reading::Since(day) => Some(day),
            Reading::Whole | Reading::Unsegmented => None,
        };
        let kept = |last: Day| since.is_none_or(|day| last >= day);
        let mut found = false;
        let mut expected_prev = NO_DAY;
        let mut next_of_last = NO_DAY;
        let segment_prefix = keys::named_prefix(keys::SEGMENT, office.as_str());
        // The key of the first segment block read, if any is, and whether blocks before it
        // are left unread (then its link back is taken on trust; otherwise it must be none).
        let (first_key, mid_chain) = match reading {
            Reading::Whole => (Some(segment_prefix.clone()), false),
            Reading::Unsegmented => (None, false),
            Reading::Since(day) => {
                // The block covering the day: the last one starting on it or before.
                let mut upto = segment_prefix.clone();
                upto.extend_from_slice(&day.ordinal().to_be_bytes());
                match self.db.range(segment_prefix.clone()..=upto).next_back() {
                    Some(item) => (Some(item.map_err(storage(&self.path))?.0.to_vec()), true),
                    None => (Some(segment_prefix.clone()), false),
                }
            }
        };
        let segment_blocks = first_key.map(|key| {
            self.db.range(key..).take_while(|item| {
                item.as_ref()
                    .map_or(true, |(key, _)| key.starts_with(&segment_prefix))
            })
        });
        for item in segment_blocks.into_iter().flatten() {
            let (key, value) = item.map_err(storage(&self.path))?;
            let block = self.segment_block(&segment_prefix, &key, &value)?;
            let first = block.segments[0].from.ordinal();
            let after_last = timeline
                .segments
                .last()
                .is_none_or(|last| last.until < block.segments[0].from);
            if !found && mid_chain {
                // A read from a block in the middle takes its link back on trust: the blocks
                // before it are not read. A read from the first block checks it has none.
                expected_prev = block.prev;
            }
            if block.prev != expected_prev || (found && next_of_last != first) || !after_last {
                return Err(self.unlinked(office));
            }
            expected_prev = first;
            next_of_last = block.next;
            timeline
                .segments
                .extend(block.segments.iter().filter(|s| kept(s.until)).cloned());
            found = true;
        }
        if next_of_last != NO_DAY {
            return Err(self.unlinked(office));
        }
        let prefix = keys::named_prefix(keys::TIMELINE, office.as_str());
        let mut manifest = None;
        // Blocks and items seen so far of tenures, delegations, absences and departures.
        let mut taken = [Taken::default(); 4];
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
                    &mut taken[0],
                    index,
                    value,
                    &TENURE_ITEMS,
                    since,
                )
                .map_err(bad)?,
                Some(&DELEGATIONS) => take_block(
                    &mut timeline.delegations,
                    &mut taken[1],
                    index,
                    value,
                    &DELEGATION_ITEMS,
                    since,
                )
                .map_err(bad)?,
                Some(&ABSENCES) => take_block(
                    &mut timeline.absences,
                    &mut taken[2],
                    index,
                    value,
                    &ABSENCE_ITEMS,
                    since,
                )
                .map_err(bad)?,
                Some(&DEPARTURES) => take_block(
                    &mut timeline.departures,
                    &mut taken[3],
                    index,
                    value,
                    &DEPARTURE_ITEMS,
                    since,
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
        // The segments are counted only when all of them were read.
        let seen = [
            timeline.segments.len(),
            taken[0].items,
            taken[1].items,
            taken[2].items,
            taken[3].items,
        ];
        let checked = usize::from(reading != Reading::Whole);
        match manifest {
            None if !found => Ok(None),
            Some(counts) if counts[checked..] == seen[checked..] => Ok(Some(timeline)),
            _ => Err(self.unlinked(office)),
        }
    }
}
