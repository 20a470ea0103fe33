//! An office's timeline: its history rows, its titulars' trips and leaves and its unattended
//! days, kept to a window of days. The server's timeline route and pages draw it.

use std::collections::BTreeMap;

use actledger_core::{
    AbsenceKind, ActId, Day, Event, HistoryRow, Liveness, OfficeId, PersonId, Recorded, Seq,
    Timeline, history_of, office_name, require_office, timeline_at, unattended,
};
use actledger_store::Ledger;
use serde::Serialize;

use crate::as_of::{AsOf, resolve};
use crate::error::AnswerError;
use crate::names::Names;
use crate::queries::AsOfAnswer;

/// A titular's trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TripRow {
    /// The titular who travelled.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub person: PersonId,
    /// Their latest recorded name.
    pub name: Option<String>,
    /// The first day away.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub from: Day,
    /// The last day away.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub until: Day,
    /// The act authorizing the trip.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub act: ActId,
    /// The position of its `trip_authorized` event.
    pub seq: Seq,
    /// Where to, as recorded.
    pub destination: Option<String>,
}

/// A titular's leave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaveRow {
    /// The titular on leave.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub person: PersonId,
    /// Their latest recorded name.
    pub name: Option<String>,
    /// The first day on leave.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub from: Day,
    /// The last day on leave.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub until: Day,
    /// The act granting the leave.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub act: ActId,
    /// The position of its `leave_granted` event.
    pub seq: Seq,
    /// Why, as recorded.
    pub reason: Option<String>,
}

/// One absence, a trip or a leave, that made a titular away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AbsenceAct {
    /// `trip` or `leave`.
    pub kind: AbsenceKind,
    /// The act that authorized it.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub act: ActId,
    /// The position of its `trip_authorized` or `leave_granted` event.
    pub seq: Seq,
}

/// Days the titular was away with nobody in charge: the days of an `unattended_office`
/// anomaly of `audit` (one definition, merged over contiguous days across absences, trips and
/// leaves alike).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnattendedDays {
    /// The first such day.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub from: Day,
    /// The last.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub until: Day,
    /// The act of the run's first trip (kept from when a run had one trip: `trip_acts` names
    /// them all); null when only leaves made the titular away.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, required = true))]
    pub trip_act: Option<ActId>,
    /// The acts of the trips that made the titular absent, in order (trips only).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub trip_acts: Vec<ActId>,
    /// Every absence, trip or leave, that made the titular away over the run, in order.
    pub absences: Vec<AbsenceAct>,
    /// The positions of those absences' events (as `audit` lists them).
    pub events: Vec<Seq>,
}

/// An office's timeline: the `history --json` rows that meet the window (the open vacancy
/// after the last holder among them), with the office's name, its trips, its leaves and its
/// unattended days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Timeline))]
pub struct TimelineAnswer {
    /// The office.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "MINDEF"))]
    pub office: OfficeId,
    /// Its latest recorded name.
    pub name: Option<String>,
    /// The position the answer is as of.
    pub as_of: Seq,
    /// The window's first day, if one was given.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub from: Option<Day>,
    /// The window's last day, if one was given.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub until: Option<Day>,
    /// The intervals that meet the window.
    pub history: Vec<HistoryRow>,
    /// The trips that meet the window.
    pub trips: Vec<TripRow>,
    /// The leaves that meet the window.
    pub leaves: Vec<LeaveRow>,
    /// The unattended days that meet the window.
    pub unattended: Vec<UnattendedDays>,
}

fn meets(from: Day, until: Option<Day>, window: (Day, Day)) -> bool {
    from <= window.1 && until.is_none_or(|u| u >= window.0)
}

/// The timeline of `office` as of a point, keeping what meets `from..=until`.
pub fn office_timeline(
    ledger: &Ledger,
    office: &str,
    as_of: Option<AsOf>,
    from: Option<Day>,
    until: Option<Day>,
) -> Result<AsOfAnswer<TimelineAnswer>, AnswerError> {
    let point = resolve(ledger, as_of)?;
    let id = require_office(ledger, office)?;
    let mut names = Names::answering(ledger, point.seq);
    let drawing = Drawing::start(ledger, id, point.seq, (from, until), &mut names)?;
    let mut events = ledger.events_at(drawing.acts_to_read())?;
    Ok(AsOfAnswer {
        answer: drawing.finish(ledger, &mut names, &mut events)?,
        point,
    })
}

/// How many trips and leaves the timelines drawn together may name before their acts are read:
/// a bound on the events held at once.
const ACTS_READ_TOGETHER: usize = 50_000;

/// The whole timelines (no window) of `offices`, as of a point, handed to `each` in order:
/// what a mirror's pages draw. The acts of the offices' trips and leaves are read in shared
/// passes over the log, each chunk unpacked once for many offices: one office's absences are
/// spread over the whole log, so reading office by office would read the log once an office.
pub fn office_timelines<E: From<AnswerError>>(
    ledger: &Ledger,
    offices: &[OfficeId],
    as_of: Option<AsOf>,
    each: impl FnMut(TimelineAnswer) -> Result<(), E>,
) -> Result<(), E> {
    timelines_reading_together(ledger, offices, as_of, ACTS_READ_TOGETHER, each)
}

/// [`office_timelines`], the acts read once the timelines drawn name `together` of them.
fn timelines_reading_together<E: From<AnswerError>>(
    ledger: &Ledger,
    offices: &[OfficeId],
    as_of: Option<AsOf>,
    together: usize,
    mut each: impl FnMut(TimelineAnswer) -> Result<(), E>,
) -> Result<(), E> {
    let point = resolve(ledger, as_of)?;
    let mut names = Names::answering(ledger, point.seq);
    let mut pending: Vec<Drawing> = Vec::new();
    let mut flush = |pending: &mut Vec<Drawing>, names: &mut Names| -> Result<(), E> {
        let acts = pending.iter().flat_map(|drawing| drawing.acts_to_read());
        let mut events = ledger.events_at(acts).map_err(AnswerError::from)?;
        for drawing in pending.drain(..) {
            each(drawing.finish(ledger, names, &mut events)?)?;
        }
        Ok(())
    };
    let mut acts = 0;
    for office in offices {
        let id = require_office(ledger, office.as_str()).map_err(AnswerError::from)?;
        let drawing = Drawing::start(ledger, id, point.seq, (None, None), &mut names)?;
        acts += drawing.shown_absences().count();
        pending.push(drawing);
        if acts >= together {
            flush(&mut pending, &mut names)?;
            acts = 0;
        }
    }
    flush(&mut pending, &mut names)
}

/// A timeline being drawn: its rows named, the acts of its trips and leaves not read yet.
struct Drawing {
    id: OfficeId,
    seq: Seq,
    from: Option<Day>,
    until: Option<Day>,
    timeline: Timeline,
    rows: Vec<HistoryRow>,
}

impl Drawing {
    fn start(
        ledger: &Ledger,
        id: OfficeId,
        seq: Seq,
        (from, until): (Option<Day>, Option<Day>),
        names: &mut Names,
    ) -> Result<Drawing, AnswerError> {
        // One decoding of the timeline, and each person named once (at the head, by the names
        // the store keeps): what `history` gives, without its own decoding and naming row by
        // row.
        let timeline = timeline_at(ledger, &id, seq)?;
        let rows = history_of(&timeline, |person| names.of(person))?;
        Ok(Drawing {
            id,
            seq,
            from,
            until,
            timeline,
            rows,
        })
    }

    /// The days shown: all of them where `from` or `until` is not given.
    fn window(&self) -> (Day, Day) {
        (
            self.from.unwrap_or(Day::MIN),
            self.until.unwrap_or(Day::MAX),
        )
    }

    /// The absences (trips, leaves) that meet the window.
    fn shown_absences(&self) -> impl Iterator<Item = &actledger_core::Absence> + '_ {
        let window = self.window();
        (self.timeline.absences.iter())
            .filter(move |absence| meets(absence.from, Some(absence.until), window))
    }

    /// The positions of the acts the shown trips and leaves come from.
    fn acts_to_read(&self) -> impl Iterator<Item = Seq> + '_ {
        self.shown_absences().map(|absence| absence.absence.seq)
    }

    /// The timeline, its trips and leaves told by `events` (read from [`Drawing::acts_to_read`];
    /// each taken out as used, and one missing read again).
    fn finish(
        self,
        ledger: &Ledger,
        names: &mut Names,
        events: &mut BTreeMap<Seq, Event>,
    ) -> Result<TimelineAnswer, AnswerError> {
        let window = self.window();
        let (mut trips, mut leaves) = (Vec::new(), Vec::new());
        for absence in self.shown_absences() {
            let name = names.of(&absence.person)?;
            let (act, at) = (absence.absence.act.clone(), absence.absence.seq);
            let event = match events.remove(&at) {
                Some(event) => event,
                None => ledger.event(at)?,
            };
            match event {
                Event::LeaveGranted(e) => leaves.push(LeaveRow {
                    person: absence.person.clone(),
                    name,
                    from: absence.from,
                    until: absence.until,
                    act,
                    seq: at,
                    reason: e.reason,
                }),
                event => trips.push(TripRow {
                    person: absence.person.clone(),
                    name,
                    from: absence.from,
                    until: absence.until,
                    act,
                    seq: at,
                    destination: match event {
                        Event::TripAuthorized(e) => e.destination,
                        _ => None,
                    },
                }),
            }
        }
        let Drawing {
            id,
            seq,
            from,
            until,
            timeline,
            rows,
        } = self;
        let unattended = unattended(&timeline)
            .into_iter()
            .filter(|run| meets(run.from, Some(run.until), window))
            .map(|run| {
                let trip_acts: Vec<ActId> = (run.absences.iter())
                    .filter(|absence| absence.kind == AbsenceKind::Trip)
                    .map(|trip| trip.act.clone())
                    .collect();
                UnattendedDays {
                    from: run.from,
                    until: run.until,
                    trip_act: trip_acts.first().cloned(),
                    trip_acts,
                    absences: (run.absences.iter())
                        .map(|absence| AbsenceAct {
                            kind: absence.kind,
                            act: absence.act.clone(),
                            seq: absence.seq,
                        })
                        .collect(),
                    events: run.absences.iter().map(|absence| absence.seq).collect(),
                }
            })
            .collect();
        let name = office_name(ledger, &id, seq, &mut Liveness::new(ledger, seq))?;
        Ok(TimelineAnswer {
            office: id,
            name,
            as_of: seq,
            from,
            until,
            history: rows
                .into_iter()
                .filter(|r| meets(r.from, r.until, window))
                .collect(),
            trips,
            leaves,
            unattended,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Timelines drawn together, their acts read after every office, after seven acts, or
    /// after all of them (as [`office_timelines`] does at this size), as of the head and of an
    /// older point, are those drawn one by one: no office's trips and leaves lost or given to
    /// another.
    #[test]
    fn timelines_read_in_any_grouping_are_the_timelines_drawn_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::create(&dir.path().join("l")).unwrap();
        let mut ndjson = Vec::new();
        actledger_gen::Generator::new(11)
            .write_ndjson(4_000, &mut ndjson)
            .unwrap();
        ledger
            .append(actledger_core::parse_batch(&ndjson).unwrap())
            .unwrap();
        let ids: Vec<OfficeId> = (crate::offices(&ledger, None).unwrap().answer.offices)
            .into_iter()
            .map(|office| office.office)
            .collect();
        assert!(ids.len() > 3, "{ids:?}");
        for as_of in [None, Some(AsOf::Seq(2_000))] {
            let one_by_one: Vec<_> = (ids.iter())
                .map(|id| {
                    office_timeline(&ledger, id.as_str(), as_of, None, None)
                        .unwrap()
                        .answer
                })
                .collect();
            assert!(one_by_one.iter().any(|timeline| !timeline.trips.is_empty()));
            assert!(
                one_by_one
                    .iter()
                    .any(|timeline| !timeline.leaves.is_empty())
            );
            for together in [1, 7, usize::MAX] {
                let mut drawn = Vec::new();
                timelines_reading_together(&ledger, &ids, as_of, together, |timeline| {
                    drawn.push(timeline);
                    Ok::<(), AnswerError>(())
                })
                .unwrap();
                assert_eq!(
                    drawn, one_by_one,
                    "read after {together} acts, as of {as_of:?}"
                );
            }
            let mut drawn = Vec::new();
            office_timelines(&ledger, &ids, as_of, |timeline| {
                drawn.push(timeline);
                Ok::<(), AnswerError>(())
            })
            .unwrap();
            assert_eq!(drawn, one_by_one, "as office_timelines draws them");
        }
    }
}
