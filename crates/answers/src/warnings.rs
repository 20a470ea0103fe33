//! What a clerk is warned of before a batch is recorded: an office or person id never recorded
//! that is close to a known one (a typo that would silently make a new office), and the
//! anomalies of `audit` the batch adds. Warnings never change what is recorded, except with
//! `--strict`, which refuses a batch that has any.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use actledger_core::{
    ActId, Anomaly, BatchError, ChangedDays, Day, Delegation, Event, Indexed, InputEvent, Liveness,
    OfficeId, Pending, PersonId, Recorded, Seq, Timeline, ValidBatch, WithPending,
    affected_offices, anomalies_of_offices, closest, every_office_anomalies, fold, name_of,
    office_name, revoked_twice_at, revoked_twice_of, sort_anomalies, validate_batch,
};
use actledger_store::{AppendError, Ledger, PartCheck, StoreError};
use serde::Serialize;

use crate::appended::{AppendAnswer, AppendOutcomes};
use crate::error::AnswerError;

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
    CloseIds::new(ledger)?.check(ledger, batch)
}

/// The ids known before a batch, and those the batch named so far: a batch written in parts
/// is checked part by part against the ledger as it was before the batch, as a batch written
/// whole is (a new id is compared with the ids known then, never with the batch's own).
struct CloseIds {
    /// The head before the batch.
    head: Seq,
    known_offices: BTreeSet<OfficeId>,
    /// The known offices and persons with their names, read when first needed.
    offices: Option<Vec<(String, Option<String>)>>,
    persons: Option<Vec<(String, Option<String>)>>,
    seen_offices: BTreeSet<OfficeId>,
    seen_persons: BTreeSet<PersonId>,
}

impl CloseIds {
    /// Before a batch is written to `ledger`.
    fn new(ledger: &Ledger) -> Result<CloseIds, AnswerError> {
        Ok(CloseIds {
            head: ledger.head().count,
            known_offices: ledger.offices()?.into_iter().collect(),
            offices: None,
            persons: None,
            seen_offices: BTreeSet::new(),
            seen_persons: BTreeSet::new(),
        })
    }

    /// The warnings of `batch` (the batch, or its next part: `ledger` holds the parts before).
    fn check(
        &mut self,
        ledger: &Ledger,
        batch: &[InputEvent],
    ) -> Result<Vec<Warning>, AnswerError> {
        let head = self.head;
        let mut warnings = Vec::new();
        for input in batch {
            let event = &input.event;
            let (office_field, office_name_given) = match event {
                Event::Appointed(e) => (Some(("office", &e.office)), e.office_name.as_deref()),
                _ => (event.office().map(|o| ("office", o)), None),
            };
            let delegate_office = match event {
                Event::DutiesDelegated(e) => {
                    e.delegate_office.as_ref().map(|o| ("delegate_office", o))
                }
                _ => None,
            };
            for (field, office) in office_field.into_iter().chain(delegate_office) {
                if self.known_offices.contains(office) || !self.seen_offices.insert(office.clone())
                {
                    continue;
                }
                let known = match &mut self.offices {
                    Some(known) => known,
                    none => {
                        let mut live = Liveness::new(ledger, head);
                        let mut named = Vec::new();
                        for id in &self.known_offices {
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
                // Each person once per batch: its postings are read at most once. A person the
                // parts before named has postings: named earlier in the batch, so not warned of.
                if !self.seen_persons.insert(person.clone())
                    || !ledger.person_events(person)?.is_empty()
                {
                    continue;
                }
                let known = match &mut self.persons {
                    Some(known) => known,
                    none => {
                        // Before any part of the batch is written, the names the store keeps
                        // at the head are the names then, read in one pass: a name read from
                        // the log for each of tens of thousands of persons took over a second.
                        let kept = if ledger.head().count == head {
                            Some(ledger.stored_names()?)
                        } else {
                            None
                        };
                        let mut named = Vec::new();
                        for id in ledger.persons()? {
                            // Known before the batch: named by an entry up to its head.
                            if ledger.head().count > head
                                && ledger
                                    .person_events(&id)?
                                    .first()
                                    .is_none_or(|seq| *seq > head)
                            {
                                continue;
                            }
                            let name = match &kept {
                                Some(kept) => kept.get(&id).cloned(),
                                None => name_of(ledger, &id, head)?,
                            };
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
    // A set: an office with a long history has thousands of anomalies before and after, and
    // searching the list for each one took most of a one-act append at 1,000,000 events.
    let before: std::collections::HashSet<&Anomaly> = before.iter().collect();
    after
        .into_iter()
        .filter(|anomaly| !before.contains(anomaly))
        .map(|anomaly| Warning::Anomaly { anomaly })
        .collect()
}

/// What the ledger was before a batch (or a part of one), for the anomalies it adds: the
/// offices it can change, with their timelines then, and its acts' `act_revoked_twice` then.
///
/// An office's anomalies depend on its timeline and on where the persons in charge of it
/// (its delegates) were titular or travelled. A batch changes the timelines of the offices
/// `affected_offices` names and nothing else, so the anomalies that can change are those of
/// these offices and of the offices where a person whose tenures or trips they changed is a
/// delegate; each is computed from the timelines of these offices and of the offices of
/// their delegates, never from every office's.
///
/// A batch that changes only the days from some day on ([`ChangedDays`]: most batches, a
/// clerk's act dated after the acts before it above all) is compared over the ends of these
/// timelines alone, from a horizon before that day, and only the anomalies those days can
/// change are compared: an office's whole history is read for neither side.
struct Before {
    /// The head before the batch.
    head: Seq,
    acts: BTreeSet<ActId>,
    twice: Vec<Anomaly>,
    timelines: BTreeMap<OfficeId, Option<Timeline>>,
    /// The days the batch can change and the horizon the timelines were read from, when it
    /// changes only the days from some day on.
    window: Option<(ChangedDays, Day)>,
}

/// The office's timeline at the head, or its end from `horizon` when there is one.
fn timeline_from<I: Indexed<Error = StoreError>>(
    ledger: &I,
    office: &OfficeId,
    horizon: Option<Day>,
) -> Result<Option<Timeline>, StoreError> {
    match horizon {
        Some(day) => ledger.head_timeline_since(office, day),
        None => ledger.head_timeline(office),
    }
}

impl Before {
    /// `ledger` before `valid` (whose input events are `batch`) is written.
    fn of(
        ledger: &Ledger,
        batch: &[InputEvent],
        valid: &ValidBatch,
    ) -> Result<Before, AnswerError> {
        let acts = revoked_by(ledger, batch)?;
        let twice = revoked_twice_of(ledger, &acts)?;
        let with = WithPending {
            ledger,
            pending: &valid.new_events,
        };
        let affected = affected_offices(&with, Recorded::head(ledger) + 1..=with.head())?;
        let changed = ChangedDays::of(valid.events());
        let mut timelines = BTreeMap::new();
        for office in affected {
            let timeline = timeline_from(ledger, &office, changed.map(|c| c.read_from()))?;
            timelines.insert(office, timeline);
        }
        let mut window = None;
        if let Some(changed) = changed {
            let mut horizon = changed.read_from();
            for (office, timeline) in &timelines {
                if let Some(t) = timeline {
                    horizon = horizon.min(changed.horizon(ledger, office, t)?);
                }
            }
            if horizon < changed.read_from() {
                for (office, timeline) in &mut timelines {
                    *timeline = ledger.head_timeline_since(office, horizon)?;
                }
            }
            window = Some((changed, horizon));
        }
        Ok(Before {
            head: Recorded::head(ledger),
            acts,
            twice,
            timelines,
            window,
        })
    }

    /// The anomalies `after` (the ledger with the batch) has that the ledger before did not.
    fn added<I: Indexed<Error = StoreError>>(self, after: &I) -> Result<Vec<Warning>, AnswerError> {
        let horizon = self.window.map(|(_, h)| h);
        let mut now = BTreeMap::new();
        for office in self.timelines.keys() {
            now.insert(office.clone(), timeline_from(after, office, horizon)?);
        }
        let mut offices: BTreeSet<OfficeId> = self.timelines.keys().cloned().collect();
        let mut persons = PersonOffices::default();
        // A batch that changes a good share of the offices is compared over every office:
        // reading every event of the persons it concerns would cost more than reading every
        // office's kept timeline.
        let known = after.offices()?;
        let every = offices.len() * EVERY_OFFICE >= known.len();
        // The persons whose own offices are read: those whose tenures or absences the batch
        // changes (the offices they are in charge of are compared, and their anomalies ask
        // where these persons held office and were away, in every office), the delegates of
        // the delegations the batch adds, removes or changes, and those whose days in charge
        // it changes. An unchanged delegation of anyone else reads the same timelines before
        // and after (its delegate's offices are read for both or for neither), so its
        // anomalies are the same on both sides and none of them is added: reading every
        // delegate's offices would cost, for an office with a long history, every event of
        // every person who was ever in charge of it.
        let mut persons_read = BTreeSet::new();
        if every {
            offices.extend(known);
        } else {
            for person in changed_persons(&self.timelines, &now) {
                for (event, office) in persons.events(after, &person)? {
                    if matches!(event, Role::Delegate) {
                        offices.insert(office.clone());
                    }
                }
                persons_read.insert(person);
            }
            persons_read.extend(changed_delegates(&self.timelines, &now));
            persons_read.extend(changed_acting(&self.timelines, &now));
        }
        let mut read: BTreeSet<OfficeId> = offices.clone();
        for person in &persons_read {
            for (_, office) in persons.events(after, person)? {
                read.insert(office.clone());
            }
        }
        // The offices the batch does not change are read once, for both sides.
        let mut unchanged: BTreeMap<&OfficeId, Timeline> = BTreeMap::new();
        for office in read
            .iter()
            .filter(|office| !self.timelines.contains_key(*office))
        {
            if let Some(t) = timeline_from(after, office, horizon)? {
                unchanged.insert(office, t);
            }
        }
        let mut before = self.timelines;
        // The delegations whose `delegate_away` is compared whatever days it ends on.
        let mut watched = BTreeSet::new();
        if let Some((changed, horizon)) = self.window {
            // The offices compared that the batch does not change may need an earlier horizon:
            // then every timeline is read from it, and the ledger before the batch is the
            // ledger after it on the days before the first one read (none of them changed).
            let mut wider = horizon;
            for (office, t) in unchanged.iter().filter(|(o, _)| offices.contains(**o)) {
                wider = wider.min(changed.horizon(after, office, t)?);
            }
            if wider < horizon {
                for (office, t) in &mut unchanged {
                    if let Some(read) = after.head_timeline_since(office, wider)? {
                        *t = read;
                    }
                }
                for (office, t) in &mut now {
                    let read = after.head_timeline_since(office, wider)?;
                    if let (Some(Some(old)), Some(read)) = (before.get_mut(office), &read) {
                        *old = old.clone().widened(read, horizon, self.head);
                    }
                    *t = read;
                }
            }
            for t in (before.values().chain(now.values()).flatten()).chain(unchanged.values()) {
                watched.extend(changed.watched_delegations(t));
            }
        }
        let mut lists = Vec::new();
        for state in [&before, &now] {
            let timelines: Vec<&Timeline> = read
                .iter()
                .filter_map(|office| match state.get(office) {
                    Some(changed) => changed.as_ref(),
                    None => unchanged.get(office),
                })
                .collect();
            let mut found = anomalies_of_offices(&timelines, &offices);
            if let Some((changed, _)) = self.window {
                found.retain(|anomaly| changed.watches(anomaly, &watched));
            }
            lists.push(found);
        }
        let after_list = lists.pop().unwrap_or_default();
        let mut before_list = lists.pop().unwrap_or_default();
        before_list.extend(self.twice);
        let mut after_list = after_list;
        after_list.extend(revoked_twice_of(after, &self.acts)?);
        sort_anomalies(&mut after_list);
        Ok(added_anomalies(&before_list, after_list))
    }
}

/// A batch that changes at least one office in this many is compared over every office.
const EVERY_OFFICE: usize = 8;

/// How a person is named by an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// As the person in charge of a delegation's office.
    Delegate,
    /// As the person an appointment, a departure or a trip is about.
    Person,
}

/// The offices of each person's events, read once per batch.
#[derive(Default)]
struct PersonOffices {
    known: BTreeMap<PersonId, Vec<(Role, OfficeId)>>,
}

impl PersonOffices {
    fn events<I: Indexed<Error = StoreError>>(
        &mut self,
        ledger: &I,
        person: &PersonId,
    ) -> Result<&[(Role, OfficeId)], AnswerError> {
        if !self.known.contains_key(person) {
            let mut offices = Vec::new();
            for seq in ledger.person_events(person)? {
                let event = ledger.event(seq)?;
                let role = match &event {
                    Event::DutiesDelegated(d) if &d.delegate == person => Role::Delegate,
                    _ => Role::Person,
                };
                if let Some(office) = event.office()
                    && !offices.contains(&(role, office.clone()))
                {
                    offices.push((role, office.clone()));
                }
            }
            self.known.insert(person.clone(), offices);
        }
        Ok(self.known.get(person).map_or(&[][..], Vec::as_slice))
    }
}

/// The delegates of the delegations that differ between `before` and `after` (the timelines
/// of the same offices).
fn changed_delegates(
    before: &BTreeMap<OfficeId, Option<Timeline>>,
    after: &BTreeMap<OfficeId, Option<Timeline>>,
) -> BTreeSet<PersonId> {
    // By the position of their event: one delegation per `duties_delegated`.
    fn delegations(t: Option<&Option<Timeline>>) -> BTreeMap<Seq, &Delegation> {
        t.and_then(Option::as_ref)
            .map(|t| t.delegations.iter().map(|d| (d.stint.seq, d)).collect())
            .unwrap_or_default()
    }
    let mut persons = BTreeSet::new();
    for office in before.keys().chain(after.keys()) {
        let old = delegations(before.get(office));
        let new = delegations(after.get(office));
        for (these, those) in [(&old, &new), (&new, &old)] {
            persons.extend(
                these
                    .iter()
                    .filter(|(seq, d)| those.get(*seq) != Some(*d))
                    .map(|(_, d)| d.stint.person.clone()),
            );
        }
    }
    persons
}

/// The persons whose days in charge differ between `before` and `after` (the timelines of the
/// same offices): a delegation can be the same while another one, recorded later and
/// prevailing over it, comes or goes, and who is away while in charge depends on the days.
fn changed_acting(
    before: &BTreeMap<OfficeId, Option<Timeline>>,
    after: &BTreeMap<OfficeId, Option<Timeline>>,
) -> BTreeSet<PersonId> {
    // Each delegation's days in charge, runs of days merged.
    type InCharge<'a> = BTreeMap<(&'a OfficeId, Seq), (&'a PersonId, Vec<(Day, Day)>)>;
    fn in_charge(timelines: &BTreeMap<OfficeId, Option<Timeline>>) -> InCharge<'_> {
        let mut runs: InCharge<'_> = BTreeMap::new();
        for (office, t) in timelines {
            for s in t.iter().flat_map(|t| &t.segments) {
                let Some(acting) = &s.acting else { continue };
                let (_, days) = runs
                    .entry((office, acting.seq))
                    .or_insert((&acting.person, Vec::new()));
                match days.last_mut() {
                    Some(last) if last.1.next() == Some(s.from) => last.1 = s.until,
                    _ => days.push((s.from, s.until)),
                }
            }
        }
        runs
    }
    let (before, after) = (in_charge(before), in_charge(after));
    let mut persons = BTreeSet::new();
    for (these, those) in [(&before, &after), (&after, &before)] {
        for (key, (person, days)) in these {
            if those.get(key).is_none_or(|(_, other)| other != days) {
                persons.insert((*person).clone());
            }
        }
    }
    persons
}

/// The persons whose tenures or absences (trips, leaves) differ between `before` and `after` (the timelines of
/// the same offices).
fn changed_persons(
    before: &BTreeMap<OfficeId, Option<Timeline>>,
    after: &BTreeMap<OfficeId, Option<Timeline>>,
) -> BTreeSet<PersonId> {
    type Facts<'a> = BTreeMap<&'a PersonId, Vec<(&'a OfficeId, u8, Day, Day, Seq)>>;
    fn facts(timelines: &BTreeMap<OfficeId, Option<Timeline>>) -> Facts<'_> {
        let mut facts: Facts<'_> = BTreeMap::new();
        for (office, t) in timelines {
            let Some(t) = t else { continue };
            for x in &t.tenures {
                let fact = (office, 0, x.from, x.until, x.stint.seq);
                facts.entry(&x.stint.person).or_default().push(fact);
            }
            for x in &t.absences {
                let kind = match x.absence.kind {
                    actledger_core::AbsenceKind::Trip => 1,
                    actledger_core::AbsenceKind::Leave => 2,
                };
                let fact = (office, kind, x.from, x.until, x.absence.seq);
                facts.entry(&x.person).or_default().push(fact);
            }
        }
        facts
    }
    let (before, after) = (facts(before), facts(after));
    let persons: BTreeSet<&PersonId> = before.keys().chain(after.keys()).copied().collect();
    persons
        .into_iter()
        .filter(|p| before.get(p) != after.get(p))
        .cloned()
        .collect()
}

/// Every warning about `batch`, computed without writing it (as `append --strict` needs):
/// the batch is validated against the ledger and the anomalies are those of the ledger as it
/// would stand with it.
pub fn warnings_before_writing(
    ledger: &Ledger,
    batch: &[InputEvent],
) -> Result<Vec<Warning>, AnswerError> {
    let valid = validate_batch(ledger, batch.to_vec()).map_err(|e| match e {
        BatchError::Invalid(invalid) => AnswerError::Invalid(invalid),
        BatchError::Ledger(store) => AnswerError::Store(store),
    })?;
    let mut warnings = close_ids(ledger, batch)?;
    let before = Before::of(ledger, batch, &valid)?;
    warnings.extend(before.added(&Pending::new(ledger, &valid)?)?);
    Ok(warnings)
}

/// The clerk at an append: warnings gathered part by part, and `--strict`'s refusal.
struct Clerk {
    strict: bool,
    /// The ids known before the batch (read at its first part).
    ids: Option<CloseIds>,
    warnings: Vec<Warning>,
    /// A batch written whole: the ledger before it, when its anomalies are compared after it.
    before: Option<Before>,
    /// A batch written in parts: the ledger before it, gathered part by part.
    parts: Option<BeforeParts>,
}

/// What a batch written in parts is compared with at its end: every office's anomalies before
/// it (from the timelines kept then, which the parts leave alone), the head then, and the acts
/// whose `act_revoked_twice` its parts can change.
struct BeforeParts {
    head: Seq,
    anomalies: Vec<Anomaly>,
    acts: BTreeSet<ActId>,
}

/// An error of the caller's type, as the store's append carries it.
struct Stop<E>(E);

impl<E: From<AnswerError>> From<AppendError> for Stop<E> {
    fn from(error: AppendError) -> Stop<E> {
        Stop(E::from(AnswerError::from(error)))
    }
}

fn stop<E: From<AnswerError>>(error: AnswerError) -> Stop<E> {
    Stop(E::from(error))
}

impl Clerk {
    /// The refusal of `--strict` when anything was warned of.
    fn refusal(&mut self) -> Result<(), AnswerError> {
        if self.strict && !self.warnings.is_empty() {
            return Err(AnswerError::Refused {
                warnings: std::mem::take(&mut self.warnings),
            });
        }
        Ok(())
    }

    fn before_part(
        &mut self,
        ledger: &Ledger,
        part: &[InputEvent],
        valid: &ValidBatch,
        whole: bool,
    ) -> Result<(), AnswerError> {
        let ids = match &mut self.ids {
            Some(ids) => ids,
            none => none.insert(CloseIds::new(ledger)?),
        };
        self.warnings.extend(ids.check(ledger, part)?);
        if !whole {
            // Compared once, at the end: every office's anomalies before the batch are taken
            // now, while the kept timelines are still those of before it.
            let parts = match &mut self.parts {
                Some(parts) => parts,
                none => none.insert(BeforeParts {
                    head: Recorded::head(ledger),
                    anomalies: every_office_anomalies(ledger)?,
                    acts: BTreeSet::new(),
                }),
            };
            parts.acts.extend(revoked_by(ledger, part)?);
            return Ok(());
        }
        let before = Before::of(ledger, part, valid)?;
        if self.strict {
            // Before anything is written: a refused batch writes nothing.
            let pending = Pending::new(ledger, valid)?;
            self.warnings.extend(before.added(&pending)?);
            return self.refusal();
        }
        // After the batch is written, from the kept timelines: a replay of every office it
        // touches would cost its whole history.
        self.before = Some(before);
        Ok(())
    }

    /// The anomalies a batch written in parts added, `ledger` holding all of it.
    fn finish_parts(&mut self, ledger: &Ledger) -> Result<(), AnswerError> {
        if let Some(parts) = self.parts.take() {
            let mut before = parts.anomalies;
            before.extend(revoked_twice_at(ledger, &parts.acts, parts.head)?);
            let mut after = every_office_anomalies(ledger)?;
            after.extend(revoked_twice_of(ledger, &parts.acts)?);
            sort_anomalies(&mut after);
            self.warnings.extend(added_anomalies(&before, after));
        }
        self.refusal()
    }
}

impl<E: From<AnswerError>> PartCheck<Stop<E>> for Clerk {
    fn before(
        &mut self,
        ledger: &Ledger,
        part: &[InputEvent],
        valid: &ValidBatch,
        whole: bool,
    ) -> Result<(), Stop<E>> {
        self.before_part(ledger, part, valid, whole).map_err(stop)
    }

    fn after(&mut self, ledger: &Ledger) -> Result<(), Stop<E>> {
        if let Some(before) = self.before.take() {
            self.warnings.extend(before.added(ledger).map_err(stop)?);
        }
        Ok(())
    }

    fn finish(&mut self, ledger: &Ledger) -> Result<(), Stop<E>> {
        self.finish_parts(ledger).map_err(stop)
    }
}

/// Appends `batch` atomically, as `append` does from either edge, with the clerk's warnings,
/// and answers with every event held ([`AppendAnswer`]: a batch of bounded size, as the
/// server's are). `strict`: a batch with any warning is refused and nothing is written.
pub fn append(
    ledger: &mut Ledger,
    batch: Vec<InputEvent>,
    strict: bool,
) -> Result<AppendAnswer, AnswerError> {
    append_stream(ledger, batch.into_iter().map(Ok::<_, AnswerError>), strict)?.to_answer()
}

/// [`append`] of the events `events` yields as they are read (a batch of any size, in the
/// store's parts: [`Ledger::append_stream`]), with the same warnings as if it were written
/// whole: new ids are compared with the ids known before the batch, part by part, and the
/// anomalies it adds are those of the ledger after it that were not there before it (for a
/// batch in parts, over every office's kept timelines, once at the end). `strict`: a batch
/// with any warning is refused and nothing of it is left written. An error of `events`
/// refuses the batch too. The answer says what became of each event as it is walked, in
/// memory that does not grow with the batch ([`AppendOutcomes`]).
pub fn append_stream<E: From<AnswerError>>(
    ledger: &mut Ledger,
    events: impl IntoIterator<Item = Result<InputEvent, E>>,
    strict: bool,
) -> Result<AppendOutcomes<'_>, E> {
    let mut clerk = Clerk {
        strict,
        ids: None,
        warnings: Vec::new(),
        before: None,
        parts: None,
    };
    let events = events.into_iter().map(|event| event.map_err(Stop));
    let report = ledger
        .append_stream(events, &mut clerk)
        .map_err(|Stop(e)| e)?;
    Ok(AppendOutcomes::new(ledger, report, clerk.warnings))
}
