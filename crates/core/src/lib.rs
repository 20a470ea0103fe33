//! The core of actledger: government acts as events, their validation, and the replay engine
//! that answers who held an office on a day, as the ledger stood at any point.
//!
//! This crate does no I/O. It reads a ledger through the [`Recorded`] trait (and the kept
//! per-office timelines through [`Indexed`]); [`Engine`] is a complete ledger in memory.
//!
//! The event types ([`Event`] and one struct per `type`) are the one definition of the event
//! format: the parser builds them, their canonical bytes are what the ledger stores, and the
//! command line's typed flags and the generator build them too. With the feature `openapi`,
//! every type users send or receive (events, answers, days, identifiers) derives
//! `utoipa::ToSchema`, for the server's OpenAPI document.
//!
//! ```
//! use actledger_core::{Day, Engine, parse_batch, who_held};
//!
//! let input = br#"
//! {"type":"act_issued","act":"RS-001-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-01"}
//! {"type":"appointed","act":"RS-001-2024-PCM","person":"walter-astudillo","person_name":"Walter Astudillo","office":"MINDEF","on":"2024-01-02"}
//! "#;
//! let mut engine = Engine::new();
//! engine.append(parse_batch(input)?)?;
//! let answer = who_held(&engine, "MINDEF", Day::parse("2024-06-05")?, None)?;
//! assert_eq!(answer.holder.unwrap().name.as_deref(), Some("Walter Astudillo"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod anomaly;
mod day;
#[cfg(test)]
mod docs_tests;
mod engine;
mod event;
mod hash;
mod id;
mod liveness;
#[cfg(all(test, feature = "openapi"))]
mod openapi_tests;
mod parse;
mod pending;
mod query;
mod read;
mod recorded;
mod search;
mod state;
mod timeline;
mod validate;
mod window;

pub use anomaly::{
    Anomaly, AnomalyKind, MAX_DELEGATION_DAYS, UnattendedRun, anomalies, anomalies_of_offices,
    anomalies_touching, every_office_anomalies, revoked_twice_at, revoked_twice_of, sort_anomalies,
    unattended,
};
pub use day::{Day, DayError};
pub use engine::{Engine, NewEvents, affected_offices};
pub use event::{
    ActIssued, ActRevoked, Appointed, DutiesDelegated, Event, EventDigest, LeaveGranted,
    LeftOffice, MAX_EVENT_BYTES, MAX_STORED_EVENT_BYTES, RecordRetracted, Seq, TripAuthorized,
};
pub use hash::HexHash;
pub use id::{ActId, IdError, MAX_ID_LEN, OfficeId, PersonId, check_id};
pub use liveness::Liveness;
pub use parse::{
    BatchReader, EVENT_TYPES, FieldError, InputEvent, InvalidEvent, ReadError, closest,
    parse_batch, parse_event, parse_field, quote,
};
pub use pending::Pending;
pub use query::{
    ActEvent, ActRecord, Capacity, HistoryRow, Holder, Indexed, QueryError, Role, Status,
    TitularState, WhoHeld, did_you_mean, held_in, history, history_of, name_of, office_name,
    offices_at, require_office, resolve_as_of, show_act, show_act_at, state, timeline_as_of,
    timeline_at, who_held,
};
pub use recorded::{
    IndexEntry, Infallible, MemoryLedger, Recorded, WithPending, identical_candidates,
    index_entries, issued_at,
};
pub use search::{contains, fold, suggest};
pub use state::{
    OfficeLeaf, SegmentLeaf, answer_segments, each_answer_segment, each_answer_segment_from,
    unnamed_segment_at,
};
pub use timeline::{
    Absence, AbsenceKind, AbsenceRef, Delegation, Departure, Segment, Stint, Tenure, Timeline,
    segment_covering,
};
pub use validate::{BatchError, Outcome, ValidBatch, validate_batch};
pub use window::ChangedDays;
