//! Which recorded events replay uses "as of" a position: not retracted (rule 6) and not voided
//! by a revocation (rule 5). Retractions are resolved first, so a retracted `act_revoked`
//! revokes nothing.
//!
//! Both relations can form long chains (a retraction of a retraction of ...), so they are
//! evaluated with an explicit stack, never by recursion: no input can overflow the stack.

use std::collections::HashMap;

use crate::event::{Event, Seq};
use crate::id::ActId;
use crate::recorded::Recorded;

/// Memoized answers to "is this event in force as of `as_of`".
#[derive(Debug)]
pub struct Liveness<'a, R> {
    ledger: &'a R,
    as_of: Seq,
    retracted: HashMap<Seq, bool>,
    void: HashMap<ActId, bool>,
}

impl<'a, R: Recorded> Liveness<'a, R> {
    /// Answers as of position `as_of` (events after it do not exist yet).
    pub fn new(ledger: &'a R, as_of: Seq) -> Self {
        Liveness {
            ledger,
            as_of,
            retracted: HashMap::new(),
            void: HashMap::new(),
        }
    }

    /// The position the answers are as of.
    pub fn as_of(&self) -> Seq {
        self.as_of
    }

    fn retractors(&self, seq: Seq) -> Result<Vec<Seq>, R::Error> {
        let mut list = self.ledger.retractions_of(seq)?;
        list.retain(|r| *r <= self.as_of);
        Ok(list)
    }

    /// Whether the event at `seq` is retracted by a retraction that is itself in force.
    pub fn is_retracted(&mut self, seq: Seq) -> Result<bool, R::Error> {
        if let Some(known) = self.retracted.get(&seq) {
            return Ok(*known);
        }
        // Retractions always name a lower position, so this walk only climbs and ends.
        let mut stack = vec![(seq, self.retractors(seq)?)];
        while let Some((top, retractors)) = stack.last() {
            let top = *top;
            if let Some(next) = retractors.iter().find(|r| !self.retracted.contains_key(r)) {
                let next = *next;
                let list = self.retractors(next)?;
                stack.push((next, list));
                continue;
            }
            let answer = retractors.iter().any(|r| !self.retracted[r]);
            self.retracted.insert(top, answer);
            stack.pop();
        }
        Ok(self.retracted[&seq])
    }

    /// Whether `act` is revoked by an act that is itself in force.
    pub fn is_void(&mut self, act: &ActId) -> Result<bool, R::Error> {
        if let Some(known) = self.void.get(act) {
            return Ok(*known);
        }
        // Each frame: an act and the acts of the live revocations against it.
        let mut stack = vec![(act.clone(), self.live_revokers(act)?)];
        let mut on_stack: std::collections::HashSet<ActId> = [act.clone()].into();
        while let Some((top, revokers)) = stack.last() {
            let pending = revokers
                .iter()
                .find(|r| !self.void.contains_key(*r) && !on_stack.contains(*r))
                .cloned();
            if let Some(next) = pending {
                let list = self.live_revokers(&next)?;
                on_stack.insert(next.clone());
                stack.push((next, list));
                continue;
            }
            // Validation refuses cycles; should one appear anyway, an act on the stack counts
            // as not void, so the walk still ends.
            let answer = revokers
                .iter()
                .any(|r| !self.void.get(r).copied().unwrap_or(false));
            let top = top.clone();
            on_stack.remove(&top);
            self.void.insert(top, answer);
            stack.pop();
        }
        Ok(self.void[act])
    }

    /// The acts of the unretracted `act_revoked` events against `act`, as of `as_of`.
    fn live_revokers(&mut self, act: &ActId) -> Result<Vec<ActId>, R::Error> {
        let mut acts = Vec::new();
        for seq in self.ledger.revocations_of(act)? {
            if seq > self.as_of || self.is_retracted(seq)? {
                continue;
            }
            if let Event::ActRevoked(r) = self.ledger.event(seq)? {
                acts.push(r.act);
            }
        }
        Ok(acts)
    }

    /// Whether the event at `seq` takes part in replay: recorded by `as_of`, not retracted,
    /// and (for an event with a basis act) not voided by a revocation.
    pub fn is_live(&mut self, seq: Seq, event: &Event) -> Result<bool, R::Error> {
        if seq > self.as_of || self.is_retracted(seq)? {
            return Ok(false);
        }
        match event {
            Event::RecordRetracted(_) => Ok(true),
            _ => match event.act() {
                Some(act) => Ok(!self.is_void(act)?),
                None => Ok(true),
            },
        }
    }
}
