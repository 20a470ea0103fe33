//! The query cache: derived, versioned, rebuilt from the log when missing or stale, and what
//! a query at the head reads instead of replaying the log.

use actledger_core::{Day, Indexed, OfficeId, Recorded, anomalies, history, who_held};
use actledger_store::testing::{
    META_CACHE, OFFICE, SEGMENT, TIMELINE, cache_records, rebuild_cache_in_groups,
};
use actledger_store::{CACHE_VERSION, Ledger};

use crate::common::{SEED, batch, raw, scratch};

/// Later events on top of the seed case: a revocation, a retraction, a new titular, her leave.
const MORE: &str = r#"{"type":"act_issued","act":"RS-200-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}
{"type":"trip_authorized","act":"RS-200-2024-PCM","person":"jose-arista","office":"MEF","from":"2024-07-02","until":"2024-07-05"}
{"type":"duties_delegated","act":"RS-200-2024-PCM","office":"MEF","delegate":"walter-astudillo","delegate_office":"MINDEF","from":"2024-07-02"}
{"type":"act_issued","act":"RS-201-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-10"}
{"type":"act_revoked","act":"RS-201-2024-PCM","revokes":"RS-200-2024-PCM"}
{"type":"record_retracted","seq":11,"reason":"recorded in error"}
{"type":"act_issued","act":"RS-300-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-08-01"}
{"type":"appointed","act":"RS-300-2024-PCM","person":"ana-maria","person_name":"Ana María","office":"MINDEF","on":"2024-08-15"}
{"type":"leave_granted","act":"RS-300-2024-PCM","person":"ana-maria","office":"MINDEF","from":"2024-09-02","until":"2024-09-06","reason":"vacaciones"}"#;

fn ledger(path: &std::path::Path) -> Ledger {
    let mut ledger = Ledger::create(path).unwrap();
    ledger.append(batch(SEED)).unwrap();
    ledger.append(batch(MORE)).unwrap();
    ledger
}

/// Every answer the cache takes part in, as text.
fn answers(ledger: &Ledger) -> Vec<String> {
    let mut out = Vec::new();
    let start = Day::parse("2024-01-01").unwrap().ordinal();
    for office in ledger.offices().unwrap() {
        for d in 0..260 {
            let day = Day::from_ordinal(start + d).unwrap();
            out.push(format!(
                "{:?}",
                who_held(ledger, office.as_str(), day, None).unwrap()
            ));
        }
        out.push(format!(
            "{:?}",
            history(ledger, office.as_str(), None).unwrap()
        ));
        out.push(format!("{:?}", ledger.head_timeline(&office).unwrap()));
    }
    out.push(format!("{:?}", anomalies(ledger, None).unwrap()));
    out
}

fn keys_under(db: &sled::Db, prefix: u8) -> usize {
    db.scan_prefix([prefix]).count()
}

fn cache_record(db: &sled::Db) -> Option<Vec<u8>> {
    db.get(META_CACHE).unwrap().map(|v| v.to_vec())
}

#[test]
fn a_missing_cache_is_rebuilt_with_the_same_answers() {
    let s = scratch();
    let ledger = ledger(&s.path);
    let expected = answers(&ledger);
    drop(ledger);
    let (segments, parts, record) = {
        let db = raw(&s.path);
        let counts = (
            keys_under(&db, SEGMENT),
            keys_under(&db, TIMELINE),
            cache_record(&db),
        );
        for prefix in [SEGMENT, TIMELINE] {
            for key in db.scan_prefix([prefix]).keys() {
                db.remove(key.unwrap()).unwrap();
            }
        }
        db.remove(META_CACHE).unwrap();
        db.flush().unwrap();
        counts
    };
    assert!(segments > 0 && parts > 0);

    let ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(answers(&ledger), expected);
    drop(ledger);
    let db = raw(&s.path);
    assert_eq!(keys_under(&db, SEGMENT), segments);
    assert_eq!(keys_under(&db, TIMELINE), parts);
    assert_eq!(cache_record(&db), record);
}

#[test]
fn a_cache_of_another_version_is_rebuilt_not_read() {
    let s = scratch();
    let ledger = ledger(&s.path);
    let expected = answers(&ledger);
    let count = ledger.head().count;
    drop(ledger);
    {
        let db = raw(&s.path);
        // Another version's records would not parse as ours: they must not be read.
        for prefix in [SEGMENT, TIMELINE] {
            for key in db.scan_prefix([prefix]).keys() {
                db.insert(key.unwrap(), b"{\"version 2\":true}".to_vec())
                    .unwrap();
            }
        }
        let mut record = (CACHE_VERSION + 1).to_be_bytes().to_vec();
        record.extend_from_slice(&count.to_be_bytes());
        db.insert(META_CACHE, record).unwrap();
        db.flush().unwrap();
    }
    let ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(answers(&ledger), expected);
}

#[test]
fn a_stale_cache_is_rebuilt() {
    let s = scratch();
    let ledger = ledger(&s.path);
    let expected = answers(&ledger);
    drop(ledger);
    {
        // The cache as it stood after the first batch, as if the second had not reached it.
        let db = raw(&s.path);
        let prefix = [&[SEGMENT][..], b"MINDEF\0"].concat();
        for key in db.scan_prefix(&prefix).keys() {
            db.remove(key.unwrap()).unwrap();
        }
        let mut record = CACHE_VERSION.to_be_bytes().to_vec();
        record.extend_from_slice(&6u64.to_be_bytes());
        db.insert(META_CACHE, record).unwrap();
        db.flush().unwrap();
    }
    let ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(answers(&ledger), expected);
}

#[test]
fn a_query_at_the_head_reads_the_cache_not_the_log() {
    let s = scratch();
    let ledger = ledger(&s.path);
    let day = Day::parse("2024-06-03").unwrap();
    let expected = who_held(&ledger, "MINDEF", day, None).unwrap();
    assert_eq!(
        expected.holder.as_ref().unwrap().person.as_str(),
        "jose-arista"
    );
    drop(ledger);
    // Without the office's event index, replay would find no event at all.
    {
        let db = raw(&s.path);
        for key in db.scan_prefix([OFFICE]).keys() {
            db.remove(key.unwrap()).unwrap();
        }
        db.flush().unwrap();
    }
    let ledger = Ledger::open(&s.path).unwrap();
    let mindef = OfficeId::new("MINDEF").unwrap();
    assert!(ledger.office_events(&mindef).unwrap().is_empty());
    assert_eq!(who_held(&ledger, "MINDEF", day, None).unwrap(), expected);
    assert!(ledger.head_segment(&mindef, day).unwrap().is_some());
}

#[test]
fn a_rebuild_in_groups_of_any_size_writes_the_cache_the_appends_kept() {
    let s = scratch();
    let ledger = ledger(&s.path);
    let kept = cache_records(&ledger);
    assert!(kept.len() > 4, "the appends kept a cache: {}", kept.len());
    // One event a group: every office alone, and its replay asks for events of other offices'
    // groups (revocations, retractions, the acts), which are read as usual.
    for events_per_group in [1, 3, 10, usize::MAX] {
        rebuild_cache_in_groups(&ledger, events_per_group);
        assert_eq!(
            cache_records(&ledger),
            kept,
            "groups of {events_per_group} events"
        );
    }
}

/// A ledger keeps the blocks of segments it decoded, by key and checksum: lookups after an
/// append that rewrites a block read the new record, and every lookup in the process that
/// asked before agrees with a ledger opened afresh.
#[test]
fn lookups_after_an_append_read_the_rewritten_blocks() {
    let s = scratch();
    let mut ledger = Ledger::create(&s.path).unwrap();
    ledger.append(batch(SEED)).unwrap();
    let days: Vec<Day> = [
        "2024-01-01",
        "2024-06-03",
        "2024-07-03",
        "2024-08-20",
        "2024-09-04",
    ]
    .iter()
    .map(|d| Day::parse(d).unwrap())
    .collect();
    let ask = |ledger: &Ledger| -> Vec<String> {
        let mut out = Vec::new();
        for office in ["MINDEF", "MEF"] {
            for day in &days {
                // Twice: the second answer comes from the kept block.
                for _ in 0..2 {
                    out.push(format!(
                        "{:?}",
                        who_held(ledger, office, *day, None).unwrap()
                    ));
                }
            }
        }
        out
    };
    let before = ask(&ledger);
    ledger.append(batch(MORE)).unwrap();
    let after = ask(&ledger);
    assert_ne!(before, after, "MORE changes who held MEF and MINDEF");
    drop(ledger);
    let fresh = Ledger::open(&s.path).unwrap();
    assert_eq!(after, ask(&fresh));
}

/// Whether a segment has started by a day, answered by one seek among the office's blocks,
/// is what the office's whole timeline says, on every day around its segments.
#[test]
fn a_segment_started_by_a_day_is_what_the_timeline_says() {
    let s = scratch();
    let ledger = ledger(&s.path);
    let first = Day::parse("2023-12-25").unwrap();
    for office in ledger.offices().unwrap() {
        let timeline = ledger.head_timeline(&office).unwrap();
        let starts = timeline
            .as_ref()
            .and_then(|t| t.segments.first())
            .map(|s| s.from);
        let mut day = first;
        for _ in 0..300 {
            assert_eq!(
                ledger.head_segment_started(&office, day).unwrap(),
                starts.is_some_and(|from| from <= day),
                "{office} on {day}"
            );
            day = day.next().unwrap();
        }
    }
}
