//! The anomalies of the spec: odd facts the ledger records and reports, never refuses.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::day::Day;
use crate::event::{Event, Seq};
use crate::id::{ActId, OfficeId, PersonId};
use crate::liveness::Liveness;
use crate::query::{Indexed, QueryError, resolve_as_of, timeline_at};
use crate::recorded::Recorded;
use crate::timeline::{AbsenceKind, AbsenceRef, Segment, Timeline};

/// The longest delegation Peru's Constitution allows (art. 127), in days.
pub const MAX_DELEGATION_DAYS: i64 = 30;

/// The kinds of anomaly: odd facts the ledger records and reports, never refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// An absent titular and no acting holder.
    UnattendedOffice,
    /// Two delegations of one office in effect on the same days.
    OverlappingDelegations,
    /// A `left_office` for someone who was not titular.
    LeftWithoutHolding,
    /// A trip for someone not titular of that office on those days.
    TripWithoutHolding,
    /// A leave for someone not titular of that office on those days.
    LeaveWithoutHolding,
    /// A delegate who held no other office on the days in charge.
    DelegateWithoutOffice,
    /// An act revoked by two acts in force.
    ActRevokedTwice,
    /// A delegation declared for more than 30 days.
    #[serde(rename = "delegation_over_30_days")]
    DelegationOver30Days,
    /// A delegate away (an authorized trip or leave) on a day in charge.
    DelegateAway,
}

/// One anomaly and the events that show it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Anomaly {
    /// What kind of anomaly.
    pub kind: AnomalyKind,
    /// The office concerned; null when none is (an act revoked twice).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub office: Option<OfficeId>,
    /// The first day concerned; null when no days are.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub from: Option<Day>,
    /// The last day concerned; null when no days are.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub until: Option<Day>,
    /// The positions of the events that show it.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<u64>))]
    pub events: Vec<Seq>,
    /// What is odd, in a sentence for people.
    pub message: String,
}

/// The parts of `from..=until` that none of `covered` (sorted, disjoint) covers.
fn uncovered(from: Day, until: Day, covered: &[(Day, Day)]) -> Vec<(Day, Day)> {
    let mut gaps = Vec::new();
    let mut cursor = Some(from);
    for &(a, b) in covered {
        let Some(start) = cursor else { break };
        if b < start || a > until {
            continue;
        }
        if a > start {
            gaps.push((start, a.prev().expect("a > start >= MIN").min(until)));
        }
        cursor = b.next().filter(|d| *d <= until);
        if b >= until {
            cursor = None;
        }
    }
    if let Some(start) = cursor {
        gaps.push((start, until));
    }
    gaps
}

fn overlap(a: (Day, Day), b: (Day, Day)) -> Option<(Day, Day)> {
    let from = a.0.max(b.0);
    let until = a.1.min(b.1);
    (from <= until).then_some((from, until))
}

fn range_text(from: Day, until: Day) -> String {
    if from == until {
        format!("on {from}")
    } else {
        format!("from {from} to {until}")
    }
}

/// Days on which an office's titular was away and nobody was in charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnattendedRun {
    /// The first such day.
    pub from: Day,
    /// The last day of the run.
    pub until: Day,
    /// The absences (trips and leaves) that made the titular away over the run, in order of
    /// appearance.
    pub absences: Vec<AbsenceRef>,
}

/// Whether nobody is in charge over `segment`'s days: its titular is away and nobody acts.
pub(crate) fn is_unattended(segment: &Segment) -> bool {
    segment.absence.is_some() && segment.acting.is_none()
}

/// The office's unattended days, merged over contiguous days (across absences): the one
/// definition that `audit`'s `unattended_office` and an office's timeline both use.
pub fn unattended(t: &Timeline) -> Vec<UnattendedRun> {
    let mut runs: Vec<UnattendedRun> = Vec::new();
    let mut open = false;
    for s in &t.segments {
        let absence = match &s.absence {
            Some(absence) if is_unattended(s) => absence,
            _ => {
                open = false;
                continue;
            }
        };
        match runs.last_mut() {
            Some(run) if open && run.until.next() == Some(s.from) => {
                run.until = s.until;
                if !run.absences.contains(absence) {
                    run.absences.push(absence.clone());
                }
            }
            _ => runs.push(UnattendedRun {
                from: s.from,
                until: s.until,
                absences: vec![absence.clone()],
            }),
        }
        open = true;
    }
    runs
}

/// Every anomaly as of `as_of` (the head when `None`), by kind, office and day.
pub fn anomalies<I: Indexed>(
    ledger: &I,
    as_of: Option<Seq>,
) -> Result<Vec<Anomaly>, QueryError<I::Error>> {
    let as_of = resolve_as_of(ledger, as_of)?;
    let revoked_twice = revoked_twice(ledger, as_of).map_err(QueryError::Ledger)?;
    found_with(ledger, as_of, revoked_twice)
}

/// The anomalies at the head that a batch naming `acts` in its revocations can change: those
/// of every office (an office's anomalies also depend on who holds the others), and
/// `act_revoked_twice` for `acts` alone. Reading no event but the revocations of `acts`, it
/// costs the offices' kept timelines, not the whole log: what `append` compares before and
/// after a batch to warn of the anomalies it adds.
pub fn anomalies_touching<I: Indexed>(
    ledger: &I,
    acts: &BTreeSet<ActId>,
) -> Result<Vec<Anomaly>, QueryError<I::Error>> {
    let twice = revoked_twice_of(ledger, acts).map_err(QueryError::Ledger)?;
    found_with(ledger, ledger.head(), twice)
}

/// `act_revoked_twice` at the head, for `acts` alone.
pub fn revoked_twice_of<R: Recorded>(
    ledger: &R,
    acts: &BTreeSet<ActId>,
) -> Result<Vec<Anomaly>, R::Error> {
    revoked_twice_at(ledger, acts, ledger.head())
}

/// `act_revoked_twice` as of `as_of`, for `acts` alone.
pub fn revoked_twice_at<R: Recorded>(
    ledger: &R,
    acts: &BTreeSet<ActId>,
    as_of: Seq,
) -> Result<Vec<Anomaly>, R::Error> {
    let mut live = Liveness::new(ledger, as_of);
    let mut twice = Vec::new();
    for act in acts {
        let mut seqs = Vec::new();
        for seq in ledger.revocations_of(act)? {
            if seq > as_of {
                continue;
            }
            let event = ledger.event(seq)?;
            if live.is_live(seq, &event)? {
                seqs.push(seq);
            }
        }
        if seqs.len() > 1 {
            twice.push(revoked_twice_anomaly(act, seqs));
        }
    }
    Ok(twice)
}

fn found_with<I: Indexed>(
    ledger: &I,
    as_of: Seq,
    revoked_twice: Vec<Anomaly>,
) -> Result<Vec<Anomaly>, QueryError<I::Error>> {
    let mut timelines = Vec::new();
    let mut offices = BTreeSet::new();
    for office in ledger.offices().map_err(QueryError::Ledger)? {
        timelines.push(timeline_at(ledger, &office, as_of).map_err(QueryError::Ledger)?);
        offices.insert(office);
    }
    let mut found = anomalies_of_offices(&timelines, &offices);
    found.extend(revoked_twice);
    sort_anomalies(&mut found);
    Ok(found)
}

/// Every office's anomalies at the head (none of `act_revoked_twice`), sorted, holding one
/// office's timeline at a time: passes over the kept timelines gather the persons in charge of
/// some office (delegates), then where they were titular and when they travelled, then find
/// each office's anomalies. What
/// [`anomalies_touching`] finds for the offices, in memory that follows the number of
/// delegates' tenures and trips instead of every timeline's whole size.
pub fn every_office_anomalies<I: Indexed>(ledger: &I) -> Result<Vec<Anomaly>, I::Error> {
    let offices = ledger.offices()?;
    // Only the persons in charge of some office (delegates) are asked about elsewhere.
    let mut delegates: HashSet<PersonId> = HashSet::new();
    for office in &offices {
        if let Some(t) = ledger.head_timeline_unsegmented(office)? {
            delegates.extend(t.delegations.into_iter().map(|d| d.stint.person));
        }
    }
    let mut held: HashMap<PersonId, Vec<(OfficeId, Day, Day)>> = HashMap::new();
    let mut away: HashMap<PersonId, Vec<Away>> = HashMap::new();
    for office in &offices {
        let Some(t) = ledger.head_timeline_unsegmented(office)? else {
            continue;
        };
        for tenure in t.tenures {
            if delegates.contains(&tenure.stint.person) {
                let range = (t.office.clone(), tenure.from, tenure.until);
                held.entry(tenure.stint.person).or_default().push(range);
            }
        }
        for absence in t.absences {
            if delegates.contains(&absence.person) {
                let range = (
                    absence.from,
                    absence.until,
                    absence.absence.seq,
                    absence.absence.kind,
                );
                away.entry(absence.person).or_default().push(range);
            }
        }
    }
    drop(delegates);
    let held: HashMap<&PersonId, Vec<(&OfficeId, Day, Day)>> = held
        .iter()
        .map(|(person, ranges)| (person, ranges.iter().map(|(o, f, u)| (o, *f, *u)).collect()))
        .collect();
    let away: HashMap<&PersonId, Vec<Away>> = away
        .iter()
        .map(|(person, absences)| (person, absences.clone()))
        .collect();
    let mut found = Vec::new();
    for office in &offices {
        if let Some(t) = ledger.head_timeline(office)? {
            office_anomalies(&t, &held, &away, &mut found);
        }
    }
    sort_anomalies(&mut found);
    Ok(found)
}

/// Sorts anomalies as every list of them is: by kind, office, first day and events.
pub fn sort_anomalies(found: &mut [Anomaly]) {
    found.sort_by(|a, b| {
        (a.kind, &a.office, a.from, &a.events).cmp(&(b.kind, &b.office, b.from, &b.events))
    });
}

/// The anomalies of `offices` alone (none of `act_revoked_twice`), sorted. An office's
/// anomalies depend on its own timeline and on where the persons in charge of it (its
/// delegates) held office and travelled: `timelines` must hold the timeline of each of
/// `offices` and of every office where one of their delegates is titular or travels; any
/// other timeline given changes nothing.
pub fn anomalies_of_offices<T: Borrow<Timeline>>(
    timelines: &[T],
    offices: &BTreeSet<OfficeId>,
) -> Vec<Anomaly> {
    // Across offices: who was titular where, and who was away (a trip or a leave) when.
    let mut held: HashMap<&PersonId, Vec<(&OfficeId, Day, Day)>> = HashMap::new();
    let mut away: HashMap<&PersonId, Vec<Away>> = HashMap::new();
    for t in timelines.iter().map(Borrow::borrow) {
        for tenure in &t.tenures {
            held.entry(&tenure.stint.person).or_default().push((
                &t.office,
                tenure.from,
                tenure.until,
            ));
        }
        for absence in &t.absences {
            away.entry(&absence.person).or_default().push((
                absence.from,
                absence.until,
                absence.absence.seq,
                absence.absence.kind,
            ));
        }
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for t in timelines.iter().map(Borrow::borrow) {
        if offices.contains(&t.office) && done.insert(&t.office) {
            office_anomalies(t, &held, &away, &mut found);
        }
    }
    sort_anomalies(&mut found);
    found
}

/// An absence of a person, as the anomalies of other offices ask about it: its days, its
/// position and its kind.
type Away = (Day, Day, Seq, AbsenceKind);

fn office_anomalies(
    t: &Timeline,
    held: &HashMap<&PersonId, Vec<(&OfficeId, Day, Day)>>,
    away: &HashMap<&PersonId, Vec<Away>>,
    found: &mut Vec<Anomaly>,
) {
    let office = &t.office;
    let mut add =
        |kind, from: Option<Day>, until: Option<Day>, events: Vec<Seq>, message: String| {
            found.push(Anomaly {
                kind,
                office: Some(office.clone()),
                from,
                until,
                events,
                message,
            });
        };

    for run in unattended(t) {
        let (from, until) = (run.from, run.until);
        let seqs = run.absences.iter().map(|absence| absence.seq).collect();
        let message = format!(
            "{office} is unattended {}: its titular is away and nobody is in charge",
            range_text(from, until)
        );
        add(
            AnomalyKind::UnattendedOffice,
            Some(from),
            Some(until),
            seqs,
            message,
        );
    }

    // Overlapping delegations, pair by pair.
    let mut effective: Vec<(Day, Day, Seq, &PersonId)> = t
        .delegations
        .iter()
        .filter_map(|d| {
            d.effective()
                .map(|(f, u)| (f, u, d.stint.seq, &d.stint.person))
        })
        .collect();
    effective.sort();
    for (i, a) in effective.iter().enumerate() {
        for b in &effective[i + 1..] {
            if b.0 > a.1 {
                break;
            }
            if let Some((from, until)) = overlap((a.0, a.1), (b.0, b.1)) {
                let (first, second) = if a.2 < b.2 { (a, b) } else { (b, a) };
                let message = format!(
                    "delegations of {office} to {} (position {}) and to {} (position {}) overlap {}; the one recorded last prevails",
                    first.3,
                    first.2,
                    second.3,
                    second.2,
                    range_text(from, until)
                );
                add(
                    AnomalyKind::OverlappingDelegations,
                    Some(from),
                    Some(until),
                    vec![first.2, second.2],
                    message,
                );
            }
        }
    }

    // A departure of someone who was not titular the day before (nor sworn in that day).
    for d in &t.departures {
        let holds = |day: Option<Day>| {
            day.and_then(|day| t.tenure_at(day))
                .is_some_and(|x| x.stint.person == d.stint.person)
        };
        if !holds(d.on.prev()) && !holds(Some(d.on)) {
            let message = format!(
                "{} leaves {office} on {} but was not its titular",
                d.stint.person, d.on
            );
            add(
                AnomalyKind::LeftWithoutHolding,
                Some(d.on),
                Some(d.on),
                vec![d.stint.seq],
                message,
            );
        }
    }

    // Trips and leaves of someone who was not titular on some of the days. Each person's
    // tenures are gathered once (in the timeline's order), not searched for each absence: an
    // office of a large ledger has thousands of both.
    let mut tenures_of: HashMap<&PersonId, Vec<(Day, Day)>> = HashMap::new();
    for x in &t.tenures {
        tenures_of
            .entry(&x.stint.person)
            .or_default()
            .push((x.from, x.until));
    }
    for absence in &t.absences {
        let covered = tenures_of
            .get(&absence.person)
            .map_or(&[][..], Vec::as_slice);
        for (from, until) in uncovered(absence.from, absence.until, covered) {
            let (kind, what) = match absence.absence.kind {
                AbsenceKind::Trip => (AnomalyKind::TripWithoutHolding, "authorized to travel"),
                AbsenceKind::Leave => (AnomalyKind::LeaveWithoutHolding, "granted leave"),
            };
            let message = format!(
                "{} is {what} as titular of {office} but does not hold it {}",
                absence.person,
                range_text(from, until)
            );
            add(
                kind,
                Some(from),
                Some(until),
                vec![absence.absence.seq],
                message,
            );
        }
    }

    for d in &t.delegations {
        // Declared length, whatever a new titular later cut.
        let days = d.from.days_through(d.until);
        if days > MAX_DELEGATION_DAYS {
            let message = format!(
                "the delegation of {office} to {} lasts {days} days, more than the {MAX_DELEGATION_DAYS} allowed",
                d.stint.person
            );
            add(
                AnomalyKind::DelegationOver30Days,
                Some(d.from),
                Some(d.until),
                vec![d.stint.seq],
                message,
            );
        }
        let Some((from, until)) = d.effective() else {
            continue;
        };
        let mut other: Vec<(Day, Day)> = held
            .get(&d.stint.person)
            .into_iter()
            .flatten()
            .filter(|(o, _, _)| *o != office)
            .map(|(_, f, u)| (*f, *u))
            .collect();
        other.sort();
        for (gap_from, gap_until) in uncovered(from, until, &merge(other)) {
            let message = format!(
                "{} is in charge of {office} {} without holding another office",
                d.stint.person,
                range_text(gap_from, gap_until)
            );
            add(
                AnomalyKind::DelegateWithoutOffice,
                Some(gap_from),
                Some(gap_until),
                vec![d.stint.seq],
                message,
            );
        }
    }

    // A delegate away (on a trip or on leave) on a day they are in charge.
    let mut delegates_away: BTreeMap<(Seq, Seq), (Day, Day, AbsenceKind)> = BTreeMap::new();
    for s in &t.segments {
        let Some(acting) = &s.acting else { continue };
        for (from, until, absence, kind) in away.get(&acting.person).into_iter().flatten() {
            if let Some((f, u)) = overlap((s.from, s.until), (*from, *until)) {
                let range = delegates_away
                    .entry((acting.seq, *absence))
                    .or_insert((f, u, *kind));
                range.0 = range.0.min(f);
                range.1 = range.1.max(u);
            }
        }
    }
    for ((delegation, absence), (from, until, kind)) in delegates_away {
        let what = match kind {
            AbsenceKind::Trip => "away on an authorized trip",
            AbsenceKind::Leave => "on authorized leave",
        };
        let message = format!(
            "the person in charge of {office} (position {delegation}) is {what} (position {absence}) {}",
            range_text(from, until)
        );
        add(
            AnomalyKind::DelegateAway,
            Some(from),
            Some(until),
            vec![delegation, absence],
            message,
        );
    }
}

/// Merges sorted ranges that touch or overlap.
fn merge(ranges: Vec<(Day, Day)>) -> Vec<(Day, Day)> {
    let mut merged: Vec<(Day, Day)> = Vec::new();
    for (from, until) in ranges {
        match merged.last_mut() {
            Some(last) if last.1 >= from || last.1.next() == Some(from) => {
                last.1 = last.1.max(until)
            }
            _ => merged.push((from, until)),
        }
    }
    merged
}

/// Acts revoked by two or more revocations in force.
fn revoked_twice<I: Indexed>(ledger: &I, as_of: Seq) -> Result<Vec<Anomaly>, I::Error> {
    let mut live = Liveness::new(ledger, as_of);
    let mut by_target: BTreeMap<ActId, Vec<Seq>> = BTreeMap::new();
    for seq in 1..=as_of {
        let event = ledger.event(seq)?;
        if let Event::ActRevoked(r) = &event
            && live.is_live(seq, &event)?
        {
            by_target.entry(r.revokes.clone()).or_default().push(seq);
        }
    }
    Ok(by_target
        .into_iter()
        .filter(|(_, seqs)| seqs.len() > 1)
        .map(|(act, seqs)| revoked_twice_anomaly(&act, seqs))
        .collect())
}

fn revoked_twice_anomaly(act: &ActId, seqs: Vec<Seq>) -> Anomaly {
    Anomaly {
        kind: AnomalyKind::ActRevokedTwice,
        office: None,
        from: None,
        until: None,
        message: format!("act {act} is revoked {} times", seqs.len()),
        events: seqs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    #[test]
    fn uncovered_ranges() {
        let r = |a: &str, b: &str| (d(a), d(b));
        assert_eq!(
            uncovered(d("2024-01-01"), d("2024-01-10"), &[]),
            vec![r("2024-01-01", "2024-01-10")]
        );
        assert_eq!(
            uncovered(
                d("2024-01-01"),
                d("2024-01-10"),
                &[r("2024-01-03", "2024-01-04"), r("2024-01-08", "2024-02-01")]
            ),
            vec![r("2024-01-01", "2024-01-02"), r("2024-01-05", "2024-01-07")]
        );
        assert_eq!(
            uncovered(
                d("2024-01-05"),
                d("2024-01-06"),
                &[r("2024-01-01", "2024-01-09")]
            ),
            vec![]
        );
    }
}
