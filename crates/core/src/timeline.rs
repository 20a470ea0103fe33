//! One office's timeline: the replay rules 1 to 4 applied to the office's events in force,
//! flattened into day segments that answer "who held it on D" by binary search.
//!
//! A timeline depends only on the events of its own office (and on which of them are in
//! force), so an appended event recomputes the timelines of the offices it touches, never the
//! whole ledger.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::day::Day;
use crate::event::{Event, Seq};
use crate::id::{ActId, OfficeId, PersonId};

/// A person holding an office on the basis of one event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stint {
    /// Who.
    pub person: PersonId,
    /// The position of the `appointed` or `duties_delegated` event.
    pub seq: Seq,
    /// Its act.
    pub act: ActId,
}

/// What kind of absence makes a titular away: the event that authorizes it. Replay treats
/// both alike (rules 2 and 3); answers name which it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AbsenceKind {
    /// A `trip_authorized`.
    Trip,
    /// A `leave_granted`.
    Leave,
}

impl AbsenceKind {
    /// The word answers use: `trip` or `leave`.
    pub fn as_str(self) -> &'static str {
        match self {
            AbsenceKind::Trip => "trip",
            AbsenceKind::Leave => "leave",
        }
    }
}

/// The absence (a trip or a leave) that makes a titular away.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AbsenceRef {
    /// The position of the `trip_authorized` or `leave_granted` event.
    pub seq: Seq,
    /// Its act.
    pub act: ActId,
    /// Whether it is a trip or a leave.
    pub kind: AbsenceKind,
}

/// Days `from..=until` over which nothing about the office changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// First day.
    pub from: Day,
    /// Last day ([`Day::MAX`] when open-ended).
    pub until: Day,
    /// The titular (rule 1), if any.
    pub titular: Option<Stint>,
    /// The absence (trip or leave) that makes the titular away (rule 2), if any.
    pub absence: Option<AbsenceRef>,
    /// The acting holder (rule 3), if any.
    pub acting: Option<Stint>,
}

impl Segment {
    /// Whether the segment covers `day`.
    pub fn covers(&self, day: Day) -> bool {
        self.from <= day && day <= self.until
    }
}

/// A titular's time in office (rule 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenure {
    /// The appointment.
    pub stint: Stint,
    /// First day.
    pub from: Day,
    /// Last day ([`Day::MAX`] when open-ended).
    pub until: Day,
}

/// A delegation in force, with the days it declares and the days it takes effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    /// The delegate and the `duties_delegated` event.
    pub stint: Stint,
    /// First day declared.
    pub from: Day,
    /// Last day declared, or bounded by the same act's absence (trip or leave) when the event
    /// has no `until`.
    pub until: Day,
    /// The last day it takes effect: `until`, or the day before a new titular takes office
    /// (rule 3). `None` when it takes no effect at all.
    pub effective_until: Option<Day>,
}

impl Delegation {
    /// The last day it names: its declared `until` (the last day it takes effect is never
    /// later: a new titular only cuts it short). What [`Timeline::since`] keeps it by.
    pub fn last_day(&self) -> Day {
        self.until
    }

    /// The days it takes effect, if any.
    pub fn effective(&self) -> Option<(Day, Day)> {
        self.effective_until.map(|until| (self.from, until))
    }
}

/// An authorized absence in force: a trip or a leave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Absence {
    /// Who is away.
    pub person: PersonId,
    /// The `trip_authorized` or `leave_granted` event.
    pub absence: AbsenceRef,
    /// First day away.
    pub from: Day,
    /// Last day away.
    pub until: Day,
}

/// A `left_office` in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Departure {
    /// Who leaves, with the event.
    pub stint: Stint,
    /// The first day without the office.
    pub on: Day,
}

/// Everything replay knows about one office as of one position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// The office.
    pub office: OfficeId,
    /// Sorted, disjoint segments with a titular or an acting holder; gaps are vacancies.
    pub segments: Vec<Segment>,
    /// Titular tenures, sorted and disjoint.
    pub tenures: Vec<Tenure>,
    /// Delegations in force, by position.
    pub delegations: Vec<Delegation>,
    /// Absences (trips and leaves) in force, by position.
    pub absences: Vec<Absence>,
    /// Departures in force, by position.
    pub departures: Vec<Departure>,
}

impl Timeline {
    /// Whether no event in force shapes the office (a known office nobody ever held).
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
            && self.tenures.is_empty()
            && self.delegations.is_empty()
            && self.absences.is_empty()
            && self.departures.is_empty()
    }

    /// The first and the last day that the events in force shaping the office name: an
    /// appointment's or a departure's `on`, an absence's or a delegation's `from` and `until`
    /// (open ends left out). `None` when no event in force shapes the office. The office's
    /// record starts on the first: before it, the ledger says nothing about who held it.
    pub fn days_on_record(&self) -> Option<(Day, Day)> {
        let starts = (self.tenures.iter().map(|t| t.from))
            .chain(self.departures.iter().map(|d| d.on))
            .chain(self.absences.iter().map(|a| a.from))
            .chain(self.delegations.iter().map(|d| d.from));
        let ends = (self.absences.iter().map(|a| a.until))
            .chain(self.delegations.iter().map(|d| d.until))
            .filter(|day| *day != Day::MAX);
        let first = starts.clone().min()?;
        let last = starts.chain(ends).max().unwrap_or(first);
        Some((first, last))
    }

    /// The timeline's facts whose last day is `day` or later: the segments, tenures and
    /// absences ending on it or after, the delegations whose [`Delegation::last_day`] is, and
    /// the departures on it or after, each list in its own order. Facts ending earlier are
    /// left out, even where a kept one starts before `day`.
    pub fn since(mut self, day: Day) -> Timeline {
        self.segments.retain(|s| s.until >= day);
        self.tenures.retain(|t| t.until >= day);
        self.delegations.retain(|d| d.last_day() >= day);
        self.absences.retain(|a| a.until >= day);
        self.departures.retain(|d| d.on >= day);
        self
    }

    /// This timeline, kept [`since`](Self::since) `day`, with the facts of `older` that end
    /// before `day` and come from events at positions up to `recorded` added in their places:
    /// `older` is a timeline of the same office kept since an earlier day, possibly with later
    /// events, whose facts ending before `day` are this one's too (but for later events').
    pub fn widened(mut self, older: &Timeline, day: Day, recorded: Seq) -> Timeline {
        fn before<T: Clone>(
            older: &[T],
            last: impl Fn(&T) -> Day,
            seq: impl Fn(&T) -> Seq,
            (day, recorded): (Day, Seq),
        ) -> Vec<T> {
            (older.iter())
                .filter(|x| last(x) < day && seq(x) <= recorded)
                .cloned()
                .collect()
        }
        let upto = (day, recorded);
        // Segments and tenures are in day order: the earlier ones go first. A segment ending
        // before `day` is a day's state, the same on both sides.
        let mut segments = before(&older.segments, |s| s.until, |_| 0, upto);
        segments.append(&mut self.segments);
        self.segments = segments;
        let mut tenures = before(&older.tenures, |t| t.until, |t| t.stint.seq, upto);
        tenures.append(&mut self.tenures);
        self.tenures = tenures;
        // The others are in the order of their events' positions.
        let delegations = before(
            &older.delegations,
            Delegation::last_day,
            |d| d.stint.seq,
            upto,
        );
        self.delegations.extend(delegations);
        self.delegations.sort_by_key(|d| d.stint.seq);
        let absences = before(&older.absences, |a| a.until, |a| a.absence.seq, upto);
        self.absences.extend(absences);
        self.absences.sort_by_key(|a| a.absence.seq);
        let departures = before(&older.departures, |d| d.on, |d| d.stint.seq, upto);
        self.departures.extend(departures);
        self.departures.sort_by_key(|d| d.stint.seq);
        self
    }

    /// The segment covering `day`, if anyone held the office that day.
    pub fn segment_at(&self, day: Day) -> Option<&Segment> {
        segment_covering(&self.segments, day)
    }

    /// The titular tenure covering `day`.
    pub fn tenure_at(&self, day: Day) -> Option<&Tenure> {
        let after = self.tenures.partition_point(|t| t.from <= day);
        after
            .checked_sub(1)
            .map(|i| &self.tenures[i])
            .filter(|t| day <= t.until)
    }

    /// Applies the replay rules to `events`: the office's events in force, in position order.
    pub fn build(office: OfficeId, events: &[(Seq, Event)]) -> Timeline {
        let mut parts = Parts::default();
        parts.add(events);
        parts.assemble(office)
    }

    /// The timeline after `new`, events in force recorded after every event this timeline
    /// was built from, are added to them: equal to [`Timeline::build`] over all of them,
    /// provided that no event already in force changed (no revocation or retraction among
    /// the new events, which [`crate::NewEvents::timeline`] checks).
    ///
    /// It needs only what the timeline keeps: an appointment a later one for the same day
    /// superseded never holds again, since appending adds only later ones; a delegation's
    /// `until` taken from its absence depends only on absences recorded before it; and tenures,
    /// effective delegations and segments are recomputed from the kept parts.
    pub fn extended(&self, new: &[(Seq, Event)]) -> Timeline {
        let mut parts = Parts {
            appointments: self
                .tenures
                .iter()
                .map(|t| (t.from, t.stint.clone()))
                .collect(),
            departures: self.departures.clone(),
            absences: self.absences.clone(),
            delegations: self
                .delegations
                .iter()
                .map(|d| (d.stint.clone(), d.from, d.until))
                .collect(),
        };
        parts.add(new);
        parts.assemble(self.office.clone())
    }
}

/// What replay gathers from an office's events before applying rules 1 to 4.
#[derive(Debug, Default)]
struct Parts {
    /// Appointments: the day and the stint.
    appointments: Vec<(Day, Stint)>,
    departures: Vec<Departure>,
    absences: Vec<Absence>,
    /// Delegations with their declared days, `until` resolved.
    delegations: Vec<(Stint, Day, Day)>,
}

impl Parts {
    /// Adds events in force, in position order, after those already added.
    fn add(&mut self, events: &[(Seq, Event)]) {
        let mut delegations = Vec::new();
        for (seq, event) in events {
            let stint = |person: &PersonId, act: &ActId| Stint {
                person: person.clone(),
                seq: *seq,
                act: act.clone(),
            };
            match event {
                Event::Appointed(e) => self.appointments.push((e.on, stint(&e.person, &e.act))),
                Event::LeftOffice(e) => self.departures.push(Departure {
                    stint: stint(&e.person, &e.act),
                    on: e.on,
                }),
                Event::TripAuthorized(e) => self.absences.push(Absence {
                    person: e.person.clone(),
                    absence: AbsenceRef {
                        seq: *seq,
                        act: e.act.clone(),
                        kind: AbsenceKind::Trip,
                    },
                    from: e.from,
                    until: e.until,
                }),
                Event::LeaveGranted(e) => self.absences.push(Absence {
                    person: e.person.clone(),
                    absence: AbsenceRef {
                        seq: *seq,
                        act: e.act.clone(),
                        kind: AbsenceKind::Leave,
                    },
                    from: e.from,
                    until: e.until,
                }),
                Event::DutiesDelegated(e) => delegations.push((*seq, e)),
                _ => {}
            }
        }
        // After every absence is known: a delegation's `until` may come from one recorded
        // later in the same list (but before the delegation itself). Absences by act, in
        // position order, so that finding the one is a search, not a scan.
        let mut absences_of_act: HashMap<&ActId, Vec<&Absence>> = HashMap::new();
        if delegations.iter().any(|(_, d)| d.until.is_none()) {
            for absence in &self.absences {
                absences_of_act
                    .entry(&absence.absence.act)
                    .or_default()
                    .push(absence);
            }
        }
        for (seq, d) in delegations {
            // Without `until`: the last absence (trip or leave) of the same act recorded before
            // it bounds it. (The office's own events only: same act and same office.)
            let until = match d.until {
                Some(until) => until,
                None => {
                    let absences = absences_of_act.get(&d.act).map_or(&[][..], Vec::as_slice);
                    match absences
                        .partition_point(|a| a.absence.seq < seq)
                        .checked_sub(1)
                    {
                        Some(last) => absences[last].until,
                        None => continue,
                    }
                }
            };
            let stint = Stint {
                person: d.delegate.clone(),
                seq,
                act: d.act.clone(),
            };
            self.delegations.push((stint, d.from, until));
        }
    }

    /// Applies rules 1 to 4.
    fn assemble(mut self, office: OfficeId) -> Timeline {
        let tenures = tenures(&mut self.appointments, &self.departures);
        let delegations: Vec<Delegation> = self
            .delegations
            .into_iter()
            .map(|(stint, from, until)| {
                let effective_until =
                    effective_until(&stint, from, until, &tenures, &self.absences);
                Delegation {
                    stint,
                    from,
                    until,
                    effective_until,
                }
            })
            .collect();
        let segments = segments(&tenures, &self.absences, &delegations);
        Timeline {
            office,
            segments,
            tenures,
            delegations,
            absences: self.absences,
            departures: self.departures,
        }
    }
}

/// Rule 1: the latest appointment by (`on`, position) holds, until the next one or the first
/// departure of the same person after its own day.
fn tenures(appointments: &mut [(Day, Stint)], departures: &[Departure]) -> Vec<Tenure> {
    appointments.sort_by_key(|(on, stint)| (*on, stint.seq));
    let mut left_on: HashMap<&PersonId, Vec<Day>> = HashMap::new();
    for d in departures {
        left_on.entry(&d.stint.person).or_default().push(d.on);
    }
    for days in left_on.values_mut() {
        days.sort();
    }
    let mut tenures = Vec::new();
    for (i, (on, stint)) in appointments.iter().enumerate() {
        let next_on = appointments.get(i + 1).map(|(next, _)| *next);
        if next_on == Some(*on) {
            continue; // a later record for the same day takes precedence
        }
        let mut until = next_on.and_then(Day::prev).unwrap_or(Day::MAX);
        if let Some(days) = left_on.get(&stint.person) {
            let first_after = days.partition_point(|d| d <= on);
            if let Some(left) = days.get(first_after).and_then(|d| d.prev()) {
                until = until.min(left);
            }
        }
        tenures.push(Tenure {
            stint: stint.clone(),
            from: *on,
            until,
        });
    }
    tenures
}

/// Rule 3's second half: a new titular taking office on day A ends, on A-1, every delegation
/// covering A, unless the delegation's act authorizes an absence (trip or leave) of that new
/// titular.
fn effective_until(
    stint: &Stint,
    from: Day,
    until: Day,
    tenures: &[Tenure],
    absences: &[Absence],
) -> Option<Day> {
    if from > until {
        return None;
    }
    // Tenures are sorted by their first day: only those starting within the delegation count.
    let first = tenures.partition_point(|t| t.from < from);
    for (i, tenure) in tenures.iter().enumerate().skip(first) {
        let day = tenure.from;
        if day > until {
            break;
        }
        let previous = i.checked_sub(1).map(|p| &tenures[p]);
        let continues = previous
            .is_some_and(|p| p.stint.person == tenure.stint.person && p.until.next() == Some(day));
        if continues {
            continue; // a re-appointment of the sitting titular ends nothing
        }
        let exempt = absences
            .iter()
            .any(|a| a.absence.act == stint.act && a.person == tenure.stint.person);
        if !exempt {
            return day.prev().filter(|last| *last >= from);
        }
    }
    Some(until)
}

/// Flattens tenures, absences and effective delegations into segments of constant state.
fn segments(tenures: &[Tenure], absences: &[Absence], delegations: &[Delegation]) -> Vec<Segment> {
    // Changes at a day ordinal: (ordinal, is_start, kind, index). Ends are exclusive.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Kind {
        Tenure,
        Absence,
        Delegation,
    }
    let end = |until: Day| until.ordinal() + 1;
    let mut changes: Vec<(u32, bool, Kind, usize)> = Vec::new();
    for (i, t) in tenures.iter().enumerate() {
        changes.push((t.from.ordinal(), true, Kind::Tenure, i));
        changes.push((end(t.until), false, Kind::Tenure, i));
    }
    for (i, a) in absences.iter().enumerate() {
        changes.push((a.from.ordinal(), true, Kind::Absence, i));
        changes.push((end(a.until), false, Kind::Absence, i));
    }
    for (i, d) in delegations.iter().enumerate() {
        if let Some((from, until)) = d.effective() {
            changes.push((from.ordinal(), true, Kind::Delegation, i));
            changes.push((end(until), false, Kind::Delegation, i));
        }
    }
    changes.sort();

    let mut titular: Option<usize> = None;
    let mut active_absences: BTreeMap<Seq, usize> = BTreeMap::new();
    let mut active_delegations: BTreeMap<Seq, usize> = BTreeMap::new();
    let mut segments: Vec<Segment> = Vec::new();
    let mut at = 0;
    while at < changes.len() {
        let day = changes[at].0;
        while at < changes.len() && changes[at].0 == day {
            let (_, start, kind, i) = changes[at];
            match (kind, start) {
                (Kind::Tenure, true) => titular = Some(i),
                (Kind::Tenure, false) => {
                    if titular == Some(i) {
                        titular = None;
                    }
                }
                (Kind::Absence, true) => {
                    active_absences.insert(absences[i].absence.seq, i);
                }
                (Kind::Absence, false) => {
                    active_absences.remove(&absences[i].absence.seq);
                }
                (Kind::Delegation, true) => {
                    active_delegations.insert(delegations[i].stint.seq, i);
                }
                (Kind::Delegation, false) => {
                    active_delegations.remove(&delegations[i].stint.seq);
                }
            }
            at += 1;
        }
        let Some(from) = Day::from_ordinal(day) else {
            break; // past 9999-12-31: nothing more to draw
        };
        let until = changes
            .get(at)
            .and_then(|next| Day::from_ordinal(next.0 - 1))
            .unwrap_or(Day::MAX);
        let titular_stint = titular.map(|i| tenures[i].stint.clone());
        // The last recorded absence of the titular covering the day, trip or leave alike.
        let absence = titular_stint.as_ref().and_then(|t| {
            active_absences
                .values()
                .rev()
                .map(|i| &absences[*i])
                .find(|absence| absence.person == t.person)
                .map(|absence| absence.absence.clone())
        });
        let acting = active_delegations
            .values()
            .next_back()
            .map(|i| delegations[*i].stint.clone());
        if titular_stint.is_none() && acting.is_none() {
            continue;
        }
        let segment = Segment {
            from,
            until,
            titular: titular_stint,
            absence,
            acting,
        };
        match segments.last_mut() {
            Some(last)
                if last.until.next() == Some(from)
                    && last.titular == segment.titular
                    && last.absence == segment.absence
                    && last.acting == segment.acting =>
            {
                last.until = until;
            }
            _ => segments.push(segment),
        }
    }
    segments
}

/// The segment covering `day` among `segments`, in order and not overlapping (a whole timeline's
/// or a run of them, as the store keeps them in blocks).
pub fn segment_covering(segments: &[Segment], day: Day) -> Option<&Segment> {
    let after = segments.partition_point(|s| s.from <= day);
    after
        .checked_sub(1)
        .map(|i| &segments[i])
        .filter(|s| s.covers(day))
}
