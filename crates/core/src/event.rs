//! The event types of the spec, one struct per `type`, and their canonical bytes.
//!
//! Events are built only by [`crate::parse`] (strict) or by code that already holds valid
//! values; serialization is canonical: `type` first, then the fields in the spec's order,
//! optional fields omitted when absent, compact JSON. Two events are identical exactly when
//! their canonical bytes are.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::day::Day;
use crate::id::{ActId, OfficeId, PersonId};

/// A position in the ledger: the first event recorded is 1, the next 2, with no gaps.
pub type Seq = u64;

/// The largest event, in bytes of JSON, that the ledger accepts: 65,000, so that every export
/// line (the canonical JSON, never longer than the text it was parsed from) fits the 16-bit
/// length of a C2SP tlog-tiles entry bundle. Ledgers written before this cap may hold events
/// of up to 64 KiB (`MAX_STORED_EVENT_BYTES`).
pub const MAX_EVENT_BYTES: usize = 65_000;

/// The largest event a stored entry may hold: the cap before it was lowered to
/// [`MAX_EVENT_BYTES`], so that ledgers written then still read.
pub const MAX_STORED_EVENT_BYTES: usize = 64 * 1024;

/// `act_issued`: a legal act exists, e.g. act `RS-131-2024-PCM`, kind `resolucion_suprema`,
/// issuer `PCM`. Every other event but `record_retracted` names an act issued before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActIssued {
    /// The act's identifier, e.g. `RS-131-2024-PCM`. Issuing it again with other content is
    /// refused.
    pub act: ActId,
    /// What sort of act: free text from the jurisdiction's vocabulary, e.g. `ley`,
    /// `decreto_supremo`, `resolucion_suprema`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub kind: String,
    /// Who issued it, e.g. `PCM`.
    pub issuer: OfficeId,
    /// The day it was issued.
    pub issued_on: Day,
    /// The day it was published in the official gazette, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub published_on: Option<Day>,
    /// Its title, as published.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub title: Option<String>,
    /// Where its text can be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub url: Option<String>,
}

/// `appointed`: `person` is the titular holder of `office` from day `on` (until a
/// `left_office` or the next appointment to the office).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Appointed {
    /// The act that appoints: its legal basis.
    pub act: ActId,
    /// Who is appointed.
    pub person: PersonId,
    /// The office they are appointed to.
    pub office: OfficeId,
    /// The first day in office.
    pub on: Day,
    /// The person's name as the act gives it, e.g. `Walter Astudillo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub person_name: Option<String>,
    /// The office's name as the act gives it, e.g. `Ministerio de Defensa`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub office_name: Option<String>,
}

/// `left_office`: `person` is no longer titular of `office` from day `on` (resignation,
/// dismissal, death...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeftOffice {
    /// The act that records the departure: its legal basis.
    pub act: ActId,
    /// Who leaves.
    pub person: PersonId,
    /// The office they leave.
    pub office: OfficeId,
    /// The first day without the office.
    pub on: Day,
    /// Why: resignation, dismissal, death...
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub reason: Option<String>,
}

/// `trip_authorized`: `person`, titular of `office`, is authorized to be away on days `from`
/// to `until` (both included); the office is then held by whoever a `duties_delegated` puts
/// in charge, or is unattended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TripAuthorized {
    /// The act that authorizes the trip: its legal basis.
    pub act: ActId,
    /// Who travels.
    pub person: PersonId,
    /// The office they hold and leave behind.
    pub office: OfficeId,
    /// The first day away.
    pub from: Day,
    /// The last day away, not before `from`.
    pub until: Day,
    /// Where to, e.g. `Miami, Florida, United States`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub destination: Option<String>,
    /// What for.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub purpose: Option<String>,
}

/// `leave_granted`: `person`, titular of `office`, is on authorized leave (licencia,
/// vacaciones, illness) on days `from` to `until` (both included). For replay a leave is an
/// absence exactly like a trip; only what it is called differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaveGranted {
    /// The act that grants the leave: its legal basis.
    pub act: ActId,
    /// Who is on leave.
    pub person: PersonId,
    /// The office they hold and leave behind.
    pub office: OfficeId,
    /// The first day on leave.
    pub from: Day,
    /// The last day on leave, not before `from`.
    pub until: Day,
    /// Why, e.g. `licencia por salud` or `vacaciones`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub reason: Option<String>,
}

/// `duties_delegated`: `delegate` is in charge of `office` (acting, "encargado del
/// despacho") on days `from` to `until` (both included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DutiesDelegated {
    /// The act that delegates: its legal basis.
    pub act: ActId,
    /// The office whose duties are delegated.
    pub office: OfficeId,
    /// Who is put in charge.
    pub delegate: PersonId,
    /// The first day in charge.
    pub from: Day,
    /// The last day in charge, not before `from`. Without it ("while the titular is away"),
    /// the delegation ends with the last absence of the same act and office recorded before
    /// it; an act that authorizes no such absence is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub until: Option<Day>,
    /// The delegate's name as the act gives it, e.g. `José Arista Arbildo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub delegate_name: Option<String>,
    /// The office the delegate holds, e.g. `MEF`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub delegate_office: Option<OfficeId>,
}

/// `act_revoked`: act `act` revokes ("deja sin efecto") act `revokes`, whose every effect is
/// void. Revoking a revocation restores what it revoked; a cycle of revocations is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActRevoked {
    /// The revoking act.
    pub act: ActId,
    /// The act it revokes, issued before.
    pub revokes: ActId,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub reason: Option<String>,
}

/// `record_retracted`: a clerical correction, not a legal act. The event recorded at
/// position `seq` was recorded in error and is ignored by replay; retracting a retraction
/// restores the event. Nothing recorded is ever changed or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordRetracted {
    /// The position of the event recorded in error: lower than this event's own.
    #[cfg_attr(feature = "openapi", schema(value_type = u64, minimum = 1))]
    pub seq: Seq,
    /// Why, e.g. `wrong dates`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub reason: String,
}

/// One event: a government act or a clerical correction, as a user writes it and as the
/// ledger records it. `type` names the kind of event; unknown fields are refused, `null` is
/// never a value (omit the field), and one event's JSON is at most 65,000 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A legal act exists.
    ActIssued(ActIssued),
    /// A person becomes titular of an office.
    Appointed(Appointed),
    /// A person is no longer titular of an office.
    LeftOffice(LeftOffice),
    /// A titular may be away.
    TripAuthorized(TripAuthorized),
    /// A titular is on leave.
    LeaveGranted(LeaveGranted),
    /// Someone is put in charge of an office.
    DutiesDelegated(DutiesDelegated),
    /// An act revokes another.
    ActRevoked(ActRevoked),
    /// An event was recorded in error.
    RecordRetracted(RecordRetracted),
}

/// The SHA-256 of an event's canonical bytes: what "identical events" compares.
pub type EventDigest = [u8; 32];

impl Event {
    /// The value of `type` for this event.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::ActIssued(_) => "act_issued",
            Event::Appointed(_) => "appointed",
            Event::LeftOffice(_) => "left_office",
            Event::TripAuthorized(_) => "trip_authorized",
            Event::LeaveGranted(_) => "leave_granted",
            Event::DutiesDelegated(_) => "duties_delegated",
            Event::ActRevoked(_) => "act_revoked",
            Event::RecordRetracted(_) => "record_retracted",
        }
    }

    /// The `act` field: the act issued for `act_issued`, the basis act for the others,
    /// `None` for a `record_retracted`.
    pub fn act(&self) -> Option<&ActId> {
        match self {
            Event::ActIssued(e) => Some(&e.act),
            Event::Appointed(e) => Some(&e.act),
            Event::LeftOffice(e) => Some(&e.act),
            Event::TripAuthorized(e) => Some(&e.act),
            Event::LeaveGranted(e) => Some(&e.act),
            Event::DutiesDelegated(e) => Some(&e.act),
            Event::ActRevoked(e) => Some(&e.act),
            Event::RecordRetracted(_) => None,
        }
    }

    /// The office whose timeline this event shapes, if any.
    pub fn office(&self) -> Option<&OfficeId> {
        match self {
            Event::Appointed(e) => Some(&e.office),
            Event::LeftOffice(e) => Some(&e.office),
            Event::TripAuthorized(e) => Some(&e.office),
            Event::LeaveGranted(e) => Some(&e.office),
            Event::DutiesDelegated(e) => Some(&e.office),
            _ => None,
        }
    }

    /// Every office this event names (`office` and `delegate_office`): the known offices.
    pub fn named_offices(&self) -> impl Iterator<Item = &OfficeId> {
        let delegate_office = match self {
            Event::DutiesDelegated(e) => e.delegate_office.as_ref(),
            _ => None,
        };
        self.office().into_iter().chain(delegate_office)
    }

    /// The person this event is about (`person` or `delegate`), if any.
    pub fn person(&self) -> Option<&PersonId> {
        match self {
            Event::Appointed(e) => Some(&e.person),
            Event::LeftOffice(e) => Some(&e.person),
            Event::TripAuthorized(e) => Some(&e.person),
            Event::LeaveGranted(e) => Some(&e.person),
            Event::DutiesDelegated(e) => Some(&e.delegate),
            _ => None,
        }
    }

    /// The name this event gives its person (`person_name` or `delegate_name`), if any.
    pub fn person_name(&self) -> Option<&str> {
        match self {
            Event::Appointed(e) => e.person_name.as_deref(),
            Event::DutiesDelegated(e) => e.delegate_name.as_deref(),
            _ => None,
        }
    }

    /// The canonical JSON bytes: what the ledger hashes, stores and exports.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(256);
        self.write_canonical_bytes(&mut bytes);
        bytes
    }

    /// Appends the canonical bytes to `out`: for writers of many events, which reuse one
    /// buffer.
    pub fn write_canonical_bytes(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(out, self)
            .expect("an event always serializes: plain strings, numbers and days")
    }

    /// Whether `bytes` are exactly the canonical bytes: verify and import ask it of every
    /// stored event, so the bytes are written into a buffer kept by the thread, not a new one.
    pub fn has_canonical_bytes(&self, bytes: &[u8]) -> bool {
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        SCRATCH.with_borrow_mut(|scratch| {
            scratch.clear();
            serde_json::to_writer(&mut *scratch, self).is_ok() && scratch.as_slice() == bytes
        })
    }

    /// The digest of the canonical bytes.
    pub fn digest(&self) -> EventDigest {
        Sha256::digest(self.canonical_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use crate::parse_event;

    #[test]
    fn only_the_canonical_bytes_are_canonical() {
        let inputs: [&str; 3] = [
            r#"{"type":"act_issued","act":"RS-131-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-05-31","title":"Autorizan viaje \"oficial\" a Miami"}"#,
            r#"{"type":"duties_delegated","act":"RS-131-2024-PCM","office":"MINDEF","delegate":"jose-arista","from":"2024-06-02","until":"2024-06-04","delegate_name":"José Arista Arbildo"}"#,
            r#"{"type":"record_retracted","seq":12,"reason":"duplicado"}"#,
        ];
        for input in inputs {
            let event = parse_event(input.as_bytes()).unwrap();
            let canonical = event.canonical_bytes();
            assert!(event.has_canonical_bytes(&canonical));
            for cut in 0..canonical.len() {
                assert!(
                    !event.has_canonical_bytes(&canonical[..cut]),
                    "cut at {cut}"
                );
            }
            let mut longer = canonical.clone();
            longer.push(b' ');
            assert!(!event.has_canonical_bytes(&longer));
            for at in 0..canonical.len() {
                let mut changed = canonical.clone();
                changed[at] ^= 0x01;
                assert!(!event.has_canonical_bytes(&changed), "byte {at} changed");
            }
        }
    }
}
