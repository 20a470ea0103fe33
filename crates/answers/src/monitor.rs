//! What a monitor checks of a signed state statement (`verify --checkpoint`): that the state it
//! signs is the one the log implies at its size. A log that signed a false state is caught, and
//! the signed statement is the evidence.
//!
//! Where the statement comes from (a file beside the checkpoint, or the copy the ledger kept)
//! and whether its signature holds is the caller's business; this module recomputes the state
//! and says what it finds, as one answer that the CLI prints as a sentence or as JSON.

use actledger_proof::Statement;
use actledger_store::Ledger;
use serde::Serialize;

use crate::error::AnswerError;
use crate::hash::HexHash;

/// Where the statement that was checked was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementSource {
    /// A file beside the checkpoint (`CP.statement`, as `checkpoint --out CP` writes it).
    File,
    /// The statement the ledger kept with its checkpoint of that size.
    Kept,
}

/// Why the state was not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotChecked {
    /// No statement of the checkpoint's size: none beside the checkpoint, none kept.
    NoStatement,
    /// The statement kept for that size is not signed with the verifier key given: it says
    /// nothing of that signer's log.
    KeptUnderAnotherKey,
    /// Only the log was checked, not the records the state is read from.
    LogOnly,
    /// The ledger does not verify, or does not extend the checkpoint: it has no state to
    /// compare.
    LedgerNotVerified,
}

/// A state as a statement signs it, or as the log implies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StateRoot {
    /// How many offices are known at that size.
    pub offices: u64,
    /// The root of the offices tree.
    pub state_root: HexHash,
}

/// The state check of `verify --checkpoint`: the signed statement of the checkpoint's size
/// compared with the state the log implies at that size (the `state` object of `verify
/// --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateCheck {
    /// The tree size: the checkpoint's.
    pub size: u64,
    /// Whether a signed statement was compared with the state the log implies.
    pub checked: bool,
    /// Whether they agree (present when `checked`): false is a log that signed a false state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<bool>,
    /// Where the statement compared was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<StatementSource>,
    /// The statement file beside the checkpoint: the one compared, or the one looked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// What the statement signs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed: Option<StateRoot>,
    /// What the log implies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implied: Option<StateRoot>,
    /// Why the state was not checked (present when not `checked`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<NotChecked>,
    /// The whole check as a sentence.
    pub message: String,
}

impl StateCheck {
    /// Whether a statement was compared and signs a state the log does not imply.
    pub fn is_false(&self) -> bool {
        self.matches == Some(false)
    }

    /// The state of `size` not checked, for `reason`; `file` is the statement file looked
    /// for, `detail` says more (why a kept statement does not open, for one).
    pub fn not_checked(
        size: u64,
        reason: NotChecked,
        file: Option<String>,
        detail: Option<String>,
    ) -> StateCheck {
        let why = match reason {
            NotChecked::NoStatement => format!(
                "no state statement of size {size} was found ({}, none kept in the ledger)",
                match &file {
                    Some(file) => format!("no {file} beside the checkpoint"),
                    None => "none beside the checkpoint".to_owned(),
                }
            ),
            NotChecked::KeptUnderAnotherKey => {
                format!("the statement kept for size {size} is not signed with the key given")
            }
            NotChecked::LogOnly => "only the log was checked".to_owned(),
            NotChecked::LedgerNotVerified => "the ledger does not verify".to_owned(),
        };
        let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
        StateCheck {
            size,
            checked: false,
            matches: None,
            source: None,
            file,
            signed: None,
            implied: None,
            reason: Some(reason),
            message: format!("the state was not checked: {why}{detail}"),
        }
    }
}

/// Recomputes the state the log implies at the size of `signed` (a statement whose signature
/// and checkpoint the caller checked, of a size the ledger holds) and compares its state root
/// and number of offices with what the statement signs.
pub fn check_statement(
    ledger: &Ledger,
    signed: &Statement,
    source: StatementSource,
    file: Option<String>,
) -> Result<StateCheck, AnswerError> {
    let size = signed.size;
    let implied = crate::state::statement(ledger, &signed.origin, size)?;
    let said = StateRoot {
        offices: signed.offices,
        state_root: HexHash(signed.state_root),
    };
    let found = StateRoot {
        offices: implied.offices,
        state_root: HexHash(implied.state_root),
    };
    let whose = match (&file, source) {
        (Some(file), StatementSource::File) => file.clone(),
        _ => "kept in the ledger".to_owned(),
    };
    let matches = said == found;
    let message = if matches {
        format!(
            "the state statement of size {size} ({whose}) signs the state the log implies: state root {}, {}",
            found.state_root,
            offices(found.offices)
        )
    } else {
        format!(
            "the log signed a false state: its statement of size {size} ({whose}) signs state root {} ({}), but the log implies state root {} ({}) at size {size}",
            said.state_root,
            offices(said.offices),
            found.state_root,
            offices(found.offices)
        )
    };
    Ok(StateCheck {
        size,
        checked: true,
        matches: Some(matches),
        source: Some(source),
        file,
        signed: Some(said),
        implied: Some(found),
        reason: None,
        message,
    })
}

fn offices(n: u64) -> String {
    if n == 1 {
        "1 office".to_owned()
    } else {
        format!("{n} offices")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actledger_core::parse_batch;
    use actledger_proof::SignerKey;

    use super::*;

    const SEED: &str = include_str!("../../cli/data/seed.ndjson");

    #[test]
    fn an_honest_statement_matches_and_a_forged_root_or_count_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::create(&dir.path().join("l.db")).unwrap();
        ledger
            .append(parse_batch(SEED.as_bytes()).unwrap())
            .unwrap();
        let key = SignerKey::from_seed("example.org/actledger", [7; 32]).unwrap();
        let honest = crate::state::statement(&ledger, key.name(), 7).unwrap();
        let check = check_statement(&ledger, &honest, StatementSource::Kept, None).unwrap();
        assert!(check.checked && !check.is_false(), "{check:?}");
        assert_eq!(check.signed, check.implied);
        assert!(
            check.message.contains("kept in the ledger"),
            "{}",
            check.message
        );

        let mut forged = honest.clone();
        forged.state_root[31] ^= 1;
        let file = Some("cp7.statement".to_owned());
        let check = check_statement(&ledger, &forged, StatementSource::File, file).unwrap();
        assert!(check.is_false());
        for root in [honest.state_root, forged.state_root] {
            assert!(
                check.message.contains(&hex::encode(root)),
                "{}",
                check.message
            );
        }
        assert!(check.message.contains("cp7.statement") && check.message.contains("size 7"));

        let mut counted = honest.clone();
        counted.offices += 1;
        let check = check_statement(&ledger, &counted, StatementSource::Kept, None).unwrap();
        assert!(check.is_false());

        // An earlier size is recomputed at that size.
        let earlier = crate::state::statement(&ledger, key.name(), 3).unwrap();
        assert_ne!(earlier.state_root, honest.state_root);
        let check = check_statement(&ledger, &earlier, StatementSource::Kept, None).unwrap();
        assert!(!check.is_false(), "{check:?}");
    }

    #[test]
    fn a_state_not_checked_says_why() {
        let check = StateCheck::not_checked(
            7,
            NotChecked::NoStatement,
            Some("cp7.statement".to_owned()),
            None,
        );
        assert!(!check.checked && !check.is_false());
        assert_eq!(
            check.message,
            "the state was not checked: no state statement of size 7 was found (no cp7.statement beside the checkpoint, none kept in the ledger)"
        );
        let json = serde_json::to_value(&check).unwrap();
        assert_eq!(json["reason"], "no_statement");
        assert!(json.get("matches").is_none());
    }
}
