//! Why a question could not be answered: one typed error for every answer.

use actledger_core::{InvalidEvent, OfficeId, QueryError, Seq, did_you_mean};
use actledger_store::StoreError;

/// Why a question could not be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// No recorded event names the office.
    #[error("unknown office {office:?}{}", did_you_mean(.suggestions))]
    UnknownOffice {
        /// The office asked for.
        office: String,
        /// Known offices with a close name.
        suggestions: Vec<OfficeId>,
    },
    /// No recorded event names the act.
    #[error("unknown act {act:?}: no recorded event names it")]
    UnknownAct {
        /// The act asked for.
        act: String,
    },
    /// "As of" a position the ledger does not have.
    #[error("as of {as_of}: the ledger holds positions 1 to {head}")]
    AsOfOutOfRange {
        /// The position asked for.
        as_of: Seq,
        /// The head of the ledger.
        head: Seq,
    },
    /// "As of" a time before the first entry was recorded (or of an empty ledger).
    #[error("as of {time}: {}", match first {
        Some(first) => format!("the first entry was recorded later, at {first}"),
        None => "the ledger has no entries".to_owned(),
    })]
    AsOfBeforeFirstEntry {
        /// The time asked for, RFC 3339.
        time: String,
        /// When the first entry was recorded; `None` when the ledger is empty.
        first: Option<String>,
    },
    /// An input event is refused (line, field, reason).
    #[error(transparent)]
    Invalid(#[from] InvalidEvent),
    /// `--strict`: the batch has warnings, so nothing of it was written.
    #[error("the batch has {} (--strict refuses it): nothing was written", warnings_text(.warnings.len()))]
    Refused {
        /// What the batch was warned of.
        warnings: Vec<crate::warnings::Warning>,
    },
    /// An answer cannot be proven against a kept checkpoint: what does not hold.
    #[error("{reason}")]
    Proof {
        /// Why.
        reason: String,
    },
    /// The ledger could not be read.
    #[error("reading the ledger")]
    Store(#[from] StoreError),
    /// A failure of an append this crate does not know by name.
    #[error("appending the batch")]
    Append(#[source] actledger_store::AppendError),
    /// A failure of the core's queries this crate does not know by name.
    #[error("the question could not be answered")]
    Query(#[source] QueryError<StoreError>),
}

impl From<QueryError<StoreError>> for AnswerError {
    fn from(error: QueryError<StoreError>) -> AnswerError {
        match error {
            QueryError::UnknownOffice {
                office,
                suggestions,
            } => AnswerError::UnknownOffice {
                office,
                suggestions,
            },
            QueryError::AsOfOutOfRange { as_of, head } => {
                AnswerError::AsOfOutOfRange { as_of, head }
            }
            QueryError::UnknownAct(act) => AnswerError::UnknownAct { act },
            QueryError::Ledger(store) => AnswerError::Store(store),
            other => AnswerError::Query(other),
        }
    }
}

impl From<actledger_store::AppendError> for AnswerError {
    fn from(error: actledger_store::AppendError) -> AnswerError {
        match error {
            actledger_store::AppendError::Invalid(invalid) => AnswerError::Invalid(invalid),
            actledger_store::AppendError::Store(store) => AnswerError::Store(store),
            other => AnswerError::Append(other),
        }
    }
}

fn warnings_text(n: usize) -> String {
    if n == 1 {
        "1 warning".to_owned()
    } else {
        format!("{n} warnings")
    }
}
