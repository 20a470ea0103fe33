//! Creating, opening and appending: whole batches or nothing, duplicates reported, positions
//! without gaps, recording times that never go back.

use actledger_core::Recorded;
use actledger_store::testing::{META_HEAD, read_entry, write_entry_raw};
use actledger_store::{
    AppendError, Appended, Head, Ledger, StoreError, Verdict, parse_time, verify_path,
};

use crate::common::{SEED, batch, ledger_with, names_in, numbered_batch, outcomes, raw, scratch};

#[test]
fn a_refused_batch_writes_nothing_and_leaves_the_head_unchanged() {
    let s = scratch();
    let mut ledger = ledger_with(&s.path, 2, 3);
    let head = ledger.head();
    let refused = r#"{"type":"act_issued","act":"NEW-1","kind":"ley","issuer":"PCM","issued_on":"2024-01-01"}
{"type":"appointed","act":"NEVER-ISSUED","person":"ana","office":"MINDEF","on":"2024-01-02"}"#;
    let error = ledger.append(batch(refused)).unwrap_err();
    let AppendError::Invalid(invalid) = &error else {
        panic!("{error}")
    };
    assert_eq!(invalid.line, 2);
    assert!(error.to_string().contains("never issued"), "{error}");
    assert_eq!(ledger.head(), head);
    assert_eq!(ledger.entry(head.count + 1).unwrap(), None);
    drop(ledger);

    assert_eq!(
        verify_path(&s.path).unwrap(),
        Verdict::Intact {
            count: 6,
            head: head.hash
        }
    );
    let mut ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(ledger.head(), head);
    // The valid first event was not written: it is new now.
    let report = ledger
        .append(batch(refused.lines().next().unwrap()))
        .unwrap();
    assert!(matches!(
        outcomes(&ledger, &report)[..],
        [(1, Appended::Recorded { seq: 7, .. })]
    ));
}

#[test]
fn a_duplicate_is_reported_already_recorded_with_its_position() {
    let s = scratch();
    let mut ledger = Ledger::create(&s.path).unwrap();
    let first = ledger.append(batch(SEED)).unwrap();
    assert_eq!(first.head.count, 6);
    for (i, (line, outcome)) in outcomes(&ledger, &first).iter().enumerate() {
        let seq = i as u64 + 1;
        assert_eq!(*line, i + 1);
        let stored = ledger.entry(seq).unwrap().unwrap();
        assert_eq!(
            *outcome,
            Appended::Recorded {
                seq,
                hash: stored.hash
            }
        );
    }

    // The same events again, one with its keys reordered and spaced, and a repeat inside the
    // batch: nothing is written, each names where it is recorded.
    let again = r#"{"type":"appointed","act":"RS-001-2024-PCM","person":"walter-astudillo","person_name":"Walter Astudillo","office":"MINDEF","on":"2024-01-02"}
{ "office": "MEF", "on": "2024-01-02", "type": "appointed", "act": "RS-001-2024-PCM", "person": "jose-arista", "person_name": "José Arista Arbildo" }
{"type":"act_issued","act":"RS-900","kind":"ley","issuer":"PCM","issued_on":"2024-01-01"}
{"type":"act_issued","act":"RS-900","kind":"ley","issuer":"PCM","issued_on":"2024-01-01"}"#;
    let report = ledger.append(batch(again)).unwrap();
    let found = outcomes(&ledger, &report);
    assert_eq!(found[0], (1, Appended::AlreadyRecorded { seq: 2 }));
    assert_eq!(found[1], (2, Appended::AlreadyRecorded { seq: 3 }));
    assert!(matches!(found[2], (3, Appended::Recorded { seq: 7, .. })));
    assert_eq!(found[3], (4, Appended::AlreadyRecorded { seq: 7 }));
    assert_eq!(report.head.count, 7);

    // A batch of nothing but duplicates writes nothing.
    let head = ledger.head();
    let report = ledger.append(batch(SEED)).unwrap();
    assert_eq!(report.head, head);
    assert!(
        outcomes(&ledger, &report)
            .iter()
            .all(|(_, o)| matches!(o, Appended::AlreadyRecorded { .. }))
    );
    assert!(ledger.verify().unwrap().is_intact());
}

/// A batch with blank lines and events already recorded among new ones: its runs split where
/// the lines skip or the fate changes, and the walk gives every event in input order, each
/// recorded one with the hash of its entry, read back from the log, the same after a later
/// append.
#[test]
fn the_walk_of_an_irregular_batch_reads_each_hash_back() {
    let s = scratch();
    let mut ledger = Ledger::create(&s.path).unwrap();
    ledger.append(batch(SEED)).unwrap();
    let seed: Vec<&str> = SEED.lines().collect();
    let new: Vec<String> = numbered_batch(1, 4).lines().map(str::to_owned).collect();
    // Lines: 1-2 new, 3 blank, 4 new, 5-6 already recorded (2 and 3), 7 new, 8 blank.
    let text = [
        new[0].as_str(),
        &new[1],
        "",
        &new[2],
        seed[1],
        seed[2],
        &new[3],
        "",
    ]
    .join("\n");
    let report = ledger.append(batch(&text)).unwrap();
    let runs: Vec<_> = report
        .runs()
        .iter()
        .map(|r| (r.first_line, r.first_seq, r.len, r.recorded))
        .collect();
    assert_eq!(
        runs,
        [
            (1, 7, 2, true),
            (4, 9, 1, true),
            (5, 2, 2, false),
            (7, 10, 1, true)
        ]
    );
    assert_eq!((report.events(), report.recorded()), (6, 4));
    let hash = |seq| ledger.entry(seq).unwrap().unwrap().hash;
    let expected = vec![
        (
            1,
            Appended::Recorded {
                seq: 7,
                hash: hash(7),
            },
        ),
        (
            2,
            Appended::Recorded {
                seq: 8,
                hash: hash(8),
            },
        ),
        (
            4,
            Appended::Recorded {
                seq: 9,
                hash: hash(9),
            },
        ),
        (5, Appended::AlreadyRecorded { seq: 2 }),
        (6, Appended::AlreadyRecorded { seq: 3 }),
        (
            7,
            Appended::Recorded {
                seq: 10,
                hash: hash(10),
            },
        ),
    ];
    assert_eq!(outcomes(&ledger, &report), expected);
    assert_eq!(
        report
            .outcomes()
            .map(|(line, o)| (line, o.seq()))
            .collect::<Vec<_>>(),
        [(1, 7), (2, 8), (4, 9), (5, 2), (6, 3), (7, 10)]
    );

    ledger.append(batch(&numbered_batch(2, 3))).unwrap();
    assert_eq!(outcomes(&ledger, &report), expected);
}

/// Nothing recorded: one run, and a walk that needs no entry.
#[test]
fn the_walk_of_a_batch_already_recorded_reads_no_entry() {
    let s = scratch();
    let mut ledger = Ledger::create(&s.path).unwrap();
    ledger.append(batch(SEED)).unwrap();
    let report = ledger.append(batch(SEED)).unwrap();
    assert_eq!(report.runs().len(), 1);
    let expected: Vec<_> = (1..=6)
        .map(|i| (i, Appended::AlreadyRecorded { seq: i as u64 }))
        .collect();
    assert_eq!(outcomes(&ledger, &report), expected);
}

/// Layout version 2 stores no digests: an identical event is found through its act, or, for a
/// retraction (which names no act), through the retractions of its position. Identical
/// events are reported, in a later batch and after reopening; events that differ in one field
/// are recorded.
#[test]
fn duplicates_are_found_without_a_digest_index() {
    let s = scratch();
    let mut ledger = Ledger::create(&s.path).unwrap();
    ledger.append(batch(SEED)).unwrap();
    let retraction = r#"{"type":"record_retracted","seq":2,"reason":"error"}"#;
    let report = ledger.append(batch(retraction)).unwrap();
    assert!(matches!(
        outcomes(&ledger, &report)[..],
        [(1, Appended::Recorded { seq: 7, .. })]
    ));
    drop(ledger);
    let mut ledger = Ledger::open(&s.path).unwrap();
    let again = format!(
        "{retraction}\n{}\n{}",
        r#"{"type":"record_retracted","seq":2,"reason":"another reason"}"#,
        SEED.lines().nth(1).unwrap()
    );
    let report = ledger.append(batch(&again)).unwrap();
    assert_eq!(
        outcomes(&ledger, &report),
        vec![
            (1, Appended::AlreadyRecorded { seq: 7 }),
            (
                2,
                Appended::Recorded {
                    seq: 8,
                    hash: ledger.entry(8).unwrap().unwrap().hash
                }
            ),
            (3, Appended::AlreadyRecorded { seq: 2 }),
        ]
    );
}

#[test]
fn positions_have_no_gaps_and_entries_read_back() {
    let s = scratch();
    let ledger = ledger_with(&s.path, 4, 3);
    let all: Vec<_> = ledger.entries(1).map(Result::unwrap).collect();
    assert_eq!(all.len(), 12);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
        assert!(e.hash_is_valid());
        assert_eq!(e.prev, if i == 0 { [0; 32] } else { all[i - 1].hash });
        assert_eq!(e.event().unwrap(), ledger.event(e.seq).unwrap());
    }
    assert_eq!(ledger.entries(10).count(), 3);
    assert_eq!(ledger.entries(13).count(), 0);
    assert_eq!(ledger.entry(0).unwrap(), None);
    assert_eq!(ledger.entry(13).unwrap(), None);
    assert_eq!(
        ledger.head(),
        Head {
            count: 12,
            hash: all[11].hash
        }
    );
}

#[test]
fn a_large_batch_is_written_whole_and_survives_reopening() {
    let s = scratch();
    let mut ledger = Ledger::create(&s.path).unwrap();
    let text: Vec<String> = (0..100).map(|k| numbered_batch(k, 30)).collect();
    let report = ledger.append(batch(&text.join("\n"))).unwrap();
    assert_eq!(report.head.count, 3000);
    drop(ledger);
    let ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(ledger.head(), report.head);
    assert!(matches!(
        ledger.verify().unwrap(),
        Verdict::Intact { count: 3000, .. }
    ));
}

#[test]
fn recording_times_never_go_back_even_when_the_clock_does() {
    let s = scratch();
    drop(ledger_with(&s.path, 1, 2));
    // Pretend the last entry was recorded in the future: the clock has since stepped back.
    let future = "2999-01-01T00:00:00.000000Z";
    {
        let db = raw(&s.path);
        let head_bytes = db.get(META_HEAD).unwrap().unwrap();
        let mut changed = head_bytes[..40].to_vec();
        changed.extend_from_slice(future.as_bytes());
        db.insert(META_HEAD, changed).unwrap();
        db.flush().unwrap();
    }
    let mut ledger = Ledger::open(&s.path).unwrap();
    ledger.append(batch(&numbered_batch(1, 2))).unwrap();
    assert_eq!(ledger.entry(3).unwrap().unwrap().time, future);
    assert_eq!(ledger.entry(4).unwrap().unwrap().time, future);
    // Fresh entries get the present time, in the documented form.
    let first = ledger.entry(1).unwrap().unwrap();
    assert_eq!(first.time.len(), 27);
    assert!(parse_time(&first.time).is_ok());
}

#[test]
fn seq_at_time_finds_the_last_entry_recorded_by_then() {
    let s = scratch();
    let mut ledger = Ledger::create(&s.path).unwrap();
    assert_eq!(ledger.seq_at_time(chrono::Utc::now()).unwrap(), None);
    let mut marks = Vec::new();
    for k in 0..5 {
        ledger.append(batch(&numbered_batch(k, 2))).unwrap();
        marks.push(parse_time(&ledger.entry(ledger.head().count).unwrap().unwrap().time).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let before = marks[0] - chrono::Duration::microseconds(1);
    assert_eq!(ledger.seq_at_time(before).unwrap(), None);
    for (k, mark) in marks.iter().enumerate() {
        // A batch shares one time: the answer is its last entry.
        assert_eq!(ledger.seq_at_time(*mark).unwrap(), Some(2 * k as u64 + 2));
    }
    assert_eq!(ledger.seq_at_time(chrono::Utc::now()).unwrap(), Some(10));
}

#[test]
fn create_makes_a_ledger_only_where_there_is_none() {
    let s = scratch();
    drop(Ledger::create(&s.path).unwrap());
    assert!(matches!(
        Ledger::create(&s.path),
        Err(StoreError::AlreadyExists { .. })
    ));
    drop(ledger_with(&s.dir.path().join("full"), 1, 2));
    let error = Ledger::create(&s.dir.path().join("full")).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "a ledger already exists at {}",
            s.dir.path().join("full").display()
        )
    );

    let file = s.dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    assert!(matches!(
        Ledger::create(&file),
        Err(StoreError::PathOccupied { .. })
    ));
    assert!(matches!(
        Ledger::open(&file),
        Err(StoreError::NotALedger { .. })
    ));

    let empty = s.dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(Ledger::create(&empty).unwrap().head(), Head::EMPTY);
    assert_eq!(
        Ledger::create(&s.dir.path().join("x/y/z"))
            .unwrap()
            .head()
            .count,
        0
    );
    // No temporary folders are left beside them.
    assert_eq!(
        names_in(s.dir.path()),
        ["empty", "file", "full", "ledger", "x"]
    );
}

#[test]
fn an_entry_that_lost_its_event_is_a_typed_error_not_a_panic() {
    let s = scratch();
    drop(ledger_with(&s.path, 1, 3));
    {
        // Entry 2's event replaced inside its chunk (entry 3 still links to its stored hash).
        let db = raw(&s.path);
        let mut lost = read_entry(&db, 2);
        lost.event = b"garbage".to_vec();
        write_entry_raw(&db, 2, &lost);
    }
    let ledger = Ledger::open(&s.path).unwrap();
    let error = ledger.entry(2).unwrap_err();
    assert!(
        matches!(error, StoreError::Broken { seq: 2, .. }),
        "{error}"
    );
    assert!(ledger.event(2).is_err());
    assert_eq!(ledger.entries(1).filter(Result::is_err).count(), 1);
    assert!(!ledger.verify().unwrap().is_intact());
    let mut out = Vec::new();
    assert!(ledger.export(&mut out, &mut |_| {}).is_err());
}

/// An office named only as a delegate's own office is known from that event on, as of any
/// point: `offices_at` and `who_held` as of a point between that event and the head know it
/// (they did not, while the head did), and a record written before the position was kept
/// (an empty value) gives the same answers, read from the log, and verifies.
#[test]
fn an_office_named_only_as_a_delegates_office_is_known_from_that_event_as_of_any_point() {
    const EVENTS: &str = r#"{"type":"act_issued","act":"RS-001","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-05-31"}
{"type":"appointed","act":"RS-001","person":"ana","office":"MINDEF","on":"2024-06-01"}
{"type":"trip_authorized","act":"RS-001","person":"ana","office":"MINDEF","from":"2024-06-10","until":"2024-06-12"}
{"type":"duties_delegated","act":"RS-001","office":"MINDEF","delegate":"bruno","delegate_office":"MINEM","from":"2024-06-10"}
{"type":"act_issued","act":"RS-002","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}
{"type":"appointed","act":"RS-002","person":"carla","office":"MEF","on":"2024-07-01"}"#;
    let s = scratch();
    let mut ledger = Ledger::create(&s.path).unwrap();
    ledger.append(batch(EVENTS)).unwrap();
    let known = |ledger: &Ledger, as_of| {
        actledger_core::offices_at(ledger, as_of)
            .unwrap()
            .into_iter()
            .map(|office| office.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(known(&ledger, 3), ["MINDEF"]);
    assert_eq!(known(&ledger, 4), ["MINDEF", "MINEM"]);
    assert_eq!(known(&ledger, 6), ["MEF", "MINDEF", "MINEM"]);
    let day = actledger_core::Day::parse("2024-06-11").unwrap();
    // Known or not yet, it has no record: no event shapes its timeline.
    for as_of in [3, 4, 6] {
        let answer = actledger_core::who_held(&ledger, "MINEM", day, Some(as_of)).unwrap();
        assert!(!answer.on_record && answer.holder.is_none(), "{answer:?}");
    }
    drop(ledger);

    // Records as the program wrote them before: empty values.
    let db = crate::common::raw(&s.path);
    let keys: Vec<_> = db.scan_prefix(b"K").map(|item| item.unwrap().0).collect();
    assert_eq!(keys.len(), 3);
    for key in keys {
        db.insert(key, &[][..]).unwrap();
    }
    db.flush().unwrap();
    drop(db);
    assert!(matches!(
        actledger_store::verify_path(&s.path).unwrap(),
        actledger_store::Verdict::Intact { count: 6, .. }
    ));
    let ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(known(&ledger, 3), ["MINDEF"]);
    assert_eq!(known(&ledger, 4), ["MINDEF", "MINEM"]);
    assert_eq!(known(&ledger, 6), ["MEF", "MINDEF", "MINEM"]);
}
