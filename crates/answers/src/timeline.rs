//! An office's timeline: its history rows, its titulars' trips and leaves and its unattended
//! days, kept to a window of days. The server's timeline route and pages draw it.

use actledger_core::{
    AbsenceKind, ActId, Day, Event, HistoryRow, Liveness, OfficeId, PersonId, Recorded, Seq,
    history_of, office_name, require_office, timeline_at, unattended,
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
    let seq = point.seq;
    let id = require_office(ledger, office)?;
    // One decoding of the timeline, and each person named once (at the head, by the names the
    // store keeps): what `history` gives, without its own decoding and naming row by row.
    let timeline = timeline_at(ledger, &id, seq)?;
    let mut names = Names::answering(ledger, seq);
    let rows = history_of(&timeline, |person| names.of(person))?;
    let window = (from.unwrap_or(Day::MIN), until.unwrap_or(Day::MAX));
    let (mut trips, mut leaves) = (Vec::new(), Vec::new());
    for absence in &timeline.absences {
        if !meets(absence.from, Some(absence.until), window) {
            continue;
        }
        let name = names.of(&absence.person)?;
        let (act, at) = (absence.absence.act.clone(), absence.absence.seq);
        match ledger.event(at)? {
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
    Ok(AsOfAnswer {
        answer: TimelineAnswer {
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
        },
        point,
    })
}
