//! What replay and validation read from a ledger: the recorded events and a few indexes.
//!
//! The core does no I/O, so it reads through the [`Recorded`] trait. [`MemoryLedger`] keeps
//! everything in memory (tests, batches being validated); the store implements the same trait
//! over its own tables. Which index entries an event adds is decided once, here, by
//! [`index_entries`], so every implementation indexes the same way.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::event::{Event, Seq};
use crate::id::{ActId, OfficeId, PersonId};

/// Read access to the events of a ledger, positions `1..=head()`, and the indexes over them.
///
/// Every list of positions is in ascending order.
pub trait Recorded {
    /// What reading can fail with (I/O, a damaged store).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The position of the last recorded event; 0 for an empty ledger.
    fn head(&self) -> Seq;
    /// The event at `seq`, which is in `1..=head()`.
    fn event(&self, seq: Seq) -> Result<Event, Self::Error>;
    /// The position of an event identical to `event` (the same canonical bytes, so the same
    /// [`Event::digest`]), if one is recorded. Identical events name the same act (or, for a
    /// retraction, the same position), so a store can find them through those indexes.
    fn find_identical(&self, event: &Event) -> Result<Option<Seq>, Self::Error>;
    /// Every event whose `act` field is `act` (its `act_issued` included).
    fn events_of_act(&self, act: &ActId) -> Result<Vec<Seq>, Self::Error>;
    /// Every `act_revoked` whose `revokes` is `act`.
    fn revocations_of(&self, act: &ActId) -> Result<Vec<Seq>, Self::Error>;
    /// Every `record_retracted` whose `seq` is `seq`.
    fn retractions_of(&self, seq: Seq) -> Result<Vec<Seq>, Self::Error>;
    /// Every event whose `office` is `office`.
    fn office_events(&self, office: &OfficeId) -> Result<Vec<Seq>, Self::Error>;
    /// Every event whose `person` or `delegate` is `person`.
    fn person_events(&self, person: &PersonId) -> Result<Vec<Seq>, Self::Error>;
    /// Every office any event names (as `office` or `delegate_office`), sorted.
    fn offices(&self) -> Result<Vec<OfficeId>, Self::Error>;
    /// `office`, when some event names it (it is among [`Recorded::offices`]). The default
    /// searches that list; a store looks the one office up, which a query asked many times a
    /// second (is the office known at all?) needs.
    fn known_office(&self, office: &str) -> Result<Option<OfficeId>, Self::Error> {
        Ok(self.offices()?.into_iter().find(|o| o.as_str() == office))
    }
    /// The position of the first event that names `office` (as `office` or
    /// `delegate_office`): from there on the office is known. The default reads the office's
    /// events, and the log up to the first of them for a `delegate_office`; a store keeps it.
    fn first_naming(&self, office: &OfficeId) -> Result<Option<Seq>, Self::Error> {
        let first_own = self.office_events(office)?.first().copied();
        let scan_until = first_own.map_or(self.head(), |seq| seq.saturating_sub(1));
        for seq in 1..=scan_until {
            if self
                .event(seq)?
                .named_offices()
                .any(|named| named == office)
            {
                return Ok(Some(seq));
            }
        }
        Ok(first_own)
    }
}

/// The position of the `act_issued` of `act`, if one is recorded.
pub fn issued_at<R: Recorded + ?Sized>(ledger: &R, act: &ActId) -> Result<Option<Seq>, R::Error> {
    for seq in ledger.events_of_act(act)? {
        if matches!(ledger.event(seq)?, Event::ActIssued(_)) {
            return Ok(Some(seq));
        }
    }
    Ok(None)
}

/// The positions where an event identical to `event` can be: identical events name the same
/// act, or retract the same position, so the indexes lead to them and no digest of every
/// event is needed. Both ledgers answer [`Recorded::find_identical`] among these.
pub fn identical_candidates<R: Recorded + ?Sized>(
    ledger: &R,
    event: &Event,
) -> Result<Vec<Seq>, R::Error> {
    match (event, event.act()) {
        (Event::RecordRetracted(r), _) => ledger.retractions_of(r.seq),
        (_, Some(act)) => ledger.events_of_act(act),
        (_, None) => Ok(Vec::new()),
    }
}

/// One entry an event adds to the indexes of a ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexEntry {
    /// The event's `act`.
    Act(ActId),
    /// The act an `act_revoked` revokes.
    Revokes(ActId),
    /// The position a `record_retracted` retracts.
    Retracts(Seq),
    /// The office whose timeline the event shapes.
    Office(OfficeId),
    /// The person the event is about.
    Person(PersonId),
    /// An office the event names (`office` or `delegate_office`): it becomes known.
    KnownOffice(OfficeId),
}

/// The index entries of one event.
pub fn index_entries(event: &Event) -> Vec<IndexEntry> {
    let mut entries = Vec::with_capacity(4);
    if let Some(act) = event.act() {
        entries.push(IndexEntry::Act(act.clone()));
    }
    match event {
        Event::ActRevoked(e) => entries.push(IndexEntry::Revokes(e.revokes.clone())),
        Event::RecordRetracted(e) => entries.push(IndexEntry::Retracts(e.seq)),
        _ => {}
    }
    if let Some(office) = event.office() {
        entries.push(IndexEntry::Office(office.clone()));
    }
    if let Some(person) = event.person() {
        entries.push(IndexEntry::Person(person.clone()));
    }
    entries.extend(event.named_offices().cloned().map(IndexEntry::KnownOffice));
    entries
}

/// A ledger held in memory, with every index of [`Recorded`].
///
/// Its positions start after `base` (0 for a whole ledger; the head of the ledger underneath
/// when it holds a batch being validated).
#[derive(Debug, Clone, Default)]
pub struct MemoryLedger {
    base: Seq,
    events: Vec<Event>,
    by_act: HashMap<ActId, Vec<Seq>>,
    by_revoked: HashMap<ActId, Vec<Seq>>,
    by_retracted: HashMap<Seq, Vec<Seq>>,
    by_office: HashMap<OfficeId, Vec<Seq>>,
    by_person: HashMap<PersonId, Vec<Seq>>,
    /// Every office named, with the position of the first event naming it.
    offices: BTreeMap<OfficeId, Seq>,
}

/// Reading a [`MemoryLedger`] cannot fail.
#[derive(Debug, thiserror::Error)]
#[error("unreachable")]
pub enum Infallible {}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> MemoryLedger {
        MemoryLedger::default()
    }

    /// An empty ledger whose first position is `base + 1`.
    pub fn after(base: Seq) -> MemoryLedger {
        MemoryLedger {
            base,
            ..MemoryLedger::default()
        }
    }

    /// Records `event` at the next position (no validation: see [`crate::validate_batch`]).
    pub fn record(&mut self, event: Event) -> Seq {
        self.events.push(event);
        let seq = self.base + self.events.len() as Seq;
        let event = self.events.last().expect("just pushed");
        for entry in index_entries(event) {
            match entry {
                IndexEntry::Act(a) => self.by_act.entry(a).or_default().push(seq),
                IndexEntry::Revokes(a) => self.by_revoked.entry(a).or_default().push(seq),
                IndexEntry::Retracts(s) => self.by_retracted.entry(s).or_default().push(seq),
                IndexEntry::Office(o) => self.by_office.entry(o).or_default().push(seq),
                IndexEntry::Person(p) => self.by_person.entry(p).or_default().push(seq),
                IndexEntry::KnownOffice(o) => {
                    self.offices.entry(o).or_insert(seq);
                }
            }
        }
        seq
    }

    /// The events recorded here, in order, the first at position `base + 1`.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Whether nothing is recorded here.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The event at `seq`, which is in `base + 1..=head()`.
    fn recorded(&self, seq: Seq) -> &Event {
        let index = seq
            .checked_sub(self.base + 1)
            .and_then(|i| usize::try_from(i).ok())
            .filter(|i| *i < self.events.len());
        &self.events[index.expect("a position below the head is recorded")]
    }

    fn list<K: std::hash::Hash + Eq>(map: &HashMap<K, Vec<Seq>>, key: &K) -> Vec<Seq> {
        map.get(key).cloned().unwrap_or_default()
    }
}

impl Recorded for MemoryLedger {
    type Error = Infallible;

    fn head(&self) -> Seq {
        self.base + self.events.len() as Seq
    }

    fn event(&self, seq: Seq) -> Result<Event, Infallible> {
        Ok(self.recorded(seq).clone())
    }

    fn find_identical(&self, event: &Event) -> Result<Option<Seq>, Infallible> {
        let candidates = identical_candidates(self, event)?;
        Ok(candidates
            .into_iter()
            .find(|&seq| self.recorded(seq) == event))
    }

    fn events_of_act(&self, act: &ActId) -> Result<Vec<Seq>, Infallible> {
        Ok(Self::list(&self.by_act, act))
    }

    fn revocations_of(&self, act: &ActId) -> Result<Vec<Seq>, Infallible> {
        Ok(Self::list(&self.by_revoked, act))
    }

    fn retractions_of(&self, seq: Seq) -> Result<Vec<Seq>, Infallible> {
        Ok(Self::list(&self.by_retracted, &seq))
    }

    fn office_events(&self, office: &OfficeId) -> Result<Vec<Seq>, Infallible> {
        Ok(Self::list(&self.by_office, office))
    }

    fn person_events(&self, person: &PersonId) -> Result<Vec<Seq>, Infallible> {
        Ok(Self::list(&self.by_person, person))
    }

    fn offices(&self) -> Result<Vec<OfficeId>, Infallible> {
        Ok(self.offices.keys().cloned().collect())
    }

    fn first_naming(&self, office: &OfficeId) -> Result<Option<Seq>, Infallible> {
        Ok(self.offices.get(office).copied())
    }
}

/// A ledger seen together with a batch not yet written: the ledger's events, then the batch's.
#[derive(Debug)]
pub struct WithPending<'a, R> {
    /// The recorded ledger.
    pub ledger: &'a R,
    /// The batch so far, positioned after the ledger's head.
    pub pending: &'a MemoryLedger,
}

fn merged(mut base: Vec<Seq>, pending: Vec<Seq>) -> Vec<Seq> {
    base.extend(pending);
    base
}

impl<R: Recorded> Recorded for WithPending<'_, R> {
    type Error = R::Error;

    fn head(&self) -> Seq {
        self.pending.head().max(self.ledger.head())
    }

    fn event(&self, seq: Seq) -> Result<Event, R::Error> {
        if seq > self.ledger.head() {
            Ok(self
                .pending
                .event(seq)
                .unwrap_or_else(|never| match never {}))
        } else {
            self.ledger.event(seq)
        }
    }

    fn find_identical(&self, event: &Event) -> Result<Option<Seq>, R::Error> {
        match self.ledger.find_identical(event)? {
            Some(seq) => Ok(Some(seq)),
            None => Ok(self
                .pending
                .find_identical(event)
                .unwrap_or_else(|never| match never {})),
        }
    }

    fn events_of_act(&self, act: &ActId) -> Result<Vec<Seq>, R::Error> {
        Ok(merged(
            self.ledger.events_of_act(act)?,
            MemoryLedger::list(&self.pending.by_act, act),
        ))
    }

    fn revocations_of(&self, act: &ActId) -> Result<Vec<Seq>, R::Error> {
        Ok(merged(
            self.ledger.revocations_of(act)?,
            MemoryLedger::list(&self.pending.by_revoked, act),
        ))
    }

    fn retractions_of(&self, seq: Seq) -> Result<Vec<Seq>, R::Error> {
        Ok(merged(
            self.ledger.retractions_of(seq)?,
            MemoryLedger::list(&self.pending.by_retracted, &seq),
        ))
    }

    fn office_events(&self, office: &OfficeId) -> Result<Vec<Seq>, R::Error> {
        Ok(merged(
            self.ledger.office_events(office)?,
            MemoryLedger::list(&self.pending.by_office, office),
        ))
    }

    fn person_events(&self, person: &PersonId) -> Result<Vec<Seq>, R::Error> {
        Ok(merged(
            self.ledger.person_events(person)?,
            MemoryLedger::list(&self.pending.by_person, person),
        ))
    }

    fn offices(&self) -> Result<Vec<OfficeId>, R::Error> {
        let mut all: BTreeSet<OfficeId> = self.ledger.offices()?.into_iter().collect();
        all.extend(self.pending.offices.keys().cloned());
        Ok(all.into_iter().collect())
    }

    fn first_naming(&self, office: &OfficeId) -> Result<Option<Seq>, R::Error> {
        match self.ledger.first_naming(office)? {
            Some(seq) => Ok(Some(seq)),
            None => Ok(self.pending.offices.get(office).copied()),
        }
    }
}
