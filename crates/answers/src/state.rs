//! The answers' state at a tree size: what every who-held answer as of that size says, as
//! the leaves of the proof crate's state trees (`actledger_proof::StateTree`), and the signed
//! statement that binds its root to a checkpoint.
//!
//! An office's **answer segments** as of size N partition the days from the start of its
//! record to the end of time into maximal runs over which `who-held` gives the same holder and
//! titular (names as of N), vacancies included. Each run is a leaf of the office's segments
//! tree; the office, the start of its record, its number of runs and their root are a leaf of
//! the offices tree, over every office known as of N in the byte order of their ids, whose root
//! is the state root. Leaves are canonical JSON (serde's serialization of the core's
//! `SegmentLeaf` and `OfficeLeaf`), hashed as the bytes they are.
//!
//! Two ways to the state: computed again as of any size ([`answer_state`]: timelines replayed
//! from the log, or at the head the timeline cache `verify` checks against it, and names read
//! from the log; what a monitor and `verify` do), or, at the head, read from the leaves the
//! store keeps with each append ([`kept_head_state`], what signing and proving at the head do).

use actledger_core::{OfficeId, Seq, offices_at, timeline_at};
use actledger_proof::{Hash, SignerKey, StateTree, Statement};
use actledger_store::{KeptCheckpoint, Ledger, StoreError, office_leaf_hash};

use crate::error::AnswerError;
use crate::hash::HexHash;
use crate::names::Names;

pub use actledger_core::{OfficeLeaf, SegmentLeaf};
pub use actledger_store::OfficeState;

/// The state as of a size: every known office's leaf, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerState {
    /// The tree size.
    pub size: Seq,
    /// The leaves, by office id.
    pub offices: Vec<OfficeLeaf>,
    /// Their hashes.
    pub hashes: Vec<Hash>,
}

impl AnswerState {
    /// The state root.
    pub fn root(&self) -> Hash {
        StateTree::Offices.root(&self.hashes)
    }

    /// The index of `office` among the offices, or where it would go.
    pub fn find(&self, office: &str) -> Result<usize, usize> {
        self.offices
            .binary_search_by(|leaf| leaf.office.as_str().as_bytes().cmp(office.as_bytes()))
    }
}

fn office_state_with(
    ledger: &Ledger,
    office: &OfficeId,
    names: &mut Names<'_>,
) -> Result<OfficeState, AnswerError> {
    let timeline = timeline_at(ledger, office, names.size())?;
    Ok(OfficeState::of(&timeline, |person| names.of(person))?)
}

/// An office's answer segments and leaf as of `size` (an office known at that size).
pub fn office_state(
    ledger: &Ledger,
    office: &OfficeId,
    size: Seq,
) -> Result<OfficeState, AnswerError> {
    office_state_with(ledger, office, &mut Names::from_log(ledger, size))
}

/// The answers' state as of `size` (0 to the head), computed from the log: at size 0, no
/// office.
pub fn answer_state(ledger: &Ledger, size: Seq) -> Result<AnswerState, AnswerError> {
    let head = ledger.head().count;
    if size > head {
        return Err(AnswerError::AsOfOutOfRange { as_of: size, head });
    }
    let mut names = Names::from_log(ledger, size);
    let mut known = offices_at(ledger, size)?;
    known.sort_by(|a, b| a.as_str().as_bytes().cmp(b.as_str().as_bytes()));
    let mut offices = Vec::with_capacity(known.len());
    let mut hashes = Vec::with_capacity(known.len());
    for office in &known {
        let state = office_state_with(ledger, office, &mut names)?;
        hashes.push(office_leaf_hash(&state.leaf));
        offices.push(state.leaf);
    }
    Ok(AnswerState {
        size,
        offices,
        hashes,
    })
}

/// The state at the head as the ledger keeps it (its `V` records, brought up to date with
/// each append and checked by `verify`): what signing a statement reads, instead of computing
/// every office's answers again.
pub fn kept_head_state(ledger: &Ledger) -> Result<AnswerState, AnswerError> {
    let offices = ledger.stored_state()?;
    let hashes = offices.iter().map(office_leaf_hash).collect();
    Ok(AnswerState {
        size: ledger.head().count,
        offices,
        hashes,
    })
}

/// The statement of `state` under `origin`.
fn statement_of(
    ledger: &Ledger,
    origin: &str,
    state: &AnswerState,
) -> Result<Statement, AnswerError> {
    Ok(Statement {
        origin: origin.to_owned(),
        size: state.size,
        log_root: ledger.tree_root(state.size)?,
        offices: state.offices.len() as u64,
        state_root: state.root(),
    })
}

/// The statement of the state as of `size`, under `origin`.
pub fn statement(ledger: &Ledger, origin: &str, size: Seq) -> Result<Statement, AnswerError> {
    statement_of(ledger, origin, &answer_state(ledger, size)?)
}

/// Signs a checkpoint of the ledger at its head and the statement of its state with `key`,
/// and keeps both in the ledger: what `checkpoint --key` does.
pub fn sign_checkpoint(ledger: &Ledger, key: &SignerKey) -> Result<KeptCheckpoint, AnswerError> {
    let size = ledger.head().count;
    let checkpoint = ledger.checkpoint(key)?;
    let state = kept_head_state(ledger)?;
    let statement = statement_of(ledger, key.name(), &state)?
        .sign(key)
        .map_err(|e| StoreError::Signing {
            reason: e.to_string(),
        })?;
    let kept = KeptCheckpoint {
        size,
        vkey: key.verifier_key().to_string(),
        checkpoint,
        statement,
        offices: state.offices,
    };
    ledger.keep_checkpoint(&kept)?;
    Ok(kept)
}

/// Whether the state statement kept with the newest kept checkpoint signs the state the log
/// implies: a finding when it does not (or when the kept copy does not open). Older kept
/// statements are checked when a bundle is made against them.
pub fn check_newest_statement(
    ledger: &Ledger,
) -> Result<Option<actledger_store::Finding>, AnswerError> {
    use actledger_store::{Difference, Finding, Subject, Table};
    let Some(kept) = ledger.newest_kept_checkpoint()? else {
        return Ok(None);
    };
    let finding = |difference| Finding {
        table: Table::KeptCheckpoints,
        subject: Subject::Record(format!("C{}", kept.size)),
        difference,
    };
    let opened = match kept.open() {
        Ok(opened) => opened,
        Err(problem) => return Ok(Some(finding(Difference::Malformed(problem)))),
    };
    if kept.size > ledger.head().count {
        return Ok(None); // the store's own check names it
    }
    let implied = statement(ledger, &opened.statement.origin, kept.size)?;
    Ok((implied != opened.statement).then(|| Finding {
        table: Table::KeptCheckpoints,
        subject: Subject::Record(format!(
            "C{} (its state statement signs state root {}; the log implies {})",
            kept.size,
            HexHash(opened.statement.state_root),
            HexHash(implied.state_root)
        )),
        difference: Difference::Different,
    }))
}
