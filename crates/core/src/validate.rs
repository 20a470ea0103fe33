//! The rejection rules of the spec that need the ledger: checked against what is recorded plus
//! the batch so far, and the detection of events already recorded.

use std::collections::HashSet;

use crate::event::{Event, Seq};
use crate::id::ActId;
use crate::parse::{InputEvent, InvalidEvent, quote};
use crate::recorded::{MemoryLedger, Recorded, WithPending, issued_at};

/// What became of one event of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// New: it will be recorded at this position.
    Recorded(Seq),
    /// Identical to the event already recorded at this position (or earlier in the batch):
    /// skipped.
    AlreadyRecorded(Seq),
}

impl Outcome {
    /// The position the event has in the ledger, new or old.
    pub fn seq(self) -> Seq {
        match self {
            Outcome::Recorded(seq) | Outcome::AlreadyRecorded(seq) => seq,
        }
    }
}

/// A batch that passed every rule: what to write, and what became of each input event.
#[derive(Debug, Clone)]
pub struct ValidBatch {
    /// The new events, to be recorded at `first_seq`, `first_seq + 1`, ...
    pub new_events: MemoryLedger,
    /// For each input event, in input order: its line and its outcome.
    pub outcomes: Vec<(usize, Outcome)>,
}

impl ValidBatch {
    /// The events to write, in order.
    pub fn events(&self) -> &[Event] {
        self.new_events.events()
    }
}

/// Why a batch was refused.
#[derive(Debug, thiserror::Error)]
pub enum BatchError<E: std::error::Error + 'static> {
    /// An event breaks a rule; nothing of the batch may be written.
    #[error(transparent)]
    Invalid(#[from] InvalidEvent),
    /// The ledger could not be read.
    #[error("reading the ledger")]
    Ledger(#[source] E),
}

fn invalid(line: usize, field: &str, reason: String) -> InvalidEvent {
    InvalidEvent {
        line,
        field: Some(field.to_owned()),
        reason,
    }
}

/// Checks every event of `batch` against `ledger` and the events before it in the batch.
///
/// Duplicates (of recorded events or of earlier events of the batch) are reported, not
/// refused; the first event that breaks a rule refuses the whole batch.
pub fn validate_batch<R: Recorded>(
    ledger: &R,
    batch: Vec<InputEvent>,
) -> Result<ValidBatch, BatchError<R::Error>> {
    let mut pending = MemoryLedger::after(ledger.head());
    let mut outcomes = Vec::with_capacity(batch.len());
    for InputEvent { line, event } in batch {
        let view = WithPending {
            ledger,
            pending: &pending,
        };
        if let Some(seq) = view.find_identical(&event).map_err(BatchError::Ledger)? {
            outcomes.push((line, Outcome::AlreadyRecorded(seq)));
            continue;
        }
        check_event(&view, line, &event)?;
        let seq = pending.record(event);
        outcomes.push((line, Outcome::Recorded(seq)));
    }
    Ok(ValidBatch {
        new_events: pending,
        outcomes,
    })
}

/// The rules for one new event, `view` holding everything recorded before it.
fn check_event<R: Recorded>(
    view: &R,
    line: usize,
    event: &Event,
) -> Result<(), BatchError<R::Error>> {
    let position = view.head() + 1;
    match event {
        Event::ActIssued(issued) => {
            if let Some(seq) = issuance(view, &issued.act)? {
                return Err(invalid(
                    line,
                    "act",
                    format!(
                        "act {} is already issued with different content (position {seq})",
                        quote(issued.act.as_str())
                    ),
                )
                .into());
            }
        }
        Event::RecordRetracted(retraction) => {
            if retraction.seq >= position {
                return Err(invalid(
                    line,
                    "seq",
                    format!(
                        "{} is not before this event's own position {position}: only an earlier event can be retracted",
                        retraction.seq
                    ),
                )
                .into());
            }
        }
        _ => {
            let act = event.act().expect("every other type names its act");
            require_issued(view, line, "act", act)?;
        }
    }
    match event {
        Event::DutiesDelegated(delegation) if delegation.until.is_none() => {
            let mut bounded = false;
            for seq in view
                .events_of_act(&delegation.act)
                .map_err(BatchError::Ledger)?
            {
                // An absence of either kind bounds it: a trip or a leave.
                match view.event(seq).map_err(BatchError::Ledger)? {
                    Event::TripAuthorized(trip) => bounded |= trip.office == delegation.office,
                    Event::LeaveGranted(leave) => bounded |= leave.office == delegation.office,
                    _ => {}
                }
            }
            if !bounded {
                return Err(invalid(
                    line,
                    "until",
                    format!(
                        "is missing, and act {} authorizes no absence (trip or leave) for office {} to bound the delegation: give until, or record the trip or leave first",
                        quote(delegation.act.as_str()),
                        quote(delegation.office.as_str())
                    ),
                )
                .into());
            }
        }
        Event::ActRevoked(revocation) => {
            require_issued(view, line, "revokes", &revocation.revokes)?;
            if revocation.revokes == revocation.act {
                return Err(invalid(line, "revokes", "an act cannot revoke itself".into()).into());
            }
            if revokes_transitively(view, &revocation.revokes, &revocation.act)? {
                return Err(invalid(
                    line,
                    "revokes",
                    format!(
                        "would close a cycle of revocations: {} already revokes {} (directly or through other acts)",
                        quote(revocation.revokes.as_str()),
                        quote(revocation.act.as_str())
                    ),
                )
                .into());
            }
        }
        _ => {}
    }
    Ok(())
}

fn issuance<R: Recorded>(view: &R, act: &ActId) -> Result<Option<Seq>, BatchError<R::Error>> {
    issued_at(view, act).map_err(BatchError::Ledger)
}

fn require_issued<R: Recorded>(
    view: &R,
    line: usize,
    field: &str,
    act: &ActId,
) -> Result<(), BatchError<R::Error>> {
    if issuance(view, act)?.is_none() {
        return Err(invalid(
            line,
            field,
            format!(
                "act {} was never issued: record its act_issued first, earlier in the ledger or the batch",
                quote(act.as_str())
            ),
        )
        .into());
    }
    Ok(())
}

/// Whether `from` reaches `to` through `act_revoked` events (retracted or not).
fn revokes_transitively<R: Recorded>(
    view: &R,
    from: &ActId,
    to: &ActId,
) -> Result<bool, BatchError<R::Error>> {
    let mut seen: HashSet<ActId> = HashSet::new();
    let mut stack = vec![from.clone()];
    while let Some(act) = stack.pop() {
        if &act == to {
            return Ok(true);
        }
        if !seen.insert(act.clone()) {
            continue;
        }
        for seq in view.events_of_act(&act).map_err(BatchError::Ledger)? {
            if let Event::ActRevoked(r) = view.event(seq).map_err(BatchError::Ledger)? {
                stack.push(r.revokes);
            }
        }
    }
    Ok(false)
}
