//! "As of": the point of the ledger a question is asked at, given as a position or as a
//! recording time, and resolved against the ledger once, the same way for every edge.

use std::fmt;
use std::str::FromStr;

use actledger_core::Seq;
use actledger_store::Ledger;
use chrono::{DateTime, FixedOffset, Utc};

use crate::error::AnswerError;

/// An "as of" point as a user writes it: `12`, or `2024-06-03T12:00:00Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// The events recorded at positions up to this one.
    Seq(Seq),
    /// The events recorded at or before this time.
    Time(DateTime<FixedOffset>),
}

/// Why a text is not an "as of" point.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AsOfSyntaxError {
    /// All digits, but more than a position holds.
    #[error("{0} is too large for a position")]
    TooLarge(String),
    /// Neither digits nor an RFC 3339 time.
    #[error("expected a position such as 12 or an RFC 3339 time such as 2024-06-03T12:00:00Z")]
    Malformed,
}

impl FromStr for AsOf {
    type Err = AsOfSyntaxError;

    fn from_str(text: &str) -> Result<AsOf, AsOfSyntaxError> {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse()
                .map(AsOf::Seq)
                .map_err(|_| AsOfSyntaxError::TooLarge(text.to_owned()));
        }
        DateTime::parse_from_rfc3339(text)
            .map(AsOf::Time)
            .map_err(|_| AsOfSyntaxError::Malformed)
    }
}

impl fmt::Display for AsOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsOf::Seq(seq) => write!(f, "{seq}"),
            AsOf::Time(time) => write!(f, "{}", time.to_rfc3339()),
        }
    }
}

/// An "as of" point resolved against a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// The position the answer is as of: the head when none was asked for.
    pub seq: Seq,
    /// Whether the answer can never change (see [`resolve`]).
    pub pinned: bool,
}

/// Resolves `as_of` against `ledger`. An answer as of a position never changes, so it is
/// pinned. An answer as of a time is pinned only when a later entry exists: recording times
/// never decrease, so nothing recorded later can fall at or before that time; as of a time at
/// or after the last entry, the next append may change the answer. No point is the head,
/// unpinned.
pub fn resolve(ledger: &Ledger, as_of: Option<AsOf>) -> Result<Point, AnswerError> {
    let head = ledger.head().count;
    match as_of {
        None => Ok(Point {
            seq: head,
            pinned: false,
        }),
        Some(AsOf::Seq(seq)) if seq == 0 || seq > head => {
            Err(AnswerError::AsOfOutOfRange { as_of: seq, head })
        }
        Some(AsOf::Seq(seq)) => Ok(Point { seq, pinned: true }),
        Some(AsOf::Time(time)) => match ledger.seq_at_time(time.with_timezone(&Utc))? {
            Some(seq) => Ok(Point {
                seq,
                pinned: seq < head,
            }),
            None => Err(AnswerError::AsOfBeforeFirstEntry {
                time: time.to_rfc3339(),
                first: ledger.entry(1)?.map(|first| first.time),
            }),
        },
    }
}

/// A resolved position as the core's queries take it: `None` for the head (an empty ledger's
/// head, 0, is no position the core would accept).
pub(crate) fn core_point(ledger: &Ledger, seq: Seq) -> Option<Seq> {
    (seq != ledger.head().count).then_some(seq)
}
