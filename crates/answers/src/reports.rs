//! What the ledger says of itself and of what was done to it: its head, an import, a
//! verification, a repair, and the server's health (an append's report is `appended`).

use std::collections::BTreeMap;

use actledger_core::Seq;
use actledger_store::{Findings, Head, Repair, Scope, Verdict};
use serde::Serialize;

use crate::hash::HexHash;
use crate::monitor::StateCheck;

/// The head of the ledger: the `head --json` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Head))]
pub struct HeadAnswer {
    /// How many entries the ledger holds (the position of the last one).
    pub count: u64,
    /// The hash of the last entry (64 zeros when empty).
    pub hash: HexHash,
}

impl From<Head> for HeadAnswer {
    fn from(head: Head) -> HeadAnswer {
        HeadAnswer {
            count: head.count,
            hash: HexHash(head.hash),
        }
    }
}

/// What an import made: the `import --json` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportAnswer {
    /// The head of the new ledger.
    pub head: HeadAnswer,
}

/// One difference between a derived record and what the log implies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingAnswer {
    /// The table's name.
    pub table: &'static str,
    /// The table's key prefix.
    pub prefix: &'static str,
    /// The record concerned: an office, a person, an act, a position, a tile...
    pub subject: String,
    /// What differs.
    pub difference: String,
    /// The whole finding as a sentence.
    pub message: String,
}

/// The findings of a comparison: the first ones in full, and how many per table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingsAnswer {
    /// The first findings (at most 20).
    pub findings: Vec<FindingAnswer>,
    /// Every finding, shown or not.
    pub total: u64,
    /// How many per table.
    pub per_table: BTreeMap<&'static str, u64>,
}

impl From<&Findings> for FindingsAnswer {
    fn from(findings: &Findings) -> FindingsAnswer {
        FindingsAnswer {
            findings: findings
                .shown
                .iter()
                .map(|finding| FindingAnswer {
                    table: finding.table.name(),
                    prefix: finding.table.prefix(),
                    subject: finding.subject.to_string(),
                    difference: finding.difference.to_string(),
                    message: finding.to_string(),
                })
                .collect(),
            total: findings.total(),
            per_table: findings
                .per_table
                .iter()
                .map(|(table, n)| (table.name(), *n))
                .collect(),
        }
    }
}

/// The checkpoint a verification was asked to extend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointRef {
    /// Its origin (the ledger's name).
    pub origin: String,
    /// The tree size it signs.
    pub size: u64,
    /// The root it signs.
    pub root: HexHash,
}

/// A verification: the `verify --json` object. `verdict` is the store's own word, for text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyAnswer {
    /// The log and (when checked) every record answers are read from are intact.
    pub intact: bool,
    /// The log's chain is intact.
    pub log_intact: bool,
    /// Whether the derived records were compared with the log (not with `--log-only`).
    pub answers_checked: bool,
    /// How many entries the verified log holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The hash of its last entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<HexHash>,
    /// The first entry that fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<Seq>,
    /// What fails there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// What differs between the derived records and the log.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub findings: Option<FindingsAnswer>,
    /// The checkpoint the ledger was checked against, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointRef>,
    /// With a checkpoint: whether the state statement of its size signs the state the log
    /// implies (a false one makes the answer not intact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<StateCheck>,
    /// The store's verdict.
    #[serde(skip)]
    pub verdict: Verdict,
    /// What was checked.
    #[serde(skip)]
    pub scope: Scope,
}

impl VerifyAnswer {
    /// The answer for `verdict`, reached over `scope`.
    pub fn new(verdict: Verdict, scope: Scope) -> VerifyAnswer {
        let everything = scope == Scope::Everything;
        let mut answer = VerifyAnswer {
            intact: false,
            log_intact: false,
            answers_checked: false,
            count: None,
            head: None,
            seq: None,
            problem: None,
            findings: None,
            checkpoint: None,
            state: None,
            verdict: verdict.clone(),
            scope,
        };
        match verdict {
            Verdict::Intact { count, head } => {
                answer.intact = true;
                answer.log_intact = true;
                answer.answers_checked = everything;
                answer.count = Some(count);
                answer.head = Some(HexHash(head));
            }
            Verdict::Broken { seq, problem } => {
                answer.seq = Some(seq);
                answer.problem = Some(problem.to_string());
            }
            Verdict::Diverged {
                count,
                head,
                findings,
            } => {
                answer.log_intact = true;
                answer.answers_checked = true;
                answer.count = Some(count);
                answer.head = Some(HexHash(head));
                answer.findings = Some((&findings).into());
            }
            Verdict::Unreadable { reason } => {
                answer.problem = Some(format!(
                    "the storage engine found the ledger's files damaged: {reason}"
                ));
            }
            // A verdict this version does not know: not intact, said as the store words it.
            other => answer.problem = Some(other.to_string()),
        }
        answer
    }

    /// The same answer, checked against `checkpoint`.
    pub fn against(mut self, checkpoint: CheckpointRef) -> VerifyAnswer {
        self.checkpoint = Some(checkpoint);
        self
    }

    /// The same answer with the state check of its checkpoint: not intact when the statement
    /// signs a state the log does not imply.
    pub fn with_state(mut self, state: StateCheck) -> VerifyAnswer {
        if state.is_false() {
            self.intact = false;
        }
        self.state = Some(state);
        self
    }
}

/// A repair: the `repair --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepairAnswer {
    /// Whether the derived records were rebuilt.
    pub repaired: bool,
    /// What was found.
    #[serde(flatten)]
    pub found: RepairFound,
    /// The store's account, for text.
    #[serde(skip)]
    pub repair: Repair,
}

/// What a repair found before it acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RepairFound {
    /// The log fails verification: its verdict; nothing was changed.
    LogFails(Box<VerifyAnswer>),
    /// The log is intact: what differed from it.
    Compared {
        /// How many entries the log holds.
        count: u64,
        /// The hash of its last entry.
        head: HexHash,
        /// What differed (nothing, when nothing was repaired).
        #[serde(flatten)]
        findings: FindingsAnswer,
    },
}

impl From<Repair> for RepairAnswer {
    fn from(repair: Repair) -> RepairAnswer {
        let (repaired, found) = match &repair {
            Repair::LogFails(verdict) => (
                false,
                RepairFound::LogFails(Box::new(VerifyAnswer::new(
                    verdict.clone(),
                    Scope::Everything,
                ))),
            ),
            Repair::NothingToRepair { count, head } => (
                false,
                RepairFound::Compared {
                    count: *count,
                    head: HexHash(*head),
                    findings: (&Findings::default()).into(),
                },
            ),
            Repair::Rebuilt {
                count,
                head,
                findings,
            } => (
                true,
                RepairFound::Compared {
                    count: *count,
                    head: HexHash(*head),
                    findings: findings.into(),
                },
            ),
            // A repair this version does not know: said as failing, changing nothing known.
            _ => (
                false,
                RepairFound::LogFails(Box::new(VerifyAnswer::new(
                    Verdict::Unreadable {
                        reason: format!("an unknown result of repair: {repair:?}"),
                    },
                    Scope::Everything,
                ))),
            ),
        };
        RepairAnswer {
            repaired,
            found,
            repair,
        }
    }
}

/// A verification of the whole ledger that passed: when, and at what size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Verification))]
pub struct Verified {
    /// When it ended, RFC 3339 in UTC.
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-02T17:00:00.000000Z"))]
    pub at: String,
    /// The entries the ledger held.
    pub size: u64,
}

/// The health of a server and the size of its ledger: the `/healthz` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Health))]
pub struct HealthAnswer {
    /// Always `ok`.
    #[cfg_attr(feature = "openapi", schema(example = "ok"))]
    pub status: &'static str,
    /// The number of entries of the ledger.
    pub size: u64,
    /// When the server verified the whole ledger (its log and every record answers are read
    /// from) before serving it, and how many entries it held then; `null` for a state built
    /// without that check (tests).
    pub verified: Option<Verified>,
}
