//! Errors as `application/problem+json` (RFC 9457), for every route and for what the
//! middleware refuses (unknown paths, wrong methods, timeouts, load shedding). Every problem
//! response also carries its details as a response extension, for `html::error` to draw the
//! same error as a page for people.

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use actledger_answers::AnswerError;
use actledger_core::InvalidEvent;
use actledger_store::StoreError;

/// The media type of every error.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// Problem types with meaning beyond their status code. The others are `about:blank`.
pub(crate) mod kind {
    /// A query parameter or path segment that is malformed.
    pub const BAD_PARAMETER: &str = "urn:actledger:problem:bad-parameter";
    /// An `as_of` outside the ledger.
    pub const AS_OF_OUT_OF_RANGE: &str = "urn:actledger:problem:as-of-out-of-range";
    /// No recorded event names the office.
    pub const UNKNOWN_OFFICE: &str = "urn:actledger:problem:unknown-office";
    /// No recorded event names the act.
    pub const UNKNOWN_ACT: &str = "urn:actledger:problem:unknown-act";
    /// An event of a write breaks a rule: nothing was written.
    pub const INVALID_EVENT: &str = "urn:actledger:problem:invalid-event";
    pub const REFUSED_BY_STRICT: &str = "urn:actledger:problem:refused-by-strict";
    /// The ledger could not be read or written.
    pub const LEDGER_FAILURE: &str = "urn:actledger:problem:ledger-failure";
    /// An answer bundle was asked for, and no checkpoint (or none of that size) is kept to
    /// make it against.
    pub const NO_KEPT_CHECKPOINT: &str = "urn:actledger:problem:no-kept-checkpoint";
    /// The ledger cannot prove an answer against the checkpoint it kept: it does not extend
    /// it, or its state is not the one the kept statement signs.
    pub const UNPROVABLE: &str = "urn:actledger:problem:unprovable";
    /// Generic: the status code says it all.
    pub const BLANK: &str = "about:blank";
}

/// An error, as a response: its details boxed, so that results stay small.
#[derive(Debug, Clone)]
pub(crate) struct Problem(Box<ProblemDetails>);

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub(crate) struct ProblemDetails {
    /// A URI naming the kind of problem (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for people.
    pub detail: String,
    /// The 1-based input line at fault (writes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The field (event field or query parameter) at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Known names close to an unknown one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
    /// The warnings of a batch that `strict=true` refused, as sentences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip)]
    #[schema(ignore)]
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem of a generic kind: the title is the status's reason phrase.
    pub(crate) fn status(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem::new(
            status,
            kind::BLANK,
            status.canonical_reason().unwrap_or("Error"),
            detail,
        )
    }

    pub(crate) fn new(
        status: StatusCode,
        kind: &str,
        title: &str,
        detail: impl Into<String>,
    ) -> Problem {
        Problem(Box::new(ProblemDetails {
            kind: kind.to_owned(),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            line: None,
            field: None,
            suggestions: Vec::new(),
            warnings: Vec::new(),
            headers: Vec::new(),
        }))
    }

    /// A malformed query parameter or path segment.
    pub(crate) fn bad_parameter(field: &str, detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            kind::BAD_PARAMETER,
            "bad parameter",
            detail,
        )
        .with_field(field)
    }

    /// A failure of the ledger or of the server itself.
    pub(crate) fn internal(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            kind::LEDGER_FAILURE,
            "the ledger could not be read or written",
            detail,
        )
    }

    pub(crate) fn with_field(mut self, field: &str) -> Problem {
        self.0.field = Some(field.to_owned());
        self
    }

    pub(crate) fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Problem {
        self.0.headers.push((name, value));
        self
    }

    pub(crate) fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&*self.0).unwrap_or_else(|_| {
            br#"{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"the error could not be written"}"#.to_vec()
        });
        let mut response = (status, body).into_response();
        let mut details = (*self.0).clone();
        details.headers = Vec::new();
        response.extensions_mut().insert(details);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for (name, value) in self.0.headers {
            headers.insert(name, value);
        }
        response
    }
}

/// An error's message followed by each of its causes, as anyhow's `{:#}` prints them: a
/// message never repeats its source (the rule every error type here keeps), so each cause
/// shows once.
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Problem {
        match error {
            StoreError::OutOfRange(detail) => Problem::new(
                StatusCode::BAD_REQUEST,
                kind::BAD_PARAMETER,
                "bad parameter",
                detail.to_string(),
            ),
            other => Problem::internal(with_causes(&other)),
        }
    }
}

impl From<AnswerError> for Problem {
    fn from(error: AnswerError) -> Problem {
        let detail = with_causes(&error);
        match error {
            AnswerError::UnknownOffice { suggestions, .. } => {
                let mut problem = Problem::new(
                    StatusCode::NOT_FOUND,
                    kind::UNKNOWN_OFFICE,
                    "unknown office",
                    detail,
                );
                problem.0.suggestions = suggestions.iter().map(|s| s.as_str().to_owned()).collect();
                problem
            }
            AnswerError::AsOfOutOfRange { .. } | AnswerError::AsOfBeforeFirstEntry { .. } => {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    kind::AS_OF_OUT_OF_RANGE,
                    "as of a point the ledger does not have",
                    detail,
                )
                .with_field("as_of")
            }
            AnswerError::UnknownAct { .. } => Problem::new(
                StatusCode::NOT_FOUND,
                kind::UNKNOWN_ACT,
                "unknown act",
                detail,
            ),
            AnswerError::Store(e) => Problem::from(e),
            AnswerError::Invalid(invalid) => Problem::from(invalid),
            AnswerError::Proof { .. } => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                kind::UNPROVABLE,
                "the answer cannot be proven against the kept checkpoint",
                format!("{detail}; `actledger verify` says what differs"),
            ),
            AnswerError::Refused { warnings } => {
                let mut problem = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    kind::REFUSED_BY_STRICT,
                    "the batch has warnings and strict refuses it: nothing was written",
                    detail,
                );
                problem.0.warnings = warnings.iter().map(ToString::to_string).collect();
                problem
            }
            // An error this version does not know is the server's failure, said as it is.
            _ => Problem::internal(detail),
        }
    }
}

impl From<InvalidEvent> for Problem {
    fn from(error: InvalidEvent) -> Problem {
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            kind::INVALID_EVENT,
            "an event was refused: nothing was written",
            error.to_string(),
        );
        problem.0.line = Some(error.line);
        problem.0.field = error.field;
        problem
    }
}

/// How much of a plain error body becomes the problem's detail.
const MAX_DETAIL: usize = 500;

/// Turns every error response that is not already a problem (axum's rejections, unknown
/// paths, wrong methods, timeouts, shed load, panics) into one, keeping its status and its
/// headers (`Allow`, `Retry-After`, `WWW-Authenticate`).
pub(crate) async fn problems_everywhere(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_problem(response.headers()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_DETAIL * 4).await {
        Ok(bytes) => plain_text(&bytes),
        Err(_) => None,
    };
    let detail = match status {
        StatusCode::NOT_FOUND => format!("nothing is at {path}"),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            format!("{method} is not allowed on {path}; allowed: {allow}")
        }
        StatusCode::SERVICE_UNAVAILABLE if text.is_none() => {
            "the request took too long and was abandoned".to_owned()
        }
        _ => text.unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase()),
    };
    let problem = Problem::status(status, detail).into_response();
    let (problem_parts, problem_body) = problem.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &problem_parts.headers {
        parts.headers.insert(name.clone(), value.clone());
    }
    if let Some(details) = problem_parts.extensions.get::<ProblemDetails>() {
        parts.extensions.insert(details.clone());
    }
    Response::from_parts(parts, problem_body)
}

fn is_problem(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON))
}

fn plain_text(bytes: &Bytes) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.is_empty() {
        return None;
    }
    let mut cut: String = text.chars().take(MAX_DETAIL).collect();
    if cut.len() < text.len() {
        cut.push_str("...");
    }
    Some(cut)
}

/// The answer to a path no route has.
pub(crate) async fn not_found(request: Request) -> Problem {
    Problem::status(
        StatusCode::NOT_FOUND,
        format!("nothing is at {}", request.uri().path()),
    )
}
