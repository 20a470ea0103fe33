//! The cache's records round trip and refuse what is malformed, and a cache of an older
//! version is rebuilt rather than read.

use actledger_core::{ActId, Indexed, OfficeId, PersonId, Recorded};

use super::*;

fn day(text: &str) -> Day {
    Day::parse(text).unwrap()
}

fn stint(person: &str, seq: Seq, act: &str) -> Stint {
    Stint {
        person: PersonId::new(person).unwrap(),
        seq,
        act: ActId::new(act).unwrap(),
    }
}

fn absence_ref(seq: Seq, kind: AbsenceKind) -> AbsenceRef {
    AbsenceRef {
        seq,
        act: ActId::new("RS-200-2024-PCM").unwrap(),
        kind,
    }
}

/// A timeline with every kind of record and every optional field both ways, positions
/// of one to ten varint bytes included.
fn timeline() -> Timeline {
    let titular = stint("jose-arista", 2, "RS-131-2024-PCM");
    let acting = stint("walter-astudillo", 300_000, "RS-200-2024-PCM");
    Timeline {
        office: OfficeId::new("MEF").unwrap(),
        segments: vec![
            Segment {
                from: day("2024-06-01"),
                until: day("2024-07-01"),
                titular: Some(titular.clone()),
                absence: None,
                acting: None,
            },
            Segment {
                from: day("2024-07-02"),
                until: day("2024-07-05"),
                titular: Some(titular.clone()),
                absence: Some(absence_ref(127, AbsenceKind::Trip)),
                acting: Some(acting.clone()),
            },
            Segment {
                from: day("2024-07-06"),
                until: day("2024-07-08"),
                titular: Some(titular.clone()),
                absence: Some(absence_ref(129, AbsenceKind::Leave)),
                acting: None,
            },
            Segment {
                from: day("2024-09-01"),
                until: Day::MAX,
                titular: None,
                absence: None,
                acting: Some(stint("ana", u64::MAX, "A")),
            },
        ],
        tenures: vec![Tenure {
            stint: titular.clone(),
            from: day("2024-06-01"),
            until: Day::MAX,
        }],
        delegations: vec![
            Delegation {
                stint: acting.clone(),
                from: day("2024-07-02"),
                until: day("2024-07-05"),
                effective_until: Some(day("2024-07-05")),
            },
            Delegation {
                stint: acting,
                from: day("2024-07-02"),
                until: day("2024-07-05"),
                effective_until: None,
            },
        ],
        absences: vec![
            Absence {
                person: titular.person.clone(),
                absence: absence_ref(128, AbsenceKind::Trip),
                from: day("2024-07-02"),
                until: day("2024-07-05"),
            },
            Absence {
                person: titular.person.clone(),
                absence: absence_ref(129, AbsenceKind::Leave),
                from: day("2024-07-06"),
                until: day("2024-07-08"),
            },
        ],
        departures: vec![Departure {
            stint: titular,
            on: day("2024-08-31"),
        }],
    }
}

/// The timeline `records` hold, read back by the store's own reader ([`Ledger`]'s
/// `head_timeline`, with every check of blocks, links and manifest) from a scratch ledger.
fn decoded(records: &BTreeMap<Vec<u8>, Vec<u8>>, office: &OfficeId) -> Timeline {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::create(&dir.path().join("ledger")).unwrap();
    for (key, value) in records {
        ledger.db.insert(key, value.as_slice()).unwrap();
    }
    ledger.head_timeline(office).unwrap().unwrap()
}

/// A scratch ledger holding `records` (and its folder, removed when dropped).
fn holding(records: &BTreeMap<Vec<u8>, Vec<u8>>) -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::create(&dir.path().join("ledger")).unwrap();
    for (key, value) in records {
        ledger.db.insert(key, value.as_slice()).unwrap();
    }
    (dir, ledger)
}

/// `timeline()` with `n` one-day segments and as many tenures, so that it needs several
/// blocks.
fn long_timeline(n: u32) -> Timeline {
    let mut timeline = timeline();
    let first = day("2000-01-01").ordinal();
    timeline.segments = (0..n)
        .map(|i| Segment {
            from: Day::from_ordinal(first + 2 * i).unwrap(),
            until: Day::from_ordinal(first + 2 * i).unwrap(),
            titular: Some(stint("p", u64::from(i), "A")),
            absence: None,
            acting: None,
        })
        .collect();
    timeline.tenures = (0..n)
        .map(|i| Tenure {
            stint: stint("p", u64::from(i), "A"),
            from: Day::from_ordinal(first + 2 * i).unwrap(),
            until: Day::from_ordinal(first + 2 * i).unwrap(),
        })
        .collect();
    timeline
}

/// The records of `timeline` as cache version 5 wrote them, before leaves: an absence ref
/// was a trip ref, its position and act with no kind byte after them, and every record
/// was sealed under version 5. (The other bodies are unchanged.)
fn version_5_records(timeline: &Timeline) -> BTreeMap<Vec<u8>, Vec<u8>> {
    fn trip_ref(out: &mut Encoder, absence: &AbsenceRef) {
        assert_eq!(absence.kind, AbsenceKind::Trip, "version 5 knew trips only");
        out.seq(absence.seq);
        out.id(absence.act.as_str());
    }
    let mut records = BTreeMap::new();
    for (key, value) in timeline_records(timeline) {
        let body = unsealed(&key, &value).unwrap();
        let mut out = Encoder::default();
        let part = key.len().checked_sub(5).map(|at| key[at]);
        if key[0] == keys::SEGMENT {
            let first = u32::from_be_bytes(key[key.len() - 4..].try_into().unwrap());
            let block = decode_segment_block(Day::from_ordinal(first).unwrap(), body).unwrap();
            out.u32(block.prev);
            out.u32(block.next);
            out.u16(u16::try_from(block.segments.len()).unwrap());
            for segment in &block.segments {
                out.day(segment.from);
                out.day(segment.until);
                let flag = |present: bool, flag: u8| if present { flag } else { 0 };
                out.u8(flag(segment.titular.is_some(), HAS_TITULAR)
                    | flag(segment.absence.is_some(), HAS_ABSENCE)
                    | flag(segment.acting.is_some(), HAS_ACTING));
                if let Some(stint) = &segment.titular {
                    out.stint(stint);
                }
                if let Some(absence) = &segment.absence {
                    trip_ref(&mut out, absence);
                }
                if let Some(stint) = &segment.acting {
                    out.stint(stint);
                }
            }
        } else if part == Some(ABSENCES) {
            let (_, trips) = take_part(body, &ABSENCE_ITEMS, None).unwrap();
            out.u16(u16::try_from(trips.len()).unwrap());
            for trip in &trips {
                out.day(trip.from);
                out.day(trip.until);
                out.id(trip.person.as_str());
                trip_ref(&mut out, &trip.absence);
            }
        } else {
            out.0 = body.to_vec();
        }
        let mut sealed = checksum_of_version(5, &key, &out.0).to_vec();
        sealed.extend_from_slice(&out.0);
        records.insert(key, sealed);
    }
    records
}

/// Every answer a ledger gives about its offices from day 2024-05-25 to 2024-08-31.
fn answers(ledger: &Ledger) -> Vec<String> {
    let mut out = Vec::new();
    let first = day("2024-05-25").ordinal();
    for office in ledger.offices().unwrap() {
        for d in first..first + 100 {
            let on = Day::from_ordinal(d).unwrap();
            let answer = actledger_core::who_held(ledger, office.as_str(), on, None);
            out.push(format!("{:?}", answer.unwrap()));
        }
        let history = actledger_core::history(ledger, office.as_str(), None);
        out.push(format!("{:?}", history.unwrap()));
    }
    out.push(format!(
        "{:?}",
        actledger_core::anomalies(ledger, None).unwrap()
    ));
    out
}

/// A ledger whose cache was written by the program before leaves (cache version 5)
/// opens: its cache, of another version, is never read but rebuilt from the log, and it
/// answers as it did (a trip is still a trip), then takes a leave.
#[test]
fn a_ledger_written_with_cache_version_5_opens_and_answers() {
    const EVENTS: &str = r#"{"type":"act_issued","act":"RS-001","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-05-31"}
{"type":"appointed","act":"RS-001","person":"ana","person_name":"Ana","office":"MINDEF","on":"2024-06-01"}
{"type":"appointed","act":"RS-001","person":"bruno","office":"MEF","on":"2024-06-01"}
{"type":"act_issued","act":"RS-002","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-06-09"}
{"type":"trip_authorized","act":"RS-002","person":"ana","office":"MINDEF","from":"2024-06-10","until":"2024-06-14"}
{"type":"duties_delegated","act":"RS-002","office":"MINDEF","delegate":"bruno","delegate_office":"MEF","from":"2024-06-10"}
{"type":"trip_authorized","act":"RS-002","person":"bruno","office":"MEF","from":"2024-07-01","until":"2024-07-03"}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let mut ledger = Ledger::create(&path).unwrap();
    ledger
        .append(actledger_core::parse_batch(EVENTS.as_bytes()).unwrap())
        .unwrap();
    let expected = answers(&ledger);
    let count = ledger.head().count;
    // The cache as version 5 left it: its records, and `Mcache` naming version 5.
    let mut old = BTreeMap::new();
    for office in ledger.offices().unwrap() {
        if let Some(timeline) = ledger.head_timeline(&office).unwrap() {
            old.extend(version_5_records(&timeline));
        }
    }
    let current: BTreeMap<Vec<u8>, Vec<u8>> = ledger
        .db
        .scan_prefix([keys::SEGMENT])
        .chain(ledger.db.scan_prefix([keys::TIMELINE]))
        .map(|item| {
            let (key, value) = item.unwrap();
            (key.to_vec(), value.to_vec())
        })
        .collect();
    assert_eq!(
        old.keys().collect::<Vec<_>>(),
        current.keys().collect::<Vec<_>>()
    );
    for key in current.keys() {
        ledger.db.remove(key).unwrap();
    }
    let mut with_trip = 0;
    for (key, value) in &old {
        // Sealed under version 5: never taken for a record of this version.
        assert!(unsealed(key, value).is_none());
        with_trip += usize::from(value != &current[key]);
        ledger.db.insert(key, value.as_slice()).unwrap();
    }
    assert!(with_trip > 0);
    let mut record = 5u32.to_be_bytes().to_vec();
    record.extend_from_slice(&count.to_be_bytes());
    ledger.db.insert(keys::META_CACHE, record).unwrap();
    ledger.db.flush().unwrap();
    drop(ledger);
    // Verified before anything opens it, the earlier release's cache is no finding: it is
    // never read. A cache of this version with the same records would be one.
    assert!(matches!(
        crate::verify_path(&path).unwrap(),
        crate::Verdict::Intact { .. }
    ));

    let mut ledger = Ledger::open(&path).unwrap();
    assert_eq!(answers(&ledger), expected);
    assert_eq!(
        ledger.db.get(keys::META_CACHE).unwrap().unwrap().as_ref(),
        crate::ledger::encode_cache_record(count)
    );
    assert!(matches!(
        ledger.verify().unwrap(),
        crate::Verdict::Intact { .. }
    ));
    // And it records a leave, which the rebuilt cache names as one.
    let leave = r#"{"type":"act_issued","act":"RS-003","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-09"}
{"type":"leave_granted","act":"RS-003","person":"ana","office":"MINDEF","from":"2024-07-10","until":"2024-07-12","reason":"vacaciones"}"#;
    ledger
        .append(actledger_core::parse_batch(leave.as_bytes()).unwrap())
        .unwrap();
    drop(ledger);
    let ledger = Ledger::open(&path).unwrap();
    let answer = actledger_core::who_held(&ledger, "MINDEF", day("2024-07-11"), None).unwrap();
    let titular = answer.titular.unwrap();
    assert_eq!(titular.absence, Some(AbsenceKind::Leave));
    assert_eq!(titular.trip_act, None);
    assert_eq!(titular.absence_act, Some(ActId::new("RS-003").unwrap()));
}

#[test]
fn every_record_round_trips() {
    let timeline = timeline();
    let records = timeline_records(&timeline);
    assert_eq!(records.len(), 1 + 1 + 1 + 1 + 1 + 1);
    // A trip and a leave, both kept as what they are.
    assert_eq!(timeline.absences[1].absence.kind, AbsenceKind::Leave);
    assert_eq!(decoded(&records, &timeline.office), timeline);
    // Several blocks: 130 segments and tenures take 3 records each.
    let timeline = long_timeline(130);
    let records = timeline_records(&timeline);
    assert_eq!(records.len(), 3 + 3 + 1 + 1 + 1 + 1);
    assert_eq!(decoded(&records, &timeline.office), timeline);
}

/// Read without its segments, a timeline is the whole one with `segments` empty, whatever
/// becomes of the segment blocks; a lost block of another part is still refused.
#[test]
fn a_timeline_read_without_segments_is_the_rest_of_it() {
    for timeline in [timeline(), long_timeline(130)] {
        let records = timeline_records(&timeline);
        let (_dir, ledger) = holding(&records);
        let office = &timeline.office;
        let mut expected = timeline.clone();
        expected.segments = Vec::new();
        assert_eq!(
            ledger.head_timeline_unsegmented(office).unwrap(),
            Some(expected)
        );
        assert_eq!(
            ledger.head_timeline(office).unwrap(),
            Some(timeline.clone())
        );
        let prefix = keys::named_prefix(keys::TIMELINE, office.as_str());
        let tenure_block = records
            .keys()
            .find(|key| key.starts_with(&prefix) && key[prefix.len()] == TENURES)
            .unwrap();
        ledger.db.remove(tenure_block).unwrap();
        assert!(ledger.head_timeline_unsegmented(office).is_err());
        assert!(ledger.head_timeline(office).is_err());
    }
}

/// `part`'s items encoded in one block, read since each day that matters (each item's last
/// day and the day after it): every item is counted, and those kept are those
/// [`Timeline::since`] keeps.
fn check_part_since<T: Clone + PartialEq + std::fmt::Debug>(
    part: &[T],
    encode: fn(&mut Encoder, &T),
    items: &PartItems<T>,
    last_day: fn(&T) -> Day,
) {
    assert!(part.len() > 1);
    let mut body = Encoder::default();
    body.u16(u16::try_from(part.len()).unwrap());
    for item in part {
        encode(&mut body, item);
    }
    let mut days = vec![Day::MIN, Day::MAX];
    days.extend(part.iter().map(last_day));
    days.extend(part.iter().filter_map(|item| last_day(item).next()));
    for day in days {
        let expected: Vec<T> = part
            .iter()
            .filter(|x| last_day(x) >= day)
            .cloned()
            .collect();
        assert_eq!(
            take_part(&body.0, items, Some(day)).unwrap(),
            (part.len(), expected),
            "since {day}"
        );
    }
    assert_eq!(
        take_part(&body.0, items, None).unwrap(),
        (part.len(), part.to_vec())
    );
}

#[test]
fn a_part_read_since_a_day_skips_only_the_items_ending_before_it() {
    let mut t = timeline();
    t.tenures.push(Tenure {
        stint: stint("someone-else", 400, "RS-400-2024-PCM"),
        from: day("2024-09-01"),
        until: Day::MAX,
    });
    let mut later = t.delegations[0].clone();
    later.stint.seq = 500;
    later.until = day("2024-12-31");
    later.effective_until = Some(day("2024-10-01"));
    t.delegations.push(later);
    let mut cut = t.delegations[0].clone();
    cut.effective_until = None;
    t.delegations.push(cut);
    let mut departure = t.departures[0].clone();
    departure.on = day("2025-01-01");
    t.departures.push(departure);
    check_part_since(&t.tenures, encode_tenure, &TENURE_ITEMS, |x| x.until);
    check_part_since(
        &t.delegations,
        encode_delegation,
        &DELEGATION_ITEMS,
        Delegation::last_day,
    );
    check_part_since(&t.absences, encode_absence, &ABSENCE_ITEMS, |x| x.until);
    check_part_since(&t.departures, encode_departure, &DEPARTURE_ITEMS, |x| x.on);
}

/// A timeline read since a day, from its records in a ledger, is the whole one kept since
/// that day: for every day that matters, across blocks of segments and of tenures.
#[test]
fn a_timeline_read_since_a_day_is_the_whole_one_kept_since_it() {
    for timeline in [timeline(), long_timeline(200)] {
        let records = timeline_records(&timeline);
        let (_dir, ledger) = holding(&records);
        let office = &timeline.office;
        let mut days = vec![Day::MIN, Day::MAX];
        for s in &timeline.segments {
            days.extend([s.from, s.until]);
            days.extend(s.from.prev());
            days.extend(s.until.next());
        }
        for day in days {
            assert_eq!(
                ledger.head_timeline_since(office, day).unwrap(),
                Some(timeline.clone().since(day)),
                "since {day}"
            );
        }
    }
}

/// A block of segments gone missing is noticed by a read since any day that reaches past it:
/// the first block (read from the start, or from a day before the second), or one after the
/// block a read starts with.
#[test]
fn a_read_since_a_day_notices_a_block_of_segments_gone_missing() {
    let timeline = long_timeline(200);
    let office = &timeline.office;
    let records = timeline_records(&timeline);
    let prefix = keys::named_prefix(keys::SEGMENT, office.as_str());
    let blocks: Vec<&Vec<u8>> = records.keys().filter(|k| k.starts_with(&prefix)).collect();
    assert!(blocks.len() > 2, "{}", blocks.len());
    let days = [
        Day::MIN,
        timeline.segments[5].from,
        timeline.segments[64].from,
        timeline.segments[100].from,
    ];
    for gone in [0, 1] {
        let mut kept = records.clone();
        kept.remove(blocks[gone]);
        let (_dir, ledger) = holding(&kept);
        assert!(ledger.head_timeline(office).is_err(), "block {gone} gone");
        for day in days {
            // A read from a block after the one gone reads none before it: nothing to notice.
            let starts_after = gone == 0 && day >= timeline.segments[64].from
                || gone == 1 && day >= timeline.segments[128].from;
            let read = ledger.head_timeline_since(office, day);
            if starts_after {
                assert_eq!(
                    read.unwrap(),
                    Some(timeline.clone().since(day)),
                    "since {day}"
                );
            } else {
                assert!(
                    read.is_err(),
                    "block {gone} gone, read since {day}: {read:?}"
                );
            }
        }
    }
}

#[test]
fn blocks_of_segments_name_their_neighbours() {
    let timeline = long_timeline(130);
    let links: Vec<_> = timeline_records(&timeline)
        .iter()
        .filter(|(key, _)| key[0] == keys::SEGMENT)
        .map(|(key, value)| {
            let body = unsealed(key, value).unwrap();
            let first =
                Day::from_ordinal(u32::from_be_bytes(key[key.len() - 4..].try_into().unwrap()))
                    .unwrap();
            let block = decode_segment_block(first, body).unwrap();
            (block.prev, block.next, block.segments.len())
        })
        .collect();
    let from = |i: usize| timeline.segments[i].from.ordinal();
    assert_eq!(
        links,
        [
            (NO_DAY, from(64), 64),
            (from(0), from(128), 64),
            (from(64), NO_DAY, 2)
        ]
    );
}

#[test]
fn a_record_changed_or_under_another_key_fails_its_checksum() {
    let records = timeline_records(&timeline());
    let (key, value) = records.iter().next().unwrap();
    assert!(unsealed(key, value).is_some());
    let mut moved = key.clone();
    moved[2] ^= 1;
    assert!(unsealed(&moved, value).is_none());
    for at in 0..value.len() {
        let mut changed = value.clone();
        changed[at] ^= 0x10;
        assert!(unsealed(key, &changed).is_none(), "byte {at}");
    }
}

#[test]
fn a_body_cut_short_or_too_long_is_malformed() {
    let timeline = timeline();
    let body = encode_segment_block(&timeline.segments, 1, 2);
    let from = timeline.segments[0].from;
    assert_eq!(
        decode_segment_block(from, &body).unwrap().segments,
        timeline.segments
    );
    for len in 0..body.len() {
        assert!(
            decode_segment_block(from, &body[..len]).is_err(),
            "length {len}"
        );
    }
    let mut longer = body.clone();
    longer.push(0);
    assert!(decode_segment_block(from, &longer).is_err());
    // Another first day than the key's.
    assert!(decode_segment_block(timeline.segments[1].from, &body).is_err());
    let mut body = Encoder::default();
    body.u16(1);
    encode_delegation(&mut body, &timeline.delegations[0]);
    let last = timeline.delegations[0].last_day();
    for since in [None, Some(last), last.next()] {
        for len in 0..body.0.len() {
            assert!(
                take_part(&body.0[..len], &DELEGATION_ITEMS, since).is_err(),
                "length {len}, since {since:?}"
            );
        }
    }
    assert_eq!(
        take_part(&body.0, &DELEGATION_ITEMS, None).unwrap(),
        (1, vec![timeline.delegations[0].clone()])
    );
    // Skipped, as far as its last day, and not read any further.
    assert_eq!(
        take_part(&body.0, &DELEGATION_ITEMS, last.next()).unwrap(),
        (1, vec![])
    );
}

#[test]
fn malformed_fields_are_refused() {
    let segments = &timeline().segments[..1];
    let first = segments[0].from;
    // The flags byte follows the links, the count and the segment's two days.
    let mut body = encode_segment_block(segments, NO_DAY, NO_DAY);
    body[18] |= 8;
    assert!(decode_segment_block(first, &body).is_err());
    // A day past 9999-12-31.
    let mut body = encode_segment_block(segments, NO_DAY, NO_DAY);
    body[14..18].copy_from_slice(&(Day::MAX.ordinal() + 1).to_be_bytes());
    assert!(decode_segment_block(first, &body).is_err());
    // No segment, or segments out of order.
    let mut body = encode_segment_block(segments, NO_DAY, NO_DAY);
    body[8..10].copy_from_slice(&0u16.to_be_bytes());
    assert!(decode_segment_block(first, &body).is_err());
    let twice = [segments[0].clone(), segments[0].clone()];
    let body = encode_segment_block(&twice, NO_DAY, NO_DAY);
    assert!(decode_segment_block(first, &body).is_err());
    // Positions: minimal varints only, and none beyond 64 bits.
    assert_eq!(Decoder(&[0x80, 0x01]).seq().unwrap(), 128);
    assert!(Decoder(&[0x80, 0x00]).seq().is_err());
    assert!(Decoder(&[0xff; 10]).seq().is_err());
    let mut max = Encoder::default();
    max.seq(u64::MAX);
    assert_eq!(Decoder(&max.0).seq().unwrap(), u64::MAX);
    // An absence of a kind that is neither a trip nor a leave.
    let mut absence = Encoder::default();
    absence.absence_ref(&absence_ref(7, AbsenceKind::Leave));
    assert_eq!(
        Decoder(&absence.0).absence_ref().unwrap().kind,
        AbsenceKind::Leave
    );
    *absence.0.last_mut().unwrap() = 2;
    assert!(Decoder(&absence.0).absence_ref().is_err());
    // An identifier that is not one.
    assert!(Decoder(b"\x02a b").id::<ActId>().is_err());
    assert!(Decoder(b"\x00").id::<ActId>().is_err());
    assert!(Decoder(b"\x05abc").id::<ActId>().is_err());
}
