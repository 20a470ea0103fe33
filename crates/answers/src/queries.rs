//! The questions about offices and acts: who held an office, the state of every office, an
//! office's history, its known offices, the anomalies, an act and its events. Each is the
//! core's computation over the store, wrapped in the one envelope both edges print.

use actledger_core::{
    ActRecord, Anomaly, Day, HistoryRow, Liveness, OfficeId, Seq, WhoHeld, anomalies, contains,
    history, office_name, offices_at, show_act_at, state, timeline_at, who_held,
};
use actledger_store::Ledger;
use serde::Serialize;

use crate::as_of::{AsOf, Point, resolve};
use crate::error::AnswerError;

/// An answer and the point it was resolved at: the edges print `answer` and use `point` for
/// caching (an answer pinned to a point never changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsOfAnswer<T> {
    /// The answer.
    pub answer: T,
    /// The point of the ledger it is as of.
    pub point: Point,
}

fn at<T>(
    ledger: &Ledger,
    as_of: Option<AsOf>,
    ask: impl FnOnce(Seq) -> Result<T, AnswerError>,
) -> Result<AsOfAnswer<T>, AnswerError> {
    let point = resolve(ledger, as_of)?;
    Ok(AsOfAnswer {
        answer: ask(point.seq)?,
        point,
    })
}

/// Who held `office` on `on`: the `who-held --json` object.
pub fn holder(
    ledger: &Ledger,
    office: &str,
    on: Day,
    as_of: Option<AsOf>,
) -> Result<AsOfAnswer<WhoHeld>, AnswerError> {
    at(ledger, as_of, |seq| {
        Ok(who_held(
            ledger,
            office,
            on,
            crate::as_of::core_point(ledger, seq),
        )?)
    })
}

/// Every known office on a day: the `state --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = State))]
pub struct StateAnswer {
    /// The day asked about.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub on: Day,
    /// The position the answer is as of (the head when none was asked for).
    pub as_of: Seq,
    /// One `who-held` object per known office, by office.
    pub offices: Vec<WhoHeld>,
}

/// Every known office on `on`.
pub fn state_on(
    ledger: &Ledger,
    on: Day,
    as_of: Option<AsOf>,
) -> Result<AsOfAnswer<StateAnswer>, AnswerError> {
    at(ledger, as_of, |seq| {
        Ok(StateAnswer {
            on,
            as_of: seq,
            offices: state(ledger, on, crate::as_of::core_point(ledger, seq))?,
        })
    })
}

/// An office's titular tenures, acting periods and vacancies: the `history --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = History))]
pub struct HistoryAnswer {
    /// The office.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "MINDEF"))]
    pub office: OfficeId,
    /// The position the answer is as of.
    pub as_of: Seq,
    /// The intervals, by first day.
    pub history: Vec<HistoryRow>,
}

/// The history of `office`.
pub fn office_history(
    ledger: &Ledger,
    office: &str,
    as_of: Option<AsOf>,
) -> Result<AsOfAnswer<HistoryAnswer>, AnswerError> {
    at(ledger, as_of, |seq| {
        let office = actledger_core::require_office(ledger, office)?;
        let history = history(
            ledger,
            office.as_str(),
            crate::as_of::core_point(ledger, seq),
        )?;
        Ok(HistoryAnswer {
            office,
            as_of: seq,
            history,
        })
    })
}

/// The anomalies: the `audit --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Audit))]
pub struct AuditAnswer {
    /// Every anomaly, by kind, office and day.
    pub anomalies: Vec<Anomaly>,
}

/// The anomalies as of a point.
pub fn audit(ledger: &Ledger, as_of: Option<AsOf>) -> Result<AsOfAnswer<AuditAnswer>, AnswerError> {
    at(ledger, as_of, |seq| {
        Ok(AuditAnswer {
            anomalies: anomalies(ledger, crate::as_of::core_point(ledger, seq))?,
        })
    })
}

/// An act and every event that names it, as of a point: the `show --json` object.
pub fn act(
    ledger: &Ledger,
    act: &str,
    as_of: Option<AsOf>,
) -> Result<AsOfAnswer<ActRecord>, AnswerError> {
    at(ledger, as_of, |seq| {
        Ok(show_act_at(
            ledger,
            act,
            crate::as_of::core_point(ledger, seq),
        )?)
    })
}

/// One known office, the latest name recorded for it, and the days on its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfficeName {
    /// The office.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "MINDEF"))]
    pub office: OfficeId,
    /// The latest `office_name` recorded by an appointment in force; `null` when none was.
    #[cfg_attr(feature = "openapi", schema(example = "Ministerio de Defensa"))]
    pub name: Option<String>,
    /// The first day on its record: the earliest day an event in force shaping the office
    /// names; `null` when none does (an office only named as a `delegate_office`, or whose
    /// events are all retracted or void).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date, required = true))]
    pub first_day: Option<Day>,
    /// The last day such an event names (a trip's or a delegation's `until` included);
    /// `null` as `first_day` is.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date, required = true))]
    pub last_day: Option<Day>,
}

/// Every known office: the `offices --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Offices))]
pub struct OfficesAnswer {
    /// The position the list is as of.
    pub as_of: Seq,
    /// Every office any event recorded up to `as_of` names (those that match the query,
    /// when one was given), by office.
    pub offices: Vec<OfficeName>,
}

/// Every known office with its latest name and the days on its record.
pub fn offices(
    ledger: &Ledger,
    as_of: Option<AsOf>,
) -> Result<AsOfAnswer<OfficesAnswer>, AnswerError> {
    find_offices(ledger, None, as_of)
}

/// The known offices whose id or latest name contains `query` (every one without a query),
/// case and accents ignored: `defensa` finds MINDEF, "Ministerio de Defensa". The `offices
/// --json` object.
pub fn find_offices(
    ledger: &Ledger,
    query: Option<&str>,
    as_of: Option<AsOf>,
) -> Result<AsOfAnswer<OfficesAnswer>, AnswerError> {
    at(ledger, as_of, |seq| {
        let mut live = Liveness::new(ledger, seq);
        let mut offices = Vec::new();
        for office in offices_at(ledger, seq)? {
            let name = office_name(ledger, &office, seq, &mut live)?;
            if query.is_some_and(|query| !contains(query, &office, name.as_deref())) {
                continue;
            }
            let days = timeline_at(ledger, &office, seq)?.days_on_record();
            offices.push(OfficeName {
                office,
                name,
                first_day: days.map(|(first, _)| first),
                last_day: days.map(|(_, last)| last),
            });
        }
        Ok(OfficesAnswer {
            as_of: seq,
            offices,
        })
    })
}
