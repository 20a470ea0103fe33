//! The proof routes: an entry with its inclusion proof, a consistency proof between two tree
//! sizes, and the latest checkpoint signed with the server's key. The JSON is what
//! `actledger prove --json` prints; the checkpoint is the note `actledger checkpoint` writes.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use actledger_store::Ledger;

use crate::params;
use crate::problem::Problem;
use crate::routes::{Answer, AppState, Freshness};

/// `?tree_size=N`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TreeSizeQuery {
    /// The size of the tree the proof is for, from the entry's position to the head (default:
    /// the head).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub tree_size: Option<String>,
}

/// `?first=N&second=M`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConsistencyQuery {
    /// The older tree size, from 1.
    #[param(required = true, value_type = u64, minimum = 1)]
    pub first: Option<String>,
    /// The newer tree size, from `first` to the head.
    #[param(required = true, value_type = u64, minimum = 1)]
    pub second: Option<String>,
}

fn size_in_ledger(ledger: &Ledger, name: &str, size: u64, at_least: u64) -> Result<(), Problem> {
    let head = ledger.head().count;
    if size < at_least.max(1) || size > head {
        return Err(Problem::bad_parameter(
            name,
            format!(
                "{name}={size}: a tree size from {} to {head} (the ledger holds {head} entries)",
                at_least.max(1)
            ),
        ));
    }
    Ok(())
}

/// An entry and the proof that it is in the tree of the first `tree_size` entries.
#[utoipa::path(
    get, path = "/api/v1/entries/{seq}/proof", tag = "proofs",
    params(("seq" = u64, Path, description = "The entry's position, from 1"), TreeSizeQuery),
    responses(
        (status = 200, description = "The `prove SEQ --json` object: the entry's export line (the leaf data), its leaf hash and the audit path (RFC 9162 order). ", body = actledger_proof::InclusionProof),
        (status = 400, description = "A malformed position, or a tree size outside the ledger or below the position", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No entry at that position", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn inclusion(
    State(app): State<AppState>,
    Path(seq): Path<String>,
    Query(query): Query<TreeSizeQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let seq = params::number("seq", Some(&seq))?
        .ok_or_else(|| Problem::bad_parameter("seq", "the entry's position is missing"))?;
    let size = params::number("tree_size", query.tree_size.as_deref())?;
    app.answer(&headers, move |ledger| {
        let head = ledger.head();
        if seq == 0 || seq > head.count {
            return Err(Problem::status(
                StatusCode::NOT_FOUND,
                format!(
                    "no entry {seq}: the ledger holds positions 1 to {}",
                    head.count
                ),
            ));
        }
        if let Some(size) = size {
            size_in_ledger(ledger, "tree_size", size, seq)?;
        }
        let proof = ledger.inclusion_proof(seq, size.unwrap_or(head.count))?;
        Answer::json(&proof, Freshness::Head(head.hash))
    })
    .await
}

/// The proof that the tree of the first `first` entries is a prefix of the tree of the first
/// `second`.
#[utoipa::path(
    get, path = "/api/v1/proof/consistency", tag = "proofs",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The `prove --from FIRST --to SECOND --json` object: both roots and the consistency proof (RFC 9162 order)", body = actledger_proof::ConsistencyProof),
        (status = 400, description = "A missing or malformed size, `first` above `second`, or `second` past the head", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn consistency(
    State(app): State<AppState>,
    Query(query): Query<ConsistencyQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let required = |name: &str, value: Option<&str>| {
        params::number(name, value)?.ok_or_else(|| {
            Problem::bad_parameter(
                name,
                format!("the parameter {name} is required: a tree size"),
            )
        })
    };
    let first = required("first", query.first.as_deref())?;
    let second = required("second", query.second.as_deref())?;
    app.answer(&headers, move |ledger| {
        size_in_ledger(ledger, "second", second, 1)?;
        if first == 0 || first > second {
            return Err(Problem::bad_parameter(
                "first",
                format!("first={first}: a tree size from 1 to second={second}"),
            ));
        }
        let proof = ledger.consistency_proof(first, second)?;
        Answer::json(&proof, Freshness::Head(ledger.head().hash))
    })
    .await
}

/// The checkpoint of the ledger at its head, signed with the server's key.
#[utoipa::path(
    get, path = "/api/v1/checkpoint", tag = "proofs",
    responses(
        (status = 200, description = "A C2SP signed checkpoint (origin, size, Merkle root, signature lines) of the ledger at its head, as `actledger checkpoint` writes it", content_type = "text/plain", body = String),
        (status = 404, description = "The server was started without a signer key", body = crate::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn checkpoint(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Some(key) = app.signer.clone() else {
        return Err(Problem::status(
            StatusCode::NOT_FOUND,
            "no checkpoint: the server was started without a signer key (--key)",
        ));
    };
    app.answer(&headers, move |ledger| {
        let note = ledger.checkpoint(&key)?;
        Ok(Answer::new(
            note.into_bytes(),
            "text/plain; charset=utf-8",
            Freshness::Head(ledger.head().hash),
        ))
    })
    .await
}
