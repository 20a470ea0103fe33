//! The ledger as a C2SP tlog-tiles log under `/tlog/`: the mirror `actledger publish` writes,
//! served from the ledger itself for the newest checkpoint it kept. Every file is made by the
//! mirror crate's own functions ([`actledger_mirror::file_bytes`]), so that `/tlog/PATH` is byte
//! for byte the file PATH of a folder published for the same checkpoint, and `clone` reads
//! either.
//!
//! Tiles and bundles (full or partial: a path names its width, so its bytes never change) are
//! immutable; the checkpoint and the statement change when a new checkpoint is kept, and are
//! revalidated on every use (`no-cache` and an `ETag` of the kept notes).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use actledger_mirror::{MirrorFile, PublishError};
use actledger_store::{KeptCheckpoint, Ledger};

use crate::bundles::notes_hash;
use crate::problem::{Problem, kind, with_causes};
use crate::routes::{Answer, AppState, Freshness};

/// The prefix the log is served under: `clone http://HOST/tlog` reads it.
pub(crate) const PREFIX: &str = "/tlog";

/// How to keep a checkpoint, for whoever asked for the log with none kept.
const HOW_TO_SIGN: &str = "sign one with `actledger checkpoint --key FILE` (it keeps the checkpoint and its state statement in the ledger; the server lends the ledger for it), then ask again";

/// The media type of the checkpoint and the statement (signed notes), as tlog-tiles asks.
const NOTE: &str = "text/plain; charset=utf-8";

/// The media type of the answers' state files.
const JSON: &str = "application/json";

/// The media type of tiles and entry bundles.
const OCTETS: &str = "application/octet-stream";

/// The signed checkpoint of the newest checkpoint the ledger kept.
#[utoipa::path(
    get, path = "/tlog/checkpoint", tag = "tlog", operation_id = "tlog_checkpoint",
    responses(
        (status = 200, description = "The newest checkpoint the ledger kept (`actledger checkpoint --key` signs and keeps one), a C2SP signed note, byte for byte the `checkpoint` of a mirror `actledger publish` writes for it. `Cache-Control: no-cache` with an `ETag` of the kept checkpoint and statement: a cache revalidates it on every use", content_type = "text/plain; charset=utf-8", body = String),
        (status = 404, description = "No checkpoint is kept: `detail` says how to sign one", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn checkpoint(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    serve(app, headers, MirrorFile::Checkpoint).await
}

/// The signed statement of the answers' state at the newest kept checkpoint's size.
#[utoipa::path(
    get, path = "/tlog/statement", tag = "tlog", operation_id = "tlog_statement",
    responses(
        (status = 200, description = "The state statement signed with the newest kept checkpoint (`docs/PROOFS.md`), as the `statement` of a published mirror; `no-cache` and an `ETag`, as the checkpoint", content_type = "text/plain; charset=utf-8", body = String),
        (status = 404, description = "No checkpoint is kept", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn statement(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    serve(app, headers, MirrorFile::Statement).await
}

/// A tile of the Merkle tree or a bundle of entries, of the tree of the newest kept
/// checkpoint or of a smaller one.
#[utoipa::path(
    get, path = "/tlog/tile/{path}", tag = "tlog", operation_id = "tlog_tile",
    params(("path" = String, Path, description = "The rest of a tlog-tiles path: `<L>/<N>[.p/<W>]` for a tile of level L (hashes of 32 bytes), `entries/<N>[.p/<W>]` for an entry bundle (each entry an export line without its newline, after its length in two bytes); N in groups of three digits, all but the last prefixed with `x`; unlike other path parameters it spans several segments", example = "0/000.p/7")),
    responses(
        (status = 200, description = "The tile or bundle, byte for byte the file of a mirror `actledger publish` writes. Immutable, full or partial (its path names its width): `Cache-Control: public, max-age=31536000, immutable`", content_type = "application/octet-stream"),
        (status = 404, description = "A path that is not a tile's or a bundle's in its one spelling, a tile or bundle past the newest kept checkpoint's size, or no checkpoint kept", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn tile(
    State(app): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let full = format!("tile/{path}");
    let file = MirrorFile::parse(&full).map_err(|e| {
        Problem::status(
            StatusCode::NOT_FOUND,
            format!("nothing is at {PREFIX}/{full}: {}", e.reason),
        )
    })?;
    serve(app, headers, file).await
}

/// A file of the answers' state signed with the newest kept checkpoint.
#[utoipa::path(
    get, path = "/tlog/state/{path}", tag = "tlog", operation_id = "tlog_state",
    params(("path" = String, Path, description = "`offices.json` (the size and every office's leaf of the answers' state) or `offices/<OFFICE>.json` (one office's leaf and answer segments), as a published mirror holds them (`docs/PUBLISHING.md`); what `actledger fetch-answer` reads", example = "offices/MINDEF.json")),
    responses(
        (status = 200, description = "The file, byte for byte as `actledger publish` writes it for the newest kept checkpoint; `no-cache` and an `ETag`, as the checkpoint", content_type = "application/json"),
        (status = 404, description = "Not a state file, an office the state does not know, or no checkpoint kept", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn state(
    State(app): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let full = format!("state/{path}");
    let file = match MirrorFile::parse(&full) {
        Ok(file @ (MirrorFile::State | MirrorFile::OfficeState(_))) => file,
        _ => {
            return Err(Problem::status(
                StatusCode::NOT_FOUND,
                format!(
                    "nothing is at {PREFIX}/{full}: the state is `offices.json` and `offices/<OFFICE>.json`"
                ),
            ));
        }
    };
    serve(app, headers, file).await
}

/// Answers `file` of the mirror of the newest kept checkpoint.
async fn serve(app: AppState, headers: HeaderMap, file: MirrorFile) -> Result<Response, Problem> {
    app.answer(&headers, move |ledger| {
        let kept = newest_kept(ledger, &file)?;
        if !file.in_mirror_of(kept.size) {
            return Err(Problem::status(
                StatusCode::NOT_FOUND,
                format!(
                    "nothing is at {PREFIX}/{}: the newest kept checkpoint is of {} entries, and the tree of that size (or of a smaller one) has no such {}",
                    file.path(),
                    kept.size,
                    if matches!(file, MirrorFile::Bundle(_)) { "bundle" } else { "tile" },
                ),
            ));
        }
        let (content_type, freshness) = match file {
            _ if file.is_immutable() => (OCTETS, Freshness::Pinned),
            MirrorFile::State | MirrorFile::OfficeState(_) => {
                (JSON, Freshness::Hashed(notes_hash(&kept)))
            }
            _ => (NOTE, Freshness::Hashed(notes_hash(&kept))),
        };
        let body = actledger_mirror::file_bytes(ledger, &kept, &file)
            .map_err(failed)?
            .ok_or_else(|| {
                Problem::status(
                    StatusCode::NOT_FOUND,
                    format!(
                        "nothing is at {PREFIX}/{}: the state of the newest kept checkpoint ({} entries) knows no such office",
                        file.path(),
                        kept.size
                    ),
                )
            })?;
        Ok(Answer::new(body, content_type, freshness))
    })
    .await
}

/// The newest checkpoint the ledger kept: a 404 saying how to keep one when there is none.
fn newest_kept(ledger: &Ledger, file: &MirrorFile) -> Result<KeptCheckpoint, Problem> {
    ledger.newest_kept_checkpoint()?.ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            kind::NO_KEPT_CHECKPOINT,
            "no checkpoint is kept to serve the log at",
            format!(
                "nothing is at {PREFIX}/{}: the log is served at the newest checkpoint the ledger kept, and none is kept; {HOW_TO_SIGN}",
                file.path()
            ),
        )
    })
}

/// A file the ledger could not make: the store's failure, or a ledger whose derived records
/// need repair (its stored tree hashes do not give the tile).
fn failed(error: PublishError) -> Problem {
    match error {
        PublishError::Store(store) => Problem::from(store),
        other => Problem::internal(with_causes(&other)),
    }
}
