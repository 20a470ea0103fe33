//! Every question actledger answers, defined once.
//!
//! The core computes (timelines, who held what, anomalies) and the store keeps (the log, its
//! indexes, verification); this crate turns both into the one typed answer of each question,
//! envelope included: the point it is "as of", the office's name, the report of an append
//! (said event by event as it is walked, so that a batch of any size is answered in bounded
//! memory).
//! The CLI prints these values as sentences, tables or `--json` (serde's serialization of
//! them); the server serves the very same serialization; with the `openapi` feature every
//! answer also derives its OpenAPI schema, so the HTTP document describes these types and no
//! copy of them.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use actledger_answers::{AsOf, holder};
//! use actledger_core::{Day, parse_batch};
//! use actledger_store::Ledger;
//!
//! let dir = tempfile::tempdir()?;
//! let mut ledger = Ledger::create(&dir.path().join("l.db"))?;
//! ledger.append(parse_batch(br#"
//! {"type":"act_issued","act":"RS-1","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-01"}
//! {"type":"appointed","act":"RS-1","person":"ana","office":"MINDEF","on":"2024-01-02"}
//! "#)?)?;
//! let answer = holder(&ledger, "MINDEF", Day::parse("2024-06-03")?, Some(AsOf::Seq(2)))?;
//! assert!(answer.point.pinned);
//! assert_eq!(answer.answer.as_of, 2);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod appended;
mod as_of;
mod bundle;
#[cfg(test)]
mod bundle_tests;
mod error;
mod hash;
mod holdings;
mod monitor;
mod names;
mod queries;
mod reports;
mod state;
mod timeline;
mod warnings;

pub use actledger_core::{ActRecord, Anomaly, HistoryRow, WhoHeld};
pub use appended::{AppendAnswer, AppendOutcomes, AppendStatus, AppendedEvent};
pub use as_of::{AsOf, AsOfSyntaxError, Point, resolve};
pub use bundle::{
    BUNDLE_FORMAT, Bundle, BundleError, CheckedAgainst, CheckedAnswer, LeafProof, ProvenAnswer,
    UnknownOffice, bundle_from_state, check_bundle, make_bundle,
};
pub use error::AnswerError;
pub use hash::HexHash;
pub use holdings::{Holding, HoldingsAnswer, OfficeHoldings, holdings};
pub use monitor::{NotChecked, StateCheck, StateRoot, StatementSource, check_statement};
pub use queries::{
    AsOfAnswer, AuditAnswer, HistoryAnswer, OfficeName, OfficesAnswer, StateAnswer, act, audit,
    find_offices, holder, office_history, offices, state_on,
};
pub use reports::{
    CheckpointRef, FindingAnswer, FindingsAnswer, HeadAnswer, HealthAnswer, ImportAnswer,
    RepairAnswer, RepairFound, Verified, VerifyAnswer,
};
pub use state::{
    AnswerState, OfficeLeaf, OfficeState, SegmentLeaf, answer_state, check_newest_statement,
    kept_head_state, office_state, sign_checkpoint, statement,
};
pub use timeline::{
    AbsenceAct, LeaveRow, TimelineAnswer, TripRow, UnattendedDays, office_timeline,
    office_timelines,
};
pub use warnings::{
    Warning, added_anomalies, append, append_stream, close_ids, warnings_before_writing,
};
