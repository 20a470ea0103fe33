//! A batch larger than a part, written in parts under an intent record: the same ledger as
//! the same events appended in small batches, and nothing of it left when it is refused, when
//! a part's write fails, or when the process dies before the last part (`crash.rs` kills one).

use actledger_core::{Event, InputEvent, InvalidEvent};
use actledger_store::testing::{
    META_PENDING, all_records, encode_unfinished, fail_part, fix_time, set_part_events,
};
use actledger_store::{AppendError, Appended, Ledger, Recovery, StoreError, Verdict, verify_path};

use crate::common::{outcomes, raw, scratch};

const TIME: &str = "2026-12-01T10:00:00.000000Z";
const PART: usize = 150;

/// `n` events of the generator's stream from `skip` on, numbered as lines from 1.
fn generated(skip: usize, n: usize) -> Vec<InputEvent> {
    let mut generator = actledger_gen::Generator::new(7);
    let events: Vec<Event> = (0..skip + n).map(|_| generator.next_event()).collect();
    events
        .into_iter()
        .skip(skip)
        .enumerate()
        .map(|(i, event)| InputEvent { line: i + 1, event })
        .collect()
}

/// A ledger at `path` holding the stream's first `n` events, appended 100 at a time at
/// [`TIME`], writing appends in parts of [`PART`].
fn base(path: &std::path::Path, n: usize) -> Ledger {
    let mut ledger = Ledger::create(path).unwrap();
    fix_time(&ledger, TIME);
    set_part_events(&mut ledger, PART);
    for chunk in generated(0, n).chunks(100) {
        ledger.append(chunk.to_vec()).unwrap();
    }
    ledger
}

fn export(ledger: &Ledger) -> Vec<u8> {
    let mut out = Vec::new();
    ledger.export(&mut out, &mut |_| {}).unwrap();
    out
}

fn intact(ledger: &Ledger, count: u64) {
    let verdict = ledger.verify().unwrap();
    assert!(
        matches!(verdict, Verdict::Intact { count: c, .. } if c == count),
        "{verdict}"
    );
}

/// The big batch of these tests: 1,700 new events, with some already recorded mixed in (from
/// the base, and repeated across parts).
fn big_batch() -> Vec<InputEvent> {
    let mut events = generated(300, 1_700);
    let old = generated(0, 300);
    events.insert(10, old[5].clone());
    events.insert(400, events[3].clone());
    events.insert(1_500, old[299].clone());
    events
        .into_iter()
        .enumerate()
        .map(|(i, input)| InputEvent {
            line: i + 1,
            event: input.event,
        })
        .collect()
}

#[test]
fn a_batch_in_parts_makes_the_ledger_that_small_batches_make() {
    let (s1, s2) = (scratch(), scratch());
    let mut whole = base(&s1.path, 300);
    let mut small = base(&s2.path, 300);
    let batch = big_batch();

    let report = whole.append(batch.clone()).unwrap();
    let mut in_small = Vec::new();
    for chunk in batch.chunks(100) {
        let report = small.append(chunk.to_vec()).unwrap();
        in_small.extend(outcomes(&small, &report));
    }
    let in_whole = outcomes(&whole, &report);
    assert_eq!(in_whole, in_small);
    // A new run for each event already recorded, and for the new events after it.
    assert_eq!(report.runs().len(), 7);
    assert_eq!((report.events(), report.recorded()), (1_703, 1_700));
    assert_eq!(report.head, small.head());
    assert_eq!(report.head.count, 2_000);
    let already = |outcomes: &[(usize, Appended)]| {
        outcomes
            .iter()
            .filter(|(_, a)| matches!(a, Appended::AlreadyRecorded { .. }))
            .map(|(line, a)| (*line, *a))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        already(&in_whole),
        [
            (11, Appended::AlreadyRecorded { seq: 6 }),
            (401, Appended::AlreadyRecorded { seq: 304 }),
            (1_501, Appended::AlreadyRecorded { seq: 300 }),
        ]
    );
    // The walk read each new entry's hash back, across the parts.
    let walked: Vec<_> = in_whole
        .iter()
        .filter_map(|(_, a)| match *a {
            Appended::Recorded { seq, hash } => Some((seq, hash)),
            Appended::AlreadyRecorded { .. } => None,
        })
        .collect();
    let entries: Vec<_> = whole
        .entries(301)
        .map(|e| e.map(|e| (e.seq, e.hash)))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(walked, entries);
    assert_eq!(export(&whole), export(&small));
    assert_eq!(all_records(&whole), all_records(&small));
    intact(&whole, 2_000);
    drop(whole);
    let reopened = Ledger::open(&s1.path).unwrap();
    assert_eq!(reopened.recovery(), None);
    assert_eq!(reopened.head(), small.head());
}

#[test]
fn a_refused_event_late_in_a_batch_in_parts_changes_nothing() {
    let s = scratch();
    let mut ledger = base(&s.path, 300);
    let (head, records) = (ledger.head(), all_records(&ledger));
    let mut batch = big_batch();
    let late = batch.len() - 5;
    let bad = r#"{"type":"appointed","act":"NEVER-ISSUED","person":"p","office":"MINDEF","on":"2024-01-01"}"#;
    batch[late].event = actledger_core::parse_event(bad.as_bytes()).unwrap();

    let error = ledger.append(batch.clone()).unwrap_err();
    let AppendError::Invalid(invalid) = error else {
        panic!("{error:?}")
    };
    assert_eq!(invalid.line, late + 1);
    assert_eq!(invalid.field.as_deref(), Some("act"));
    assert_eq!(ledger.head(), head);
    assert_eq!(all_records(&ledger), records);
    intact(&ledger, 300);

    // An error of the input after the refused event is the one reported, as when the whole
    // input was parsed before anything was validated.
    let unreadable = InvalidEvent {
        line: 99_999,
        field: None,
        reason: "malformed JSON".into(),
    };
    let events = batch
        .into_iter()
        .map(Ok)
        .chain(std::iter::once(Err(AppendError::Invalid(
            unreadable.clone(),
        ))));
    let error = ledger.append_stream(events, &mut ()).unwrap_err();
    assert!(matches!(error, AppendError::Invalid(e) if e == unreadable));
    assert_eq!(all_records(&ledger), records);
    drop(ledger);
    let ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(ledger.recovery(), None);
    assert_eq!(all_records(&ledger), records);
}

#[test]
fn a_failed_write_of_a_part_takes_the_parts_written_back_out() {
    let s = scratch();
    let mut ledger = base(&s.path, 300);
    let (head, records, exported) = (ledger.head(), all_records(&ledger), export(&ledger));
    for part in [1, 4, 12] {
        fail_part(&ledger, part);
        let error = ledger.append(big_batch()).unwrap_err();
        assert!(
            matches!(error, AppendError::Store(StoreError::Storage { .. })),
            "part {part}: {error:?}"
        );
        assert_eq!(ledger.head(), head, "part {part}");
        assert_eq!(all_records(&ledger), records, "part {part}");
    }
    intact(&ledger, 300);
    // The same batch again lands whole.
    assert_eq!(ledger.append(big_batch()).unwrap().head.count, 2_000);
    intact(&ledger, 2_000);
    drop(ledger);
    let ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(ledger.recovery(), None);
    assert_eq!(ledger.head().count, 2_000);
    assert!(export(&ledger).starts_with(&exported));
}

#[test]
fn an_open_removes_the_parts_of_an_unfinished_append() {
    let s = scratch();
    let mut ledger = base(&s.path, 300);
    let (before, exported) = (ledger.head(), export(&ledger));
    ledger.append(big_batch()).unwrap();
    drop(ledger);
    // As a process killed before its last part leaves it: parts on disk, the head record
    // moved with them, the intent record unfinished.
    {
        let db = raw(&s.path);
        db.insert(META_PENDING, encode_unfinished(before)).unwrap();
        db.flush().unwrap();
    }
    let ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(
        ledger.recovery(),
        Some(Recovery::RolledBack {
            head: before,
            undone: 1_700
        })
    );
    assert_eq!(ledger.head(), before);
    assert_eq!(export(&ledger), exported);
    intact(&ledger, 300);
    drop(ledger);
    assert!(matches!(
        verify_path(&s.path).unwrap(),
        Verdict::Intact { count: 300, .. }
    ));
}
