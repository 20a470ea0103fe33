//! The answers' state a mirror publishes: answer bundles made from the mirror alone check with
//! the key and say what the ledger answers; an update writes only the offices that changed;
//! anything altered is refused.

use actledger_answers::{AsOf, ProvenAnswer, check_bundle, holder};
use actledger_core::{Day, parse_batch};
use actledger_mirror::{CloneError, STATE_FILE, bundle_from_mirror, office_file};
use actledger_proof::SignerKey;

use crate::Sandbox;

/// The seed case: Walter Astudillo titular of MINDEF, away 2-4 June 2024 with José Arista
/// Arbildo (titular of MEF) acting.
const SEED: &str = include_str!("../../../cli/data/seed.ndjson");

fn day(text: &str) -> Day {
    Day::parse(text).unwrap()
}

fn seeded() -> Sandbox {
    let mut s = Sandbox::new();
    s.ledger
        .append(parse_batch(SEED.as_bytes()).unwrap())
        .unwrap();
    s
}

fn mirror_source(s: &Sandbox) -> String {
    s.mirror().display().to_string()
}

/// The bundle for `office` on `on` from the mirror: it must check with the key and say
/// exactly what the ledger answers as of the mirror's size.
fn assert_answers_as_the_ledger(s: &Sandbox, office: &str, on: &str) -> ProvenAnswer {
    let vkey = s.key.verifier_key().clone();
    let bundle = bundle_from_mirror(&mirror_source(s), &vkey, office, day(on)).unwrap();
    let checked = check_bundle(&serde_json::to_vec(&bundle).unwrap(), &vkey).unwrap();
    assert_eq!(checked.answer, bundle.answer, "{office} on {on}");
    let size = s.ledger.head().count;
    assert_eq!(checked.checkpoint.size, size);
    match &bundle.answer {
        ProvenAnswer::Held(said) => {
            let asked = holder(&s.ledger, office, day(on), Some(AsOf::Seq(size)))
                .unwrap()
                .answer;
            assert_eq!(*said, asked, "{office} on {on}");
        }
        ProvenAnswer::Unknown(unknown) => assert_eq!(unknown.office, office),
    }
    bundle.answer
}

#[test]
fn a_bundle_made_from_the_mirror_alone_checks_and_says_what_the_ledger_answers() {
    let s = seeded();
    s.publish();
    let acting = assert_answers_as_the_ledger(&s, "MINDEF", "2024-06-03");
    let ProvenAnswer::Held(acting) = acting else {
        panic!("MINDEF is known")
    };
    let holder = acting.holder.unwrap();
    assert_eq!(holder.name.as_deref(), Some("José Arista Arbildo"));
    for (office, on) in [
        ("MINDEF", "2024-06-01"),
        ("MINDEF", "2024-06-04"),
        ("MINDEF", "2024-06-05"),
        ("MINDEF", "2023-09-05"), // before its record starts
        ("MINDEF", "9999-12-31"),
        ("MEF", "2024-06-03"),
        ("AAA", "2024-06-03"),  // unknown, before every office
        ("MEFF", "2024-06-03"), // unknown, between two
        ("ZZZ", "2024-06-03"),  // unknown, after every office
    ] {
        assert_answers_as_the_ledger(&s, office, on);
    }
}

#[test]
fn an_update_writes_the_files_of_the_offices_that_changed_and_no_other() {
    let mut s = seeded();
    s.publish();
    let left = br#"{"type":"act_issued","act":"RS-200-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}
{"type":"left_office","act":"RS-200-2024-PCM","person":"walter-astudillo","office":"MINDEF","on":"2024-07-02","reason":"resigned"}"#;
    s.ledger.append(parse_batch(left).unwrap()).unwrap();
    let published = s.publish();
    assert!(
        published.written.contains(&office_file("MINDEF")),
        "{:?}",
        published.written
    );
    assert!(!published.written.contains(&office_file("MEF")));
    assert!(published.written.contains(&STATE_FILE.to_owned()));
    assert_answers_as_the_ledger(&s, "MINDEF", "2024-07-03");
    assert_answers_as_the_ledger(&s, "MINDEF", "2024-06-03");

    // A rename changes every office the person appears in.
    let renamed = r#"{"type":"act_issued","act":"RS-201-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-05"}
{"type":"appointed","act":"RS-201-2024-PCM","person":"jose-arista","person_name":"José Berley Arista Arbildo","office":"MINDEF","on":"2024-07-05"}"#;
    s.ledger
        .append(parse_batch(renamed.as_bytes()).unwrap())
        .unwrap();
    let published = s.publish();
    assert!(published.written.contains(&office_file("MEF")));
    let ProvenAnswer::Held(mef) = assert_answers_as_the_ledger(&s, "MEF", "2024-01-01") else {
        panic!("MEF is known")
    };
    assert_eq!(
        mef.holder.unwrap().name.as_deref(),
        Some("José Berley Arista Arbildo")
    );
}

/// What making the bundle of MINDEF on 3 June 2024 says of the mirror, once `alter` changed it.
fn after(alter: impl FnOnce(&std::path::Path)) -> CloneError {
    let s = seeded();
    s.publish();
    alter(&s.mirror());
    bundle_from_mirror(
        &mirror_source(&s),
        s.key.verifier_key(),
        "MINDEF",
        day("2024-06-03"),
    )
    .unwrap_err()
}

fn replace_in(path: &std::path::Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} holds {from}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn a_mirror_whose_state_was_altered_gives_no_bundle() {
    // A holder's name changed in the office's segments.
    let e = after(|m| replace_in(&m.join(office_file("MINDEF")), "José Arista", "Jose Arista"));
    assert!(e.is_mismatch(), "{e}");
    assert!(e.to_string().contains("MINDEF.json"), "{e}");

    // The office's leaf changed in the state, with segments to match it.
    let e = after(|m| {
        replace_in(&m.join(STATE_FILE), "\"segments\":3", "\"segments\":2");
        replace_in(
            &m.join(office_file("MINDEF")),
            "\"segments\":3",
            "\"segments\":2",
        );
    });
    assert!(e.is_mismatch(), "{e}");
    assert!(e.to_string().contains("state root"), "{e}");

    // An office removed from the state.
    let e = after(|m| {
        let path = m.join(STATE_FILE);
        let mut state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        state["offices"].as_array_mut().unwrap().remove(0);
        std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
    });
    assert!(e.is_mismatch(), "{e}");

    // A state of another size than the checkpoint's.
    let e = after(|m| replace_in(&m.join(STATE_FILE), "\"size\":7", "\"size\":6"));
    assert!(e.is_mismatch(), "{e}");
    assert!(e.to_string().contains("size 6"), "{e}");

    // The statement signed by another key.
    let e = after(|m| {
        let other = SignerKey::from_seed("example.org/mirror", [1; 32]).unwrap();
        let text = std::fs::read_to_string(m.join("statement")).unwrap();
        // The note's text is everything up to the blank line before its signatures.
        let body = &text[..text.find("\n\n").unwrap() + 1];
        let statement = actledger_proof::Statement::parse(body).unwrap();
        std::fs::write(m.join("statement"), statement.sign(&other).unwrap()).unwrap();
    });
    assert!(matches!(e, CloneError::NotSigned { .. }), "{e}");

    // The office's file missing: a failure to read, not a finding.
    let e = after(|m| std::fs::remove_file(m.join(office_file("MINDEF"))).unwrap());
    assert!(matches!(e, CloneError::Read { .. }), "{e}");
}

#[test]
fn with_nothing_new_only_files_that_went_missing_are_made_again() {
    let s = seeded();
    s.publish();
    let all = crate::snapshot(&s.mirror());
    let again = s.publish();
    assert!(again.written.is_empty(), "{:?}", again.written);
    assert_eq!(again.unchanged, all.len() as u64);
    let gone = [
        "offices/MINDEF.html",
        "data/popolo.json",
        "state/offices/MEF.json",
    ];
    for name in gone {
        std::fs::remove_file(s.mirror().join(name)).unwrap();
    }
    let mended = s.publish();
    let mut written = mended.written.clone();
    written.sort();
    let mut expected = gone.map(str::to_owned).to_vec();
    expected.sort();
    assert_eq!(written, expected);
    assert_eq!(crate::snapshot(&s.mirror()).len(), all.len());
    for name in gone {
        assert_eq!(
            std::fs::read(s.mirror().join(name)).unwrap(),
            all[name].0,
            "{name} made again as it was"
        );
    }
}
