//! The OpenAPI document, generated from the route annotations in `api.rs` and `html.rs` and
//! the schemas below.
//!
//! The answers are the core's own types serialized as the CLI prints them; the core knows
//! nothing of OpenAPI, so their schemas are described here, field for field. A test checks
//! every answer of the seed case against these schemas, so they cannot drift apart unnoticed.
#![allow(dead_code)] // The schema types are described, never built.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::problem::ProblemDetails;

/// The OpenAPI 3.1 document of every route, as pretty-printed JSON.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"the OpenAPI document failed: {e}\"}}"))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "actledger",
        description = "Who held this office on that day, and on what legal basis: the answers of an append-only ledger of government acts chained with SHA-256. Every answer is the CLI's `--json` output for the same question. Answers pinned by `as_of` are immutable (`Cache-Control: public, max-age=31536000, immutable`); the others carry `Cache-Control: no-cache` and the head hash as their `ETag`, and `If-None-Match` with it gets a 304. Every error is `application/problem+json` (RFC 9457).",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        crate::api::healthz,
        crate::api::openapi,
        crate::api::offices,
        crate::api::holder,
        crate::api::timeline,
        crate::api::state,
        crate::api::audit,
        crate::api::act,
        crate::api::entries,
        crate::api::append,
        crate::proofs::inclusion,
        crate::proofs::consistency,
        crate::proofs::checkpoint,
        crate::html::index,
        crate::html::office,
    ),
    components(schemas(
        Health, Verification, Offices, OfficeName, WhoHeld, Holder, Titular, Capacity, State, Audit, Anomaly,
        AnomalyKind, ActRecord, ActEvent, Status, Timeline, HistoryRow, Role, Trip, Unattended,
        AppendReport, AppendedEvent, Head, EventInput, ProblemDetails, InclusionProof,
        ConsistencyProof,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "queries", description = "Who held what, when, as of any point of the ledger"),
        (name = "entries", description = "The chain itself, as exported"),
        (name = "writes", description = "Appending events (bearer token)"),
        (name = "proofs", description = "Merkle proofs (RFC 9162) and signed checkpoints (C2SP)"),
        (name = "pages", description = "HTML pages for people"),
        (name = "meta", description = "Health and this document"),
    ),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token in the server's token file (made at random, mode 0600, when missing)",
                    ))
                    .build(),
            ),
        );
    }
}

/// `GET /healthz`.
#[derive(ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: String,
    /// The number of entries of the ledger.
    size: u64,
    /// When the server verified the whole ledger (its log and every record answers are read
    /// from) before serving it, and how many entries it held then; `null` for a state built
    /// without that check (tests).
    verified: Option<Verification>,
}

/// A verification that passed.
#[derive(ToSchema)]
pub(crate) struct Verification {
    /// When it ended, RFC 3339 in UTC.
    #[schema(example = "2026-12-02T17:00:00.000000Z")]
    at: String,
    /// The entries the ledger held.
    size: u64,
}

/// Every known office.
#[derive(ToSchema)]
pub(crate) struct Offices {
    /// The head position the list is as of.
    as_of: u64,
    /// By office.
    offices: Vec<OfficeName>,
}

/// An office and the latest name recorded for it.
#[derive(ToSchema)]
pub(crate) struct OfficeName {
    /// The office identifier.
    #[schema(example = "MINDEF")]
    office: String,
    /// The latest `office_name` of an appointment to it, or null.
    #[schema(required = true)]
    name: Option<String>,
}

/// The `who-held --json` object.
#[derive(ToSchema)]
pub(crate) struct WhoHeld {
    /// The office.
    office: String,
    /// The day asked about.
    #[schema(format = Date)]
    on: String,
    /// The position the answer is as of.
    as_of: u64,
    /// Who held the office; null when it was vacant.
    #[schema(required = true)]
    holder: Option<Holder>,
    /// Its titular that day, present or away; null when there was none.
    #[schema(required = true)]
    titular: Option<Titular>,
}

/// Who held the office.
#[derive(ToSchema)]
pub(crate) struct Holder {
    /// The person identifier.
    person: String,
    /// The latest name recorded for them up to `as_of`, or null.
    #[schema(required = true)]
    name: Option<String>,
    /// Titular or acting.
    capacity: Capacity,
    /// The act of the appointment or delegation in force.
    basis: Vec<String>,
}

/// Whether the holder is the titular or in charge by delegation.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum Capacity {
    /// Appointed.
    Titular,
    /// In charge by delegation.
    Acting,
}

/// The titular of the office that day.
#[derive(ToSchema)]
pub(crate) struct Titular {
    /// The person identifier.
    person: String,
    /// The latest name recorded for them up to `as_of`, or null.
    #[schema(required = true)]
    name: Option<String>,
    /// Away on an authorized trip that day.
    absent: bool,
    /// The act of that trip, or null.
    #[schema(required = true)]
    trip_act: Option<String>,
}

/// The `state --json` object.
#[derive(ToSchema)]
pub(crate) struct State {
    /// The day.
    #[schema(format = Date)]
    on: String,
    /// The position the answers are as of.
    as_of: u64,
    /// One `who-held` object per known office, by office.
    offices: Vec<WhoHeld>,
}

/// The `audit --json` object.
#[derive(ToSchema)]
pub(crate) struct Audit {
    /// Every anomaly found.
    anomalies: Vec<Anomaly>,
}

/// One anomaly and the events that show it.
#[derive(ToSchema)]
pub(crate) struct Anomaly {
    /// What kind.
    kind: AnomalyKind,
    /// The office concerned, or null.
    #[schema(required = true)]
    office: Option<String>,
    /// The first day concerned, or null.
    #[schema(required = true, format = Date)]
    from: Option<String>,
    /// The last day concerned, or null.
    #[schema(required = true, format = Date)]
    until: Option<String>,
    /// The positions of the events that show it.
    events: Vec<u64>,
    /// A sentence for people.
    message: String,
}

/// The kinds of anomaly.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum AnomalyKind {
    /// An absent titular and nobody in charge.
    UnattendedOffice,
    /// Two delegations of one office in effect on the same days.
    OverlappingDelegations,
    /// A `left_office` for someone who was not titular.
    LeftWithoutHolding,
    /// A trip of someone not titular of that office then.
    TripWithoutHolding,
    /// A delegate who held no other office while in charge.
    DelegateWithoutOffice,
    /// An act revoked by two acts in force.
    ActRevokedTwice,
    /// A delegation declared for more than 30 days.
    #[schema(rename = "delegation_over_30_days")]
    DelegationOver30Days,
    /// A delegate away on a day in charge.
    DelegateAway,
}

/// The `show --json` object.
#[derive(ToSchema)]
pub(crate) struct ActRecord {
    /// The act.
    act: String,
    /// Whether an act in force revokes it.
    revoked: bool,
    /// Its events, the revocations naming it and the retractions of those, by position.
    events: Vec<ActEvent>,
}

/// One event naming an act.
#[derive(ToSchema)]
pub(crate) struct ActEvent {
    /// Its position.
    seq: u64,
    /// Whether replay uses it.
    status: Status,
    /// The event as recorded (canonical JSON; the format of `shared/spec/events.md`).
    #[schema(value_type = Object)]
    event: serde_json::Value,
}

/// Whether an event is in force.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum Status {
    /// Replay uses it.
    InForce,
    /// A clerical retraction removed it.
    Retracted,
    /// Its act is revoked.
    Void,
}

/// An office's timeline: the `history --json` object with more fields.
#[derive(ToSchema)]
pub(crate) struct Timeline {
    /// The office.
    office: String,
    /// The latest name recorded for it, or null.
    #[schema(required = true)]
    name: Option<String>,
    /// The position the answer is as of.
    as_of: u64,
    /// The window asked for (null: from the start).
    #[schema(required = true, format = Date)]
    from: Option<String>,
    /// The window asked for (null: to the end).
    #[schema(required = true, format = Date)]
    until: Option<String>,
    /// The history rows that meet the window, by first day, as `history --json` prints them.
    history: Vec<HistoryRow>,
    /// The trips of the office's titulars that meet the window.
    trips: Vec<Trip>,
    /// Days a titular was away with nobody in charge.
    unattended: Vec<Unattended>,
}

/// One interval of an office's history.
#[derive(ToSchema)]
pub(crate) struct HistoryRow {
    /// Titular, acting or vacant.
    capacity: Role,
    /// Who; null for a vacancy.
    #[schema(required = true)]
    person: Option<String>,
    /// Their latest recorded name, or null.
    #[schema(required = true)]
    name: Option<String>,
    /// First day.
    #[schema(format = Date)]
    from: String,
    /// Last day; null while it lasts.
    #[schema(required = true, format = Date)]
    until: Option<String>,
    /// The acts it rests on.
    basis: Vec<String>,
    /// The positions of those events.
    events: Vec<u64>,
}

/// The capacity of a history row.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum Role {
    /// A titular's tenure.
    Titular,
    /// Days in charge by delegation.
    Acting,
    /// Nobody held the office.
    Vacant,
}

/// An authorized trip.
#[derive(ToSchema)]
pub(crate) struct Trip {
    /// Who travels.
    person: String,
    /// Their latest recorded name, or null.
    #[schema(required = true)]
    name: Option<String>,
    /// First day away.
    #[schema(format = Date)]
    from: String,
    /// Last day away.
    #[schema(format = Date)]
    until: String,
    /// The act authorizing it.
    act: String,
    /// The position of the `trip_authorized` event.
    seq: u64,
    /// Where to, or null.
    #[schema(required = true)]
    destination: Option<String>,
}

/// Days a titular was away with nobody in charge.
#[derive(ToSchema)]
pub(crate) struct Unattended {
    /// First day.
    #[schema(format = Date)]
    from: String,
    /// Last day.
    #[schema(format = Date)]
    until: String,
    /// The act of the run's first trip.
    trip_act: String,
    /// The acts of the trips that made the titular absent, in order.
    trip_acts: Vec<String>,
    /// The positions of those trips' events.
    events: Vec<u64>,
}

/// The `append --json` object.
#[derive(ToSchema)]
pub(crate) struct AppendReport {
    /// For each input event, in input order.
    events: Vec<AppendedEvent>,
    /// The head after the append.
    head: Head,
}

/// What became of one input event.
#[derive(ToSchema)]
pub(crate) struct AppendedEvent {
    /// Its input line.
    line: u64,
    /// `recorded` or `already_recorded`.
    #[schema(example = "recorded")]
    status: String,
    /// Where it is recorded.
    seq: u64,
    /// The entry hash (only when recorded now).
    hash: Option<String>,
}

/// The head of the ledger.
#[derive(ToSchema)]
pub(crate) struct Head {
    /// How many entries.
    count: u64,
    /// The hash of the last entry (64 zeros when empty), lowercase hex.
    hash: String,
}

/// One event, as `shared/spec/events.md` defines it.
#[derive(ToSchema)]
#[schema(example = json!({"type":"act_issued","act":"RS-131-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-06-01"}))]
pub(crate) struct EventInput {
    /// The event type.
    #[schema(rename = "type", example = "act_issued")]
    kind: String,
}

/// The `prove SEQ --json` object: an entry and the proof that it is in a tree.
#[derive(ToSchema)]
pub(crate) struct InclusionProof {
    /// The entry's position, from 1.
    seq: u64,
    /// Its leaf index, `seq - 1`.
    leaf_index: u64,
    /// The size of the tree the proof is for.
    tree_size: u64,
    /// SHA-256(0x00 || entry), lowercase hex.
    leaf_hash: String,
    /// The audit path, RFC 9162 order (the sibling nearest the leaf first), lowercase hex.
    proof: Vec<String>,
    /// The entry's export line without its newline: the leaf data.
    entry: String,
}

/// The `prove --from FIRST --to SECOND --json` object.
#[derive(ToSchema)]
pub(crate) struct ConsistencyProof {
    /// The older tree size.
    first: u64,
    /// The newer tree size.
    second: u64,
    /// The Merkle root of the first `first` entries, lowercase hex.
    first_root: String,
    /// The Merkle root of the first `second` entries, lowercase hex.
    second_root: String,
    /// The consistency proof, RFC 9162 order, lowercase hex.
    proof: Vec<String>,
}
