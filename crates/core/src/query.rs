//! The questions the ledger answers: who held an office on a day, the state of every office,
//! an office's history, an act and its events. Answers "as of" the head come from the kept
//! timelines ([`Indexed`]); answers as of an earlier position replay that office alone.

use std::collections::{BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

use crate::day::Day;
use crate::event::{Event, Seq};
use crate::id::{ActId, OfficeId, PersonId};
use crate::liveness::Liveness;
use crate::recorded::Recorded;
use crate::search::suggest;
use crate::timeline::{AbsenceKind, Segment, Timeline};

/// A ledger whose per-office timelines at the head are kept up to date: the query index.
pub trait Indexed: Recorded {
    /// The office's timeline at the head; `None` when no event shapes it.
    fn head_timeline(&self, office: &OfficeId) -> Result<Option<Timeline>, Self::Error>;

    /// The office's timeline at the head with its `segments` left empty: what a pass over
    /// every office that asks who is in charge, titular or away needs. Implementations that
    /// store segments apart (most of a timeline's size) answer it without reading them.
    fn head_timeline_unsegmented(
        &self,
        office: &OfficeId,
    ) -> Result<Option<Timeline>, Self::Error> {
        Ok(self.head_timeline(office)?.map(|mut timeline| {
            timeline.segments = Vec::new();
            timeline
        }))
    }

    /// The office's timeline at the head [kept since](Timeline::since) `day`: what a look at
    /// the days a batch changes needs. Implementations that store the segments by day read
    /// only those from `day` on.
    fn head_timeline_since(
        &self,
        office: &OfficeId,
        day: Day,
    ) -> Result<Option<Timeline>, Self::Error> {
        Ok(self.head_timeline(office)?.map(|t| t.since(day)))
    }

    /// The segment covering `day` in the office's timeline at the head.
    ///
    /// Implementations that store segments apart answer this without loading the whole
    /// timeline.
    fn head_segment(&self, office: &OfficeId, day: Day) -> Result<Option<Segment>, Self::Error> {
        Ok(self
            .head_timeline(office)?
            .and_then(|t| t.segment_at(day).cloned()))
    }

    /// Whether a segment of the office's timeline at the head starts on or before `day`:
    /// then `day` is on the office's record (a segment starts no earlier than the tenure or
    /// delegation that makes it, whose first day is on the record), which a day nobody held
    /// the office needs to know without loading the whole timeline.
    fn head_segment_started(&self, office: &OfficeId, day: Day) -> Result<bool, Self::Error> {
        Ok(self
            .head_timeline(office)?
            .is_some_and(|t| t.segments.first().is_some_and(|s| s.from <= day)))
    }
}

/// Why a question could not be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError<E: std::error::Error + 'static> {
    /// No recorded event names the office.
    #[error("unknown office {office:?}{}", did_you_mean(.suggestions))]
    UnknownOffice {
        /// The office asked for.
        office: String,
        /// Known offices with a close name.
        suggestions: Vec<OfficeId>,
    },
    /// "As of" a position the ledger does not have.
    #[error("as of {as_of}: the ledger holds positions 1 to {head}")]
    AsOfOutOfRange {
        /// The position asked for.
        as_of: Seq,
        /// The head of the ledger.
        head: Seq,
    },
    /// No event names the act.
    #[error("unknown act {0:?}: no recorded event names it")]
    UnknownAct(String),
    /// The ledger could not be read.
    #[error("reading the ledger")]
    Ledger(#[source] E),
}

/// " (did you mean A, B?)" after an unknown office, or nothing when no office is close.
pub fn did_you_mean(suggestions: &[OfficeId]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = suggestions.iter().map(OfficeId::as_str).collect();
        format!(" (did you mean {}?)", names.join(", "))
    }
}

/// Whether the holder holds the office as its titular (appointed) or as the acting holder (in
/// charge by delegation while the titular is away).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Capacity {
    /// Appointed to the office (rule 1).
    Titular,
    /// In charge by delegation (rule 3).
    Acting,
}

/// Who held the office that day: the acting holder if one was in charge, else the titular.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Holder {
    /// The person who held the office.
    pub person: PersonId,
    /// The latest name recorded for them up to `as_of` (`person_name` or `delegate_name`);
    /// null when no event names them.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub name: Option<String>,
    /// Titular or acting.
    pub capacity: Capacity,
    /// The legal basis: the act of the appointment or of the delegation in force.
    pub basis: Vec<ActId>,
}

/// The titular of the office that day, present or away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TitularState {
    /// The person appointed to the office.
    pub person: PersonId,
    /// The latest name recorded for them up to `as_of`; null when no event names them.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub name: Option<String>,
    /// Whether they were away that day: on an authorized trip or on leave.
    pub absent: bool,
    /// The act that authorized the trip that made them away; null when present or on leave
    /// (see `absence_act`).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub trip_act: Option<ActId>,
    /// What kind of absence made them away (`trip` or `leave`); null when present.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub absence: Option<AbsenceKind>,
    /// The act that authorized that absence, trip or leave; null when present.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub absence_act: Option<ActId>,
}

/// The answer to "who held OFFICE on DAY, as of SEQ": the `who-held --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhoHeld {
    /// The office asked about.
    pub office: OfficeId,
    /// The day asked about.
    pub on: Day,
    /// The position of the ledger the answer is as of: only events recorded up to it count.
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub as_of: Seq,
    /// Whether the day is on the ledger's record of the office: on or after the first day
    /// that an event in force (as of `as_of`) shaping the office names. `false`: the ledger
    /// says nothing of who held it that day, which is not saying that nobody did.
    pub on_record: bool,
    /// When `on_record` is false and the office's record starts later: the day it starts;
    /// null otherwise.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date, required = true))]
    pub record_starts: Option<Day>,
    /// Who held the office; null when it was vacant (or its titular away with nobody in
    /// charge), and when the day is not on record.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub holder: Option<Holder>,
    /// Its titular that day, present or away; null when it had none.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub titular: Option<TitularState>,
}

/// Checks an "as of" position against the ledger; `None` means the head.
pub fn resolve_as_of<R: Recorded>(
    ledger: &R,
    as_of: Option<Seq>,
) -> Result<Seq, QueryError<R::Error>> {
    let head = ledger.head();
    match as_of {
        None => Ok(head),
        Some(n) if n == 0 || n > head => Err(QueryError::AsOfOutOfRange { as_of: n, head }),
        Some(n) => Ok(n),
    }
}

/// Checks that an office is known at the head, suggesting the known offices whose id or
/// latest name is close to what was asked ([`suggest`]) when it is not.
pub fn require_office<R: Recorded>(
    ledger: &R,
    office: &str,
) -> Result<OfficeId, QueryError<R::Error>> {
    if let Some(found) = ledger.known_office(office).map_err(QueryError::Ledger)? {
        return Ok(found);
    }
    let known = ledger.offices().map_err(QueryError::Ledger)?;
    let suggestions = office_suggestions(ledger, office, known).map_err(QueryError::Ledger)?;
    Err(QueryError::UnknownOffice {
        office: office.to_owned(),
        suggestions,
    })
}

/// The offices of `known` close to `asked` by id or by latest name, as of the head.
fn office_suggestions<R: Recorded>(
    ledger: &R,
    asked: &str,
    known: Vec<OfficeId>,
) -> Result<Vec<OfficeId>, R::Error> {
    let head = ledger.head();
    let mut live = Liveness::new(ledger, head);
    let mut named = Vec::with_capacity(known.len());
    for office in known {
        let name = office_name(ledger, &office, head, &mut live)?;
        named.push((office, name));
    }
    Ok(suggest(asked, &named))
}

/// The office's timeline replayed from its events as of `as_of`.
pub fn timeline_as_of<R: Recorded>(
    ledger: &R,
    office: &OfficeId,
    as_of: Seq,
) -> Result<Timeline, R::Error> {
    let mut live = Liveness::new(ledger, as_of);
    let mut events = Vec::new();
    for seq in ledger.office_events(office)? {
        if seq > as_of {
            break;
        }
        let event = ledger.event(seq)?;
        if live.is_live(seq, &event)? {
            events.push((seq, event));
        }
    }
    Ok(Timeline::build(office.clone(), &events))
}

/// The office's timeline as of `as_of`: the kept one at the head, else replayed.
pub fn timeline_at<I: Indexed>(
    ledger: &I,
    office: &OfficeId,
    as_of: Seq,
) -> Result<Timeline, I::Error> {
    if as_of == ledger.head() {
        if let Some(t) = ledger.head_timeline(office)? {
            return Ok(t);
        }
        return Ok(Timeline::build(office.clone(), &[]));
    }
    timeline_as_of(ledger, office, as_of)
}

/// The latest name recorded for `person` by an unretracted event up to `as_of`.
pub fn name_of<R: Recorded>(
    ledger: &R,
    person: &PersonId,
    as_of: Seq,
) -> Result<Option<String>, R::Error> {
    let mut live = Liveness::new(ledger, as_of);
    for seq in ledger.person_events(person)?.into_iter().rev() {
        if seq > as_of {
            continue;
        }
        let event = ledger.event(seq)?;
        if let Some(name) = event.person_name()
            && !live.is_retracted(seq)?
        {
            return Ok(Some(name.to_owned()));
        }
    }
    Ok(None)
}

/// The latest `office_name` recorded for `office` by an appointment not retracted up to
/// `as_of`: offices are named where they are filled, as persons are where they are named.
pub fn office_name<R: Recorded>(
    ledger: &R,
    office: &OfficeId,
    as_of: Seq,
    live: &mut Liveness<'_, R>,
) -> Result<Option<String>, R::Error> {
    for seq in ledger.office_events(office)?.into_iter().rev() {
        if seq > as_of {
            continue;
        }
        if let Event::Appointed(appointed) = ledger.event(seq)?
            && let Some(name) = appointed.office_name
            && !live.is_retracted(seq)?
        {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

/// Who held `office` on `day`, as of `as_of` (the head when `None`).
pub fn who_held<I: Indexed>(
    ledger: &I,
    office: &str,
    day: Day,
    as_of: Option<Seq>,
) -> Result<WhoHeld, QueryError<I::Error>> {
    let office = require_office(ledger, office)?;
    let as_of = resolve_as_of(ledger, as_of)?;
    who_held_known(ledger, office, day, as_of).map_err(QueryError::Ledger)
}

/// [`who_held`] for an office known to exist and a position already checked.
///
/// A day some segment covers is on record; only for another day is the whole timeline needed
/// (at the head, the kept one) to find where the office's record starts.
fn who_held_known<I: Indexed>(
    ledger: &I,
    office: OfficeId,
    day: Day,
    as_of: Seq,
) -> Result<WhoHeld, I::Error> {
    let (segment, timeline) = if as_of == ledger.head() {
        (ledger.head_segment(&office, day)?, None)
    } else {
        let timeline = timeline_as_of(ledger, &office, as_of)?;
        (timeline.segment_at(day).cloned(), Some(timeline))
    };
    let record = match (&segment, timeline) {
        (Some(_), _) => Record::On,
        (None, Some(timeline)) => Record::of(&timeline, day),
        (None, None) if ledger.head_segment_started(&office, day)? => Record::On,
        (None, None) => match ledger.head_timeline(&office)? {
            Some(timeline) => Record::of(&timeline, day),
            None => Record::Off { starts: None },
        },
    };
    answer(ledger, office, day, as_of, segment.as_ref(), record)
}

/// Whether a day is on an office's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    /// On record.
    On,
    /// Not on record; the record starts on `starts`, if it has any day.
    Off { starts: Option<Day> },
}

impl Record {
    fn of(timeline: &Timeline, day: Day) -> Record {
        match timeline.days_on_record() {
            Some((first, _)) if first <= day => Record::On,
            starts => Record::Off {
                starts: starts.map(|(first, _)| first),
            },
        }
    }
}

/// Who held the office and its titular over a segment, as a who-held answer shows them:
/// `name` gives a person's name as of the answer's position. The one definition of what a
/// segment says, shared by [`who_held`] and by the answers' state, which commits to it.
pub fn held_in<E>(
    segment: &Segment,
    mut name: impl FnMut(&PersonId) -> Result<Option<String>, E>,
) -> Result<(Option<Holder>, Option<TitularState>), E> {
    let mut titular = None;
    if let Some(t) = &segment.titular {
        titular = Some(TitularState {
            person: t.person.clone(),
            name: name(&t.person)?,
            absent: segment.absence.is_some(),
            trip_act: segment
                .absence
                .as_ref()
                .filter(|absence| absence.kind == AbsenceKind::Trip)
                .map(|trip| trip.act.clone()),
            absence: segment.absence.as_ref().map(|absence| absence.kind),
            absence_act: segment.absence.as_ref().map(|absence| absence.act.clone()),
        });
    }
    let holder = match (&segment.acting, &titular) {
        (Some(acting), _) => Some(Holder {
            person: acting.person.clone(),
            name: name(&acting.person)?,
            capacity: Capacity::Acting,
            basis: vec![acting.act.clone()],
        }),
        (None, Some(t)) => Some(Holder {
            person: t.person.clone(),
            name: t.name.clone(),
            capacity: Capacity::Titular,
            basis: vec![
                segment
                    .titular
                    .as_ref()
                    .expect("titular state comes from it")
                    .act
                    .clone(),
            ],
        }),
        (None, None) => None,
    };
    Ok((holder, titular))
}

fn answer<R: Recorded>(
    ledger: &R,
    office: OfficeId,
    on: Day,
    as_of: Seq,
    segment: Option<&Segment>,
    record: Record,
) -> Result<WhoHeld, R::Error> {
    let (holder, titular) = match segment {
        Some(segment) => held_in(segment, |person| name_of(ledger, person, as_of))?,
        None => (None, None),
    };
    let (on_record, record_starts) = match record {
        Record::On => (true, None),
        Record::Off { starts } => (false, starts),
    };
    Ok(WhoHeld {
        office,
        on,
        as_of,
        on_record,
        record_starts,
        holder,
        titular,
    })
}

/// The offices known as of `as_of`: those some event recorded at or before it names (as
/// `office` or `delegate_office`). An answer as of an earlier point must be the one the ledger gave at that point, and
/// stay so whatever is appended later.
pub fn offices_at<R: Recorded>(ledger: &R, as_of: Seq) -> Result<Vec<OfficeId>, R::Error> {
    let mut known = ledger.offices()?;
    if as_of < ledger.head() {
        let mut kept = Vec::with_capacity(known.len());
        for office in known {
            if ledger
                .first_naming(&office)?
                .is_some_and(|first| first <= as_of)
            {
                kept.push(office);
            }
        }
        known = kept;
    }
    Ok(known)
}

/// Every office known as of `as_of`, on `day`.
pub fn state<I: Indexed>(
    ledger: &I,
    day: Day,
    as_of: Option<Seq>,
) -> Result<Vec<WhoHeld>, QueryError<I::Error>> {
    let as_of = resolve_as_of(ledger, as_of)?;
    offices_at(ledger, as_of)
        .map_err(QueryError::Ledger)?
        .into_iter()
        .map(|office| who_held_known(ledger, office, day, as_of).map_err(QueryError::Ledger))
        .collect()
}

/// The capacity of a row of an office's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A titular's tenure.
    Titular,
    /// A period in charge by delegation (the days it actually held the office).
    Acting,
    /// Nobody held the office.
    Vacant,
}

/// One interval of an office's history: a titular's tenure, days in charge by delegation,
/// or a vacancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryRow {
    /// Titular, acting or vacant.
    pub capacity: Role,
    /// Who held the office; null for a vacancy.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub person: Option<PersonId>,
    /// Their latest recorded name; null when no event names them, and for a vacancy.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub name: Option<String>,
    /// The first day.
    pub from: Day,
    /// The last day; null while it lasts.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub until: Option<Day>,
    /// The acts it rests on (none for a vacancy).
    pub basis: Vec<ActId>,
    /// The positions of the events it rests on.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<u64>))]
    pub events: Vec<Seq>,
}

fn open(until: Day) -> Option<Day> {
    (until != Day::MAX).then_some(until)
}

/// The office's history: titular tenures, acting periods and vacancies, by first day. The rows
/// cover every day on the office's record, from the day it starts (see
/// [`Timeline::days_on_record`]) on: a vacancy before the first holder, between holders, and
/// after the last, open (no `until`) when nobody followed.
pub fn history<I: Indexed>(
    ledger: &I,
    office: &str,
    as_of: Option<Seq>,
) -> Result<Vec<HistoryRow>, QueryError<I::Error>> {
    let office = require_office(ledger, office)?;
    let as_of = resolve_as_of(ledger, as_of)?;
    let timeline = timeline_at(ledger, &office, as_of).map_err(QueryError::Ledger)?;
    history_of(&timeline, |p| name_of(ledger, p, as_of)).map_err(QueryError::Ledger)
}

/// The history [`history`] gives, from the office's timeline and a way to name persons (the
/// latest name as of the timeline's point): what answers over many offices call, naming each
/// person once.
pub fn history_of<E>(
    timeline: &Timeline,
    mut name: impl FnMut(&PersonId) -> Result<Option<String>, E>,
) -> Result<Vec<HistoryRow>, E> {
    let mut rows = Vec::new();
    for t in &timeline.tenures {
        rows.push(HistoryRow {
            capacity: Role::Titular,
            person: Some(t.stint.person.clone()),
            name: name(&t.stint.person)?,
            from: t.from,
            until: open(t.until),
            basis: vec![t.stint.act.clone()],
            events: vec![t.stint.seq],
        });
    }
    // Acting periods: runs of segments with the same delegation in charge.
    let mut previous: Option<&Segment> = None;
    for segment in &timeline.segments {
        if let Some(before) = previous
            && before.until.next() != Some(segment.from)
            && let Some(from) = before.until.next()
        {
            rows.push(HistoryRow {
                capacity: Role::Vacant,
                person: None,
                name: None,
                from,
                until: segment.from.prev(),
                basis: vec![],
                events: vec![],
            });
        }
        if let Some(acting) = &segment.acting {
            let continues = previous.is_some_and(|p| {
                p.acting.as_ref() == Some(acting) && p.until.next() == Some(segment.from)
            });
            match rows.last_mut() {
                Some(row) if continues && row.capacity == Role::Acting => {
                    row.until = open(segment.until)
                }
                _ => rows.push(HistoryRow {
                    capacity: Role::Acting,
                    person: Some(acting.person.clone()),
                    name: name(&acting.person)?,
                    from: segment.from,
                    until: open(segment.until),
                    basis: vec![acting.act.clone()],
                    events: vec![acting.seq],
                }),
            }
        }
        previous = Some(segment);
    }
    // The days on record before the first segment, and after the last one ends: vacant.
    let vacancy = |from: Day, until: Option<Day>| HistoryRow {
        capacity: Role::Vacant,
        person: None,
        name: None,
        from,
        until,
        basis: vec![],
        events: vec![],
    };
    if let Some((first, _)) = timeline.days_on_record() {
        match timeline.segments.first() {
            None => rows.push(vacancy(first, None)),
            Some(segment) if first < segment.from => rows.push(vacancy(first, segment.from.prev())),
            Some(_) => {}
        }
    }
    if let Some(last) = timeline.segments.last()
        && let Some(from) = open(last.until).and_then(Day::next)
    {
        rows.push(vacancy(from, None));
    }
    rows.sort_by_key(|row| (row.from, row.capacity));
    Ok(rows)
}

/// Whether replay uses an event: in force, retracted by a `record_retracted`, or void because
/// its act is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Replay uses it.
    InForce,
    /// A clerical retraction removed it.
    Retracted,
    /// Its act is revoked.
    Void,
}

/// One recorded event that names an act, with its position and whether it is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActEvent {
    /// Its position in the ledger.
    #[cfg_attr(feature = "openapi", schema(value_type = u64, minimum = 1))]
    pub seq: Seq,
    /// In force, retracted or void.
    pub status: Status,
    /// The event as recorded.
    pub event: Event,
}

/// An act and every event that names it (revocations of it included), by position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActRecord {
    /// The act asked about.
    pub act: ActId,
    /// Whether an `act_revoked` in force revokes it.
    pub revoked: bool,
    /// Its events, the revocations naming it and the retractions of those, by position.
    pub events: Vec<ActEvent>,
}

/// The act `act` and every event that names it, as of the head.
pub fn show_act<R: Recorded>(ledger: &R, act: &str) -> Result<ActRecord, QueryError<R::Error>> {
    show_act_at(ledger, act, None)
}

/// The act `act` and every event recorded up to `as_of` (the head when `None`) that names
/// it, with their status as of that point. An act no event up to `as_of` names is unknown.
pub fn show_act_at<R: Recorded>(
    ledger: &R,
    act: &str,
    as_of: Option<Seq>,
) -> Result<ActRecord, QueryError<R::Error>> {
    let as_of = resolve_as_of(ledger, as_of)?;
    let unknown = || QueryError::UnknownAct(act.to_owned());
    let act = ActId::new(act).map_err(|_| unknown())?;
    let mut seqs: BTreeSet<Seq> = ledger
        .events_of_act(&act)
        .map_err(QueryError::Ledger)?
        .into_iter()
        .collect();
    seqs.extend(ledger.revocations_of(&act).map_err(QueryError::Ledger)?);
    seqs.retain(|seq| *seq <= as_of);
    // Retractions of those events name them too.
    let named: Vec<Seq> = seqs.iter().copied().collect();
    let mut seen: HashSet<Seq> = HashSet::new();
    let mut stack = named;
    while let Some(seq) = stack.pop() {
        if !seen.insert(seq) {
            continue;
        }
        for r in ledger.retractions_of(seq).map_err(QueryError::Ledger)? {
            if r <= as_of {
                seqs.insert(r);
                stack.push(r);
            }
        }
    }
    if seqs.is_empty() {
        return Err(unknown());
    }
    let mut live = Liveness::new(ledger, as_of);
    let revoked = live.is_void(&act).map_err(QueryError::Ledger)?;
    let mut events = Vec::new();
    for seq in seqs {
        let event = ledger.event(seq).map_err(QueryError::Ledger)?;
        let status = if live.is_retracted(seq).map_err(QueryError::Ledger)? {
            Status::Retracted
        } else if live.is_live(seq, &event).map_err(QueryError::Ledger)? {
            Status::InForce
        } else {
            Status::Void
        };
        events.push(ActEvent { seq, status, event });
    }
    Ok(ActRecord {
        act,
        revoked,
        events,
    })
}
