//! The page of an act: whether it is revoked, and every event that names it (its own, the
//! revocations of it and the retractions of those) with its position, type and status and a
//! line saying what it records, each office it names linked to the office's page. The bars of
//! `serve`'s timelines link here.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use actledger_core::{ActRecord, Event, OfficeId, Status};

use crate::{Links, act_link, escape, office_link};

/// The body of an act's page: its title, whether it is revoked, where it was published, and
/// every event that names it, by position. `serve`'s page (a static mirror has no act pages).
pub fn act_body(record: &ActRecord, known: &BTreeSet<OfficeId>) -> String {
    let id = escape(record.act.as_str());
    let issued = record.events.iter().find_map(|e| match &e.event {
        Event::ActIssued(issued) if issued.act == record.act && e.status != Status::Retracted => {
            Some(issued)
        }
        _ => None,
    });
    let mut body = format!("<h1>Act {id}");
    if let Some(title) = issued.and_then(|i| i.title.as_deref()) {
        let _ = write!(body, " <small>{}</small>", escape(title));
    }
    body.push_str("</h1>");
    let standing = if record.revoked {
        "<p class=\"answer\" id=\"standing\" data-revoked=\"true\"><strong>Revoked</strong>: an act in force revokes it, so none of its events counts.</p>"
    } else {
        "<p class=\"answer\" id=\"standing\" data-revoked=\"false\">Not revoked.</p>"
    };
    body.push_str(standing);
    if let Some(url) = issued
        .and_then(|i| i.url.as_deref())
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    {
        let _ = write!(
            body,
            "<p>Published at <a href=\"{0}\" rel=\"noopener noreferrer\">{0}</a></p>",
            escape(url)
        );
    }
    let _ = write!(
        body,
        "<table id=\"events\"><caption>Every event that names {id}, by position</caption><thead><tr><th scope=\"col\">Position</th><th scope=\"col\">Type</th><th scope=\"col\">Status</th><th scope=\"col\">What</th></tr></thead><tbody>"
    );
    for e in &record.events {
        let (status, class) = match e.status {
            Status::InForce => ("in force", "in_force"),
            Status::Retracted => ("retracted", "retracted"),
            Status::Void => ("void", "void"),
        };
        let _ = write!(
            body,
            "<tr data-seq=\"{seq}\" data-status=\"{class}\"><td>{seq}</td><td>{}</td><td>{status}</td><td>{}</td></tr>",
            e.event.type_name(),
            summary(&e.event, known),
            seq = e.seq,
        );
    }
    let _ = write!(
        body,
        "</tbody></table><p>The same as JSON: <a href=\"/api/v1/acts/{id}\">/api/v1/acts/{id}</a></p>"
    );
    body
}

/// What an event records, in a line, each known office linked to its page.
fn summary(event: &Event, known: &BTreeSet<OfficeId>) -> String {
    let office = |o: &OfficeId| {
        if known.contains(o) {
            office_link(o.as_str(), Links::Server)
        } else {
            escape(o.as_str())
        }
    };
    let who = |id: &str, name: Option<&str>| escape(name.unwrap_or(id));
    match event {
        Event::ActIssued(e) => {
            let published = e
                .published_on
                .map(|d| format!(", published {d}"))
                .unwrap_or_default();
            format!(
                "{} issued by {} on {}{published}",
                escape(&e.kind),
                office(&e.issuer),
                e.issued_on
            )
        }
        Event::Appointed(e) => format!(
            "{} titular of {} from {}",
            who(e.person.as_str(), e.person_name.as_deref()),
            office(&e.office),
            e.on
        ),
        Event::LeftOffice(e) => format!(
            "{} leaves {} on {}{}",
            who(e.person.as_str(), None),
            office(&e.office),
            e.on,
            e.reason
                .as_deref()
                .map(|r| format!(" ({})", escape(r)))
                .unwrap_or_default()
        ),
        Event::TripAuthorized(e) => format!(
            "{} of {} away {} – {}{}",
            who(e.person.as_str(), None),
            office(&e.office),
            e.from,
            e.until,
            e.destination
                .as_deref()
                .map(|d| format!(", {}", escape(d)))
                .unwrap_or_default()
        ),
        Event::LeaveGranted(e) => format!(
            "{} of {} on leave {} – {}{}",
            who(e.person.as_str(), None),
            office(&e.office),
            e.from,
            e.until,
            e.reason
                .as_deref()
                .map(|r| format!(", {}", escape(r)))
                .unwrap_or_default()
        ),
        Event::DutiesDelegated(e) => format!(
            "{}{} in charge of {} from {}{}",
            who(e.delegate.as_str(), e.delegate_name.as_deref()),
            e.delegate_office
                .as_ref()
                .map(|o| format!(" ({})", office(o)))
                .unwrap_or_default(),
            office(&e.office),
            e.from,
            e.until
                .map(|u| format!(" until {u}"))
                .unwrap_or_else(|| " for the absence".into())
        ),
        Event::ActRevoked(e) => format!(
            "{} revokes {}{}",
            act_link(e.act.as_str(), Links::Server),
            act_link(e.revokes.as_str(), Links::Server),
            e.reason
                .as_deref()
                .map(|r| format!(" ({})", escape(r)))
                .unwrap_or_default()
        ),
        Event::RecordRetracted(e) => {
            format!("entry {} retracted: {}", e.seq, escape(&e.reason))
        }
    }
}
