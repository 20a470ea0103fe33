//! A whole ledger in memory with its per-office timelines kept current as events arrive.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::PersonId;
use crate::event::{Event, Seq};
use crate::id::{ActId, OfficeId};
use crate::liveness::Liveness;
use crate::parse::InputEvent;
use crate::query::{Indexed, timeline_as_of};
use crate::recorded::{Infallible, MemoryLedger, Recorded};
use crate::timeline::Timeline;
use crate::validate::{BatchError, Outcome, validate_batch};

/// The offices whose timelines can change when the events at `new` are recorded: the offices
/// of the events themselves, of the acts a revocation touches (and, through revocations of
/// revocations, the acts those restore), and of the events a retraction removes or restores.
pub fn affected_offices<R: Recorded>(
    ledger: &R,
    new: impl IntoIterator<Item = Seq>,
) -> Result<BTreeSet<OfficeId>, R::Error> {
    let mut offices = BTreeSet::new();
    let mut events: Vec<Seq> = new.into_iter().collect();
    let mut seen_events: HashSet<Seq> = HashSet::new();
    let mut acts: Vec<ActId> = Vec::new();
    let mut seen_acts: HashSet<ActId> = HashSet::new();
    loop {
        if let Some(seq) = events.pop() {
            if !seen_events.insert(seq) {
                continue;
            }
            match ledger.event(seq)? {
                Event::ActRevoked(r) => acts.push(r.revokes),
                Event::RecordRetracted(r) => events.push(r.seq),
                event => offices.extend(event.office().cloned()),
            }
        } else if let Some(act) = acts.pop() {
            if !seen_acts.insert(act.clone()) {
                continue;
            }
            // Every event of a revoked (or restored) act changes, revocations included.
            events.extend(ledger.events_of_act(&act)?);
        } else {
            return Ok(offices);
        }
    }
}

/// The events just recorded (the last ones of a ledger), read once, for bringing the timelines
/// of the offices they affect up to date ([`NewEvents::timeline`]).
#[derive(Debug)]
pub struct NewEvents {
    /// The positions of the new events, the last at the head.
    new: std::ops::RangeInclusive<Seq>,
    /// The new events that revoke or retract something: events already in force may change.
    changing: Vec<Seq>,
    /// The offices some of whose events already recorded may change force, which are replayed
    /// ([`NewEvents::offices`] finds them).
    replayed: BTreeSet<OfficeId>,
    /// Each office's new events, in position order.
    by_office: BTreeMap<OfficeId, Vec<(Seq, Event)>>,
}

impl NewEvents {
    /// Reads the events at `new`, the last ones recorded in `ledger`.
    pub fn read<R: Recorded>(
        ledger: &R,
        new: std::ops::RangeInclusive<Seq>,
    ) -> Result<NewEvents, R::Error> {
        let events = new
            .clone()
            .map(|seq| ledger.event(seq))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NewEvents::of(*new.start(), &events))
    }

    /// The new events `events`, the first at position `first`, already in hand.
    pub fn of(first: Seq, events: &[Event]) -> NewEvents {
        let mut new = NewEvents {
            new: first..=first + events.len() as Seq - 1,
            changing: Vec::new(),
            replayed: BTreeSet::new(),
            by_office: BTreeMap::new(),
        };
        for (seq, event) in (first..).zip(events) {
            if matches!(event, Event::ActRevoked(_) | Event::RecordRetracted(_)) {
                new.changing.push(seq);
            }
            if let Some(office) = event.office() {
                let list = new.by_office.entry(office.clone()).or_default();
                list.push((seq, event.clone()));
            }
        }
        new
    }

    /// Whether [`NewEvents::timeline`] extends the office's timeline before the new events
    /// (it does unless one of them revokes or retracts something that changes one of the
    /// office's events already recorded, which replays the office instead): a caller need not
    /// read that timeline otherwise. Known once [`NewEvents::offices`] is asked.
    pub fn extends(&self, office: &OfficeId) -> bool {
        !self.replayed.contains(office)
    }

    /// The offices whose timelines the new events change: the offices they name, and those
    /// of the events their revocations and retractions touch ([`affected_offices`]), which
    /// are noted to be replayed.
    pub fn offices<R: Recorded>(&mut self, ledger: &R) -> Result<BTreeSet<OfficeId>, R::Error> {
        self.replayed = if self.changing.is_empty() {
            BTreeSet::new()
        } else {
            affected_offices(ledger, self.changing.iter().copied())?
        };
        let mut offices = self.replayed.clone();
        offices.extend(self.by_office.keys().cloned());
        Ok(offices)
    }

    /// The office's timeline at the head of `ledger`, given `before`, its timeline at the head
    /// before the new events (`None` when no event in force shaped it).
    ///
    /// When no new event changes the force of an event of the office already recorded (no
    /// revocation or retraction touches one), every such event stays in force, and `before` is
    /// extended with the office's new events that are in force ([`Timeline::extended`]): no
    /// event of the office's history is read or parsed again, though the timeline's parts are
    /// rebuilt whole. Otherwise the office is replayed from all its events. A batch that
    /// revokes one act thus replays the offices of that act's events, not every office it
    /// names.
    pub fn timeline<R: Recorded>(
        &self,
        ledger: &R,
        office: &OfficeId,
        before: Option<&Timeline>,
    ) -> Result<Timeline, R::Error> {
        if !self.extends(office) {
            return timeline_as_of(ledger, office, *self.new.end());
        }
        let mut live = Liveness::new(ledger, *self.new.end());
        let mut in_force = Vec::new();
        for (seq, event) in self.by_office.get(office).map_or(&[][..], Vec::as_slice) {
            if live.is_live(*seq, event)? {
                in_force.push((*seq, event.clone()));
            }
        }
        Ok(match before {
            Some(before) => before.extended(&in_force),
            None => Timeline::build(office.clone(), &in_force),
        })
    }
}

/// A complete ledger in memory, with every office's timeline at the head kept current.
///
/// Appending validates the batch, records it, and recomputes only the timelines of the
/// offices it affects ([`affected_offices`]).
#[derive(Debug, Clone, Default)]
pub struct Engine {
    ledger: MemoryLedger,
    timelines: BTreeMap<OfficeId, Timeline>,
}

impl Engine {
    /// An empty ledger.
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Validates `batch` and records it whole, or records nothing and says why.
    pub fn append(
        &mut self,
        batch: Vec<InputEvent>,
    ) -> Result<Vec<(usize, Outcome)>, crate::InvalidEvent> {
        let valid = validate_batch(&self.ledger, batch).map_err(|e| match e {
            BatchError::Invalid(invalid) => invalid,
            BatchError::Ledger(never) => match never {},
        })?;
        let first = self.ledger.head() + 1;
        for event in valid.events() {
            self.ledger.record(event.clone());
        }
        self.refresh(first..=self.ledger.head());
        Ok(valid.outcomes)
    }

    /// Records one event that is known to be valid and new (tests build ledgers this way).
    pub fn record_unchecked(&mut self, event: Event) -> Seq {
        let seq = self.ledger.record(event);
        self.refresh(seq..=seq);
        seq
    }

    fn refresh(&mut self, new: std::ops::RangeInclusive<Seq>) {
        let mut events = NewEvents::read(&self.ledger, new).unwrap_or_else(|never| match never {});
        let offices = events
            .offices(&self.ledger)
            .unwrap_or_else(|never| match never {});
        for office in offices {
            let timeline = events
                .timeline(&self.ledger, &office, self.timelines.get(&office))
                .unwrap_or_else(|never| match never {});
            self.timelines.insert(office, timeline);
        }
    }

    /// Every office's timeline rebuilt from scratch (what the kept timelines must equal).
    pub fn rebuilt_timelines(&self) -> BTreeMap<OfficeId, Timeline> {
        let head = self.ledger.head();
        let mut all = BTreeMap::new();
        for office in self.ledger.offices().unwrap_or_else(|never| match never {}) {
            let timeline =
                timeline_as_of(&self.ledger, &office, head).unwrap_or_else(|never| match never {});
            if !timeline.is_empty() {
                all.insert(office, timeline);
            }
        }
        all
    }

    /// The kept timelines, without the empty ones.
    pub fn kept_timelines(&self) -> BTreeMap<OfficeId, Timeline> {
        self.timelines
            .iter()
            .filter(|(_, t)| !t.is_empty())
            .map(|(o, t)| (o.clone(), t.clone()))
            .collect()
    }

    /// The recorded events, the first at position 1.
    pub fn events(&self) -> &[Event] {
        self.ledger.events()
    }
}

impl Recorded for Engine {
    type Error = Infallible;

    fn head(&self) -> Seq {
        self.ledger.head()
    }
    fn event(&self, seq: Seq) -> Result<Event, Infallible> {
        self.ledger.event(seq)
    }
    fn find_identical(&self, event: &Event) -> Result<Option<Seq>, Infallible> {
        self.ledger.find_identical(event)
    }
    fn events_of_act(&self, act: &ActId) -> Result<Vec<Seq>, Infallible> {
        self.ledger.events_of_act(act)
    }
    fn revocations_of(&self, act: &ActId) -> Result<Vec<Seq>, Infallible> {
        self.ledger.revocations_of(act)
    }
    fn retractions_of(&self, seq: Seq) -> Result<Vec<Seq>, Infallible> {
        self.ledger.retractions_of(seq)
    }
    fn office_events(&self, office: &OfficeId) -> Result<Vec<Seq>, Infallible> {
        self.ledger.office_events(office)
    }
    fn person_events(&self, person: &PersonId) -> Result<Vec<Seq>, Infallible> {
        self.ledger.person_events(person)
    }
    fn offices(&self) -> Result<Vec<OfficeId>, Infallible> {
        self.ledger.offices()
    }
    fn first_naming(&self, office: &OfficeId) -> Result<Option<Seq>, Infallible> {
        self.ledger.first_naming(office)
    }
}

impl Indexed for Engine {
    fn head_timeline(&self, office: &OfficeId) -> Result<Option<Timeline>, Infallible> {
        Ok(self.timelines.get(office).cloned())
    }

    fn head_segment(
        &self,
        office: &OfficeId,
        day: crate::Day,
    ) -> Result<Option<crate::Segment>, Infallible> {
        Ok(self
            .timelines
            .get(office)
            .and_then(|t| t.segment_at(day).cloned()))
    }
}
