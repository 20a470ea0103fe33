//! `actledger serve`: the ledger's answers over HTTP.
//!
//! This crate is the HTTP layer only. Every answer comes from the core's queries over the
//! store's [`Ledger`], serialized exactly as the CLI's `--json` output, so a script gets the same
//! object from `actledger who-held MINDEF --on 2024-06-03 --json` and from
//! `GET /api/v1/offices/MINDEF/holder?on=2024-06-03`. The routes are a contract, documented in
//! `docs/HTTP.md` and, generated from the code, by `GET /api/v1/openapi.json`
//! ([`openapi_json`]).
//!
//! Besides the CLI's questions it serves the chain itself (export lines, inclusion and
//! consistency proofs, a checkpoint signed with the server's key), the log as C2SP tlog-tiles
//! under `/tlog/` (the static mirror `publish` writes for the newest kept checkpoint, byte for
//! byte, which `clone` reads) and HTML pages for people: an office's timeline drawn as inline
//! SVG, with the same data as a table.
//!
//! The server owns the ledger while it runs (the store allows one opener) and says so: it
//! describes itself as the ledger's holder ([`Ledger::describe_holder`]), so that a command that
//! finds the ledger in use can tell who holds it.
//!
//! ```
//! use actledger_server::{AppState, Limits, router};
//! use actledger_store::Ledger;
//! use tower::ServiceExt as _;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let dir = tempfile::tempdir()?;
//! let ledger = Ledger::create(&dir.path().join("ledger"))?;
//! let app = router(AppState::new(ledger, None, Limits::default()));
//! let request = axum::http::Request::get("/healthz").body(axum::body::Body::empty())?;
//! let response = app.oneshot(request).await?;
//! assert_eq!(response.status(), 200);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod api;
mod bundles;
mod html;
mod lending;
mod openapi;
mod params;
mod problem;
mod proofs;
mod routes;
mod secret;
mod server;
mod tlog;
mod token;

pub use openapi::openapi_json;
pub use routes::{AppState, Limits, Verified, router};
pub use secret::write_secret_file;
pub use server::{
    DEFAULT_ADDR, Server, ServerConfig, ServerError, ServerInfo, serve, serve_blocking,
    shutdown_signal,
};
pub use token::{TOKEN_BYTES, load_or_create_token};

/// Re-exported so that callers name these types without depending on the store and proof
/// crates directly.
pub use actledger_proof::SignerKey;
pub use actledger_store::Ledger;
