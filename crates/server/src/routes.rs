//! The router: every route of the contract, and the middleware around them (compression,
//! problem details for every error, or an HTML page for people, a cap on requests in flight,
//! request timeouts).

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;

use actledger_core::Day;
use actledger_proof::SignerKey;
use actledger_store::Ledger;

use crate::lending::SharedLedger;

use crate::problem::{self, Problem};
use crate::token::TokenDigest;
use crate::{api, html, openapi, proofs, tlog};

/// What the server accepts before it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body (a batch of events), in bytes: larger is a 413.
    pub max_body_bytes: usize,
    /// How long a request may take, body included: longer is a 503. A write that times out
    /// may still be recorded; sending it again is safe, since appends are idempotent.
    pub request_timeout: Duration,
    /// How many requests are served at once; more are shed at once with a 503.
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            max_in_flight: 256,
        }
    }
}

/// What every request handler shares: the ledger, the write token, the limits.
#[derive(Clone)]
pub struct AppState {
    pub(crate) ledger: SharedLedger,
    pub(crate) token: Option<TokenDigest>,
    pub(crate) limits: Limits,
    in_flight: Arc<Semaphore>,
    pub(crate) openapi: Bytes,
    pub(crate) signer: Option<Arc<SignerKey>>,
    /// When the ledger was last verified whole (log and derived records), if it was.
    pub(crate) verified: Option<Verified>,
}

pub use actledger_answers::Verified;

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("ledger", &self.ledger)
            .field("writes", &self.token.is_some())
            .field("signer", &self.signer)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The state of a server over `ledger`. Writes need `token` as a bearer token; without
    /// one, every write is refused with a 401.
    pub fn new(ledger: Ledger, token: Option<&str>, limits: Limits) -> AppState {
        AppState {
            ledger: Arc::new(RwLock::new(Some(ledger))),
            token: token.map(TokenDigest::new),
            in_flight: Arc::new(Semaphore::new(limits.max_in_flight)),
            limits,
            openapi: Bytes::from(openapi::openapi_json()),
            signer: None,
            verified: None,
        }
    }

    /// The same state, saying in `/healthz` that the ledger was verified as `verified` says.
    pub fn with_verified(mut self, verified: Verified) -> AppState {
        self.verified = Some(verified);
        self
    }

    /// The same state, signing checkpoints (`GET /api/v1/checkpoint`) with `key`.
    pub fn with_signer(mut self, key: SignerKey) -> AppState {
        self.signer = Some(Arc::new(key));
        self
    }

    /// Runs `f` over the ledger on a blocking thread (sled blocks), as a reader.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce(&Ledger) -> Result<T, Problem> + Send + 'static,
    {
        let ledger = Arc::clone(&self.ledger);
        tokio::task::spawn_blocking(move || {
            // A panic while reading changes nothing: the lock's data is still sound.
            let guard = ledger.read().unwrap_or_else(PoisonError::into_inner);
            f(guard.as_ref().ok_or_else(closed)?)
        })
        .await
        .map_err(|e| Problem::internal(format!("a ledger task failed: {e}")))?
    }

    /// Runs `f` over the ledger as a reader and sends the answer it makes: the body of every
    /// GET route, its cache headers and its 304 when the request already has it.
    pub(crate) async fn answer<F>(&self, request: &HeaderMap, f: F) -> Result<Response, Problem>
    where
        F: FnOnce(&Ledger) -> Result<Answer, Problem> + Send + 'static,
    {
        Ok(self.read(f).await?.respond(request))
    }

    /// Runs `f` over the ledger on a blocking thread, as its one writer.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ledger) -> Result<T, Problem> + Send + 'static,
    {
        let ledger = Arc::clone(&self.ledger);
        tokio::task::spawn_blocking(move || {
            // An append is one atomic sled batch and the head moves only after it: a panic
            // leaves the ledger as it was or with the batch whole.
            let mut guard = ledger.write().unwrap_or_else(PoisonError::into_inner);
            f(guard.as_mut().ok_or_else(closed)?)
        })
        .await
        .map_err(|e| Problem::internal(format!("a ledger task failed: {e}")))?
    }
}

/// What every request gets when the ledger could not be opened again after a command borrowed
/// it ([`crate::lending`]).
fn closed() -> Problem {
    Problem::status(
        StatusCode::SERVICE_UNAVAILABLE,
        "the ledger could not be opened again after a command borrowed it; the server must be restarted",
    )
}

/// Every route of `docs/HTTP.md` over `state`, with its middleware: gzip, problem
/// details for every error (an HTML page instead for people: [`html::error`]), load shedding,
/// request timeouts and panics caught.
pub fn router(state: AppState) -> Router {
    let shed = Arc::clone(&state.in_flight);
    let timeout = state.limits.request_timeout;
    let pages = Router::new()
        .route("/", get(html::index))
        .route("/offices/{office}", get(html::office))
        .route("/acts/{act}", get(html::act::act))
        .route_layer(middleware::map_response(html::error::mark_page));
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/offices", get(api::offices))
        .route("/api/v1/offices/{office}/holder", get(api::holder))
        .route("/api/v1/offices/{office}/timeline", get(api::timeline))
        .route("/api/v1/state", get(api::state))
        .route("/api/v1/audit", get(api::audit))
        .route("/api/v1/acts/{act}", get(api::act))
        .route("/api/v1/entries", get(api::entries))
        .route("/api/v1/entries/{seq}/proof", get(proofs::inclusion))
        .route("/api/v1/proof/consistency", get(proofs::consistency))
        .route("/api/v1/checkpoint", get(proofs::checkpoint))
        .route("/api/v1/events", post(api::append))
        .route("/tlog/checkpoint", get(tlog::checkpoint))
        .route("/tlog/statement", get(tlog::statement))
        .route("/tlog/tile/{*path}", get(tlog::tile))
        .route("/tlog/state/{*path}", get(tlog::state))
        .merge(pages)
        .fallback(problem::not_found)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(middleware::from_fn_with_state(shed, shed_load))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(middleware::from_fn(problem::problems_everywhere))
        .layer(middleware::from_fn(html::error::pages_for_people))
        .layer(CompressionLayer::new())
        .with_state(state)
}

/// Serves the request if fewer than the limit are in flight, else refuses it at once.
async fn shed_load(
    State(in_flight): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    match in_flight.try_acquire_owned() {
        Ok(permit) => {
            let response = next.run(request).await;
            drop(permit);
            response
        }
        Err(_) => Problem::status(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is serving as many requests as it takes at once; retry shortly",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
        .into_response(),
    }
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    Problem::status(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the server failed while answering: this is a bug",
    )
    .into_response()
}

/// How long an answer may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// Pinned by `as_of`: it never changes.
    Pinned,
    /// As of the head with this hash: revalidate with the ETag.
    Head([u8; 32]),
    /// As of the head with this hash and about this day, today: the ETag names both, so
    /// that the answer is asked again after midnight.
    HeadOn([u8; 32], Day),
    /// Made from what hashes to this: the newest kept checkpoint and its statement (with the
    /// head, for a page), which a newly kept checkpoint changes while the head stays.
    Hashed([u8; 32]),
}

impl Freshness {
    pub(crate) fn new(pinned: bool, head: [u8; 32]) -> Freshness {
        if pinned {
            Freshness::Pinned
        } else {
            Freshness::Head(head)
        }
    }

    /// The ETag: none for a pinned answer.
    fn tag(self) -> Option<String> {
        match self {
            Freshness::Pinned => None,
            Freshness::Head(hash) | Freshness::Hashed(hash) => {
                Some(format!("\"{}\"", hex::encode(hash)))
            }
            Freshness::HeadOn(hash, day) => Some(format!("\"{}-{day}\"", hex::encode(hash))),
        }
    }

    /// Whether `request` already has the answer of this freshness (`If-None-Match` names its
    /// tag): a route whose answer is costly to make can skip making it.
    pub(crate) fn already_in(self, request: &HeaderMap) -> bool {
        self.tag().is_some_and(|tag| none_match(request, &tag))
    }
}

/// A successful answer, before the cache headers and the conditional request.
#[derive(Debug)]
pub(crate) struct Answer {
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub freshness: Freshness,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

pub(crate) const JSON: &str = "application/json";
pub(crate) const NDJSON: &str = "application/x-ndjson";
pub(crate) const HTML: &str = "text/html; charset=utf-8";

impl Answer {
    pub(crate) fn json<T: serde::Serialize>(
        value: &T,
        freshness: Freshness,
    ) -> Result<Answer, Problem> {
        let body = serde_json::to_vec(value)
            .map_err(|e| Problem::internal(format!("writing the answer: {e}")))?;
        Ok(Answer::new(body, JSON, freshness))
    }

    pub(crate) fn new(body: Vec<u8>, content_type: &'static str, freshness: Freshness) -> Answer {
        Answer {
            body,
            content_type,
            freshness,
            headers: Vec::new(),
        }
    }

    /// The response: pinned answers may be cached for a year; the others carry the head's
    /// hash as their ETag, and a request that already has it gets a 304.
    pub(crate) fn respond(self, request: &HeaderMap) -> Response {
        let mut headers = HeaderMap::new();
        let mut status = StatusCode::OK;
        match self.freshness.tag() {
            None => {
                headers.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                );
            }
            Some(tag) => {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                if let Ok(value) = HeaderValue::from_str(&tag) {
                    headers.insert(header::ETAG, value);
                }
                if none_match(request, &tag) {
                    status = StatusCode::NOT_MODIFIED;
                }
            }
        }
        if status == StatusCode::NOT_MODIFIED {
            return (status, headers).into_response();
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        (status, headers, self.body).into_response()
    }
}

/// Whether `If-None-Match` names `tag` (weakly, as RFC 9110 compares for GET) or is `*`.
fn none_match(request: &HeaderMap, tag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == tag)
}
