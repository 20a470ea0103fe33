//! The OpenAPI document, generated from the route annotations in `api.rs`, `proofs.rs` and
//! `html.rs`, and from the schemas the answer types derive themselves (the `openapi` features
//! of `actledger-answers`, `actledger-core` and `actledger-proof`): no type is described twice.
//! A test checks every answer of the seed case against the document.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use actledger_answers::{
    ActRecord, AppendAnswer, AuditAnswer, HeadAnswer, HealthAnswer, OfficesAnswer, StateAnswer,
    TimelineAnswer, WhoHeld,
};
use actledger_core::Event;
use actledger_proof::{ConsistencyProof, InclusionProof};

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
        description = "Who held this office on that day, and on what legal basis: the answers of an append-only ledger of government acts chained with SHA-256. Every answer is the CLI's `--json` output for the same question. Answers pinned by `as_of` are immutable (`Cache-Control: public, max-age=31536000, immutable`); the others carry `Cache-Control: no-cache` and the head hash as their `ETag`, and `If-None-Match` with it gets a 304. Every error is `application/problem+json` (RFC 9457), except on the HTML pages, which answer their errors as pages unless `Accept` prefers JSON.",
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
        crate::tlog::checkpoint,
        crate::tlog::statement,
        crate::tlog::tile,
        crate::tlog::state,
        crate::html::index,
        crate::html::office,
        crate::html::act::act,
    ),
    components(schemas(
        HealthAnswer, OfficesAnswer, WhoHeld, StateAnswer, AuditAnswer, ActRecord, TimelineAnswer,
        AppendAnswer, HeadAnswer, Event, ProblemDetails, InclusionProof, ConsistencyProof,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "queries", description = "Who held what, when, as of any point of the ledger"),
        (name = "entries", description = "The chain itself, as exported"),
        (name = "writes", description = "Appending events (bearer token)"),
        (name = "proofs", description = "Merkle proofs (RFC 9162) and signed checkpoints (C2SP)"),
        (name = "tlog", description = "The log as C2SP tlog-tiles serves it, at the newest kept checkpoint: the same files as a mirror `actledger publish` writes, so that `actledger clone http://HOST/tlog` reads a server as it reads a static mirror"),
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
