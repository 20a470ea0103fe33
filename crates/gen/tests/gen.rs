//! The generator's promises: every stream is valid, canonical, deterministic and realistic.

use std::collections::BTreeMap;

use actledger_core::{AnomalyKind, Engine, Outcome, anomalies, parse_batch, parse_event};
use actledger_gen::Generator;

fn ndjson(seed: u64, events: u64) -> Vec<u8> {
    let mut out = Vec::new();
    Generator::new(seed)
        .write_ndjson(events, &mut out)
        .expect("writing to memory");
    out
}

/// Appends `input` in batches of `batch` lines and checks that every event is recorded, at
/// the position of its line.
fn append_all(input: &[u8], batch: usize) -> Engine {
    let lines: Vec<&[u8]> = input
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut engine = Engine::new();
    for (i, chunk) in lines.chunks(batch).enumerate() {
        let text = chunk.join(&b'\n');
        let outcomes = engine
            .append(parse_batch(&text).expect("generated lines parse"))
            .unwrap_or_else(|e| panic!("seed stream refused: {e}"));
        for (line, outcome) in outcomes {
            let expected = (i * batch + line) as u64;
            assert_eq!(outcome, Outcome::Recorded(expected), "line {expected}");
        }
    }
    assert_eq!(engine.events().len(), lines.len());
    engine
}

#[test]
fn twenty_thousand_events_are_accepted_whole_for_several_seeds() {
    for seed in [1, 2, 3, 0xDEAD_BEEF] {
        let input = ndjson(seed, 20_000);
        append_all(&input, 20_000);
    }
}

#[test]
fn a_stream_is_accepted_in_small_batches_too() {
    append_all(&ndjson(5, 20_000), 997);
}

#[test]
fn the_same_seed_and_count_give_the_same_bytes() {
    assert_eq!(ndjson(42, 30_000), ndjson(42, 30_000));
    assert_ne!(ndjson(42, 1_000), ndjson(43, 1_000));
    // A shorter stream is a prefix of a longer one.
    let long = ndjson(42, 30_000);
    let short = ndjson(42, 10_000);
    assert!(long.starts_with(&short));
}

#[test]
fn every_line_is_the_canonical_form_of_its_event() {
    for line in ndjson(9, 20_000)
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
    {
        let event = parse_event(line).expect("a generated line parses");
        assert_eq!(
            event.canonical_bytes(),
            line,
            "{}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn streams_look_like_real_gazettes() {
    let input = ndjson(11, 20_000);
    let text = std::str::from_utf8(&input).expect("UTF-8");
    let average = input.len() as f64 / 20_000.0;
    assert!((230.0..300.0).contains(&average), "{average} bytes/event");
    assert!(text.contains("á") && text.contains("ñ"), "accented names");

    let mut types: BTreeMap<String, usize> = BTreeMap::new();
    let mut open_ended = 0;
    let mut offices = std::collections::BTreeSet::new();
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let kind = value["type"].as_str().expect("a type").to_owned();
        if kind == "duties_delegated" && value.get("until").is_none() {
            open_ended += 1;
        }
        if let Some(office) = value.get("office").and_then(|o| o.as_str()) {
            offices.insert(office.to_owned());
        }
        *types.entry(kind).or_default() += 1;
    }
    for kind in actledger_core::EVENT_TYPES {
        assert!(
            types.get(kind).copied().unwrap_or(0) > 0,
            "no {kind}: {types:?}"
        );
    }
    assert!(
        (30..=60).contains(&offices.len()),
        "{} offices",
        offices.len()
    );
    assert!(open_ended > 0, "delegations without until");
    // Rare things stay rare.
    assert!(types["record_retracted"] < 20_000 / 50, "{types:?}");
    assert!(types["act_revoked"] < 20_000 / 25, "{types:?}");
    // Leaves: a fraction of the absences, as ministers travel more often than they take leave.
    let (trips, leaves) = (types["trip_authorized"], types["leave_granted"]);
    assert!(
        leaves * 10 > trips && leaves * 3 < trips,
        "{leaves} leaves for {trips} trips"
    );
}

#[test]
fn anomalies_of_every_kind_occur_at_low_rates() {
    let engine = append_all(&ndjson(3, 20_000), 20_000);
    let found = anomalies(&engine, None).expect("an in-memory ledger answers");
    let mut by_kind: BTreeMap<AnomalyKind, usize> = BTreeMap::new();
    for anomaly in &found {
        *by_kind.entry(anomaly.kind).or_default() += 1;
    }
    for kind in [
        AnomalyKind::UnattendedOffice,
        AnomalyKind::OverlappingDelegations,
        AnomalyKind::LeftWithoutHolding,
        AnomalyKind::TripWithoutHolding,
        AnomalyKind::LeaveWithoutHolding,
        AnomalyKind::DelegateWithoutOffice,
        AnomalyKind::ActRevokedTwice,
        AnomalyKind::DelegationOver30Days,
        AnomalyKind::DelegateAway,
    ] {
        let count = by_kind.get(&kind).copied().unwrap_or(0);
        assert!(count > 0, "no {kind:?}: {by_kind:?}");
        // Below 1.5% of the events: anomalies are the exception.
        assert!(count < 300, "{kind:?} too common: {by_kind:?}");
    }
}
