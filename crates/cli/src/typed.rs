//! `actledger append TYPE --flag ...`: one event from flags, for people at a terminal.
//!
//! The flags are named after the spec's fields and build the core's own event types, whose
//! canonical bytes then take the path of any input (every check of the parser and of
//! validation applies). The conversion names every field of both sides, with no `..`: a field
//! added to a core event type breaks the build here until it has its flag.

use actledger_core::{
    ActIssued, ActRevoked, Appointed, DutiesDelegated, Event, FieldError, InvalidEvent,
    LeaveGranted, LeftOffice, RecordRetracted, TripAuthorized, parse_field,
};
use clap::Subcommand;

/// One event from flags, for people at a terminal.
#[derive(Debug, Subcommand)]
pub enum TypedEvent {
    /// act_issued: a legal act exists
    #[command(name = "act", visible_alias = "act-issued")]
    ActIssued {
        /// The act, e.g. RS-131-2024-PCM (an identifier: letters, digits, - _ .)
        #[arg(long)]
        act: String,
        /// e.g. resolucion_suprema, decreto_supremo, ley
        #[arg(long)]
        kind: String,
        /// Who issued it, e.g. PCM
        #[arg(long)]
        issuer: String,
        /// The day it was issued, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        issued_on: String,
        /// The day it was published in the official gazette, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        published_on: Option<String>,
        /// Its title, as published
        #[arg(long)]
        title: Option<String>,
        /// Where its text can be read
        #[arg(long)]
        url: Option<String>,
    },
    /// appointed: PERSON is titular of OFFICE from day ON
    Appointed {
        /// The act of the appointment (issued before, by `append act`)
        #[arg(long)]
        act: String,
        /// Who is appointed: a person id, e.g. walter-astudillo
        #[arg(long)]
        person: String,
        /// The office, e.g. MINDEF
        #[arg(long)]
        office: String,
        /// The first day in office, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        on: String,
        /// The person's name as the act gives it
        #[arg(long)]
        person_name: Option<String>,
        /// The office's name as the act gives it
        #[arg(long)]
        office_name: Option<String>,
    },
    /// left_office: PERSON is no longer titular of OFFICE from day ON
    #[command(name = "left", visible_alias = "left-office")]
    LeftOffice {
        /// The act that ends the tenure
        #[arg(long)]
        act: String,
        /// Who leaves: a person id
        #[arg(long)]
        person: String,
        /// The office they leave
        #[arg(long)]
        office: String,
        /// The first day no longer in office, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        on: String,
        /// Why, as the act says (resignation, dismissal...)
        #[arg(long)]
        reason: Option<String>,
    },
    /// trip_authorized: PERSON, titular of OFFICE, may be away FROM..UNTIL
    #[command(name = "trip", visible_alias = "trip-authorized")]
    TripAuthorized {
        /// The act authorizing the trip
        #[arg(long)]
        act: String,
        /// Who travels: the titular of OFFICE
        #[arg(long)]
        person: String,
        /// The office the traveller holds
        #[arg(long)]
        office: String,
        /// The first day away, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        from: String,
        /// The last day away, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        until: String,
        /// Where to, e.g. "Miami, Florida, United States"
        #[arg(long)]
        destination: Option<String>,
        /// What for, as the act says
        #[arg(long)]
        purpose: Option<String>,
    },
    /// leave_granted: PERSON, titular of OFFICE, is on leave FROM..UNTIL
    #[command(name = "leave", visible_alias = "leave-granted")]
    LeaveGranted {
        /// The act granting the leave ("licencia", "vacaciones")
        #[arg(long)]
        act: String,
        /// Who is on leave: the titular of OFFICE
        #[arg(long)]
        person: String,
        /// The office they hold
        #[arg(long)]
        office: String,
        /// The first day on leave, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        from: String,
        /// The last day on leave, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        until: String,
        /// Why, as the act says (licencia por salud, vacaciones...)
        #[arg(long)]
        reason: Option<String>,
    },
    /// duties_delegated: DELEGATE is in charge of OFFICE FROM..UNTIL (or for the act's absence)
    #[command(name = "delegated", visible_alias = "duties-delegated")]
    DutiesDelegated {
        /// The act putting DELEGATE in charge ("encarga el Despacho")
        #[arg(long)]
        act: String,
        /// The office left in charge of DELEGATE
        #[arg(long)]
        office: String,
        /// Who is in charge: a person id
        #[arg(long)]
        delegate: String,
        /// The first day in charge, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        from: String,
        /// The last day in charge, YYYY-MM-DD (default: the end of the act's trip or leave)
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// The delegate's name as the act gives it
        #[arg(long)]
        delegate_name: Option<String>,
        /// The office the delegate holds as titular, e.g. MEF
        #[arg(long)]
        delegate_office: Option<String>,
    },
    /// act_revoked: ACT revokes act REVOKES ("deja sin efecto")
    #[command(name = "revoked", visible_alias = "act-revoked")]
    ActRevoked {
        /// The act that revokes (issued before, by `append act`)
        #[arg(long)]
        act: String,
        /// The act it revokes, deja sin efecto
        #[arg(long)]
        revokes: String,
        /// Why, as the act says
        #[arg(long)]
        reason: Option<String>,
    },
    /// record_retracted: the entry at SEQ was recorded in error (a clerical correction)
    #[command(name = "retracted", visible_alias = "record-retracted")]
    RecordRetracted {
        /// The position of the entry recorded in error
        #[arg(long)]
        seq: u64,
        /// Why it is retracted: the clerical error
        #[arg(long)]
        reason: String,
    },
}

impl TypedEvent {
    /// The event the flags describe: identifiers and days are read as the parser reads them,
    /// failing with its messages (on line 1, where the event would be in a file).
    pub fn to_event(&self) -> Result<Event, InvalidEvent> {
        self.build().map_err(|e| e.at_line(1))
    }

    /// The event's canonical JSON, written by the core: the bytes a user would have written
    /// in a file, so the event takes the same path as any input.
    pub fn to_json(&self) -> Result<Vec<u8>, InvalidEvent> {
        self.to_event().map(|event| event.canonical_bytes())
    }

    fn build(&self) -> Result<Event, FieldError> {
        let event = match self {
            TypedEvent::ActIssued {
                act,
                kind,
                issuer,
                issued_on,
                published_on,
                title,
                url,
            } => Event::ActIssued(ActIssued {
                act: parse_field("act", act)?,
                kind: kind.clone(),
                issuer: parse_field("issuer", issuer)?,
                issued_on: parse_field("issued_on", issued_on)?,
                published_on: optional("published_on", published_on)?,
                title: title.clone(),
                url: url.clone(),
            }),
            TypedEvent::Appointed {
                act,
                person,
                office,
                on,
                person_name,
                office_name,
            } => Event::Appointed(Appointed {
                act: parse_field("act", act)?,
                person: parse_field("person", person)?,
                office: parse_field("office", office)?,
                on: parse_field("on", on)?,
                person_name: person_name.clone(),
                office_name: office_name.clone(),
            }),
            TypedEvent::LeftOffice {
                act,
                person,
                office,
                on,
                reason,
            } => Event::LeftOffice(LeftOffice {
                act: parse_field("act", act)?,
                person: parse_field("person", person)?,
                office: parse_field("office", office)?,
                on: parse_field("on", on)?,
                reason: reason.clone(),
            }),
            TypedEvent::TripAuthorized {
                act,
                person,
                office,
                from,
                until,
                destination,
                purpose,
            } => Event::TripAuthorized(TripAuthorized {
                act: parse_field("act", act)?,
                person: parse_field("person", person)?,
                office: parse_field("office", office)?,
                from: parse_field("from", from)?,
                until: parse_field("until", until)?,
                destination: destination.clone(),
                purpose: purpose.clone(),
            }),
            TypedEvent::LeaveGranted {
                act,
                person,
                office,
                from,
                until,
                reason,
            } => Event::LeaveGranted(LeaveGranted {
                act: parse_field("act", act)?,
                person: parse_field("person", person)?,
                office: parse_field("office", office)?,
                from: parse_field("from", from)?,
                until: parse_field("until", until)?,
                reason: reason.clone(),
            }),
            TypedEvent::DutiesDelegated {
                act,
                office,
                delegate,
                from,
                until,
                delegate_name,
                delegate_office,
            } => Event::DutiesDelegated(DutiesDelegated {
                act: parse_field("act", act)?,
                office: parse_field("office", office)?,
                delegate: parse_field("delegate", delegate)?,
                from: parse_field("from", from)?,
                until: optional("until", until)?,
                delegate_name: delegate_name.clone(),
                delegate_office: optional("delegate_office", delegate_office)?,
            }),
            TypedEvent::ActRevoked {
                act,
                revokes,
                reason,
            } => Event::ActRevoked(ActRevoked {
                act: parse_field("act", act)?,
                revokes: parse_field("revokes", revokes)?,
                reason: reason.clone(),
            }),
            TypedEvent::RecordRetracted { seq, reason } => {
                Event::RecordRetracted(RecordRetracted {
                    seq: *seq,
                    reason: reason.clone(),
                })
            }
        };
        Ok(event)
    }
}

/// An optional flag read as [`parse_field`] reads a present one.
fn optional<T>(name: &str, text: &Option<String>) -> Result<Option<T>, FieldError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    text.as_deref()
        .map(|text| parse_field(name, text))
        .transpose()
}
