//! What a clerk is warned of before a batch is recorded: an office or person id never recorded
//! that is close to a known one (a typo that would silently make a new office), and the
//! anomalies of `audit` the batch adds. Warnings never change what is recorded, except with
//! `--strict`, which refuses a batch that has any.

use std::collections::BTreeSet;
use std::fmt;

use actledger_core::{
    ActId, Anomaly, BatchError, Event, InputEvent, Liveness, OfficeId, Pending, PersonId, Recorded,
    anomalies_touching, closest, fold, name_of, office_name, validate_batch,
};
use actledger_store::{AppendError, Ledger};
use serde::Serialize;

use crate::error::AnswerError;
use crate::reports::AppendAnswer;

/// One warning about a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// An id never recorded, close to known ones: a typo makes a new office or person.
    CloseId {
        /// The input line of the event.
        line: usize,
        /// The field: `office`, `delegate_office`, `person` or `delegate`.
        field: &'static str,
        /// The id given.
        given: String,
        /// The known ids it is close to (by spelling, or by the name the event gives).
        known: Vec<String>,
    },
    /// An anomaly of `audit` that the batch adds.
    Anomaly {
        /// The anomaly, as `audit --json` shows it.
        anomaly: Anomaly,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::CloseId {
                line,
                field,
                given,
                known,
            } => write!(
                f,
                "line {line}: {field} {given:?} was never recorded; did you mean {}?",
                known.join(" or ")
            ),
            Warning::Anomaly { anomaly } => {
                let kind = serde_json::to_value(anomaly.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                write!(f, "the batch adds an anomaly ({kind}): {}", anomaly.message)
            }
        }
    }
}

/// Folds a text for comparison: accents dropped, lower case, spaces trimmed.
fn folded(text: &str) -> String {
    fold(text.trim())
}

/// The ids of `known` that `given` is close to: by spelling (edit distance, case and accents
/// ignored), or because `name` (the name the event gives) is a known one's name.
fn close_to(given: &str, name: Option<&str>, known: &[(String, Option<String>)]) -> Vec<String> {
    let lowered: Vec<String> = known.iter().map(|(id, _)| folded(id)).collect();
    let candidates: Vec<&str> = lowered.iter().map(String::as_str).collect();
    let mut close: Vec<String> = Vec::new();
    if let Some(hit) = closest(&folded(given), &candidates)
        && let Some(i) = lowered.iter().position(|l| l == hit)
    {
        close.push(known[i].0.clone());
    }
    if let Some(name) = name.map(folded) {
        for (id, known_name) in known {
            if known_name.as_deref().map(folded).as_ref() == Some(&name) && !close.contains(id) {
                close.push(id.clone());
            }
        }
    }
    close
}

/// The warning that `given` is close to `known` ids, if it is close to any.
fn close_id(line: usize, field: &'static str, given: &str, known: Vec<String>) -> Option<Warning> {
    (!known.is_empty()).then(|| Warning::CloseId {
        line,
        field,
        given: given.to_owned(),
        known,
    })
}

/// The ids of the batch's events that are new and close to known ones.
pub fn close_ids(ledger: &Ledger, batch: &[InputEvent]) -> Result<Vec<Warning>, AnswerError> {
    let head = ledger.head().count;
    let known_offices: BTreeSet<OfficeId> = ledger.offices()?.into_iter().collect();
    let mut offices: Option<Vec<(String, Option<String>)>> = None;
    let mut persons: Option<Vec<(String, Option<String>)>> = None;
    let mut seen_offices: BTreeSet<OfficeId> = BTreeSet::new();
    let mut seen_persons: BTreeSet<PersonId> = BTreeSet::new();
    let mut warnings = Vec::new();
    for input in batch {
        let event = &input.event;
        let (office_field, office_name_given) = match event {
            Event::Appointed(e) => (Some(("office", &e.office)), e.office_name.as_deref()),
            _ => (event.office().map(|o| ("office", o)), None),
        };
        let delegate_office = match event {
            Event::DutiesDelegated(e) => e.delegate_office.as_ref().map(|o| ("delegate_office", o)),
            _ => None,
        };
        for (field, office) in office_field.into_iter().chain(delegate_office) {
            if known_offices.contains(office) || !seen_offices.insert(office.clone()) {
                continue;
            }
            let known = match &mut offices {
                Some(known) => known,
                none => {
                    let mut live = Liveness::new(ledger, head);
                    let mut named = Vec::new();
                    for id in &known_offices {
                        named.push((id.to_string(), office_name(ledger, id, head, &mut live)?));
                    }
                    none.insert(named)
                }
            };
            let name = if field == "office" {
                office_name_given
            } else {
                None
            };
            let close = close_to(office.as_str(), name, known);
            warnings.extend(close_id(input.line, field, office.as_str(), close));
        }
        if let Some(person) = event.person() {
            // Each person once per batch: its postings are read at most once.
            if !seen_persons.insert(person.clone()) || !ledger.person_events(person)?.is_empty() {
                continue;
            }
            let known = match &mut persons {
                Some(known) => known,
                none => {
                    let mut named = Vec::new();
                    for id in ledger.persons()? {
                        let name = name_of(ledger, &id, head)?;
                        named.push((id.to_string(), name));
                    }
                    none.insert(named)
                }
            };
            let field = match event {
                Event::DutiesDelegated(_) => "delegate",
                _ => "person",
            };
            let close = close_to(person.as_str(), event.person_name(), known);
            warnings.extend(close_id(input.line, field, person.as_str(), close));
        }
    }
    Ok(warnings)
}

/// The acts whose `act_revoked_twice` a batch can change: those it revokes, and those revoked
/// by the events its retractions take away (or give back, retracting a retraction).
fn revoked_by(ledger: &Ledger, batch: &[InputEvent]) -> Result<BTreeSet<ActId>, AnswerError> {
    let mut acts = BTreeSet::new();
    for input in batch {
        let mut event = input.event.clone();
        // A chain of retractions ends at the event it is about; bounded by the ledger's size.
        for _ in 0..=ledger.head().count {
            match event {
                Event::ActRevoked(revoked) => {
                    acts.insert(revoked.revokes);
                    break;
                }
                Event::RecordRetracted(retracted) if retracted.seq <= ledger.head().count => {
                    event = ledger.event(retracted.seq)?;
                }
                _ => break,
            }
        }
    }
    Ok(acts)
}

/// The anomalies of `after` that `before` does not have.
pub fn added_anomalies(before: &[Anomaly], after: Vec<Anomaly>) -> Vec<Warning> {
    after
        .into_iter()
        .filter(|anomaly| !before.contains(anomaly))
        .map(|anomaly| Warning::Anomaly { anomaly })
        .collect()
}

/// Every warning about `batch`, computed without writing it (as `append --strict` needs):
/// the batch is validated against the ledger and the anomalies are those of the ledger as it
/// would stand with it.
pub fn warnings_before_writing(
    ledger: &Ledger,
    batch: &[InputEvent],
) -> Result<Vec<Warning>, AnswerError> {
    let mut warnings = close_ids(ledger, batch)?;
    let valid = validate_batch(ledger, batch.to_vec()).map_err(|e| match e {
        BatchError::Invalid(invalid) => AnswerError::Invalid(invalid),
        BatchError::Ledger(store) => AnswerError::Store(store),
    })?;
    let acts = revoked_by(ledger, batch)?;
    let before = anomalies_touching(ledger, &acts)?;
    let pending = Pending::new(ledger, &valid)?;
    let after = anomalies_touching(&pending, &acts)?;
    warnings.extend(added_anomalies(&before, after));
    Ok(warnings)
}

/// Appends `batch` atomically, as `append` does from either edge, with the clerk's warnings.
/// `strict`: a batch with any warning is refused and nothing is written.
pub fn append(
    ledger: &mut Ledger,
    batch: Vec<InputEvent>,
    strict: bool,
) -> Result<AppendAnswer, AnswerError> {
    let (mut warnings, before) = if strict {
        let warnings = warnings_before_writing(ledger, &batch)?;
        if !warnings.is_empty() {
            return Err(AnswerError::Refused { warnings });
        }
        (warnings, None)
    } else {
        let acts = revoked_by(ledger, &batch)?;
        let before = anomalies_touching(ledger, &acts)?;
        (close_ids(ledger, &batch)?, Some((acts, before)))
    };
    let report = ledger.append(batch).map_err(|e| match e {
        AppendError::Invalid(invalid) => AnswerError::Invalid(invalid),
        AppendError::Store(store) => AnswerError::Store(store),
        other => AnswerError::Append(other),
    })?;
    if let Some((acts, before)) = before {
        warnings.extend(added_anomalies(
            &before,
            anomalies_touching(&*ledger, &acts)?,
        ));
    }
    let mut answer = AppendAnswer::from(&report);
    answer.warnings = warnings;
    Ok(answer)
}
