//! What an append did: [`AppendOutcomes`], the answer as the store reports it (outcomes in
//! runs, each recorded event's hash read back from the log as it is walked), which says it
//! event by event in memory that does not grow with the batch, and [`AppendAnswer`], the same
//! answer held whole (the server's small batches, and its OpenAPI schema). Both serialize to
//! the same `append --json` object.

use actledger_core::Seq;
use actledger_store::{AppendReport, Appended, Ledger, StoreError};
use serde::ser::{Error as _, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::error::AnswerError;
use crate::hash::HexHash;
use crate::reports::HeadAnswer;
use crate::warnings::Warning;

/// What became of one input event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AppendStatus {
    /// Written at `seq`.
    Recorded,
    /// An identical event is already at `seq`: nothing written.
    AlreadyRecorded,
}

/// One input event of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppendedEvent {
    /// Its line in the input (1 for a single JSON object).
    pub line: usize,
    /// Recorded now, or already recorded.
    pub status: AppendStatus,
    /// Its position.
    pub seq: Seq,
    /// The new entry's hash (recorded events only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<HexHash>,
}

impl From<(usize, Appended)> for AppendedEvent {
    fn from((line, appended): (usize, Appended)) -> AppendedEvent {
        match appended {
            Appended::Recorded { seq, hash } => AppendedEvent {
                line,
                status: AppendStatus::Recorded,
                seq,
                hash: Some(HexHash(hash)),
            },
            Appended::AlreadyRecorded { seq } => AppendedEvent {
                line,
                status: AppendStatus::AlreadyRecorded,
                seq,
                hash: None,
            },
        }
    }
}

// The same answer as [`AppendOutcomes`], every event held: what it collects
// ([`AppendOutcomes::to_answer`]). Its doc comment is the OpenAPI schema's description.
/// What an append did: the `append --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AppendReport))]
pub struct AppendAnswer {
    /// Every input event, in input order.
    pub events: Vec<AppendedEvent>,
    /// The head after the append.
    pub head: HeadAnswer,
    /// What the clerk is warned of: ids close to known ones, anomalies the batch added
    /// (absent when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

impl AppendAnswer {
    /// Whether anything was written (some event was not already recorded).
    pub fn wrote(&self) -> bool {
        self.events
            .iter()
            .any(|e| e.status == AppendStatus::Recorded)
    }
}

/// What an append did, as the ledger it was written to says it: the store's report (what
/// became of the events, in runs, and the head) and the clerk's warnings. Its events are
/// walked from the report, each recorded one's hash read back from `ledger` as it comes, so
/// that saying the answer of a batch of a million events, as text or as JSON, takes the
/// memory of a chunk of the log. It serializes to the very bytes of its [`AppendAnswer`].
#[derive(Debug)]
pub struct AppendOutcomes<'a> {
    ledger: &'a Ledger,
    report: AppendReport,
    warnings: Vec<Warning>,
}

impl<'a> AppendOutcomes<'a> {
    /// The answer of the append that `report` reports, written to `ledger`, with `warnings`.
    pub fn new(
        ledger: &'a Ledger,
        report: AppendReport,
        warnings: Vec<Warning>,
    ) -> AppendOutcomes<'a> {
        AppendOutcomes {
            ledger,
            report,
            warnings,
        }
    }

    /// Every input event, in input order (an error when an entry cannot be read back).
    pub fn events(&self) -> impl Iterator<Item = Result<AppendedEvent, AnswerError>> + '_ {
        self.events_from_store()
            .map(|event| event.map_err(AnswerError::from))
    }

    fn events_from_store(&self) -> impl Iterator<Item = Result<AppendedEvent, StoreError>> + '_ {
        self.ledger
            .appended(&self.report)
            .map(|appended| appended.map(AppendedEvent::from))
    }

    /// The ledger written to (the append holds it until its answer is said).
    pub fn ledger(&self) -> &'a Ledger {
        self.ledger
    }

    /// The head after the append.
    pub fn head(&self) -> HeadAnswer {
        self.report.head.into()
    }

    /// What the clerk is warned of.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// How many input events the batch had.
    pub fn count(&self) -> u64 {
        self.report.events()
    }

    /// How many of them were recorded now (the others were already recorded).
    pub fn recorded(&self) -> u64 {
        self.report.recorded()
    }

    /// Whether anything was written (some event was not already recorded).
    pub fn wrote(&self) -> bool {
        self.recorded() > 0
    }

    /// The whole answer, every event held (for a batch whose size is bounded, as the
    /// server's are).
    pub fn to_answer(&self) -> Result<AppendAnswer, AnswerError> {
        Ok(AppendAnswer {
            events: self.events().collect::<Result<_, _>>()?,
            head: self.head(),
            warnings: self.warnings.clone(),
        })
    }
}

/// The fields of [`AppendAnswer`], in its order, with its names: the same bytes, the events
/// serialized as they are walked. A failure to read an entry back stops the serialization,
/// the object left unfinished.
impl Serialize for AppendOutcomes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut answer = serializer.serialize_struct("AppendAnswer", 3)?;
        answer.serialize_field("events", &Events(self))?;
        answer.serialize_field("head", &self.head())?;
        if self.warnings.is_empty() {
            answer.skip_field("warnings")?;
        } else {
            answer.serialize_field("warnings", &self.warnings)?;
        }
        answer.end()
    }
}

/// The events of an [`AppendOutcomes`], serialized as a sequence as they are walked.
struct Events<'o, 'a>(&'o AppendOutcomes<'a>);

impl Serialize for Events<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let count = usize::try_from(self.0.count()).ok();
        let mut events = serializer.serialize_seq(count)?;
        for event in self.0.events_from_store() {
            let event = event.map_err(|e| {
                S::Error::custom(format_args!("reading the appended entries back: {e}"))
            })?;
            events.serialize_element(&event)?;
        }
        events.end()
    }
}
