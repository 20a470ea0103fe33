//! `append TYPE --flags`: every field of every event type, given as a flag, arrives in the
//! recorded event.
//!
//! [`flags`] names every field of every core event type, with no `..` and no catch-all arm: a
//! field or a type added to the core fails to compile here until it has its flag.

use actledger_core::{
    ActId, ActIssued, ActRevoked, Appointed, Day, DutiesDelegated, Event, LeaveGranted, LeftOffice,
    OfficeId, PersonId, RecordRetracted, TripAuthorized,
};
use predicates::str::contains;

use crate::{Sandbox, stdout_of};

/// The command line `append TYPE --flag value ...` that records `event`.
fn flags(event: &Event) -> Vec<String> {
    let mut args = vec!["append".to_owned()];
    let mut flag = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            args.push(format!("--{}", name.replace('_', "-")));
            args.push(value);
        }
    };
    let subcommand = match event {
        Event::ActIssued(ActIssued {
            act,
            kind,
            issuer,
            issued_on,
            published_on,
            title,
            url,
        }) => {
            flag("act", Some(act.to_string()));
            flag("kind", Some(kind.clone()));
            flag("issuer", Some(issuer.to_string()));
            flag("issued_on", Some(issued_on.to_string()));
            flag("published_on", published_on.map(|d| d.to_string()));
            flag("title", title.clone());
            flag("url", url.clone());
            "act"
        }
        Event::Appointed(Appointed {
            act,
            person,
            office,
            on,
            person_name,
            office_name,
        }) => {
            flag("act", Some(act.to_string()));
            flag("person", Some(person.to_string()));
            flag("office", Some(office.to_string()));
            flag("on", Some(on.to_string()));
            flag("person_name", person_name.clone());
            flag("office_name", office_name.clone());
            "appointed"
        }
        Event::LeftOffice(LeftOffice {
            act,
            person,
            office,
            on,
            reason,
        }) => {
            flag("act", Some(act.to_string()));
            flag("person", Some(person.to_string()));
            flag("office", Some(office.to_string()));
            flag("on", Some(on.to_string()));
            flag("reason", reason.clone());
            "left"
        }
        Event::TripAuthorized(TripAuthorized {
            act,
            person,
            office,
            from,
            until,
            destination,
            purpose,
        }) => {
            flag("act", Some(act.to_string()));
            flag("person", Some(person.to_string()));
            flag("office", Some(office.to_string()));
            flag("from", Some(from.to_string()));
            flag("until", Some(until.to_string()));
            flag("destination", destination.clone());
            flag("purpose", purpose.clone());
            "trip"
        }
        Event::LeaveGranted(LeaveGranted {
            act,
            person,
            office,
            from,
            until,
            reason,
        }) => {
            flag("act", Some(act.to_string()));
            flag("person", Some(person.to_string()));
            flag("office", Some(office.to_string()));
            flag("from", Some(from.to_string()));
            flag("until", Some(until.to_string()));
            flag("reason", reason.clone());
            "leave"
        }
        Event::DutiesDelegated(DutiesDelegated {
            act,
            office,
            delegate,
            from,
            until,
            delegate_name,
            delegate_office,
        }) => {
            flag("act", Some(act.to_string()));
            flag("office", Some(office.to_string()));
            flag("delegate", Some(delegate.to_string()));
            flag("from", Some(from.to_string()));
            flag("until", until.map(|d| d.to_string()));
            flag("delegate_name", delegate_name.clone());
            flag(
                "delegate_office",
                delegate_office.as_ref().map(OfficeId::to_string),
            );
            "delegated"
        }
        Event::ActRevoked(ActRevoked {
            act,
            revokes,
            reason,
        }) => {
            flag("act", Some(act.to_string()));
            flag("revokes", Some(revokes.to_string()));
            flag("reason", reason.clone());
            "revoked"
        }
        Event::RecordRetracted(RecordRetracted { seq, reason }) => {
            flag("seq", Some(seq.to_string()));
            flag("reason", Some(reason.clone()));
            "retracted"
        }
    };
    args.insert(1, subcommand.to_owned());
    args
}

/// Records `before` from NDJSON, then `event` from flags, and checks that the entry recorded
/// last is `event`, field for field.
fn check(before: &[Event], event: Event) {
    let s = Sandbox::new();
    s.run(&["init"]).success();
    if !before.is_empty() {
        let ndjson: Vec<u8> = before
            .iter()
            .flat_map(|e| [e.canonical_bytes(), b"\n".to_vec()].concat())
            .collect();
        s.cmd()
            .args(["append", "-"])
            .write_stdin(ndjson)
            .assert()
            .success();
    }
    let seq = before.len() + 1;
    s.cmd()
        .args(flags(&event))
        .assert()
        .success()
        // Only warnings, if any (a trip alone leaves its office unattended, say).
        .stderr(predicates::function::function(|err: &str| {
            err.lines().all(|l| l.starts_with("warning: "))
        }))
        .stdout(contains(format!("line 1: recorded at {seq}, hash ")));
    let log = s
        .run(&["log", "--from", &seq.to_string(), "--json"])
        .success();
    let entry: serde_json::Value = serde_json::from_str(stdout_of(&log).trim_end()).unwrap();
    assert_eq!(
        entry["event"],
        serde_json::to_value(&event).unwrap(),
        "{:?}",
        flags(&event)
    );
}

fn act(id: &str) -> ActId {
    ActId::new(id).unwrap()
}

fn person(id: &str) -> PersonId {
    PersonId::new(id).unwrap()
}

fn office(id: &str) -> OfficeId {
    OfficeId::new(id).unwrap()
}

fn day(text: &str) -> Day {
    Day::parse(text).unwrap()
}

fn issued(id: &str) -> Event {
    Event::ActIssued(ActIssued {
        act: act(id),
        kind: "resolucion_suprema".into(),
        issuer: office("PCM"),
        issued_on: day("2024-06-01"),
        published_on: None,
        title: None,
        url: None,
    })
}

fn appointed() -> Event {
    Event::Appointed(Appointed {
        act: act("RS-001-2024-PCM"),
        person: person("walter-astudillo"),
        office: office("MINDEF"),
        on: day("2024-01-02"),
        person_name: None,
        office_name: None,
    })
}

fn trip() -> Event {
    Event::TripAuthorized(TripAuthorized {
        act: act("RS-131-2024-PCM"),
        person: person("walter-astudillo"),
        office: office("MINDEF"),
        from: day("2024-06-02"),
        until: day("2024-06-04"),
        destination: None,
        purpose: None,
    })
}

#[test]
fn act_issued_flags_are_recorded() {
    check(&[], issued("RS-131-2024-PCM"));
    check(
        &[],
        Event::ActIssued(ActIssued {
            act: act("RS-131-2024-PCM"),
            kind: "resolución suprema".into(),
            issuer: office("PCM"),
            issued_on: day("2024-06-01"),
            published_on: Some(day("2024-06-02")),
            title: Some("Autorizan viaje del Ministro de Defensa a \"Miami\"".into()),
            url: Some("https://example.org/rs-131-2024-pcm?x=1&y=2".into()),
        }),
    );
}

#[test]
fn appointed_flags_are_recorded() {
    check(&[issued("RS-001-2024-PCM")], appointed());
    check(
        &[issued("RS-001-2024-PCM")],
        Event::Appointed(Appointed {
            act: act("RS-001-2024-PCM"),
            person: person("walter-astudillo"),
            office: office("MINDEF"),
            on: day("2024-01-02"),
            person_name: Some("Walter Astudillo".into()),
            office_name: Some("Ministerio de Defensa".into()),
        }),
    );
}

#[test]
fn left_office_flags_are_recorded() {
    let before = [
        issued("RS-001-2024-PCM"),
        appointed(),
        issued("RS-002-2024-PCM"),
    ];
    let left = |reason: Option<&str>| {
        Event::LeftOffice(LeftOffice {
            act: act("RS-002-2024-PCM"),
            person: person("walter-astudillo"),
            office: office("MINDEF"),
            on: day("2024-07-01"),
            reason: reason.map(Into::into),
        })
    };
    check(&before, left(None));
    check(&before, left(Some("renuncia")));
}

#[test]
fn trip_authorized_flags_are_recorded() {
    let before = [
        issued("RS-001-2024-PCM"),
        appointed(),
        issued("RS-131-2024-PCM"),
    ];
    check(&before, trip());
    check(
        &before,
        Event::TripAuthorized(TripAuthorized {
            act: act("RS-131-2024-PCM"),
            person: person("walter-astudillo"),
            office: office("MINDEF"),
            from: day("2024-06-02"),
            until: day("2024-06-04"),
            destination: Some("Miami, Florida, United States".into()),
            purpose: Some("Meeting with the Commander of US Southern Command".into()),
        }),
    );
}

fn leave(reason: Option<&str>) -> Event {
    Event::LeaveGranted(LeaveGranted {
        act: act("RS-169-2022-PCM"),
        person: person("walter-astudillo"),
        office: office("MINDEF"),
        from: day("2024-06-20"),
        until: day("2024-06-24"),
        reason: reason.map(Into::into),
    })
}

#[test]
fn leave_granted_flags_are_recorded() {
    let before = [
        issued("RS-001-2024-PCM"),
        appointed(),
        issued("RS-169-2022-PCM"),
    ];
    check(&before, leave(None));
    check(&before, leave(Some("licencia por salud")));
}

#[test]
fn a_delegation_without_until_is_bounded_by_the_acts_leave() {
    let before = [
        issued("RS-001-2024-PCM"),
        appointed(),
        issued("RS-169-2022-PCM"),
        leave(Some("licencia por salud")),
    ];
    check(
        &before,
        Event::DutiesDelegated(DutiesDelegated {
            act: act("RS-169-2022-PCM"),
            office: office("MINDEF"),
            delegate: person("jose-arista"),
            from: day("2024-06-20"),
            until: None,
            delegate_name: None,
            delegate_office: None,
        }),
    );
}

#[test]
fn duties_delegated_flags_are_recorded() {
    let before = [
        issued("RS-001-2024-PCM"),
        appointed(),
        issued("RS-131-2024-PCM"),
        trip(),
    ];
    // Without `until`: bounded by the act's trip.
    check(
        &before,
        Event::DutiesDelegated(DutiesDelegated {
            act: act("RS-131-2024-PCM"),
            office: office("MINDEF"),
            delegate: person("jose-arista"),
            from: day("2024-06-02"),
            until: None,
            delegate_name: None,
            delegate_office: None,
        }),
    );
    check(
        &before,
        Event::DutiesDelegated(DutiesDelegated {
            act: act("RS-131-2024-PCM"),
            office: office("MINDEF"),
            delegate: person("jose-arista"),
            from: day("2024-06-02"),
            until: Some(day("2024-06-04")),
            delegate_name: Some("José Arista Arbildo".into()),
            delegate_office: Some(office("MEF")),
        }),
    );
}

#[test]
fn act_revoked_flags_are_recorded() {
    let before = [issued("RS-131-2024-PCM"), issued("RS-140-2024-PCM")];
    let revoked = |reason: Option<&str>| {
        Event::ActRevoked(ActRevoked {
            act: act("RS-140-2024-PCM"),
            revokes: act("RS-131-2024-PCM"),
            reason: reason.map(Into::into),
        })
    };
    check(&before, revoked(None));
    check(&before, revoked(Some("deja sin efecto")));
}

#[test]
fn record_retracted_flags_are_recorded() {
    check(
        &[issued("RS-131-2024-PCM")],
        Event::RecordRetracted(RecordRetracted {
            seq: 1,
            reason: "recorded in error".into(),
        }),
    );
}

#[test]
fn a_bad_flag_is_refused_as_the_same_field_in_a_file_is() {
    let s = Sandbox::new();
    s.run(&["init"]).success();
    let file = s.write(
        "bad.json",
        r#"{"type":"act_issued","act":"RS 1","kind":"ley","issuer":"PCM","issued_on":"2024-02-30"}"#,
    );
    let from_file = s.run(&["append", file.to_str().unwrap()]).code(1);
    let from_flags = s
        .run(&[
            "append",
            "act",
            "--act",
            "RS 1",
            "--kind",
            "ley",
            "--issuer",
            "PCM",
            "--issued-on",
            "2024-02-30",
        ])
        .code(1)
        .stdout("");
    let stderr =
        |a: &assert_cmd::assert::Assert| String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert_eq!(
        stderr(&from_flags),
        "error: line 1: field \"act\": \"RS 1\" must start with a letter or digit and hold only letters, digits, '.', '_' and '-'\n"
    );
    assert_eq!(stderr(&from_flags), stderr(&from_file));
    s.run(&["head"]).success().stdout(contains("0 entries"));
}
