//! `compact`: the same records in a fresh database, put in place in one step.

use std::path::Path;
use std::time::Duration;

use actledger_store::{
    AppendedBatch, GrowthBound, Ledger, StoreError, Verdict, compact_if_grown, compact_path,
    folder_bytes,
};

use crate::common::{SEED, batch, ledger_with, names_in, raw, scratch};

/// Every record of the closed ledger at `path`, key and value.
fn records(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let db = raw(path);
    db.iter()
        .map(|item| {
            let (key, value) = item.unwrap();
            (key.to_vec(), value.to_vec())
        })
        .collect()
}

#[test]
fn a_compacted_ledger_holds_the_same_records_and_answers() {
    let s = scratch();
    let mut ledger = ledger_with(&s.path, 120, 3);
    ledger.append(batch(SEED)).unwrap();
    let head = ledger.head();
    drop(ledger);
    let before = records(&s.path);

    let mut seen = Vec::new();
    let compacted = compact_path(&s.path, Duration::ZERO, &mut |n| seen.push(n)).unwrap();

    assert_eq!(
        records(&s.path),
        before,
        "the same keys and values, in order"
    );
    assert_eq!(compacted.records, before.len() as u64);
    assert_eq!(
        seen.last(),
        Some(&compacted.records),
        "progress reaches the end"
    );
    assert!(compacted.before_bytes > 0 && compacted.after_bytes > 0);
    // Nothing is left beside the ledger: the old folder is gone.
    assert_eq!(names_in(s.dir.path()), ["ledger"]);
    let mut ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(ledger.head(), head);
    assert!(matches!(ledger.verify().unwrap(), Verdict::Intact { .. }));
    // And it takes appends as before.
    ledger
        .append(batch(
            r#"{"type":"act_issued","act":"RS-999-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}"#,
        ))
        .unwrap();
    assert_eq!(ledger.head().count, head.count + 1);
}

#[test]
fn a_held_ledger_is_not_compacted() {
    let s = scratch();
    let ledger = ledger_with(&s.path, 3, 3);
    let before = ledger.head();
    let refused = compact_path(&s.path, Duration::ZERO, &mut |_| {});
    assert!(
        matches!(refused, Err(StoreError::InUse { .. })),
        "{refused:?}"
    );
    drop(ledger);
    assert_eq!(names_in(s.dir.path()), ["ledger"]);
    assert_eq!(Ledger::open(&s.path).unwrap().head(), before);
}

#[test]
fn what_a_killed_compaction_left_is_removed_by_the_next() {
    let s = scratch();
    drop(ledger_with(&s.path, 3, 3));
    // A copy killed before the exchange (or the old folder, killed after it) stays under a
    // staging name that nobody holds.
    let leftover = s.dir.path().join(".ledger.new-a1B2c3");
    std::fs::create_dir(&leftover).unwrap();
    std::fs::write(leftover.join("db"), b"half a copy").unwrap();
    compact_path(&s.path, Duration::ZERO, &mut |_| {}).unwrap();
    assert_eq!(names_in(s.dir.path()), ["ledger"]);
}

#[cfg(unix)]
#[test]
fn a_ledger_reached_through_a_link_is_compacted_where_it_is() {
    let s = scratch();
    drop(ledger_with(&s.path, 3, 3));
    let before = records(&s.path);
    let link = s.dir.path().join("link");
    std::os::unix::fs::symlink(&s.path, &link).unwrap();
    compact_path(&link, Duration::ZERO, &mut |_| {}).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is still a link"
    );
    assert_eq!(records(&s.path), before);
    assert_eq!(names_in(s.dir.path()), ["ledger", "link"]);
    // `.` from inside the folder is the same ledger.
    let dot = s.path.join(".");
    compact_path(&dot, Duration::ZERO, &mut |_| {}).unwrap();
    assert_eq!(records(&s.path), before);
    assert_eq!(names_in(s.dir.path()), ["ledger", "link"]);
}

#[test]
fn a_missing_ledger_is_not_compacted() {
    let s = scratch();
    let refused = compact_path(&s.path, Duration::ZERO, &mut |_| {});
    assert!(refused.is_err());
    assert!(names_in(s.dir.path()).is_empty());
}

/// A closed ledger at `path` of 12,000 generated events, past the floor of compaction.
fn grown_ledger(path: &Path) {
    let mut ledger = Ledger::create(path).unwrap();
    ledger
        .append(batch(&crate::common::generated(3, 12_000)))
        .unwrap();
}

/// The append's bound, with any copy kept: a ledger written in one batch, as these are, is
/// laid out more tightly than its copy, which the append's own bound would throw away.
const ANY_COPY_KEPT: GrowthBound = GrowthBound {
    kept: (1_000, 1),
    ..GrowthBound::APPEND
};

/// A one-act append, after which a growth check compacts when the folder is past its bound.
const ONE_ACT: AppendedBatch = AppendedBatch {
    events: 3,
    bytes_before: None,
};

/// The growth check an append of `appended` makes with `bound`, nothing asking it to stop.
fn grown_check(
    path: &Path,
    bound: GrowthBound,
    appended: AppendedBatch,
) -> Option<(actledger_store::Growth, actledger_store::Compacted)> {
    compact_if_grown(path, bound, appended, &mut |_| {}, None).unwrap()
}

/// The baseline an append measures the folder's growth against.
fn baseline(path: &Path) -> String {
    std::fs::read_to_string(path.join("compacted-bytes")).unwrap()
}

/// A compaction asked to stop (a Ctrl-C during the append that started it) leaves the ledger,
/// its baseline and its folder as they were, and a later one still compacts.
#[test]
fn a_compaction_asked_to_stop_leaves_the_ledger_as_it_was() {
    let s = scratch();
    grown_ledger(&s.path);
    let bytes = folder_bytes(&s.path).unwrap();
    std::fs::write(s.path.join("compacted-bytes"), format!("{}\n", bytes / 4)).unwrap();
    let before = records(&s.path);
    let files = names_in(s.path.parent().unwrap());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut progressed = 0;
    let stopped = compact_if_grown(
        &s.path,
        ANY_COPY_KEPT,
        ONE_ACT,
        &mut |_| {
            // Asked once the copy is under way.
            progressed += 1;
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        },
        Some(&stop),
    );
    assert!(
        matches!(stopped, Err(StoreError::CompactionStopped { .. })),
        "{stopped:?}"
    );
    assert!(progressed > 0);
    assert_eq!(records(&s.path), before, "the same records");
    assert_eq!(baseline(&s.path), format!("{}\n", bytes / 4));
    assert_eq!(
        names_in(s.path.parent().unwrap()),
        files,
        "nothing left beside the ledger"
    );
    let ledger = Ledger::open(&s.path).unwrap();
    assert!(matches!(ledger.verify().unwrap(), Verdict::Intact { .. }));
    drop(ledger);
    assert!(
        compact_if_grown(&s.path, ANY_COPY_KEPT, ONE_ACT, &mut |_| {}, Some(&stop)).is_err(),
        "a flag already set stops it too"
    );
    let unset = std::sync::atomic::AtomicBool::new(false);
    assert!(
        compact_if_grown(&s.path, ANY_COPY_KEPT, ONE_ACT, &mut |_| {}, Some(&unset))
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_ledger_grown_past_its_bound_is_compacted_and_one_within_it_is_not() {
    let s = scratch();
    grown_ledger(&s.path);
    let bytes = folder_bytes(&s.path).unwrap();
    assert!(
        bytes > 4 << 20,
        "the ledger must be past the floor: {bytes}"
    );
    let before = records(&s.path);

    // Measured the first time: the size is recorded, nothing compacted.
    assert_eq!(grown_check(&s.path, ANY_COPY_KEPT, ONE_ACT), None);
    // Within 1.2x of that: nothing.
    assert_eq!(grown_check(&s.path, ANY_COPY_KEPT, ONE_ACT), None);

    // As if the folder had been a quarter of its size after its last compaction.
    std::fs::write(s.path.join("compacted-bytes"), format!("{}\n", bytes / 4)).unwrap();
    let (growth, compacted) = grown_check(&s.path, ANY_COPY_KEPT, ONE_ACT).expect("compacted");
    assert_eq!(growth.baseline, bytes / 4);
    assert!(growth.bytes >= bytes, "{growth:?}");
    assert_eq!(records(&s.path), before, "the same records");
    // The new baseline is the compacted size: no second compaction follows.
    assert_eq!(baseline(&s.path), format!("{}\n", compacted.after_bytes));
    assert_eq!(grown_check(&s.path, ANY_COPY_KEPT, ONE_ACT), None);

    let ledger = Ledger::open(&s.path).unwrap();
    assert!(matches!(ledger.verify().unwrap(), Verdict::Intact { .. }));
}

#[test]
fn what_a_large_batch_adds_moves_the_bound_instead_of_compacting() {
    let s = scratch();
    grown_ledger(&s.path);
    let before = records(&s.path);
    std::fs::write(s.path.join("compacted-bytes"), "1000\n").unwrap();
    // A batch of 5,000 events that added 5,000,000 bytes to the folder.
    let large = AppendedBatch {
        events: 5_000,
        bytes_before: Some(folder_bytes(&s.path).unwrap() - 5_000_000),
    };
    assert_eq!(grown_check(&s.path, ANY_COPY_KEPT, large), None);
    assert_eq!(baseline(&s.path), "5001000\n");
    assert_eq!(records(&s.path), before);
    // A small batch after it measures against the moved bound, which the folder is past.
    assert!(grown_check(&s.path, ANY_COPY_KEPT, ONE_ACT).is_some());
}

#[test]
fn a_held_ledger_is_not_compacted_after_an_append() {
    let s = scratch();
    grown_ledger(&s.path);
    std::fs::write(s.path.join("compacted-bytes"), "1\n").unwrap();
    let held = Ledger::open(&s.path).unwrap();
    // Not waited for, not compacted, no error: the append that asked is done.
    assert_eq!(grown_check(&s.path, ANY_COPY_KEPT, ONE_ACT), None);
    drop(held);
    assert!(grown_check(&s.path, ANY_COPY_KEPT, ONE_ACT).is_some());
}

#[test]
fn a_copy_no_smaller_than_the_ledger_is_thrown_away() {
    let s = scratch();
    grown_ledger(&s.path);
    let before = records(&s.path);
    let bytes = folder_bytes(&s.path).unwrap();
    // Past its bound, but written in one large batch: its copy is no smaller.
    std::fs::write(s.path.join("compacted-bytes"), "1000\n").unwrap();
    let bound = GrowthBound {
        kept: (1, 2),
        ..GrowthBound::APPEND
    };
    assert_eq!(grown_check(&s.path, bound, ONE_ACT), None);
    assert_eq!(records(&s.path), before, "the ledger is as it was");
    // The bound is measured from the ledger's size now, so the next append does not copy it
    // again; and no staging folder is left beside it.
    let baseline: u64 = baseline(&s.path).trim().parse().unwrap();
    assert!(baseline >= bytes, "{baseline} against {bytes}");
    assert_eq!(grown_check(&s.path, bound, ONE_ACT), None);
    assert_eq!(names_in(s.dir.path()), ["ledger"]);
}
