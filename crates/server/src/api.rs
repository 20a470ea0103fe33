//! The JSON routes. Each answer is an `actledger_answers` value serialized exactly as the
//! CLI's `--json` prints it; the annotations make the OpenAPI document.

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use actledger_answers::{
    self as answers, AnswerError, AppendAnswer, AsOf, AsOfAnswer, HealthAnswer,
};
use actledger_core::{InvalidEvent, parse_batch};
use actledger_store::Ledger;

use crate::params;
use crate::problem::Problem;
use crate::routes::{Answer, AppState, Freshness, NDJSON};
use crate::token::TokenDigest;

/// The most entries one page of `/api/v1/entries` holds.
pub(crate) const MAX_ENTRIES_PAGE: u64 = 256;

/// `?on=D&as_of=S`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OnQuery {
    /// The day asked about, `YYYY-MM-DD`.
    #[param(required = true, value_type = String, format = Date, example = "2024-06-03")]
    pub on: Option<String>,
    /// Answer as the ledger stood at this position, or at this RFC 3339 time (default: the
    /// head). An answer with `as_of` is immutable.
    #[param(value_type = Option<String>, example = "7")]
    pub as_of: Option<String>,
}

/// `?on=D&as_of=S&proof=1&checkpoint=SIZE`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HolderQuery {
    /// The day asked about, `YYYY-MM-DD`.
    #[param(required = true, value_type = String, format = Date, example = "2024-06-03")]
    pub on: Option<String>,
    /// Answer as the ledger stood at this position, or at this RFC 3339 time (default: the
    /// head). An answer with `as_of` is immutable. Not with `proof`: a bundle is as of its
    /// checkpoint's size.
    #[param(value_type = Option<String>, example = "7")]
    pub as_of: Option<String>,
    /// `1` (or `true`): answer with the answer bundle that `who-held --proof` writes, made
    /// against the newest checkpoint the ledger kept (or the one of `checkpoint`), to be
    /// checked offline with `actledger check-answer --vkey VKEY FILE`. An office unknown at
    /// that size gets the bundle that proves it unknown, not a 404.
    #[param(value_type = Option<bool>)]
    pub proof: Option<String>,
    /// With `proof`: the size of the kept checkpoint to make the bundle against (default:
    /// the newest kept). A bundle against a named checkpoint is immutable.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub checkpoint: Option<String>,
}

/// `?as_of=S`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AsOfQuery {
    /// Answer as the ledger stood at this position, or at this RFC 3339 time (default: the
    /// head). An answer with `as_of` is immutable.
    #[param(value_type = Option<String>, example = "7")]
    pub as_of: Option<String>,
}

/// `?from=D&until=D&as_of=S`
/// `GET /api/v1/offices`: an optional search and an "as of" point.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OfficesQuery {
    /// Keep the offices whose id or latest name contains this, case and accents ignored
    #[param(example = "defensa")]
    pub query: Option<String>,
    /// Answer as the ledger stood at this position, or at this RFC 3339 time (default: the
    /// head). An answer with `as_of` is immutable.
    #[param(value_type = Option<String>, example = "7")]
    pub as_of: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct WindowQuery {
    /// Only intervals that reach this day or later, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Only intervals that start on this day or earlier, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub until: Option<String>,
    /// Answer as the ledger stood at this position, or at this RFC 3339 time (default: the
    /// head). An answer with `as_of` is immutable.
    #[param(value_type = Option<String>, example = "7")]
    pub as_of: Option<String>,
}

/// `?strict=true`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AppendQuery {
    /// `true`: refuse the batch (422, nothing written) if it has any warning, as
    /// `append --strict` does; default `false` (warnings are in the answer).
    #[param(value_type = Option<bool>)]
    pub strict: Option<String>,
}

/// `?from=SEQ&limit=N`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EntriesQuery {
    /// The first position (default 1).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub from: Option<String>,
    /// How many entries at most (default and maximum 256; more is served as 256).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 256)]
    pub limit: Option<String>,
}

/// The health of the server and the size of its ledger.
#[utoipa::path(
    get, path = "/healthz", tag = "meta",
    responses((status = 200, description = "The server answers; `size` is the number of entries", body = HealthAnswer))
)]
pub(crate) async fn healthz(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let verified = app.verified.clone();
    app.answer(&headers, move |ledger| {
        let head = ledger.head();
        let body = HealthAnswer {
            status: "ok",
            size: head.count,
            verified,
        };
        Answer::json(&body, Freshness::Head(head.hash))
    })
    .await
}

/// This document.
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document of every route", content_type = "application/json"))
)]
pub(crate) async fn openapi(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let document = app.openapi.clone();
    app.answer(&headers, move |ledger| {
        Ok(Answer::new(
            document.to_vec(),
            crate::routes::JSON,
            Freshness::Head(ledger.head().hash),
        ))
    })
    .await
}

/// Every known office with its name.
#[utoipa::path(
    get, path = "/api/v1/offices", tag = "queries",
    params(OfficesQuery),
    responses(
        (status = 200, description = "The `offices --json` object: every office any recorded event names (those matching `query`), sorted, with the latest name recorded for it and the first and last day on its record", body = answers::OfficesAnswer),
        (status = 400, description = "A malformed `as_of`, or one outside the ledger", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn offices(
    State(app): State<AppState>,
    Query(query): Query<OfficesQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let as_of = params::as_of(query.as_of.as_deref())?;
    let search = query.query.filter(|q| !q.is_empty());
    json_as_of(&app, &headers, as_of, move |ledger, as_of| {
        answers::find_offices(ledger, search.as_deref(), as_of)
    })
    .await
}

/// Who held the office on a day: exactly the `who-held --json` object; with `proof=1`, the
/// answer bundle that proves it against a kept checkpoint.
#[utoipa::path(
    get, path = "/api/v1/offices/{office}/holder", tag = "queries",
    params(("office" = String, Path, description = "The office, e.g. MINDEF"), HolderQuery),
    responses(
        (status = 200, description = "The `who-held --json` object: `holder` is null when the office was vacant. With `proof=1`: the answer bundle `who-held --proof` writes (`docs/PROOFS.md`), as of the kept checkpoint's size, immutable with `checkpoint`, else revalidated with an `ETag` of the newest kept checkpoint", body = crate::bundles::schema::HolderAnswer),
        (status = 400, description = "A malformed `on`, `as_of`, `proof` or `checkpoint`, an `as_of` outside the ledger, `as_of` with `proof`, or `checkpoint` without it", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No recorded event names the office; `suggestions` lists close names (with `proof=1`, an unknown office gets the bundle proving it unknown instead)", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "With `proof=1`: no checkpoint is kept (or none of size `checkpoint`) to make the bundle against; `detail` says how to sign one", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 500, description = "With `proof=1`: the ledger cannot prove the answer against the checkpoint it kept (it does not extend it, or its state is not the one the kept statement signs); `actledger verify` says what differs", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn holder(
    State(app): State<AppState>,
    Path(office): Path<String>,
    Query(query): Query<HolderQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let on = params::day("on", query.on.as_deref())?;
    let as_of = params::as_of(query.as_of.as_deref())?;
    let proof = params::flag("proof", query.proof.as_deref())?;
    let checkpoint = params::number("checkpoint", query.checkpoint.as_deref())?;
    if !proof {
        if checkpoint.is_some() {
            return Err(Problem::bad_parameter(
                "checkpoint",
                "checkpoint names the kept checkpoint an answer bundle is made against: it goes with proof=1",
            ));
        }
        return json_as_of(&app, &headers, as_of, move |ledger, as_of| {
            answers::holder(ledger, &office, on, as_of)
        })
        .await;
    }
    if as_of.is_some() {
        return Err(Problem::bad_parameter(
            "as_of",
            "a bundle is as of its checkpoint's size: leave out as_of, and name a kept checkpoint with checkpoint=SIZE",
        ));
    }
    crate::bundles::holder_bundle(&app, &headers, office, on, checkpoint).await
}

/// The answer `ask` makes as of `as_of`, serialized on the ledger's thread: pinned when it
/// can never change, else revalidated against the head.
async fn json_as_of<T, F>(
    app: &AppState,
    headers: &HeaderMap,
    as_of: Option<AsOf>,
    ask: F,
) -> Result<Response, Problem>
where
    T: Serialize,
    F: FnOnce(&Ledger, Option<AsOf>) -> Result<AsOfAnswer<T>, AnswerError> + Send + 'static,
{
    app.answer(headers, move |ledger| {
        let asked = ask(ledger, as_of)?;
        Answer::json(
            &asked.answer,
            Freshness::new(asked.point.pinned, ledger.head().hash),
        )
    })
    .await
}

/// Every office on a day: the `state --json` object.
#[utoipa::path(
    get, path = "/api/v1/state", tag = "queries",
    params(OnQuery),
    responses(
        (status = 200, description = "The `state --json` object: one `who-held` object per known office, by office", body = answers::StateAnswer),
        (status = 400, description = "A malformed `on` or `as_of`, or an `as_of` outside the ledger", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn state(
    State(app): State<AppState>,
    Query(query): Query<OnQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let on = params::day("on", query.on.as_deref())?;
    let as_of = params::as_of(query.as_of.as_deref())?;
    json_as_of(&app, &headers, as_of, move |ledger, as_of| {
        answers::state_on(ledger, on, as_of)
    })
    .await
}

/// The anomalies: the `audit --json` object.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "queries",
    params(AsOfQuery),
    responses(
        (status = 200, description = "The `audit --json` object", body = answers::AuditAnswer),
        (status = 400, description = "A malformed `as_of`, or one outside the ledger", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn audit(
    State(app): State<AppState>,
    Query(query): Query<AsOfQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let as_of = params::as_of(query.as_of.as_deref())?;
    json_as_of(&app, &headers, as_of, answers::audit).await
}

/// An act and every event that names it: the `show --json` object.
#[utoipa::path(
    get, path = "/api/v1/acts/{act}", tag = "queries",
    params(("act" = String, Path, description = "The act, e.g. RS-131-2024-PCM"), AsOfQuery),
    responses(
        (status = 200, description = "The `show --json` object: the act's events, the revocations naming it and the retractions of those, by position, as of `as_of`", body = answers::ActRecord),
        (status = 400, description = "A malformed `as_of`, or one outside the ledger", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No event recorded up to `as_of` names the act", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn act(
    State(app): State<AppState>,
    Path(act): Path<String>,
    Query(query): Query<AsOfQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let as_of = params::as_of(query.as_of.as_deref())?;
    json_as_of(&app, &headers, as_of, move |ledger, as_of| {
        answers::act(ledger, &act, as_of)
    })
    .await
}

/// An office's titular, acting and vacant intervals, each with its acts.
#[utoipa::path(
    get, path = "/api/v1/offices/{office}/timeline", tag = "queries",
    params(("office" = String, Path, description = "The office, e.g. MINDEF"), WindowQuery),
    responses(
        (status = 200, description = "The `history --json` object (rows that meet the window), with the office's name, its trips, its leaves and its unattended days", body = answers::TimelineAnswer),
        (status = 400, description = "A malformed `from`, `until` or `as_of`, or an `as_of` outside the ledger", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No recorded event names the office", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn timeline(
    State(app): State<AppState>,
    Path(office): Path<String>,
    Query(query): Query<WindowQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let from = params::optional_day("from", query.from.as_deref())?;
    let until = params::optional_day("until", query.until.as_deref())?;
    let as_of = params::as_of(query.as_of.as_deref())?;
    json_as_of(&app, &headers, as_of, move |ledger, as_of| {
        answers::office_timeline(ledger, &office, as_of, from, until)
    })
    .await
}

/// Entries as `export` writes them.
#[utoipa::path(
    get, path = "/api/v1/entries", tag = "entries",
    params(EntriesQuery),
    responses(
        (status = 200, description = "Export lines (NDJSON), one entry a line, byte for byte as `export` writes them; a `Link: <...>; rel=\"next\"` header while more follow", content_type = "application/x-ndjson", body = String,
         headers(("Link" = String, description = "The next page, while more entries follow"))),
        (status = 400, description = "A malformed `from` or `limit`", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn entries(
    State(app): State<AppState>,
    Query(query): Query<EntriesQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let from = params::number("from", query.from.as_deref())?
        .unwrap_or(1)
        .max(1);
    let limit = params::number("limit", query.limit.as_deref())?
        .unwrap_or(MAX_ENTRIES_PAGE)
        .clamp(1, MAX_ENTRIES_PAGE);
    app.answer(&headers, move |ledger| {
        let head = ledger.head();
        let mut body = Vec::new();
        let mut last = None;
        for entry in ledger.entries(from).take(limit as usize) {
            let entry = entry?;
            body.extend_from_slice(entry.export_line().as_bytes());
            last = Some(entry.seq);
        }
        let mut answer = Answer::new(body, NDJSON, Freshness::Head(head.hash));
        if let Some(last) = last.filter(|last| *last < head.count) {
            let link = format!(
                "</api/v1/entries?from={}&limit={limit}>; rel=\"next\"",
                last + 1
            );
            if let Ok(value) = HeaderValue::from_str(&link) {
                answer.headers.push((header::LINK, value));
            }
        }
        Ok(answer)
    })
    .await
}

/// The media types a write takes.
const ACCEPT_POST: &str = "application/json, application/x-ndjson";

fn unauthorized(detail: &str) -> Problem {
    Problem::status(StatusCode::UNAUTHORIZED, detail).with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"actledger\""),
    )
}

/// Checks the bearer token: the first thing a write does.
fn authorize(token: Option<&TokenDigest>, headers: &HeaderMap) -> Result<(), Problem> {
    let Some(token) = token else {
        return Err(unauthorized(
            "writes are disabled: the server was started without a token file",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes)
        .and_then(|v| {
            let (scheme, rest) = v.split_at_checked(7)?;
            scheme.eq_ignore_ascii_case(b"bearer ").then_some(rest)
        });
    match given {
        None => Err(unauthorized(
            "a write needs the header Authorization: Bearer TOKEN",
        )),
        Some(given) if token.matches(given.trim_ascii()) => Ok(()),
        Some(_) => Err(unauthorized("the bearer token is wrong")),
    }
}

/// Whether the body is one JSON object or NDJSON, from `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Json,
    Ndjson,
}

fn input_kind(headers: &HeaderMap) -> Result<Input, Problem> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(Input::Json)
    } else if essence.eq_ignore_ascii_case("application/x-ndjson") {
        Ok(Input::Ndjson)
    } else {
        let shown = if given.is_empty() { "none" } else { given };
        Err(Problem::status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "a write takes application/json (one event) or application/x-ndjson (one event a line), not {}",
                actledger_core::quote(shown)
            ),
        )
        .with_header(
            HeaderName::from_static("accept-post"),
            HeaderValue::from_static(ACCEPT_POST),
        ))
    }
}

fn too_large(limit: usize) -> Problem {
    Problem::status(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("a write takes at most {limit} bytes; send the events in smaller batches"),
    )
}

/// Appends one event (`application/json`) or a batch (`application/x-ndjson`), atomically and
/// idempotently, as `actledger append` does.
#[utoipa::path(
    post, path = "/api/v1/events", tag = "writes",
    params(AppendQuery),
    request_body(
        description = "One event as a JSON object (`application/json`), or a batch, one event a line (`application/x-ndjson`); the event format of `docs/EVENTS.md`",
        content(
            (actledger_core::Event = "application/json"),
            (String = "application/x-ndjson"),
        )
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Written: the `append --json` object (events already recorded are reported where they are)", body = AppendAnswer),
        (status = 200, description = "Every event was already recorded: nothing was written", body = AppendAnswer),
        (status = 401, description = "No bearer token, a wrong one, or writes disabled (checked before anything else)", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the server takes", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json nor application/x-ndjson", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "An event is refused (`line` and `field` say where), or `strict=true` and the batch has warnings (`warnings` lists them); nothing was written", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn append(
    State(app): State<AppState>,
    Query(query): Query<AppendQuery>,
    request: Request,
) -> Result<Response, Problem> {
    let (parts, body) = request.into_parts();
    authorize(app.token.as_ref(), &parts.headers)?;
    let input = input_kind(&parts.headers)?;
    let limit = app.limits.max_body_bytes;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    let bytes = axum::body::to_bytes(Body::new(body), limit)
        .await
        .map_err(|_| too_large(limit))?;
    let batch = parse_batch(&bytes)?;
    if input == Input::Json
        && let Some(second) = batch.get(1)
    {
        return Err(Problem::from(InvalidEvent {
                line: second.line,
                field: None,
                reason: "application/json carries one event: send a batch as application/x-ndjson, one event a line".into(),
            }));
    }
    let strict = params::flag("strict", query.strict.as_deref())?;
    let answer = app
        .write(move |ledger| Ok(answers::append(ledger, batch, strict)?))
        .await?;
    let body = serde_json::to_vec(&answer)
        .map_err(|e| Problem::internal(format!("writing the answer: {e}")))?;
    let wrote = answer.wrote();
    let status = if wrote {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(crate::routes::JSON),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}
