//! Tampering with a real sled database: verification catches each change and names the first
//! bad position; it fails closed where there is no ledger to vouch for.

use actledger_store::testing::{
    self, META_CACHE, META_FORMAT, META_HEAD, entry_location, insert_forged, read_entry,
    remove_entry, swap_entries, write_entry_raw,
};
use actledger_store::{
    Entry, Head, Ledger, Problem, Scope, StoreError, Table, Verdict, verify_path,
    verify_path_scoped,
};

use crate::common::{ledger_with, names_in, raw, scratch};

/// 12 entries in 4 batches of 3.
const COUNT: u64 = 12;

fn tampered(change: impl FnOnce(&sled::Db)) -> (crate::common::Scratch, Verdict) {
    let s = scratch();
    drop(ledger_with(&s.path, COUNT / 3, 3));
    {
        let db = raw(&s.path);
        change(&db);
        db.flush().unwrap();
    }
    let verdict = verify_path(&s.path).unwrap();
    (s, verdict)
}

fn stored(db: &sled::Db, seq: u64) -> Entry {
    read_entry(db, seq)
}

fn broken_at(verdict: &Verdict) -> u64 {
    match verdict {
        Verdict::Broken { seq, .. } => *seq,
        other => panic!("tampering went unnoticed or was misread: {other:?}"),
    }
}

#[test]
fn an_untouched_ledger_is_intact() {
    let (_s, verdict) = tampered(|_| {});
    assert!(
        matches!(verdict, Verdict::Intact { count: COUNT, .. }),
        "{verdict}"
    );
}

/// Every byte of an entry as stored (in its chunk's unpacked body, packed again after the
/// change, as a writer with the key would) is covered by that entry's checks.
#[test]
fn every_single_changed_byte_of_an_entry_is_caught_at_that_entry() {
    let s = scratch();
    drop(ledger_with(&s.path, COUNT / 3, 3));
    let db = raw(&s.path);
    // Entry 5's bytes inside the chunk that holds it (with entries 1 to 12).
    let (key, body, range) = entry_location(&db, 5);
    let original = db.get(key).unwrap().unwrap().to_vec();
    for at in range {
        for flip in [0x01u8, 0x80] {
            let mut bytes = body.clone();
            bytes[at] ^= flip;
            db.insert(key, testing::pack_chunk(&bytes)).unwrap();
            let verdict = testing::verify_db(&db).unwrap();
            assert_eq!(broken_at(&verdict), 5, "byte {at} ^ {flip:#x}: {verdict}");
        }
    }
    db.insert(key, original).unwrap();
    assert!(testing::verify_db(&db).unwrap().is_intact());
}

/// Entries damaged in many chunks of one verify window, checked by several threads at once:
/// the verdict is always the first of them in log order.
#[test]
fn damage_in_many_chunks_is_reported_at_the_first() {
    let s = scratch();
    drop(ledger_with(&s.path, 200, 5));
    let db = raw(&s.path);
    // The last entry of every chunk from the fourth on, then the middle of the third.
    let chunk = testing::CHUNK_ENTRIES;
    let mut damaged = Vec::new();
    for seq in (4 * chunk..1000).step_by(usize::try_from(chunk).unwrap()) {
        damaged.push(seq);
    }
    damaged.push(2 * chunk + 7);
    damage_events(&db, &damaged);
    for _ in 0..20 {
        let verdict = testing::verify_db(&db).unwrap();
        assert_eq!(broken_at(&verdict), 2 * chunk + 7, "{verdict}");
    }
}

/// Changes the second to last byte of the event of each entry in `seqs` (its chunk packed
/// again, as a writer with the key would).
fn damage_events(db: &sled::Db, seqs: &[u64]) {
    for &seq in seqs {
        let (key, body, range) = entry_location(db, seq);
        let mut bytes = body.clone();
        bytes[range.end - 2] ^= 0x01;
        db.insert(key, testing::pack_chunk(&bytes)).unwrap();
    }
}

/// Verification reads the log in windows of chunks and checks one while reading the next: the
/// chain, the times and the positions carry from window to window, and the first problem is
/// the verdict whichever window holds it (windows of 1 to 7 chunks on a ledger of 32).
#[test]
fn problems_are_found_across_windows_of_verification() {
    let s = scratch();
    drop(ledger_with(&s.path, 200, 5));
    let db = raw(&s.path);
    for window in [1, 2, 3, 7] {
        assert!(
            testing::verify_db_in_windows(&db, window)
                .unwrap()
                .is_intact(),
            "windows of {window}"
        );
    }
    damage_events(&db, &[500, 900]);
    for window in [1, 2, 3, 7] {
        let verdict = testing::verify_db_in_windows(&db, window).unwrap();
        assert_eq!(broken_at(&verdict), 500, "windows of {window}: {verdict}");
    }
    damage_events(&db, &[40]);
    for window in [1, 3] {
        let verdict = testing::verify_db_in_windows(&db, window).unwrap();
        assert_eq!(broken_at(&verdict), 40, "windows of {window}: {verdict}");
    }
    // A chunk missing in a later window of an undamaged ledger: a gap where it was.
    let chunk = testing::CHUNK_ENTRIES;
    let fresh = scratch();
    drop(ledger_with(&fresh.path, 200, 5));
    let clean = raw(&fresh.path);
    clean.remove(testing::chunk_key(20 * chunk + 1)).unwrap();
    for window in [1, 3, 7] {
        let verdict = testing::verify_db_in_windows(&clean, window).unwrap();
        assert_eq!(
            broken_at(&verdict),
            20 * chunk + 1,
            "windows of {window}: {verdict}"
        );
        assert!(
            matches!(
                verdict,
                Verdict::Broken {
                    problem: Problem::Gap { .. },
                    ..
                }
            ),
            "{verdict}"
        );
    }
}

/// The first entry's time is checked like any other, though no time comes before it: an empty
/// one, hashed as it is, is refused at entry 1.
#[test]
fn an_empty_time_on_the_first_entry_is_refused() {
    let (_s, verdict) = tampered(|db| {
        let first = stored(db, 1);
        let forged = Entry::new(1, String::new(), first.prev, first.event.clone());
        write_entry_raw(db, 1, &forged);
    });
    assert_eq!(broken_at(&verdict), 1, "{verdict}");
    assert!(verdict.to_string().contains("recording time"), "{verdict}");
}

/// A byte changed in a chunk's stored (compressed) value: either the value no longer unpacks,
/// and the chunk is named at its first position, or it unpacks to another body, caught at
/// the first entry it changes, or (a match pointing at equal bytes elsewhere) to the same
/// body, which is the same ledger.
#[test]
fn every_single_changed_byte_of_a_stored_chunk_is_caught_in_that_chunk() {
    let s = scratch();
    drop(ledger_with(&s.path, COUNT / 3, 3));
    let db = raw(&s.path);
    let key = testing::chunk_key(1);
    let original = db.get(key).unwrap().unwrap().to_vec();
    let body = testing::unpack_chunk(&original).unwrap();
    let entries = testing::decode_chunk_body(1, &body).unwrap();
    let (mut unpacking, mut changed, mut same) = (0, 0, 0);
    for at in 0..original.len() {
        for flip in [0x01u8, 0x80] {
            let mut bytes = original.clone();
            bytes[at] ^= flip;
            db.insert(key, bytes.clone()).unwrap();
            let verdict = testing::verify_db(&db).unwrap();
            let why = format!("byte {at} ^ {flip:#x}: {verdict}");
            match testing::unpack_chunk(&bytes) {
                Err(e) => {
                    unpacking += 1;
                    assert_eq!(
                        verdict,
                        Verdict::Broken {
                            seq: 1,
                            problem: Problem::Unparsable(e.to_string())
                        },
                        "{why}"
                    );
                }
                Ok(unpacked) if unpacked == body => {
                    same += 1;
                    assert!(verdict.is_intact(), "{why}");
                }
                Ok(unpacked) => {
                    changed += 1;
                    // The first entry whose stored bytes differ (or that no longer reads).
                    let read = testing::decode_chunk_body(1, &unpacked);
                    let first_changed = match &read {
                        Ok(read) => (1..)
                            .zip(entries.iter().zip(read.iter()))
                            .find(|(_, (a, b))| a != b)
                            .map_or(read.len().min(entries.len()) as u64 + 1, |(seq, _)| seq),
                        Err((seq, _)) => *seq,
                    };
                    assert!(
                        (1..=first_changed).contains(&broken_at(&verdict)),
                        "{why}, first changed entry {first_changed}"
                    );
                }
            }
        }
    }
    assert!(unpacking > 0 && changed > 0, "{unpacking} {changed} {same}");
    db.insert(key, original).unwrap();
    assert!(testing::verify_db(&db).unwrap().is_intact());
}

#[test]
fn one_changed_byte_of_a_stored_event_is_a_hash_mismatch() {
    let (_s, verdict) = tampered(|db| {
        let mut e = stored(db, 7);
        let at = e.event.iter().rposition(|b| b.is_ascii_digit()).unwrap();
        e.event[at] = if e.event[at] == b'1' { b'2' } else { b'1' };
        write_entry_raw(db, 7, &e);
    });
    assert!(
        matches!(
            verdict,
            Verdict::Broken {
                seq: 7,
                problem: Problem::HashMismatch { .. }
            }
        ),
        "{verdict}"
    );
}

/// Positions inside a chunk are implicit: an entry deleted from its chunk moves the ones
/// after it down, and the first of them no longer hashes at its new position.
#[test]
fn a_deleted_entry_in_the_middle_is_caught_at_its_position() {
    let (_s, verdict) = tampered(|db| remove_entry(db, 6));
    assert!(
        matches!(
            verdict,
            Verdict::Broken {
                seq: 6,
                problem: Problem::HashMismatch { .. }
            }
        ),
        "{verdict}"
    );
}

/// A whole chunk deleted from the middle of the log is a gap at its first position.
#[test]
fn a_deleted_chunk_in_the_middle_is_a_gap() {
    let s = scratch();
    drop(ledger_with(&s.path, 200, 3)); // 600 entries: chunks at 1, 33, ..., 257, 289, ... 577
    let db = raw(&s.path);
    db.remove(testing::chunk_key(257)).unwrap();
    assert_eq!(
        testing::verify_db(&db).unwrap(),
        Verdict::Broken {
            seq: 257,
            problem: Problem::Gap {
                expected: 257,
                found: 289
            }
        }
    );
}

/// A chunk that cannot be read at all is named at its first position.
#[test]
fn an_undecodable_chunk_is_named_at_its_first_position() {
    let s = scratch();
    drop(ledger_with(&s.path, 200, 3));
    let db = raw(&s.path);
    // Entry 300 is in the chunk of 289 to 320.
    db.insert(testing::chunk_key(300), b"garbage".to_vec())
        .unwrap();
    assert_eq!(
        testing::verify_db(&db).unwrap(),
        Verdict::Broken {
            seq: 289,
            problem: Problem::Unparsable("the chunk has unknown encoding 103".into())
        }
    );
}

/// A chunk whose first entry does not link to the last entry of the chunk before.
#[test]
fn a_chunk_that_does_not_link_to_the_one_before_is_a_broken_link() {
    let s = scratch();
    drop(ledger_with(&s.path, 200, 3));
    let db = raw(&s.path);
    let mut first = read_entry(&db, 257);
    first.prev[0] ^= 1;
    write_entry_raw(&db, 257, &first);
    assert_eq!(
        testing::verify_db(&db).unwrap(),
        Verdict::Broken {
            seq: 257,
            problem: Problem::BrokenLink
        }
    );
}

#[test]
fn two_swapped_entries_are_caught_at_the_first() {
    // Positions inside a chunk are implicit: the entry of 9 read at 4 does not hash there.
    let (_s, verdict) = tampered(|db| swap_entries(db, 4, 9));
    assert!(
        matches!(
            verdict,
            Verdict::Broken {
                seq: 4,
                problem: Problem::HashMismatch { .. }
            }
        ),
        "{verdict}"
    );

    // A forger who also rehashes the swapped entries at their new positions breaks the link
    // of the entry after the first of them instead.
    let (_s, verdict) = tampered(|db| {
        let (a, b) = (stored(db, 4), stored(db, 9));
        let at_4 = Entry::new(4, b.time.clone(), a.prev, b.event.clone());
        let at_9 = Entry::new(9, a.time.clone(), stored(db, 8).hash, a.event.clone());
        write_entry_raw(db, 4, &at_4);
        write_entry_raw(db, 9, &at_9);
    });
    assert!(
        matches!(
            verdict,
            Verdict::Broken {
                seq: 5,
                problem: Problem::HashMismatch { .. }
            }
        ),
        "{verdict}"
    );
}

#[test]
fn a_forged_entry_inserted_in_the_middle_is_caught() {
    let (_s, verdict) = tampered(|db| {
        // Shift entries 4.. up by one and put a well-formed, well-linked forgery at 4.
        let before = stored(db, 3);
        let forged = Entry::new(
            4,
            before.time.clone(),
            before.hash,
            br#"{"type":"act_issued","act":"FORGED","kind":"ley","issuer":"PCM","issued_on":"2020-01-01"}"#.to_vec(),
        );
        insert_forged(db, 4, &forged);
    });
    // The forgery itself holds; the entry after it (the old 4, now read at 5) no longer does.
    assert!(
        matches!(
            verdict,
            Verdict::Broken {
                seq: 5,
                problem: Problem::HashMismatch { .. }
            }
        ),
        "{verdict}"
    );
}

#[test]
fn a_forged_entry_appended_without_the_head_is_caught() {
    let (_s, verdict) = tampered(|db| {
        let last = stored(db, COUNT);
        let forged = Entry::new(
            COUNT + 1,
            last.time.clone(),
            last.hash,
            br#"{"type":"act_issued","act":"FORGED","kind":"ley","issuer":"PCM","issued_on":"2020-01-01"}"#.to_vec(),
        );
        write_entry_raw(db, COUNT + 1, &forged);
    });
    assert!(
        matches!(
            verdict,
            Verdict::Broken {
                seq,
                problem: Problem::HeadMismatch { stored_count: COUNT, found_count, .. }
            } if seq == COUNT + 1 && found_count == COUNT + 1
        ),
        "{verdict}"
    );
}

#[test]
fn removing_the_last_entries_without_the_head_is_caught() {
    let (s, verdict) = tampered(|db| {
        remove_entry(db, COUNT);
        remove_entry(db, COUNT - 1);
    });
    assert!(
        matches!(
            verdict,
            Verdict::Broken {
                seq,
                problem: Problem::HeadMismatch { stored_count: COUNT, found_count, .. }
            } if seq == COUNT - 1 && found_count == COUNT - 2
        ),
        "{verdict}"
    );
    // Nor does the ledger open for use.
    let error = Ledger::open(&s.path).unwrap_err();
    assert!(matches!(error, StoreError::Damaged { .. }), "{error}");
    assert!(error.to_string().contains("run verify"), "{error}");
}

#[test]
fn removing_the_last_entries_and_the_head_record_is_caught() {
    let (_s, verdict) = tampered(|db| {
        remove_entry(db, COUNT);
        remove_entry(db, COUNT - 1);
        db.remove(META_HEAD).unwrap();
    });
    assert!(
        matches!(verdict, Verdict::Broken { seq, problem: Problem::NoHead(_) } if seq == COUNT - 1),
        "{verdict}"
    );
}

/// The documented limit (docs/FORMAT.md): whoever can write the database can cut the tail and
/// rewrite the head to match; only a head published elsewhere (a signed checkpoint) shows it.
#[test]
fn cutting_the_tail_and_rewriting_the_head_is_not_detectable_without_a_published_head() {
    let (s, verdict) = tampered(|db| {
        remove_entry(db, COUNT);
        let last = stored(db, COUNT - 1);
        let head = Head {
            count: COUNT - 1,
            hash: last.hash,
        };
        db.insert(META_HEAD, testing::encode_head(head, &last.time))
            .unwrap();
    });
    // The log alone is consistent; only the derived records, still holding the cut entry,
    // differ from it (a real insider would rebuild them too: `repair` does exactly that).
    assert!(matches!(verdict, Verdict::Diverged { count, .. } if count == COUNT - 1));
    let log_only = verify_path_scoped(&s.path, Scope::Log).unwrap();
    assert!(matches!(log_only, Verdict::Intact { count, .. } if count == COUNT - 1));
}

#[test]
fn an_unreadable_entry_is_named() {
    // Entry 3 cut short inside its chunk (its length says more bytes follow than do).
    let (_s, verdict) = tampered(|db| {
        let (key, mut body, range) = entry_location(db, 3);
        body.truncate(range.start + 3);
        db.insert(key, testing::pack_chunk(&body)).unwrap();
    });
    assert!(
        matches!(
            verdict,
            Verdict::Broken {
                seq: 3,
                problem: Problem::Unparsable(_)
            }
        ),
        "{verdict}"
    );
}

/// A chunk's stored value cut short does not unpack: the chunk is named at its first position.
#[test]
fn a_chunk_cut_short_is_named_at_its_first_position() {
    let (_s, verdict) = tampered(|db| {
        let key = testing::chunk_key(3);
        let mut bytes = db.get(key).unwrap().unwrap().to_vec();
        bytes.truncate(bytes.len() - 5);
        db.insert(key, bytes).unwrap();
    });
    match &verdict {
        Verdict::Broken {
            seq: 1,
            problem: Problem::Unparsable(why),
        } => assert!(why.contains("unpack"), "{why}"),
        _ => panic!("{verdict}"),
    }
}

/// A rewritten cache is a finding of `verify` (the answers come from it), never of the log:
/// the log-only check still says intact, and the full one names the cache.
#[test]
fn a_rewritten_cache_is_found_by_verify_and_not_by_the_log_only_check() {
    let (s, verdict) = tampered(|db| {
        for key in db.scan_prefix(b"S").keys() {
            db.insert(key.unwrap(), b"not a segment".to_vec()).unwrap();
        }
        db.remove(META_CACHE).unwrap();
    });
    let Verdict::Diverged {
        count, findings, ..
    } = &verdict
    else {
        panic!("{verdict}");
    };
    assert_eq!(*count, COUNT);
    assert!(findings.concern(&[Table::TimelineCache]), "{findings:?}");
    assert!(findings.concern(&[Table::Meta]), "{findings:?}");
    let log_only = verify_path_scoped(&s.path, Scope::Log).unwrap();
    assert!(log_only.is_intact(), "{log_only}");
}

#[test]
fn a_missing_path_is_no_ledger_and_stays_missing() {
    let s = scratch();
    for result in [
        verify_path(&s.path).map(|_| ()),
        Ledger::open(&s.path).map(|_| ()),
    ] {
        let error = result.unwrap_err();
        assert!(matches!(error, StoreError::NotALedger { .. }), "{error}");
        assert_eq!(
            error.to_string(),
            format!("there is no ledger at {}", s.path.display())
        );
    }
    assert!(!s.path.exists());
}

#[test]
fn an_empty_folder_is_no_ledger_and_stays_empty() {
    let s = scratch();
    std::fs::create_dir(&s.path).unwrap();
    assert!(matches!(
        verify_path(&s.path),
        Err(StoreError::NotALedger { .. })
    ));
    assert!(matches!(
        Ledger::open(&s.path),
        Err(StoreError::NotALedger { .. })
    ));
    assert!(names_in(&s.path).is_empty());
}

#[test]
fn a_sled_database_without_the_ledger_records_is_no_ledger() {
    let s = scratch();
    drop(raw(&s.path));
    assert!(matches!(
        verify_path(&s.path),
        Err(StoreError::NotALedger { .. })
    ));
    assert!(matches!(
        Ledger::open(&s.path),
        Err(StoreError::NotALedger { .. })
    ));

    // Nor is a ledger that lost its format record, however intact its entries.
    let s = scratch();
    drop(ledger_with(&s.path, 2, 3));
    raw(&s.path).remove(META_FORMAT).unwrap();
    assert!(matches!(
        verify_path(&s.path),
        Err(StoreError::NotALedger { .. })
    ));
}

/// A ledger of layout version 1 (one key per posting, a `D` table), 2 (one `L` key per
/// entry) or 3 (uncompressed chunks of 256 entries, tiles of 256 hashes) is refused with a
/// clear error, by open and by verify, never read with the wrong layout.
#[test]
fn a_ledger_of_an_older_layout_is_an_unsupported_format() {
    for old in [1u32, 2, 3] {
        let s = scratch();
        drop(ledger_with(&s.path, 2, 3));
        raw(&s.path)
            .insert(META_FORMAT, &old.to_be_bytes())
            .unwrap();
        for error in [
            Ledger::open(&s.path).unwrap_err(),
            verify_path(&s.path).unwrap_err(),
        ] {
            assert!(
                matches!(error, StoreError::UnsupportedFormat { found, .. } if found == old),
                "{error:?}"
            );
            assert!(
                error.to_string().contains(&format!(
                    "unsupported format version {old}; this program reads version 4"
                )),
                "{error}"
            );
        }
    }
}

#[test]
fn a_new_ledger_is_intact_with_no_entries() {
    let s = scratch();
    drop(Ledger::create(&s.path).unwrap());
    assert_eq!(
        verify_path(&s.path).unwrap(),
        Verdict::Intact {
            count: 0,
            head: [0; 32]
        }
    );
}
