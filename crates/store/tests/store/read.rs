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

/// Every person any event names, each once and by id, from the person postings (one person's
/// blocks after another's, some persons over several blocks); and the kept names, read in one
/// pass, are those read person by person.
#[test]
fn persons_are_listed_once_each_and_their_kept_names_read_together() {
    let scratch = scratch();
    let mut ledger = Ledger::create(&scratch.path).unwrap();
    let mut lines = vec![
        r#"{"type":"act_issued","act":"RS-1-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2020-01-01"}"#.to_owned(),
    ];
    // "many" is named by 600 events: three blocks of postings, between "a" and "z".
    for i in 0..600u32 {
        let day = actledger_core::Day::from_ordinal(
            actledger_core::Day::parse("2020-01-02").unwrap().ordinal() + i,
        )
        .unwrap();
        lines.push(format!(
            r#"{{"type":"appointed","act":"RS-1-PCM","person":"many","person_name":"Many {i}","office":"MEF","on":"{day}"}}"#
        ));
    }
    for person in ["z", "a", "m-2", "m"] {
        lines.push(format!(
            r#"{{"type":"appointed","act":"RS-1-PCM","person":"{person}","office":"MINSA","on":"2020-01-02"}}"#
        ));
    }
    lines.push(r#"{"type":"duties_delegated","act":"RS-1-PCM","office":"MINSA","delegate":"d","delegate_name":"Dee","from":"2020-02-01","until":"2020-02-02"}"#.to_owned());
    ledger.append(batch(&lines.join("\n"))).unwrap();
    let persons: Vec<String> = (ledger.persons().unwrap().iter())
        .map(|p| p.as_str().to_owned())
        .collect();
    assert_eq!(persons, ["a", "d", "m", "m-2", "many", "z"]);
    let names = ledger.stored_names().unwrap();
    for person in ledger.persons().unwrap() {
        assert_eq!(
            names.get(&person).cloned(),
            ledger.stored_name(&person).unwrap(),
            "{person}"
        );
        // The name the log gives at the head.
        assert_eq!(
            names.get(&person).cloned(),
            actledger_core::name_of(&ledger, &person, ledger.head().count).unwrap(),
            "{person}"
        );
    }
    assert_eq!(names.len(), 2, "{names:?}");
}
