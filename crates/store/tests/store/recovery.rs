//! An append interrupted between its first write and its flush (a full disk, a crash): sled
//! may keep any part of the batch once its writes have failed, so the store's intent record
//! lets the next open keep the append when it is whole on disk and undo it otherwise, and
//! rebuild everything derived from the log.

use actledger_core::{Day, who_held};
use actledger_store::testing::{META_HEAD, META_PENDING, chunk_key, encode_head, encode_pending};
use actledger_store::{Head, Ledger, Recovery, StoreError, Verdict, verify_path};

use crate::common::{batch, ledger_with, numbered_batch, raw, scratch};

const OFFICES: [&str; 4] = ["MINDEF", "MEF", "MINSA", "MINJUS"];

/// Every office's holder on each of the first ten days of the history, as `who-held` says.
fn answers(ledger: &Ledger) -> Vec<Option<String>> {
    let first = Day::parse("2020-01-01").unwrap().ordinal();
    let mut out = Vec::new();
    for office in OFFICES {
        for offset in 0..10 {
            let day = Day::from_ordinal(first + offset).unwrap();
            out.push(match who_held(ledger, office, day, None) {
                Ok(answer) => answer.holder.map(|h| h.person.as_str().to_owned()),
                Err(actledger_core::QueryError::UnknownOffice { .. }) => Some("unknown".into()),
                Err(e) => panic!("{office} {day}: {e}"),
            });
        }
    }
    out
}

fn export(ledger: &Ledger) -> Vec<u8> {
    let mut out = Vec::new();
    ledger.export(&mut out, &mut |_| {}).unwrap();
    out
}

struct Interrupted {
    scratch: crate::common::Scratch,
    before: Head,
    after: Head,
    /// What the ledger answered and exported at `before`.
    answers_before: Vec<Option<String>>,
    export_before: Vec<u8>,
}

/// A ledger of 300 entries to which an append of 500 more was interrupted: every part of the
/// append is on disk (entries, indexes, cache, tree hashes) but for the chunks `lose` names,
/// the head record is the one before, and the intent record is still there.
fn interrupted(lose: &[u64]) -> Interrupted {
    let scratch = scratch();
    let mut ledger = ledger_with(&scratch.path, 3, 100);
    let before = ledger.head();
    let answers_before = answers(&ledger);
    let export_before = export(&ledger);
    let mut big = numbered_batch(3, 250);
    big.push('\n');
    big.push_str(&numbered_batch(4, 250));
    let after = ledger.append(batch(&big)).unwrap().head;
    assert_eq!(after.count, 800);
    assert_ne!(
        answers(&ledger),
        answers_before,
        "the append must change answers"
    );
    drop(ledger);
    {
        let db = raw(&scratch.path);
        assert_eq!(
            db.get(META_PENDING).unwrap(),
            None,
            "a whole append leaves no record"
        );
        let time = actledger_store::testing::read_entry(&db, before.count).time;
        db.insert(META_HEAD, encode_head(before, &time)).unwrap();
        db.insert(META_PENDING, encode_pending(before, after))
            .unwrap();
        for seq in lose {
            db.remove(chunk_key(*seq)).unwrap();
        }
    }
    Interrupted {
        scratch,
        before,
        after,
        answers_before,
        export_before,
    }
}

#[test]
fn an_append_that_is_not_whole_on_disk_is_undone_with_everything_it_left() {
    // The middle chunk of the append is lost, its last one is there (as seen on a full disk).
    let case = interrupted(&[513]);
    let mut ledger = Ledger::open(&case.scratch.path).unwrap();
    assert_eq!(
        ledger.recovery(),
        Some(Recovery::RolledBack {
            head: case.before,
            undone: 500
        })
    );
    assert_eq!(ledger.head(), case.before);
    // Not one answer comes from what the undone append left in the indexes and the cache.
    assert_eq!(answers(&ledger), case.answers_before);
    assert_eq!(export(&ledger), case.export_before);
    assert!(matches!(
        ledger.verify().unwrap(),
        Verdict::Intact { count: 300, .. }
    ));
    let root = ledger.tree_root(300).unwrap();
    // Appends go on from there.
    ledger.append(batch(&numbered_batch(3, 10))).unwrap();
    assert_eq!(ledger.head().count, 310);
    assert_eq!(ledger.tree_root(300).unwrap(), root);
    drop(ledger);
    let ledger = Ledger::open(&case.scratch.path).unwrap();
    assert_eq!(ledger.recovery(), None);
    assert!(matches!(
        ledger.verify().unwrap(),
        Verdict::Intact { count: 310, .. }
    ));
}

#[test]
fn an_append_whole_on_disk_is_kept() {
    let case = interrupted(&[]);
    let ledger = Ledger::open(&case.scratch.path).unwrap();
    assert_eq!(ledger.recovery(), Some(Recovery::Kept { head: case.after }));
    assert_eq!(ledger.head(), case.after);
    assert!(matches!(
        ledger.verify().unwrap(),
        Verdict::Intact { count: 800, .. }
    ));
    // Batch 4 appointed its people to MINDEF (k % 4 == 0) on 2020-01-05.
    let day = Day::parse("2020-01-05").unwrap();
    let holder = who_held(&ledger, "MINDEF", day, None)
        .unwrap()
        .holder
        .unwrap();
    assert!(holder.person.as_str().starts_with("p-4-"), "{holder:?}");
}

#[test]
fn verification_settles_an_interrupted_append_first() {
    let case = interrupted(&[513, 769]);
    assert!(matches!(
        verify_path(&case.scratch.path).unwrap(),
        Verdict::Intact { count: 300, .. }
    ));
    let ledger = Ledger::open(&case.scratch.path).unwrap();
    assert_eq!(ledger.recovery(), None, "verify already settled it");
    assert_eq!(ledger.head(), case.before);
    assert_eq!(answers(&ledger), case.answers_before);
}

#[test]
fn an_intent_record_that_matches_neither_state_is_damage() {
    let case = interrupted(&[513]);
    {
        let db = raw(&case.scratch.path);
        let wrong = Head {
            count: case.before.count,
            hash: [7; 32],
        };
        db.insert(META_PENDING, encode_pending(wrong, case.after))
            .unwrap();
    }
    let error = Ledger::open(&case.scratch.path).unwrap_err();
    assert!(matches!(error, StoreError::Damaged { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("an append from 300 to 800 entries was interrupted"),
        "{error}"
    );
    assert!(verify_path(&case.scratch.path).is_err());
}

/// An append whose last flush failed had already moved the in-memory head (and the tree held
/// its batch), so a long-lived server kept serving a head the CLI said was not recorded.
#[test]
fn a_failed_flush_moves_neither_the_head_nor_the_answers() {
    let s = scratch();
    let mut ledger = ledger_with(&s.path, 3, 20);
    let head = ledger.head();
    let (answers_before, export_before) = (answers(&ledger), export(&ledger));
    let next = batch(&numbered_batch(3, 20));

    actledger_store::testing::fail_next_append_flush(&ledger);
    let error = ledger.append(next.clone()).unwrap_err();
    assert!(
        matches!(
            error,
            actledger_store::AppendError::Store(StoreError::Storage { .. })
        ),
        "{error:?}"
    );
    assert_eq!(ledger.head(), head);
    assert_eq!(ledger.entry(head.count + 1).unwrap(), None);
    assert_eq!(answers(&ledger), answers_before);
    assert_eq!(export(&ledger), export_before);
    assert!(
        matches!(ledger.verify().unwrap(), Verdict::Intact { count, .. } if count == head.count)
    );

    // The same batch again is new to the ledger (no index kept it), and lands right after.
    let report = ledger.append(next).unwrap();
    assert!(
        report.runs().iter().all(|run| run.recorded),
        "{:?}",
        report.runs()
    );
    assert_eq!(report.head.count, head.count + 20);
    let after = (ledger.head(), answers(&ledger), export(&ledger));
    drop(ledger);

    // Reopened: nothing to settle, and the ledger is as the handle left it.
    let ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(ledger.recovery(), None);
    assert_eq!((ledger.head(), answers(&ledger), export(&ledger)), after);
    assert!(ledger.verify().unwrap().is_intact());
}

/// A failed append, then the process gone: the next open finds the ledger as it was.
#[test]
fn a_failed_flush_is_not_there_after_reopening() {
    let s = scratch();
    let mut ledger = ledger_with(&s.path, 2, 20);
    let head = ledger.head();
    let (answers_before, export_before) = (answers(&ledger), export(&ledger));
    actledger_store::testing::fail_next_append_flush(&ledger);
    ledger.append(batch(&numbered_batch(2, 20))).unwrap_err();
    drop(ledger);

    let ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(ledger.recovery(), None);
    assert_eq!(ledger.head(), head);
    assert_eq!(answers(&ledger), answers_before);
    assert_eq!(export(&ledger), export_before);
    drop(ledger);
    assert!(
        matches!(verify_path(&s.path).unwrap(), Verdict::Intact { count, .. } if count == head.count)
    );
}
