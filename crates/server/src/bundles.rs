//! Answer bundles over HTTP: `GET /api/v1/offices/{office}/holder?on=D&proof=1` answers with
//! the bundle `who-held --proof` writes (`docs/PROOFS.md`), made against the newest checkpoint
//! the ledger kept, or the one of `checkpoint=SIZE`. Which checkpoint the timeline page's
//! answers can be checked against is said from here too.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use sha2::{Digest, Sha256};

use actledger_answers as answers;
use actledger_core::Day;
use actledger_store::{KeptCheckpoint, Ledger};

use crate::problem::{Problem, kind};
use crate::routes::{Answer, AppState, Freshness, JSON};

/// How to keep a checkpoint, for whoever asked for a bundle with none to make it against.
const HOW_TO_SIGN: &str = "sign one with `actledger checkpoint --key FILE` (it keeps the checkpoint and its state statement in the ledger), then ask again";

/// The bundle answering who held `office` on `on`, against the kept checkpoint of `size`
/// (immutable) or the newest one (revalidated with a tag of that checkpoint's notes).
pub(crate) async fn holder_bundle(
    app: &AppState,
    headers: &HeaderMap,
    office: String,
    on: Day,
    size: Option<u64>,
) -> Result<Response, Problem> {
    let request = headers.clone();
    app.answer(headers, move |ledger| {
        let kept = kept_for(ledger, size)?;
        let freshness = match size {
            Some(_) => Freshness::Pinned,
            None => Freshness::Hashed(notes_hash(&kept)),
        };
        if freshness.already_in(&request) {
            // The client has this very bundle: `respond` answers 304, with no body to make.
            return Ok(Answer::new(Vec::new(), JSON, freshness));
        }
        let bundle = answers::make_bundle(ledger, &office, on, &kept)?;
        Answer::json(&bundle, freshness)
    })
    .await
}

/// The kept checkpoint of `size`, or the newest: a 409 naming how to sign one when there is
/// none, a 400 for a size the ledger cannot have.
fn kept_for(ledger: &Ledger, size: Option<u64>) -> Result<KeptCheckpoint, Problem> {
    let Some(size) = size else {
        return ledger.newest_kept_checkpoint()?.ok_or_else(|| {
            no_kept(format!(
                "no checkpoint is kept in this ledger to prove the answer against: {HOW_TO_SIGN}"
            ))
        });
    };
    let head = ledger.head().count;
    if size == 0 || size > head {
        return Err(Problem::bad_parameter(
            "checkpoint",
            format!(
                "checkpoint={size}: the size of a kept checkpoint, from 1 to {head} (the ledger holds {head} entries)"
            ),
        ));
    }
    if let Some(kept) = ledger.kept_checkpoint(size)? {
        return Ok(kept);
    }
    let newest = match ledger.newest_kept_checkpoint()? {
        Some(newest) => format!(
            "the newest kept is of size {} (leave out checkpoint to use it)",
            newest.size
        ),
        None => "none is kept".to_owned(),
    };
    Err(no_kept(format!(
        "no checkpoint is kept for size {size}: {newest}; to keep one of the current size, {HOW_TO_SIGN}"
    )))
}

fn no_kept(detail: String) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        kind::NO_KEPT_CHECKPOINT,
        "no checkpoint is kept to prove the answer against",
        detail,
    )
}

/// What a bundle against `kept` is made from besides the office and the day: both signed
/// notes, hashed.
pub(crate) fn notes_hash(kept: &KeptCheckpoint) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for note in [&kept.checkpoint, &kept.statement] {
        hasher.update((note.len() as u64).to_be_bytes());
        hasher.update(note.as_bytes());
    }
    hasher.finalize().into()
}

/// The schemas of an answer bundle for the OpenAPI document. The bundle is the answers
/// crate's `Bundle`, serialized as `who-held --proof` writes it; these types only describe it
/// (they are never built, so neither their size nor their unread fields matter), and the
/// schema test holds real bundles to them, field by field.
#[allow(dead_code, clippy::large_enum_variant)]
pub(crate) mod schema {
    use actledger_answers::WhoHeld;

    /// `holder`'s answer: the `who-held --json` object, or with `proof=1` an answer bundle.
    #[derive(serde::Serialize, utoipa::ToSchema)]
    #[schema(as = HolderAnswer)]
    #[serde(untagged)]
    pub(crate) enum HolderAnswer {
        /// Without `proof`: the `who-held --json` object.
        Answer(WhoHeld),
        /// With `proof=1`: the answer bundle.
        Bundle(AnswerBundle),
    }

    /// An answer bundle (`docs/PROOFS.md`): the answer as of a kept checkpoint's size, the
    /// signed checkpoint and state statement, and the hashes that tie the answer to the
    /// statement's state root. `actledger check-answer --vkey VKEY FILE` checks it offline.
    #[derive(serde::Serialize, utoipa::ToSchema)]
    #[schema(as = AnswerBundle)]
    pub(crate) struct AnswerBundle {
        /// The format and version.
        #[schema(example = "actledger answer bundle v1")]
        pub bundle: String,
        /// The `who-held --json` object as of the checkpoint's size, or, for an office
        /// unknown at that size, `{"office", "on", "as_of", "known": false}`.
        pub answer: BundledAnswer,
        /// The signed checkpoint (C2SP signed note).
        pub checkpoint: String,
        /// The signed state statement of the same size (signed note).
        pub statement: String,
        /// A known office: its leaf in the offices tree.
        pub office: Option<LeafProof>,
        /// A day on the office's record: the segment covering it in the office's segments
        /// tree.
        pub segment: Option<LeafProof>,
        /// An unknown office: the leaves of the offices around it (one at either end, none
        /// when no office is known).
        pub neighbours: Option<Vec<LeafProof>>,
    }

    /// What a bundle proves.
    #[derive(serde::Serialize, utoipa::ToSchema)]
    #[serde(untagged)]
    pub(crate) enum BundledAnswer {
        /// A known office: the `who-held --json` object.
        Held(WhoHeld),
        /// An office unknown as of the checkpoint's size.
        Unknown(UnknownOffice),
    }

    /// The answer of a bundle for an office unknown as of its size.
    #[derive(serde::Serialize, utoipa::ToSchema)]
    pub(crate) struct UnknownOffice {
        /// The office asked about.
        pub office: String,
        /// The day asked about.
        #[schema(format = Date)]
        pub on: String,
        /// The size the answer is as of: the checkpoint's.
        pub as_of: u64,
        /// Always false.
        pub known: bool,
    }

    /// A leaf of a state tree with its audit path.
    #[derive(serde::Serialize, utoipa::ToSchema)]
    pub(crate) struct LeafProof {
        /// The leaf data, exactly the bytes hashed (canonical JSON, carried as a string).
        pub leaf: String,
        /// The leaf's index in its tree.
        pub index: u64,
        /// The audit path, the sibling nearest the leaf first: hashes as 64 lowercase hex
        /// digits.
        pub path: Vec<actledger_answers::HexHash>,
    }
}
