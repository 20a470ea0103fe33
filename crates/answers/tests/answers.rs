//! The answers layer over a real store: "as of" resolution and pinning, and the answers whose
//! envelope it owns.
#![allow(clippy::unwrap_used)] // a failing test stops with the value

use std::collections::BTreeSet;

use actledger_answers::{
    AnswerError, AsOf, AsOfSyntaxError, Warning, act, added_anomalies, append, append_stream,
    audit, close_ids, find_offices, holder, office_history, office_timeline, offices, resolve,
    state_on, warnings_before_writing,
};
use actledger_core::{
    ActId, AnomalyKind, Day, Event, Pending, Recorded, Role, anomalies_touching, parse_batch,
    validate_batch,
};
use actledger_store::Ledger;

const ACTS: &str = r#"
{"type":"act_issued","act":"RS-001-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-01"}
{"type":"act_issued","act":"RS-002-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-02"}
"#;

const OFFICE: &str = r#"
{"type":"appointed","act":"RS-001-2024-PCM","person":"ana","person_name":"Ana","office":"MINDEF","office_name":"Ministerio de Defensa","on":"2024-01-02"}
{"type":"act_issued","act":"RS-011-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-03-01"}
{"type":"trip_authorized","act":"RS-011-2024-PCM","person":"ana","office":"MINDEF","from":"2024-03-02","until":"2024-03-04"}
{"type":"act_issued","act":"RS-012-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-03-01"}
{"type":"trip_authorized","act":"RS-012-2024-PCM","person":"ana","office":"MINDEF","from":"2024-03-05","until":"2024-03-06"}
"#;

fn ledger(dir: &tempfile::TempDir, batches: &[&str]) -> Ledger {
    let mut ledger = Ledger::create(&dir.path().join("l.db")).unwrap();
    for batch in batches {
        ledger
            .append(parse_batch(batch.as_bytes()).unwrap())
            .unwrap();
    }
    ledger
}

fn day(text: &str) -> Day {
    Day::parse(text).unwrap()
}

#[test]
fn as_of_parses_positions_and_times_and_names_what_it_expects() {
    assert_eq!("12".parse::<AsOf>().unwrap(), AsOf::Seq(12));
    assert!(matches!(
        "2024-06-03T12:00:00Z".parse::<AsOf>().unwrap(),
        AsOf::Time(_)
    ));
    assert_eq!(
        "99999999999999999999999".parse::<AsOf>(),
        Err(AsOfSyntaxError::TooLarge("99999999999999999999999".into()))
    );
    for bad in ["", "-1", "yesterday", "2024-06-03"] {
        let error = bad.parse::<AsOf>().unwrap_err();
        assert_eq!(error, AsOfSyntaxError::Malformed, "{bad:?}");
        assert!(error.to_string().contains("RFC 3339"));
    }
}

#[test]
fn a_position_is_pinned_the_head_is_not_and_outside_positions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir, &[ACTS]);
    let head = resolve(&ledger, None).unwrap();
    assert_eq!((head.seq, head.pinned), (2, false));
    let one = resolve(&ledger, Some(AsOf::Seq(1))).unwrap();
    assert_eq!((one.seq, one.pinned), (1, true));
    for outside in [0, 3] {
        match resolve(&ledger, Some(AsOf::Seq(outside))) {
            Err(AnswerError::AsOfOutOfRange { as_of, head: 2 }) => assert_eq!(as_of, outside),
            other => panic!("as of {outside}: {other:?}"),
        }
    }
}

#[test]
fn a_time_is_pinned_only_when_a_later_entry_exists() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir, &[ACTS]);
    let before = "2000-01-01T00:00:00Z".parse().unwrap();
    match resolve(&ledger, Some(before)) {
        Err(AnswerError::AsOfBeforeFirstEntry { first: Some(_), .. }) => {}
        other => panic!("{other:?}"),
    }
    let after = resolve(&ledger, Some("2999-01-01T00:00:00Z".parse().unwrap())).unwrap();
    assert_eq!((after.seq, after.pinned), (2, false));
    let empty_dir = tempfile::tempdir().unwrap();
    let empty = Ledger::create(&empty_dir.path().join("e.db")).unwrap();
    match resolve(&empty, Some(before)) {
        Err(AnswerError::AsOfBeforeFirstEntry { first: None, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn state_as_of_a_point_before_any_office_is_empty_and_stays_so() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir, &[ACTS, OFFICE]);
    let answer = state_on(&ledger, day("2024-06-01"), Some(AsOf::Seq(1))).unwrap();
    assert_eq!(answer.answer.as_of, 1);
    assert!(answer.answer.offices.is_empty());
    assert!(answer.point.pinned);
    let at_head = state_on(&ledger, day("2024-06-01"), None).unwrap();
    assert_eq!(at_head.answer.as_of, 7);
    assert_eq!(at_head.answer.offices.len(), 1);
    assert!(
        offices(&ledger, Some(AsOf::Seq(2)))
            .unwrap()
            .answer
            .offices
            .is_empty()
    );
    let named = offices(&ledger, None).unwrap().answer;
    assert_eq!(
        named.offices[0].name.as_deref(),
        Some("Ministerio de Defensa")
    );
}

#[test]
fn state_on_an_empty_ledger_is_empty_as_of_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir, &[]);
    let answer = state_on(&ledger, day("2024-06-01"), None).unwrap();
    assert_eq!((answer.answer.as_of, answer.answer.offices.len()), (0, 0));
    assert!(audit(&ledger, None).unwrap().answer.anomalies.is_empty());
}

#[test]
fn the_timeline_and_audit_share_one_run_of_unattended_days_across_trips() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir, &[ACTS, OFFICE]);
    let timeline = office_timeline(&ledger, "MINDEF", None, None, None)
        .unwrap()
        .answer;
    let anomalies = audit(&ledger, None).unwrap().answer.anomalies;
    let unattended: Vec<_> = anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::UnattendedOffice)
        .collect();
    assert_eq!(timeline.unattended.len(), 1);
    assert_eq!(unattended.len(), 1);
    let (days, anomaly) = (&timeline.unattended[0], unattended[0]);
    assert_eq!(Some(days.from), anomaly.from);
    assert_eq!(Some(days.until), anomaly.until);
    assert_eq!(days.events, anomaly.events);
    assert_eq!(
        (days.from, days.until),
        (day("2024-03-02"), day("2024-03-06"))
    );
    let acts: Vec<&str> = days.trip_acts.iter().map(|a| a.as_str()).collect();
    assert_eq!(acts, ["RS-011-2024-PCM", "RS-012-2024-PCM"]);
    // A window that meets only the second trip keeps the run, which meets it.
    let late = office_timeline(&ledger, "MINDEF", None, Some(day("2024-03-06")), None)
        .unwrap()
        .answer;
    assert_eq!(late.unattended.len(), 1);
    assert_eq!(late.trips.len(), 1);
}

/// A leave right after the two trips, with nobody in charge: one run of days, trips and leave.
const LEAVE: &str = r#"
{"type":"act_issued","act":"RS-013-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-03-01"}
{"type":"leave_granted","act":"RS-013-2024-PCM","person":"ana","office":"MINDEF","from":"2024-03-07","until":"2024-03-08","reason":"vacaciones"}
"#;

#[test]
fn a_leave_joins_the_run_of_unattended_days_and_is_listed_apart_from_trips() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir, &[ACTS, OFFICE, LEAVE]);
    let timeline = office_timeline(&ledger, "MINDEF", None, None, None)
        .unwrap()
        .answer;
    let anomalies = audit(&ledger, None).unwrap().answer.anomalies;
    let unattended: Vec<_> = anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::UnattendedOffice)
        .collect();
    assert_eq!((timeline.unattended.len(), unattended.len()), (1, 1));
    let (days, anomaly) = (&timeline.unattended[0], unattended[0]);
    assert_eq!(
        (days.from, days.until),
        (day("2024-03-02"), day("2024-03-08"))
    );
    assert_eq!(days.events, anomaly.events);
    assert_eq!(days.events, [5, 7, 9]);
    let kinds: Vec<(&str, &str)> = days
        .absences
        .iter()
        .map(|a| (a.kind.as_str(), a.act.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("trip", "RS-011-2024-PCM"),
            ("trip", "RS-012-2024-PCM"),
            ("leave", "RS-013-2024-PCM")
        ]
    );
    // `trip_act` and `trip_acts` keep their meaning: trips only.
    let trips: Vec<&str> = days.trip_acts.iter().map(|a| a.as_str()).collect();
    assert_eq!(trips, ["RS-011-2024-PCM", "RS-012-2024-PCM"]);
    assert_eq!(days.trip_act.as_ref().unwrap().as_str(), "RS-011-2024-PCM");
    assert_eq!(timeline.trips.len(), 2);
    assert_eq!(timeline.leaves.len(), 1);
    let leave = &timeline.leaves[0];
    assert_eq!(
        (leave.act.as_str(), leave.seq, leave.reason.as_deref()),
        ("RS-013-2024-PCM", 9, Some("vacaciones"))
    );
    assert_eq!(leave.name.as_deref(), Some("Ana"));
    // A window that meets only the leave keeps the run, and the leave alone.
    let late = office_timeline(&ledger, "MINDEF", None, Some(day("2024-03-07")), None)
        .unwrap()
        .answer;
    assert_eq!((late.trips.len(), late.leaves.len()), (0, 1));
    assert_eq!(late.unattended.len(), 1);
    // who-held names the leave.
    let answer = holder(&ledger, "MINDEF", day("2024-03-08"), None)
        .unwrap()
        .answer;
    let titular = answer.titular.unwrap();
    assert_eq!(titular.absence.map(|k| k.as_str()), Some("leave"));
    assert_eq!(titular.trip_act, None);
}

#[test]
fn unknown_offices_and_acts_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir, &[ACTS, OFFICE]);
    match office_timeline(&ledger, "MINDEFF", None, None, None) {
        Err(AnswerError::UnknownOffice { suggestions, .. }) => {
            assert_eq!(suggestions[0].as_str(), "MINDEF")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        actledger_answers::act(&ledger, "RS-404", None),
        Err(AnswerError::UnknownAct { .. })
    ));
}

const LEFT: &str = r#"
{"type":"left_office","act":"RS-002-2024-PCM","person":"ana","office":"MINDEF","on":"2024-04-01"}
"#;

#[test]
fn a_day_before_the_record_starts_is_no_record_not_vacant() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir, &[ACTS, OFFICE, LEFT]);
    let before = holder(&ledger, "MINDEF", day("2024-01-01"), None)
        .unwrap()
        .answer;
    assert!(!before.on_record);
    assert_eq!(before.record_starts, Some(day("2024-01-02")));
    assert_eq!((&before.holder, &before.titular), (&None, &None));
    let json = serde_json::to_value(&before).unwrap();
    assert_eq!(json["on_record"], false);
    assert_eq!(json["record_starts"], "2024-01-02");
    // The first day, and a vacancy after the last holder left, are on record.
    for (on, held) in [("2024-01-02", true), ("2030-01-01", false)] {
        let answer = holder(&ledger, "MINDEF", day(on), None).unwrap().answer;
        assert!(answer.on_record, "{on}");
        assert_eq!(answer.record_starts, None);
        assert_eq!(answer.holder.is_some(), held, "{on}");
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(json["on_record"], true);
        assert_eq!(json["record_starts"], serde_json::Value::Null, "{json}");
    }
    // As of a point before the office was known: no record, and no day it starts.
    let early = holder(&ledger, "MINDEF", day("2024-06-01"), Some(AsOf::Seq(2)))
        .unwrap()
        .answer;
    assert_eq!((early.on_record, early.record_starts), (false, None));
    // Replayed as of an earlier point, the same rule.
    let replayed = holder(&ledger, "MINDEF", day("2024-01-01"), Some(AsOf::Seq(5)))
        .unwrap()
        .answer;
    assert_eq!(
        (replayed.on_record, replayed.record_starts),
        (false, Some(day("2024-01-02")))
    );
    let state = state_on(&ledger, day("2024-01-01"), None).unwrap().answer;
    assert!(!state.offices[0].on_record);
}

#[test]
fn history_ends_with_the_open_vacancy_as_of_any_point() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir, &[ACTS, OFFICE, LEFT]);
    let rows = office_history(&ledger, "MINDEF", None)
        .unwrap()
        .answer
        .history;
    let last = rows.last().unwrap();
    assert_eq!(
        (last.capacity, last.from, last.until),
        (Role::Vacant, day("2024-04-01"), None)
    );
    assert_eq!(last.person, None);
    // Before the departure was recorded, the tenure was open and nothing followed it.
    let before = office_history(&ledger, "MINDEF", Some(AsOf::Seq(7)))
        .unwrap()
        .answer;
    assert_eq!(before.as_of, 7);
    let last = before.history.last().unwrap();
    assert_eq!((last.capacity, last.until), (Role::Titular, None));
    // The timeline carries the same rows.
    let timeline = office_timeline(&ledger, "MINDEF", None, None, None)
        .unwrap()
        .answer;
    assert_eq!(timeline.history, rows);
}

#[test]
fn offices_are_found_by_id_or_name_ignoring_case_and_accents() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir, &[ACTS, OFFICE]);
    for query in ["defensa", "DEFENSÁ", "mind", "Ministerio de Defensa"] {
        let found = find_offices(&ledger, Some(query), None).unwrap().answer;
        assert_eq!(found.offices.len(), 1, "{query}");
        let office = &found.offices[0];
        assert_eq!(office.office.as_str(), "MINDEF");
        assert_eq!(office.first_day, Some(day("2024-01-02")));
        assert_eq!(office.last_day, Some(day("2024-03-06")));
    }
    let none = find_offices(&ledger, Some("salud"), None).unwrap().answer;
    assert!(none.offices.is_empty());
    assert_eq!(none.as_of, 7);
    let json = serde_json::to_value(offices(&ledger, None).unwrap().answer).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"as_of": 7, "offices": [{"office": "MINDEF", "name": "Ministerio de Defensa", "first_day": "2024-01-02", "last_day": "2024-03-06"}]})
    );
}

#[test]
fn an_unknown_office_is_suggested_by_name_and_by_part_of_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir, &[ACTS, OFFICE]);
    for asked in [
        "Ministerio de Defensa",
        "ministerio de defensa",
        "PE-MINDEF",
        "mindef",
    ] {
        match holder(&ledger, asked, day("2024-06-01"), None) {
            Err(AnswerError::UnknownOffice { suggestions, .. }) => {
                let ids: Vec<&str> = suggestions.iter().map(|o| o.as_str()).collect();
                assert_eq!(ids, ["MINDEF"], "{asked}");
            }
            other => panic!("{asked}: {other:?}"),
        }
    }
}

#[test]
fn an_act_as_of_a_point_has_only_the_events_recorded_by_then() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir, &[ACTS, OFFICE]);
    assert!(matches!(
        act(&ledger, "RS-011-2024-PCM", Some(AsOf::Seq(3))),
        Err(AnswerError::UnknownAct { .. })
    ));
    let early = act(&ledger, "RS-011-2024-PCM", Some(AsOf::Seq(4))).unwrap();
    assert!(early.point.pinned);
    assert_eq!(early.answer.events.len(), 1);
    let now = act(&ledger, "RS-011-2024-PCM", None).unwrap();
    assert_eq!(now.answer.events.len(), 2);
    assert!(!now.point.pinned);
}

/// The acts whose `act_revoked_twice` a batch can change, as the answers crate finds them.
fn revoked_by(ledger: &Ledger, batch: &[actledger_core::InputEvent]) -> BTreeSet<ActId> {
    let mut acts = BTreeSet::new();
    for input in batch {
        let mut event = input.event.clone();
        loop {
            match event {
                Event::ActRevoked(revoked) => {
                    acts.insert(revoked.revokes);
                    break;
                }
                Event::RecordRetracted(retracted) if retracted.seq <= ledger.head().count => {
                    event = ledger.event(retracted.seq).unwrap();
                }
                _ => break,
            }
        }
    }
    acts
}

/// The warnings of `batch` as they were computed before the comparison was limited to the
/// offices a batch can change: every office's anomalies before and after.
fn warnings_over_every_office(
    ledger: &Ledger,
    batch: &[actledger_core::InputEvent],
) -> Vec<Warning> {
    let mut warnings = close_ids(ledger, batch).unwrap();
    let valid = validate_batch(ledger, batch.to_vec()).unwrap();
    let acts = revoked_by(ledger, batch);
    let before = anomalies_touching(ledger, &acts).unwrap();
    let pending = Pending::new(ledger, &valid).unwrap();
    warnings.extend(added_anomalies(
        &before,
        anomalies_touching(&pending, &acts).unwrap(),
    ));
    warnings
}

#[test]
fn warnings_compared_over_the_offices_a_batch_can_change_are_those_of_every_office() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(&dir.path().join("l.db")).unwrap();
    let mut generator = actledger_gen::Generator::new(3);
    let mut rng = actledger_gen::Rng::new(11);
    let (mut batches, mut warned) = (0, 0);
    while ledger.head().count < 3_000 {
        let size = 1 + rng.below_u64(40) as usize;
        let batch: Vec<_> = (1..=size)
            .map(|line| actledger_core::InputEvent {
                line,
                event: generator.next_event(),
            })
            .collect();
        let expected = warnings_over_every_office(&ledger, &batch);
        assert_eq!(
            warnings_before_writing(&ledger, &batch).unwrap(),
            expected,
            "--strict, batch {batches}"
        );
        let answer = append(&mut ledger, batch, false).unwrap();
        assert_eq!(answer.warnings, expected, "batch {batches}");
        batches += 1;
        warned += usize::from(
            expected
                .iter()
                .any(|w| matches!(w, Warning::Anomaly { .. })),
        );
    }
    assert!(warned > 10, "{warned} of {batches} batches add an anomaly");
}

/// `event` with its days `back` days earlier.
fn dated_back(event: &mut Event, back: u32) {
    let earlier = |day: &mut Day| *day = Day::from_ordinal(day.ordinal() - back).unwrap();
    match event {
        Event::ActIssued(e) => {
            earlier(&mut e.issued_on);
            e.published_on.as_mut().map(earlier);
        }
        Event::Appointed(e) => earlier(&mut e.on),
        Event::LeftOffice(e) => earlier(&mut e.on),
        Event::TripAuthorized(e) => {
            earlier(&mut e.from);
            earlier(&mut e.until);
        }
        Event::LeaveGranted(e) => {
            earlier(&mut e.from);
            earlier(&mut e.until);
        }
        Event::DutiesDelegated(e) => {
            earlier(&mut e.from);
            e.until.as_mut().map(earlier);
        }
        Event::ActRevoked(_) | Event::RecordRetracted(_) => {}
    }
}

/// Acts dated before the ones recorded (up to years back), some with delegations that last
/// for years: the anomalies compared over the days a batch can change, from a horizon, are
/// those of every office compared whole, for batches that change the past as for those that
/// change the end.
#[test]
fn warnings_of_acts_dated_back_are_those_of_every_office() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(&dir.path().join("l.db")).unwrap();
    let mut generator = actledger_gen::Generator::new(7);
    let mut rng = actledger_gen::Rng::new(5);
    let history: Vec<_> = (1..=3_000)
        .map(|line| actledger_core::InputEvent {
            line,
            event: generator.next_event(),
        })
        .collect();
    append(&mut ledger, history, false).unwrap();
    let mut next_act = None;
    let (mut batches, mut refused, mut warned) = (0, 0, 0);
    while batches < 200 {
        // One act: its `act_issued` and the events up to the next one.
        let mut act = vec![next_act.take().unwrap_or_else(|| generator.next_event())];
        loop {
            let event = generator.next_event();
            if matches!(event, Event::ActIssued(_)) {
                next_act = Some(event);
                break;
            }
            act.push(event);
        }
        let back = match rng.below_u64(3) {
            0 => 0,
            1 => rng.below_u64(60),
            _ => rng.below_u64(4_000),
        } as u32;
        let lasting = rng.below_u64(4) == 0;
        for event in &mut act {
            dated_back(event, back);
            if let Event::DutiesDelegated(d) = event
                && lasting
            {
                d.until = Day::from_ordinal(d.from.ordinal() + 800);
            }
        }
        let batch: Vec<_> = (act.into_iter().enumerate())
            .map(|(i, event)| actledger_core::InputEvent { line: i + 1, event })
            .collect();
        if validate_batch(&ledger, batch.clone()).is_err() {
            refused += 1;
            continue;
        }
        let expected = warnings_over_every_office(&ledger, &batch);
        assert_eq!(
            warnings_before_writing(&ledger, &batch).unwrap(),
            expected,
            "--strict, batch {batches} dated {back} days back"
        );
        let answer = append(&mut ledger, batch, false).unwrap();
        assert_eq!(
            answer.warnings, expected,
            "batch {batches} dated {back} days back"
        );
        batches += 1;
        warned += usize::from(
            expected
                .iter()
                .any(|w| matches!(w, Warning::Anomaly { .. })),
        );
    }
    assert!(refused < batches / 4, "{refused} refused");
    assert!(warned > 40, "{warned} of {batches} batches add an anomaly");
}

/// One random act of a small, crowded world (`offices`, `persons`, a few hundred days):
/// appointments, departures, trips, leaves and delegations around a day that moves on, some
/// dated well before it, delegations of any length (open-ended, years), events of earlier acts,
/// revocations and retractions. Its events are JSON lines, numbered from 1.
fn crowded_act(
    rng: &mut actledger_gen::Rng,
    (offices, persons): (&[&str], usize),
    n: usize,
    now: u32,
    head: u64,
) -> String {
    let first = Day::parse("2024-01-01").unwrap().ordinal();
    let day = |offset: u32| Day::from_ordinal(first + offset).unwrap();
    let act = format!("X-{n}");
    let mut lines = vec![format!(
        r#"{{"type":"act_issued","act":"{act}","kind":"resolucion","issuer":"A","issued_on":"{}"}}"#,
        day(now)
    )];
    for _ in 0..=rng.below(2) {
        let office = *rng.pick(offices);
        let person = format!("p{}", rng.below(persons));
        // Mostly about the days ahead; now and then well before them.
        let from = if rng.chance(300) {
            now.saturating_sub(rng.between(0, 200))
        } else {
            now + rng.between(0, 20)
        };
        // Mostly this act; now and then an earlier one.
        let of = if n > 1 && rng.chance(100) {
            format!("X-{}", rng.below(n - 1) + 1)
        } else {
            act.clone()
        };
        let line = match rng.below(20) {
            0..=3 => format!(
                r#"{{"type":"appointed","act":"{of}","person":"{person}","office":"{office}","on":"{}"}}"#,
                day(from)
            ),
            4..=5 => format!(
                r#"{{"type":"left_office","act":"{of}","person":"{person}","office":"{office}","on":"{}"}}"#,
                day(from)
            ),
            6..=9 => format!(
                r#"{{"type":"trip_authorized","act":"{of}","person":"{person}","office":"{office}","from":"{}","until":"{}"}}"#,
                day(from),
                day(from + rng.between(0, 15))
            ),
            10..=11 => format!(
                r#"{{"type":"leave_granted","act":"{of}","person":"{person}","office":"{office}","from":"{}","until":"{}"}}"#,
                day(from),
                day(from + rng.between(0, 90))
            ),
            12..=17 => {
                let until = match rng.below(4) {
                    0 => String::new(),
                    1 => format!(r#","until":"{}""#, day(from + rng.between(0, 400))),
                    _ => format!(r#","until":"{}""#, day(from + rng.between(0, 20))),
                };
                let delegate_office = if rng.chance(500) {
                    format!(r#","delegate_office":"{}""#, rng.pick(offices))
                } else {
                    String::new()
                };
                format!(
                    r#"{{"type":"duties_delegated","act":"{of}","office":"{office}","delegate":"{person}","from":"{}"{until}{delegate_office}}}"#,
                    day(from)
                )
            }
            18 if n > 1 => format!(
                r#"{{"type":"act_revoked","act":"{act}","revokes":"X-{}"}}"#,
                rng.below(n - 1) + 1
            ),
            _ if head > 0 => format!(
                r#"{{"type":"record_retracted","seq":{},"reason":"error"}}"#,
                rng.below_u64(head) + 1
            ),
            _ => continue,
        };
        lines.push(line);
    }
    lines.join("\n")
}

/// Crowded worlds, act by act: every batch's warnings (with `--strict` and as appended) are
/// those of every office compared whole, whatever days its events name, and what the append
/// kept verifies against the log.
#[test]
fn warnings_of_a_crowded_world_are_those_of_every_office() {
    let (mut batches, mut refused, mut warned) = (0, 0, 0);
    // Three offices, every one compared at each batch; and twenty, few of them compared (a
    // batch must change one office in eight for all to be).
    let few = ["A", "B", "C"];
    let many: Vec<String> = (0..20).map(|i| format!("O{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for seed in 1..=9 {
        let world = if seed <= 6 {
            (&few[..], 4)
        } else {
            (&many[..], 8)
        };
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::create(&dir.path().join("l.db")).unwrap();
        let mut rng = actledger_gen::Rng::new(seed);
        let mut now = 0;
        for n in 1..=250 {
            now += rng.between(0, 4);
            let act = crowded_act(&mut rng, world, n, now, ledger.head().count);
            let batch = parse_batch(act.as_bytes()).unwrap();
            if validate_batch(&ledger, batch.clone()).is_err() {
                refused += 1;
                continue;
            }
            let expected = warnings_over_every_office(&ledger, &batch);
            assert_eq!(
                warnings_before_writing(&ledger, &batch).unwrap(),
                expected,
                "--strict, seed {seed}, act {n}:\n{act}"
            );
            let answer = append(&mut ledger, batch, false).unwrap();
            assert_eq!(answer.warnings, expected, "seed {seed}, act {n}:\n{act}");
            // What the append kept (timelines, state) is what the log implies.
            assert!(
                matches!(
                    ledger.verify().unwrap(),
                    actledger_store::Verdict::Intact { .. }
                ),
                "seed {seed}, act {n}:\n{act}"
            );
            batches += 1;
            warned += usize::from(
                expected
                    .iter()
                    .any(|w| matches!(w, Warning::Anomaly { .. })),
            );
        }
    }
    assert!(
        refused < batches / 4,
        "{refused} refused, {batches} appended"
    );
    assert!(
        warned > batches / 4,
        "{warned} of {batches} batches add an anomaly"
    );
}

/// The warnings of the last of `acts` (JSON lines, one act each) on a ledger holding the ones
/// before it: those of every office compared whole, with `--strict` and as appended.
fn warned_of_last(acts: &[&str]) -> Vec<(AnomalyKind, String)> {
    let dir = tempfile::tempdir().unwrap();
    let (last, before) = acts.split_last().unwrap();
    let mut ledger = ledger(&dir, before);
    let batch = parse_batch(last.as_bytes()).unwrap();
    let expected = warnings_over_every_office(&ledger, &batch);
    assert_eq!(warnings_before_writing(&ledger, &batch).unwrap(), expected);
    let answer = append(&mut ledger, batch, false).unwrap();
    assert_eq!(answer.warnings, expected);
    expected
        .into_iter()
        .filter_map(|w| match w {
            Warning::Anomaly { anomaly } => Some((anomaly.kind, anomaly.message)),
            Warning::CloseId { .. } => None,
        })
        .collect()
}

/// That `warned` holds an anomaly of `kind` saying `message`.
fn assert_warned(warned: &[(AnomalyKind, String)], kind: AnomalyKind, message: &str) {
    assert!(
        warned.contains(&(kind, message.to_owned())),
        "{kind:?} {message:?} not in {warned:?}"
    );
}

fn act_of(id: &str, events: &[String]) -> String {
    let mut lines = vec![format!(
        r#"{{"type":"act_issued","act":"{id}","kind":"resolucion","issuer":"PCM","issued_on":"2024-01-01"}}"#
    )];
    lines.extend(events.iter().cloned());
    lines.join("\n")
}

fn appointed(act: &str, person: &str, on: &str) -> String {
    format!(r#"{{"type":"appointed","act":"{act}","person":"{person}","office":"A","on":"{on}"}}"#)
}

fn absent(kind: &str, act: &str, person: &str, from: &str, until: &str) -> String {
    format!(
        r#"{{"type":"{kind}","act":"{act}","person":"{person}","office":"A","from":"{from}","until":"{until}"}}"#
    )
}

fn delegated(act: &str, delegate: &str, from: &str, until: &str) -> String {
    format!(
        r#"{{"type":"duties_delegated","act":"{act}","office":"A","delegate":"{delegate}","from":"{from}","until":"{until}"}}"#
    )
}

/// A trip that began long before the day a batch changes is compared from its first day:
/// its days without holding the office are counted from the tenure that ended in it.
#[test]
fn a_long_trip_changed_at_its_end_is_warned_of_from_its_real_first_day_without_holding() {
    let warned = warned_of_last(&[
        &act_of("R1", &[appointed("R1", "p", "2024-01-01")]),
        &act_of("R2", &[appointed("R2", "q", "2024-02-20")]),
        &act_of(
            "R3",
            &[absent(
                "trip_authorized",
                "R3",
                "p",
                "2024-01-10",
                "2024-04-10",
            )],
        ),
        &act_of("R4", &[appointed("R4", "p", "2024-03-20")]),
    ]);
    assert_warned(
        &warned,
        AnomalyKind::TripWithoutHolding,
        "p is authorized to travel as titular of A but does not hold it from 2024-02-20 to 2024-03-19",
    );
}

/// An unattended run of several absences, cut short by a batch, is warned of from its first
/// day, though it started long before the days the batch changes.
#[test]
fn an_unattended_run_cut_short_is_warned_of_from_its_first_day() {
    let warned = warned_of_last(&[
        &act_of("R1", &[appointed("R1", "p", "2024-01-01")]),
        &act_of(
            "R2",
            &[absent(
                "trip_authorized",
                "R2",
                "p",
                "2024-01-10",
                "2024-01-20",
            )],
        ),
        &act_of(
            "R3",
            &[absent(
                "leave_granted",
                "R3",
                "p",
                "2024-01-21",
                "2024-02-10",
            )],
        ),
        &act_of("R4", &[delegated("R4", "q", "2024-02-05", "2024-02-10")]),
    ]);
    assert_warned(
        &warned,
        AnomalyKind::UnattendedOffice,
        "A is unattended from 2024-01-10 to 2024-02-04: its titular is away and nobody is in charge",
    );
}

/// A trip recorded under an act already recorded reaches back: it exempts the act's
/// delegation from the cut a new titular made, months before the trip's days.
#[test]
fn a_trip_of_an_earlier_act_that_restores_its_delegation_is_warned_of() {
    let warned = warned_of_last(&[
        &act_of("R1", &[appointed("R1", "p", "2024-01-01")]),
        &act_of(
            "X",
            &[
                absent("trip_authorized", "X", "p", "2024-03-01", "2024-03-10"),
                delegated("X", "q", "2024-03-01", "2024-03-30"),
            ],
        ),
        &act_of("R3", &[appointed("R3", "r", "2024-03-15")]),
        &absent("trip_authorized", "X", "r", "2024-05-01", "2024-05-02"),
    ]);
    assert_warned(
        &warned,
        AnomalyKind::DelegateWithoutOffice,
        "q is in charge of A from 2024-03-01 to 2024-03-30 without holding another office",
    );
}

/// A delegate whose tenure a batch changes is compared in the offices they are in charge of
/// with all their other offices read, with offices enough (17) that the comparison does not
/// fall back to every office: p holds Z throughout, so losing Y is no gap in office.
#[test]
fn a_delegate_whose_tenure_changes_is_compared_with_all_their_offices() {
    let mut r1 = vec![
        appointed("R1", "p", "2024-01-01").replace(r#""office":"A""#, r#""office":"Z""#),
        appointed("R1", "p", "2024-02-01").replace(r#""office":"A""#, r#""office":"Y""#),
        appointed("R1", "t", "2024-01-01").replace(r#""office":"A""#, r#""office":"X""#),
    ];
    for i in 0..14 {
        r1.push(
            appointed("R1", &format!("f{i}"), "2024-01-01")
                .replace(r#""office":"A""#, &format!(r#""office":"F{i}""#)),
        );
    }
    let delegation = delegated("R2", "p", "2024-01-15", "2024-03-31")
        .replace(r#""office":"A""#, r#""office":"X""#);
    let warned = warned_of_last(&[
        &act_of("R1", &r1),
        &act_of("R2", &[delegation]),
        &act_of(
            "R3",
            &[appointed("R3", "q", "2024-03-01").replace(r#""office":"A""#, r#""office":"Y""#)],
        ),
    ]);
    assert!(
        !warned
            .iter()
            .any(|(kind, _)| *kind == AnomalyKind::DelegateWithoutOffice),
        "{warned:?}"
    );
}

const TWO_OFFICES: &str = r#"
{"type":"act_issued","act":"RS-001-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-01"}
{"type":"appointed","act":"RS-001-2024-PCM","person":"ana","office":"MINDEF","on":"2024-01-02"}
{"type":"appointed","act":"RS-001-2024-PCM","person":"bob","office":"MEF","on":"2024-01-02"}
{"type":"act_issued","act":"RS-010-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-05-01"}
{"type":"trip_authorized","act":"RS-010-2024-PCM","person":"ana","office":"MINDEF","from":"2024-05-10","until":"2024-05-12"}
{"type":"duties_delegated","act":"RS-010-2024-PCM","office":"MINDEF","delegate":"bob","delegate_office":"MEF","from":"2024-05-10","until":"2024-05-12"}
{"type":"act_issued","act":"RS-020-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-05-01"}
"#;

fn anomaly_kinds(warnings: &[Warning]) -> Vec<(AnomalyKind, String)> {
    warnings
        .iter()
        .filter_map(|w| match w {
            Warning::Anomaly { anomaly } => Some((
                anomaly.kind,
                anomaly
                    .office
                    .as_ref()
                    .map(|o| o.to_string())
                    .unwrap_or_default(),
            )),
            Warning::CloseId { .. } => None,
        })
        .collect()
}

#[test]
fn an_anomaly_of_an_office_the_batch_does_not_name_is_still_warned_of() {
    // bob, titular of MEF, is in charge of MINDEF on 10-12 May. A trip of bob as titular of
    // MEF leaves MINDEF's acting holder away: an anomaly of MINDEF, which the batch does not
    // name (besides MEF left unattended).
    let trip = r#"{"type":"trip_authorized","act":"RS-020-2024-PCM","person":"bob","office":"MEF","from":"2024-05-11","until":"2024-05-11"}"#;
    // carl appointed to MEF on 5 May ends bob's tenure, a person the batch does not name: bob
    // is then in charge of MINDEF without holding another office.
    let successor = r#"{"type":"appointed","act":"RS-020-2024-PCM","person":"carl","office":"MEF","on":"2024-05-05"}"#;
    let away = vec![
        (AnomalyKind::UnattendedOffice, "MEF".to_owned()),
        (AnomalyKind::DelegateAway, "MINDEF".to_owned()),
    ];
    let without = vec![(AnomalyKind::DelegateWithoutOffice, "MINDEF".to_owned())];
    for (batch, expected) in [(trip, away), (successor, without)] {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = ledger(&dir, &[ACTS, TWO_OFFICES]);
        let batch = parse_batch(batch.as_bytes()).unwrap();
        assert_eq!(
            anomaly_kinds(&warnings_before_writing(&ledger, &batch).unwrap()),
            expected
        );
        assert_eq!(
            anomaly_kinds(&warnings_over_every_office(&ledger, &batch)),
            expected
        );
        let answer = append(&mut ledger, batch, false).unwrap();
        assert_eq!(anomaly_kinds(&answer.warnings), expected);
    }
}

#[test]
fn strict_refuses_a_batch_in_parts_whose_first_part_warns_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = ledger(&dir, &[ACTS, TWO_OFFICES]);
    actledger_store::testing::set_part_events(&mut ledger, 4);
    let (head, records) = (
        ledger.head(),
        actledger_store::testing::all_records(&ledger),
    );
    let mut text = String::from(
        r#"{"type":"trip_authorized","act":"RS-020-2024-PCM","person":"bob","office":"MEF","from":"2024-05-11","until":"2024-05-11"}"#,
    );
    for i in 0..20 {
        text.push_str(&format!(
            "\n{{\"type\":\"act_issued\",\"act\":\"RS-{}-2024-PCM\",\"kind\":\"ley\",\"issuer\":\"PCM\",\"issued_on\":\"2024-06-01\"}}",
            100 + i
        ));
    }
    let batch = parse_batch(text.as_bytes()).unwrap();
    let Err(AnswerError::Refused { warnings }) = append(&mut ledger, batch.clone(), true) else {
        panic!("not refused")
    };
    assert_eq!(
        anomaly_kinds(&warnings),
        [
            (AnomalyKind::UnattendedOffice, "MEF".to_owned()),
            (AnomalyKind::DelegateAway, "MINDEF".to_owned())
        ]
    );
    assert_eq!(ledger.head(), head);
    assert_eq!(actledger_store::testing::all_records(&ledger), records);
    // Without --strict the same batch is written whole, warned of.
    let answer = append(&mut ledger, batch, false).unwrap();
    assert_eq!(answer.events.len(), 21);
    assert_eq!(answer.head.count, head.count + 21);
    assert_eq!(anomaly_kinds(&answer.warnings).len(), 2);
}

#[test]
fn a_batch_in_parts_is_warned_of_as_the_same_batch_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(&dir.path().join("l.db")).unwrap();
    let mut generator = actledger_gen::Generator::new(5);
    let mut batch_of = |n: usize| -> Vec<actledger_core::InputEvent> {
        (1..=n)
            .map(|line| actledger_core::InputEvent {
                line,
                event: generator.next_event(),
            })
            .collect()
    };
    append(&mut ledger, batch_of(800), false).unwrap();
    actledger_store::testing::set_part_events(&mut ledger, 90);
    let batch = batch_of(700);
    let expected = warnings_over_every_office(&ledger, &batch);
    assert!(expected.len() > 5, "{expected:?}");
    let answer = append(&mut ledger, batch.clone(), false).unwrap();
    assert_eq!(answer.warnings, expected);
    assert_eq!(answer.head.count, 1_500);
    // --strict refuses it, with the same warnings, and leaves nothing of it.
    let dir2 = tempfile::tempdir().unwrap();
    let mut strict = Ledger::create(&dir2.path().join("l.db")).unwrap();
    let mut generator = actledger_gen::Generator::new(5);
    let first: Vec<_> = (1..=800)
        .map(|line| actledger_core::InputEvent {
            line,
            event: generator.next_event(),
        })
        .collect();
    append(&mut strict, first, false).unwrap();
    actledger_store::testing::set_part_events(&mut strict, 90);
    let records = actledger_store::testing::all_records(&strict);
    let Err(AnswerError::Refused { warnings }) = append(&mut strict, batch, true) else {
        panic!("not refused")
    };
    assert_eq!(warnings, expected);
    assert_eq!(actledger_store::testing::all_records(&strict), records);
}

/// A batch with new events, events already recorded, a blank line and warnings: the JSON
/// streamed from the walk of its outcomes is, byte for byte, the serialized `AppendAnswer`,
/// whether the batch is written whole or in parts; without warnings too.
#[test]
fn the_streamed_append_json_is_the_append_answer_serialized() {
    let batch = [
        r#"{"type":"act_issued","act":"RS-030-2024-PCM","kind":"ley","issuer":"PCM","issued_on":"2024-06-01"}"#,
        "",
        TWO_OFFICES.lines().nth(2).unwrap(),
        r#"{"type":"trip_authorized","act":"RS-020-2024-PCM","person":"bob","office":"MEF","from":"2024-05-11","until":"2024-05-11"}"#,
        r#"{"type":"appointed","act":"RS-020-2024-PCM","person":"dan","office":"MINDEFF","on":"2024-06-01"}"#,
        r#"{"type":"act_issued","act":"RS-031-2024-PCM","kind":"ley","issuer":"PCM","issued_on":"2024-06-01"}"#,
        TWO_OFFICES.lines().nth(3).unwrap(),
    ]
    .join("\n");
    let quiet = r#"{"type":"act_issued","act":"RS-040-2024-PCM","kind":"ley","issuer":"PCM","issued_on":"2024-06-01"}
{"type":"act_issued","act":"RS-001-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-01"}"#;
    for (text, part, warned) in [
        (&*batch, None, true),
        (&*batch, Some(3), true),
        (quiet, None, false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = ledger(&dir, &[ACTS, TWO_OFFICES]);
        if let Some(events) = part {
            actledger_store::testing::set_part_events(&mut ledger, events);
        }
        let events = parse_batch(text.as_bytes()).unwrap();
        let outcomes = append_stream(
            &mut ledger,
            events.into_iter().map(Ok::<_, AnswerError>),
            false,
        )
        .unwrap();
        let streamed = serde_json::to_string(&outcomes).unwrap();
        let answer = outcomes.to_answer().unwrap();
        assert_eq!(
            streamed,
            serde_json::to_string(&answer).unwrap(),
            "{part:?}"
        );
        assert_eq!(outcomes.wrote(), answer.wrote());
        assert_eq!(outcomes.count(), answer.events.len() as u64);
        let statuses: BTreeSet<_> = answer
            .events
            .iter()
            .map(|e| format!("{:?}", e.status))
            .collect();
        assert_eq!(statuses.len(), 2, "{streamed}");
        assert_eq!(!answer.warnings.is_empty(), warned, "{streamed}");
        // Each recorded event's hash is its entry's, read back from the log.
        for event in &answer.events {
            if let Some(hash) = event.hash {
                let entry = outcomes.ledger().entry(event.seq).unwrap().unwrap();
                assert_eq!(hash.0, entry.hash);
            }
        }
        if warned {
            assert_eq!(
                answer.events.iter().map(|e| e.line).collect::<Vec<_>>(),
                [1, 3, 4, 5, 6, 7]
            );
            assert_eq!(outcomes.recorded(), 4);
            assert!(streamed.contains(r#""kind":"close_id""#), "{streamed}");
        }
    }
}
