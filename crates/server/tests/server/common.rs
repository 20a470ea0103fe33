//! What every test of the server shares: the seed case in a fresh ledger, and requests sent
//! through the router in process.

use std::path::{Path, PathBuf};

use actledger_core::parse_batch;
use actledger_server::{AppState, Limits, router};
use actledger_store::Ledger;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

/// The seed case of the README: Defense, 2-4 June 2024.
pub const SEED: &str = include_str!("../../../cli/data/seed.ndjson");

/// The token the test servers take.
pub const TOKEN: &str = "test-token-0123456789";

/// `actledger who-held MINDEF --on 2024-06-03 --json` on the seed case, as the README shows it.
pub const WHO_HELD_SEED: &str = r#"{"office":"MINDEF","on":"2024-06-03","as_of":7,"on_record":true,"record_starts":null,"holder":{"person":"jose-arista","name":"José Arista Arbildo","capacity":"acting","basis":["RS-131-2024-PCM"]},"titular":{"person":"walter-astudillo","name":"Walter Astudillo","absent":true,"trip_act":"RS-131-2024-PCM","absence":"trip","absence_act":"RS-131-2024-PCM"}}"#;

/// A ledger in a temporary folder.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Fixture {
    /// A new ledger holding `events` (NDJSON).
    pub fn with(events: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger");
        let mut ledger = Ledger::create(&path).unwrap();
        if !events.trim().is_empty() {
            ledger
                .append(parse_batch(events.as_bytes()).unwrap())
                .unwrap();
        }
        drop(ledger);
        Fixture { dir, path }
    }

    /// A new ledger holding the seed case.
    pub fn seed() -> Fixture {
        Fixture::with(SEED)
    }

    pub fn open(&self) -> Ledger {
        Ledger::open(&self.path).unwrap()
    }

    /// A router over this ledger (which it holds until dropped), writes allowed with
    /// [`TOKEN`].
    pub fn app(&self) -> axum::Router {
        self.app_with(Limits::default())
    }

    pub fn app_with(&self, limits: Limits) -> axum::Router {
        router(AppState::new(self.open(), Some(TOKEN), limits))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: impl axum::http::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn content_type(&self) -> &str {
        self.header(header::CONTENT_TYPE).unwrap_or("")
    }

    /// Asserts an RFC 9457 problem with this status, and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> serde_json::Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        assert_eq!(self.content_type(), "application/problem+json");
        let problem = self.json();
        for member in ["type", "title", "detail"] {
            assert!(problem[member].is_string(), "{member} in {problem}");
        }
        assert_eq!(problem["status"], status, "{problem}");
        problem
    }
}

pub async fn send(app: &axum::Router, request: Request<Body>) -> Answer {
    let response: Response<Body> = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes().to_vec();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

pub async fn get(app: &axum::Router, uri: &str) -> Answer {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// A GET with `Accept: accept`.
pub async fn get_accepting(app: &axum::Router, uri: &str, accept: &str) -> Answer {
    send(
        app,
        Request::get(uri)
            .header(header::ACCEPT, accept)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// What a browser sends as `Accept` for a page.
pub const BROWSER: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

/// A write of `body` as `content_type`, with the right token.
pub async fn post(app: &axum::Router, content_type: &str, body: &str) -> Answer {
    send(
        app,
        Request::post("/api/v1/events")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_owned()))
            .unwrap(),
    )
    .await
}
