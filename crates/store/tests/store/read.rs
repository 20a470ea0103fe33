//! Reading events back by position.

use actledger_core::Recorded;
use actledger_store::{Ledger, StoreError};

use crate::common::{batch, generated, scratch};

#[test]
fn events_read_together_are_the_events_read_one_at_a_time() {
    let scratch = scratch();
    let mut ledger = Ledger::create(&scratch.path).unwrap();
    // Enough events for several log chunks.
    ledger.append(batch(&generated(7, 3_000))).unwrap();
    let head = ledger.head().count;
    assert!(head > 2_000, "{head}");
    // Out of order, repeated, across chunks, the first and the last.
    let asked = [head, 5, 1, 1_500, 5, 2_999.min(head - 1), 2];
    let events = ledger.events_at(asked).unwrap();
    let mut distinct: Vec<u64> = asked.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(events.keys().copied().collect::<Vec<_>>(), distinct);
    for (seq, event) in &events {
        assert_eq!(*event, ledger.event(*seq).unwrap(), "seq {seq}");
    }
    assert!(ledger.events_at([]).unwrap().is_empty());
}

#[test]
fn events_read_together_past_the_head_are_an_error() {
    let scratch = scratch();
    let mut ledger = Ledger::create(&scratch.path).unwrap();
    ledger.append(batch(&generated(7, 100))).unwrap();
    let past = ledger.head().count + 1;
    let error = ledger.events_at([1, past]).unwrap_err();
    assert!(
        matches!(error, StoreError::Broken { seq, .. } if seq == past),
        "{error:?}"
    );
}
