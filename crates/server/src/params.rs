//! Query parameters as the contract takes them: days as `YYYY-MM-DD`, `as_of` as what the
//! CLI's `--as-of` takes (a position, or an RFC 3339 time). A bad value is a 400 that names
//! the parameter.

use actledger_core::{Day, Seq};
use actledger_store::Ledger;
use chrono::{DateTime, FixedOffset, Utc};

use crate::problem::{Problem, kind};
use axum::http::StatusCode;

/// A parsed `as_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AsOf {
    Seq(Seq),
    Time(DateTime<FixedOffset>),
}

/// An `as_of` resolved against the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The position to ask as of (`None`: the head).
    pub seq: Option<Seq>,
    /// Whether the answer can never change (see [`resolve_as_of`]).
    pub pinned: bool,
}

/// A required day.
pub(crate) fn day(name: &str, value: Option<&str>) -> Result<Day, Problem> {
    match value {
        None => Err(Problem::bad_parameter(
            name,
            format!("the parameter {name} is required: a day as YYYY-MM-DD, e.g. 2024-06-03"),
        )),
        Some(text) => parse_day(name, text),
    }
}

/// An optional day; an empty value (as an empty form field sends) is no value.
pub(crate) fn optional_day(name: &str, value: Option<&str>) -> Result<Option<Day>, Problem> {
    match value {
        None | Some("") => Ok(None),
        Some(text) => parse_day(name, text).map(Some),
    }
}

fn parse_day(name: &str, text: &str) -> Result<Day, Problem> {
    Day::parse(text).map_err(|e| {
        Problem::bad_parameter(
            name,
            format!(
                "{name}={} {e}; write a day as YYYY-MM-DD, e.g. 2024-06-03",
                actledger_core::quote(text)
            ),
        )
    })
}

/// An optional `as_of`: a position such as 12, or an RFC 3339 time.
pub(crate) fn as_of(value: Option<&str>) -> Result<Option<AsOf>, Problem> {
    let Some(text) = value.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map(|n| Some(AsOf::Seq(n))).map_err(|_| {
            Problem::bad_parameter("as_of", format!("as_of={text} is too large for a position"))
        });
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| Some(AsOf::Time(t)))
        .map_err(|_| {
            Problem::bad_parameter(
                "as_of",
                format!(
                    "as_of={}: expected a position such as 12 or an RFC 3339 time such as 2024-06-03T12:00:00Z",
                    actledger_core::quote(text)
                ),
            )
        })
}

/// A non-negative integer parameter.
pub(crate) fn number(name: &str, value: Option<&str>) -> Result<Option<u64>, Problem> {
    match value {
        None | Some("") => Ok(None),
        Some(text) if text.bytes().all(|b| b.is_ascii_digit()) => text
            .parse()
            .map(Some)
            .map_err(|_| Problem::bad_parameter(name, format!("{name}={text} is too large"))),
        Some(text) => Err(Problem::bad_parameter(
            name,
            format!(
                "{name}={} is not a whole number",
                actledger_core::quote(text)
            ),
        )),
    }
}

fn out_of_range(detail: String) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        kind::AS_OF_OUT_OF_RANGE,
        "as of a point the ledger does not have",
        detail,
    )
    .with_field("as_of")
}

/// Resolves `as_of` as the CLI does. An answer as of a position never changes, so it is
/// pinned. An answer as of a time is pinned only when a later entry exists: recording times
/// never decrease, so nothing recorded later can fall at or before that time; as of a time at
/// or after the last entry, the next append may change the answer.
pub(crate) fn resolve_as_of(ledger: &Ledger, as_of: Option<AsOf>) -> Result<Resolved, Problem> {
    let head = ledger.head().count;
    match as_of {
        None => Ok(Resolved {
            seq: None,
            pinned: false,
        }),
        Some(AsOf::Seq(seq)) => {
            if seq == 0 || seq > head {
                return Err(out_of_range(format!(
                    "as of {seq}: the ledger holds positions 1 to {head}"
                )));
            }
            Ok(Resolved {
                seq: Some(seq),
                pinned: true,
            })
        }
        Some(AsOf::Time(time)) => {
            let utc = time.with_timezone(&Utc);
            match ledger.seq_at_time(utc)? {
                Some(seq) => Ok(Resolved {
                    seq: Some(seq),
                    pinned: seq < head,
                }),
                None => Err(out_of_range(match ledger.entry(1)? {
                    Some(first) => format!(
                        "as of {time}: the first entry was recorded later, at {}",
                        first.time
                    ),
                    None => format!("as of {time}: the ledger has no entries"),
                })),
            }
        }
    }
}
