//! The JSON routes. Each answer is the core's answer serialized as the CLI's `--json` prints
//! it (`docs/JSON.md`); the annotations make the OpenAPI document.

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use actledger_core::{
    ActId, Day, Event, HistoryRow, Indexed, InvalidEvent, Liveness, OfficeId, PersonId, Recorded,
    Seq, anomalies, history, name_of, parse_batch, require_office, show_act, timeline_as_of,
    who_held,
};
use actledger_store::{AppendError, Appended, Ledger, StoreError};

use crate::params::{self, AsOf};
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
    responses((status = 200, description = "The server answers; `size` is the number of entries", body = crate::openapi::Health))
)]
pub(crate) async fn healthz(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let verified = app.verified.clone();
    app.answer(&headers, move |ledger| {
        let head = ledger.head();
        let body = json!({"status": "ok", "size": head.count, "verified": verified});
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

/// One known office and its name.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OfficeName {
    pub office: OfficeId,
    pub name: Option<String>,
}

/// The latest `office_name` recorded for `office` by an appointment not retracted as of
/// `as_of`.
pub(crate) fn office_name(
    ledger: &Ledger,
    office: &OfficeId,
    as_of: Seq,
    live: &mut Liveness<'_, Ledger>,
) -> Result<Option<String>, StoreError> {
    for seq in ledger.office_events(office)?.into_iter().rev() {
        if seq > as_of {
            continue;
        }
        if let Event::Appointed(appointed) = ledger.event(seq)?
            && let Some(name) = appointed.office_name
            && !live.is_retracted(seq)?
        {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

/// Every known office with its latest name as of `as_of`, by office.
pub(crate) fn office_names(ledger: &Ledger, as_of: Seq) -> Result<Vec<OfficeName>, StoreError> {
    let mut live = Liveness::new(ledger, as_of);
    let mut names = Vec::new();
    for office in ledger.offices()? {
        let name = office_name(ledger, &office, as_of, &mut live)?;
        names.push(OfficeName { office, name });
    }
    Ok(names)
}

/// Every known office with its name.
#[utoipa::path(
    get, path = "/api/v1/offices", tag = "queries",
    responses((status = 200, description = "Every office any recorded event names, sorted, with the latest name recorded for it", body = crate::openapi::Offices))
)]
pub(crate) async fn offices(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    app.answer(&headers, |ledger| {
        let head = ledger.head();
        let offices = office_names(ledger, head.count)?;
        Answer::json(
            &json!({"as_of": head.count, "offices": offices}),
            Freshness::Head(head.hash),
        )
    })
    .await
}

/// Who held the office on a day: exactly the `who-held --json` object.
#[utoipa::path(
    get, path = "/api/v1/offices/{office}/holder", tag = "queries",
    params(("office" = String, Path, description = "The office, e.g. MINDEF"), OnQuery),
    responses(
        (status = 200, description = "The `who-held --json` object: `holder` is null when the office was vacant", body = crate::openapi::WhoHeld),
        (status = 400, description = "A malformed `on` or `as_of`, or an `as_of` outside the ledger", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No recorded event names the office; `suggestions` lists close names", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn holder(
    State(app): State<AppState>,
    Path(office): Path<String>,
    Query(query): Query<OnQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let on = params::day("on", query.on.as_deref())?;
    let as_of = params::as_of(query.as_of.as_deref())?;
    json_as_of(&app, &headers, as_of, move |ledger, seq| {
        Ok(who_held(ledger, &office, on, seq)?)
    })
    .await
}

/// The JSON answer `f` makes as of `as_of`, resolved on the ledger's thread (`None` to `f`:
/// the head). Pinned when it can never change, else revalidated against the head.
async fn json_as_of<T, F>(
    app: &AppState,
    headers: &HeaderMap,
    as_of: Option<AsOf>,
    f: F,
) -> Result<Response, Problem>
where
    T: Serialize,
    F: FnOnce(&Ledger, Option<Seq>) -> Result<T, Problem> + Send + 'static,
{
    app.answer(headers, move |ledger| {
        let resolved = params::resolve_as_of(ledger, as_of)?;
        let value = f(ledger, resolved.seq)?;
        Answer::json(&value, Freshness::new(resolved.pinned, ledger.head().hash))
    })
    .await
}

/// Every office on a day: the `state --json` object.
#[utoipa::path(
    get, path = "/api/v1/state", tag = "queries",
    params(OnQuery),
    responses(
        (status = 200, description = "The `state --json` object: one `who-held` object per known office, by office", body = crate::openapi::State),
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
    json_as_of(&app, &headers, as_of, move |ledger, seq| {
        let answers = actledger_core::state(ledger, on, seq)?;
        let as_of = seq.unwrap_or(ledger.head().count);
        Ok(json!({"on": on, "as_of": as_of, "offices": answers}))
    })
    .await
}

/// The anomalies: the `audit --json` object.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "queries",
    params(AsOfQuery),
    responses(
        (status = 200, description = "The `audit --json` object", body = crate::openapi::Audit),
        (status = 400, description = "A malformed `as_of`, or one outside the ledger", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn audit(
    State(app): State<AppState>,
    Query(query): Query<AsOfQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let as_of = params::as_of(query.as_of.as_deref())?;
    json_as_of(&app, &headers, as_of, move |ledger, seq| {
        let found = anomalies(ledger, seq)?;
        Ok(json!({"anomalies": found}))
    })
    .await
}

/// An act and every event that names it: the `show --json` object.
#[utoipa::path(
    get, path = "/api/v1/acts/{act}", tag = "queries",
    params(("act" = String, Path, description = "The act, e.g. RS-131-2024-PCM")),
    responses(
        (status = 200, description = "The `show --json` object: the act's events, the revocations naming it and the retractions of those, by position", body = crate::openapi::ActRecord),
        (status = 404, description = "No recorded event names the act", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn act(
    State(app): State<AppState>,
    Path(act): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    app.answer(&headers, move |ledger| {
        let record = show_act(ledger, &act)?;
        Answer::json(&record, Freshness::Head(ledger.head().hash))
    })
    .await
}

/// A titular's trip, drawn on the titular's bar.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TripRow {
    pub person: PersonId,
    pub name: Option<String>,
    pub from: Day,
    pub until: Day,
    pub act: ActId,
    pub seq: Seq,
    pub destination: Option<String>,
}

/// Days the titular was away with nobody in charge.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Unattended {
    pub from: Day,
    pub until: Day,
    pub trip_act: ActId,
    pub events: Vec<Seq>,
}

/// An office's timeline: its history rows (as `history --json`), trips and unattended days.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OfficeTimeline {
    pub office: OfficeId,
    pub name: Option<String>,
    pub as_of: Seq,
    pub from: Option<Day>,
    pub until: Option<Day>,
    pub history: Vec<HistoryRow>,
    pub trips: Vec<TripRow>,
    pub unattended: Vec<Unattended>,
    /// Vacancies the history leaves out: after the last holder left, with nobody after.
    #[serde(skip)]
    pub open_vacancy: Option<Day>,
}

fn overlaps(from: Day, until: Option<Day>, window: (Day, Day)) -> bool {
    from <= window.1 && until.is_none_or(|u| u >= window.0)
}

/// The office's timeline as of `as_of` (`None`: the head), keeping what meets `from..=until`.
pub(crate) fn office_timeline(
    ledger: &Ledger,
    office: &str,
    as_of: Option<Seq>,
    from: Option<Day>,
    until: Option<Day>,
) -> Result<OfficeTimeline, Problem> {
    let id = require_office(ledger, office)?;
    let rows = history(ledger, office, as_of)?;
    let as_of = as_of.unwrap_or(ledger.head().count);
    let timeline = if as_of == ledger.head().count {
        ledger.head_timeline(&id)?
    } else {
        None
    };
    let timeline = match timeline {
        Some(t) => t,
        None => timeline_as_of(ledger, &id, as_of)?,
    };
    let window = (from.unwrap_or(Day::MIN), until.unwrap_or(Day::MAX));
    let mut trips = Vec::new();
    for trip in &timeline.trips {
        if !overlaps(trip.from, Some(trip.until), window) {
            continue;
        }
        let destination = match ledger.event(trip.trip.seq)? {
            Event::TripAuthorized(e) => e.destination,
            _ => None,
        };
        trips.push(TripRow {
            person: trip.person.clone(),
            name: name_of(ledger, &trip.person, as_of)?,
            from: trip.from,
            until: trip.until,
            act: trip.trip.act.clone(),
            seq: trip.trip.seq,
            destination,
        });
    }
    let mut unattended: Vec<Unattended> = Vec::new();
    for segment in &timeline.segments {
        let (Some(trip), None) = (&segment.trip, &segment.acting) else {
            continue;
        };
        match unattended.last_mut() {
            Some(last) if last.trip_act == trip.act && last.until.next() == Some(segment.from) => {
                last.until = segment.until;
            }
            _ => unattended.push(Unattended {
                from: segment.from,
                until: segment.until,
                trip_act: trip.act.clone(),
                events: vec![trip.seq],
            }),
        }
    }
    unattended.retain(|u| overlaps(u.from, Some(u.until), window));
    let open_vacancy = timeline
        .segments
        .last()
        .and_then(|s| (s.until != Day::MAX).then(|| s.until.next()).flatten());
    let name = office_name(ledger, &id, as_of, &mut Liveness::new(ledger, as_of))?;
    Ok(OfficeTimeline {
        office: id,
        name,
        as_of,
        from,
        until,
        history: rows
            .into_iter()
            .filter(|r| overlaps(r.from, r.until, window))
            .collect(),
        trips,
        unattended,
        open_vacancy,
    })
}

/// An office's titular, acting and vacant intervals, each with its acts.
#[utoipa::path(
    get, path = "/api/v1/offices/{office}/timeline", tag = "queries",
    params(("office" = String, Path, description = "The office, e.g. MINDEF"), WindowQuery),
    responses(
        (status = 200, description = "The `history --json` object (rows that meet the window), with the office's name, its trips and its unattended days", body = crate::openapi::Timeline),
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
    json_as_of(&app, &headers, as_of, move |ledger, seq| {
        office_timeline(ledger, &office, seq, from, until)
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
    request_body(
        description = "One event as a JSON object (`application/json`), or a batch, one event a line (`application/x-ndjson`); the format of `shared/spec/events.md`",
        content(
            (crate::openapi::EventInput = "application/json"),
            (String = "application/x-ndjson"),
        )
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Written: the `append --json` object (events already recorded are reported where they are)", body = crate::openapi::AppendReport),
        (status = 200, description = "Every event was already recorded: nothing was written", body = crate::openapi::AppendReport),
        (status = 401, description = "No bearer token, a wrong one, or writes disabled (checked before anything else)", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the server takes", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json nor application/x-ndjson", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "An event is refused: `line` and `field` say where; nothing was written", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn append(
    State(app): State<AppState>,
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
    let report = app
        .write(move |ledger| {
            ledger.append(batch).map_err(|e| match e {
                AppendError::Invalid(invalid) => Problem::from(invalid),
                AppendError::Store(store) => Problem::from(store),
                other => Problem::internal(other.to_string()),
            })
        })
        .await?;
    let mut wrote = false;
    let events: Vec<serde_json::Value> = report
        .outcomes
        .iter()
        .map(|(line, outcome)| match outcome {
            Appended::Recorded { seq, hash } => {
                wrote = true;
                json!({"line": line, "status": "recorded", "seq": seq, "hash": hex::encode(hash)})
            }
            Appended::AlreadyRecorded { seq } => {
                json!({"line": line, "status": "already_recorded", "seq": seq})
            }
        })
        .collect();
    let head = json!({"count": report.head.count, "hash": hex::encode(report.head.hash)});
    let body = serde_json::to_vec(&json!({"events": events, "head": head}))
        .map_err(|e| Problem::internal(format!("writing the answer: {e}")))?;
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
