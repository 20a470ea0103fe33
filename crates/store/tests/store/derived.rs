//! `verify` compares every derived record with what the log implies, and `repair` rebuilds
//! them from a verified log: on a generated ledger with revocations and retractions, every
//! derived table is changed, moved, removed and added to (and the timeline cache forged with
//! its checksum recomputed as `docs/FORMAT.md` describes it); each time `verify` names the
//! table, `repair` rebuilds, the ledger verifies intact with the same head, and every answer
//! (who held every office on many days, at the head and as of earlier positions, histories,
//! states, every act, the anomalies, proofs and roots) is the untouched ledger's, byte for
//! byte. A damaged log is never repaired, and nothing of it is changed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use actledger_core::{
    Day, Indexed, OfficeId, Recorded, Stint, anomalies, history, parse_batch, show_act, state,
    who_held,
};
use actledger_store::testing::{
    self, ACT, KNOWN, META_CACHE, META_HEAD, META_REPAIR, META_TREE, OFFICE, PERSON, RETRACTED,
    REVOKED, SEGMENT, TIMELINE, TREE, entry_location,
};
use actledger_store::{
    CACHE_VERSION, Finding, Findings, Ledger, Repair, Subject, Table, Verdict, repair_path,
    verify_path,
};

use crate::common::{raw, scratch};

/// Events of the generated ledger (seed [`SEED`]): about 8 months of five administrations,
/// with 19 revocations and 9 retractions.
const EVENTS: usize = 1500;
const SEED: u64 = 1;
/// Events per appended batch.
const BATCH: usize = 250;

// ---------------------------------------------------------------------------------------------
// The untouched ledger and its answers.

/// The untouched ledger, built once per test binary (closed: tests copy its folder).
struct Pristine {
    _dir: tempfile::TempDir,
    path: PathBuf,
    count: u64,
    head: [u8; 32],
    plan: Plan,
    answers: Vec<String>,
    /// A segment with an acting holder: its office, a day it covers, the acting stint.
    acting: (String, Day, Stint),
    /// A tenure: its office and stint.
    tenure: (String, Stint),
    /// Every person named as a titular somewhere.
    persons: Vec<String>,
}

/// What the answers ask about.
struct Plan {
    offices: Vec<String>,
    /// Every 30th day across the data (and a little past it).
    days: Vec<Day>,
    /// Every 90th day: for questions as of earlier positions and for `state`.
    few_days: Vec<Day>,
    /// Earlier positions to ask "as of".
    as_ofs: Vec<u64>,
    acts: Vec<String>,
    count: u64,
}

fn pristine() -> &'static Pristine {
    static PRISTINE: OnceLock<Pristine> = OnceLock::new();
    PRISTINE.get_or_init(build_pristine)
}

fn build_pristine() -> Pristine {
    let mut generator = actledger_gen::Generator::new(SEED);
    let mut ndjson = Vec::new();
    let summary = generator.write_ndjson(EVENTS as u64, &mut ndjson).unwrap();
    let text = String::from_utf8(ndjson).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), EVENTS);
    let mut acts = Vec::new();
    let (mut revoked, mut retracted) = (0, 0);
    for line in &lines {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        match event["type"].as_str().unwrap() {
            "act_issued" => acts.push(event["act"].as_str().unwrap().to_owned()),
            "act_revoked" => revoked += 1,
            "record_retracted" => retracted += 1,
            _ => {}
        }
    }
    assert!(
        revoked >= 10 && retracted >= 5,
        "the stream should revoke and retract: {revoked} revocations, {retracted} retractions"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let mut ledger = Ledger::create(&path).unwrap();
    for chunk in lines.chunks(BATCH) {
        ledger
            .append(parse_batch(chunk.join("\n").as_bytes()).unwrap())
            .unwrap();
    }
    let count = ledger.head().count;
    assert_eq!(count, EVENTS as u64);
    let head = ledger.head().hash;
    assert!(matches!(ledger.verify().unwrap(), Verdict::Intact { .. }));

    let offices: Vec<String> = ledger
        .offices()
        .unwrap()
        .iter()
        .map(|o| o.as_str().to_owned())
        .collect();
    assert!(offices.len() > 20, "{offices:?}");
    let start = Day::parse("1960-01-01").unwrap().ordinal();
    let end = summary.last_day.ordinal() + 60;
    let days: Vec<Day> = (start..=end)
        .step_by(30)
        .map(|d| Day::from_ordinal(d).unwrap())
        .collect();
    let few_days: Vec<Day> = (start + 15..=end)
        .step_by(90)
        .map(|d| Day::from_ordinal(d).unwrap())
        .collect();
    let plan = Plan {
        offices,
        days,
        few_days,
        as_ofs: vec![count / 3, count / 2 + 7, count - 1],
        acts,
        count,
    };

    // Targets for the forgeries of the cache.
    let mut acting = None;
    let mut tenure = None;
    let mut persons = std::collections::BTreeSet::new();
    for office in ledger.offices().unwrap() {
        let Some(timeline) = ledger.head_timeline(&office).unwrap() else {
            continue;
        };
        for t in &timeline.tenures {
            persons.insert(t.stint.person.as_str().to_owned());
        }
        if tenure.is_none() && timeline.tenures.len() >= 2 {
            tenure = Some((
                office.as_str().to_owned(),
                timeline.tenures[1].stint.clone(),
            ));
        }
        if acting.is_none() {
            acting = timeline.segments.iter().find_map(|s| {
                let stint = s.acting.clone()?;
                s.titular.as_ref()?;
                Some((office.as_str().to_owned(), s.from, stint))
            });
        }
    }

    let answers = answers(&ledger, &plan);
    assert!(answers.len() > 500, "{} answers", answers.len());
    let errors: Vec<&String> = answers.iter().filter(|a| a.starts_with("error")).collect();
    assert!(
        errors.is_empty(),
        "the untouched ledger answers everything: {errors:?}"
    );
    drop(ledger);
    Pristine {
        _dir: dir,
        path,
        count,
        head,
        plan,
        answers,
        acting: acting.expect("a segment with an acting holder"),
        tenure: tenure.expect("an office with two tenures"),
        persons: persons.into_iter().collect(),
    }
}

/// An answer (or the error in its place) as text.
fn text<T: Serialize, E: std::fmt::Display>(result: Result<T, E>) -> String {
    match result {
        Ok(value) => serde_json::to_string(&value).unwrap(),
        Err(e) => format!("error: {e}"),
    }
}

/// Every answer of the ledger that the plan asks for, serialized.
fn answers(ledger: &Ledger, plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    out.push(format!("head {:?}", ledger.head()));
    out.push(text(ledger.offices().map(|offices| {
        offices
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect::<Vec<_>>()
    })));
    // Who held every known office on every 30th day, at the head (`state` is `who_held` for
    // each known office), and as of earlier positions.
    for &day in &plan.days {
        out.push(text(state(ledger, day, None)));
    }
    for office in &plan.offices {
        out.push(text(who_held(ledger, office, plan.days[2], None)));
        out.push(text(history(ledger, office, None)));
        let id = OfficeId::new(office.as_str()).unwrap();
        out.push(text(ledger.head_timeline(&id)));
    }
    for &as_of in &plan.as_ofs {
        for office in &plan.offices {
            out.push(text(history(ledger, office, Some(as_of))));
        }
    }
    for &day in &plan.few_days {
        out.push(text(state(ledger, day, Some(plan.as_ofs[1]))));
    }
    for act in &plan.acts {
        out.push(text(show_act(ledger, act)));
    }
    out.push(text(anomalies(ledger, None)));
    out.push(text(anomalies(ledger, Some(plan.as_ofs[0]))));
    let count = plan.count;
    for seq in (1..=count).step_by(97).chain([count]) {
        out.push(text(ledger.inclusion_proof(seq, count)));
        out.push(text(ledger.inclusion_proof(seq, (seq + 500).min(count))));
        out.push(text(ledger.tree_root(seq).map(hex::encode)));
        out.push(text(ledger.consistency_proof(seq, count)));
    }
    out
}

/// The first answer that differs, for a readable failure.
fn first_difference(got: &[String], want: &[String]) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!("{} answers, not {}", got.len(), want.len()));
    }
    got.iter()
        .zip(want)
        .enumerate()
        .find(|(_, (g, w))| g != w)
        .map(|(i, (g, w))| format!("answer {i}:\n got  {g}\n want {w}"))
}

fn assert_same_answers(ledger: &Ledger, what: &str) {
    let p = pristine();
    let got = answers(ledger, &p.plan);
    if let Some(difference) = first_difference(&got, &p.answers) {
        panic!("{what}: the answers differ from the untouched ledger's: {difference}");
    }
}

// ---------------------------------------------------------------------------------------------
// Copies, dumps and the stored layout, as `docs/FORMAT.md` describes it.

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A fresh copy of the untouched ledger.
fn copy() -> crate::common::Scratch {
    let s = scratch();
    copy_dir(&pristine().path, &s.path);
    s
}

/// Every key and value of the untouched ledger (read from a copy: the original is never
/// opened again, since other tests copy it).
fn untouched() -> &'static Vec<(Vec<u8>, Vec<u8>)> {
    static DUMP: OnceLock<Vec<(Vec<u8>, Vec<u8>)>> = OnceLock::new();
    DUMP.get_or_init(|| {
        let s = copy();
        dump(&raw(&s.path))
    })
}

/// Every key and value of the database, in key order.
fn dump(db: &sled::Db) -> Vec<(Vec<u8>, Vec<u8>)> {
    db.iter()
        .map(|item| {
            let (k, v) = item.unwrap();
            (k.to_vec(), v.to_vec())
        })
        .collect()
}

fn records(db: &sled::Db, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    db.scan_prefix(prefix)
        .map(|item| {
            let (k, v) = item.unwrap();
            (k.to_vec(), v.to_vec())
        })
        .collect()
}

fn first_record(db: &sled::Db, prefix: &[u8]) -> (Vec<u8>, Vec<u8>) {
    records(db, prefix).into_iter().next().unwrap()
}

/// The identifier of a key `prefix id 0x00 ...`.
fn id_of(key: &[u8]) -> String {
    let zero = key.iter().position(|b| *b == 0).unwrap();
    String::from_utf8(key[1..zero].to_vec()).unwrap()
}

fn seq_of(key: &[u8]) -> u64 {
    u64::from_be_bytes(key[key.len() - 8..].try_into().unwrap())
}

fn named(prefix: u8, id: &str) -> Vec<u8> {
    let mut key = vec![prefix];
    key.extend_from_slice(id.as_bytes());
    key.push(0);
    key
}

fn named_seq(prefix: u8, id: &str, seq: u64) -> Vec<u8> {
    let mut key = named(prefix, id);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn take_varint(bytes: &mut &[u8]) -> u64 {
    let mut n = 0;
    let mut shift = 0;
    loop {
        let (&b, rest) = bytes.split_first().unwrap();
        *bytes = rest;
        n |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return n;
        }
        shift += 7;
    }
}

/// `count, first, delta...`: a posting block's value, and an act's positions in a bucket.
fn encode_list(out: &mut Vec<u8>, seqs: &[u64]) {
    varint(out, seqs.len() as u64);
    let mut before = 0;
    for (i, &seq) in seqs.iter().enumerate() {
        varint(out, if i == 0 { seq } else { seq - before });
        before = seq;
    }
}

fn decode_list(bytes: &mut &[u8]) -> Vec<u64> {
    let count = take_varint(bytes);
    let mut seq = 0;
    (0..count)
        .map(|i| {
            let n = take_varint(bytes);
            seq = if i == 0 { n } else { seq + n };
            seq
        })
        .collect()
}

/// An act bucket's value: its acts, each as its length, its bytes and its positions.
fn decode_bucket(mut value: &[u8]) -> Acts {
    let mut acts = Vec::new();
    while !value.is_empty() {
        let len = usize::try_from(take_varint(&mut value)).unwrap();
        let (name, rest) = value.split_at(len);
        value = rest;
        let seqs = decode_list(&mut value);
        acts.push((String::from_utf8(name.to_vec()).unwrap(), seqs));
    }
    acts
}

fn encode_bucket(acts: &[(String, Vec<u64>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (act, seqs) in acts {
        varint(&mut out, act.len() as u64);
        out.extend_from_slice(act.as_bytes());
        encode_list(&mut out, seqs);
    }
    out
}

/// The bucket of an act: FNV-1a 64-bit of its bytes, modulo 65,536.
fn bucket(act: &str) -> u16 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in act.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % 65_536) as u16
}

fn act_key(bucket: u16) -> Vec<u8> {
    let mut key = vec![ACT];
    key.extend_from_slice(&bucket.to_be_bytes());
    key
}

/// A cache record's value as `docs/FORMAT.md` defines it: the first 8 bytes of SHA-256 over
/// `actledger/cache`, 0x00, the cache version (u32 BE), the key's length (u32 BE), the key and
/// the body; then the body.
fn seal(key: &[u8], body: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"actledger/cache");
    h.update([0]);
    h.update(CACHE_VERSION.to_be_bytes());
    h.update(u32::try_from(key.len()).unwrap().to_be_bytes());
    h.update(key);
    h.update(body);
    let mut value = h.finalize()[..8].to_vec();
    value.extend_from_slice(body);
    value
}

/// A stint as a cache body holds it: the person, the position of its event, the act.
fn encoded_stint(person: &str, seq: u64, act: &str) -> Vec<u8> {
    let mut out = vec![u8::try_from(person.len()).unwrap()];
    out.extend_from_slice(person.as_bytes());
    varint(&mut out, seq);
    out.push(u8::try_from(act.len()).unwrap());
    out.extend_from_slice(act.as_bytes());
    out
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(haystack.len());
    let mut found = 0;
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
            found += 1;
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    (out, found)
}

fn flip_last_byte(db: &sled::Db, key: &[u8], value: &[u8]) {
    let mut changed = value.to_vec();
    *changed.last_mut().unwrap() ^= 0x01;
    db.insert(key, changed).unwrap();
}

fn move_record(db: &sled::Db, from: &[u8], to: &[u8]) {
    assert!(db.get(to).unwrap().is_none(), "{to:?} is taken");
    let value = db.remove(from).unwrap().unwrap();
    db.insert(to, value).unwrap();
}

// ---------------------------------------------------------------------------------------------
// The cases.

/// A check of a tampered ledger, once opened.
type Probe = Box<dyn Fn(&Ledger)>;

/// An act bucket's acts, each with its positions.
type Acts = Vec<(String, Vec<u64>)>;

/// What a tampering should be found as.
struct Expect {
    /// The table the findings must name.
    table: Table,
    /// A finding of `table` must name one of these (any, when empty).
    subjects: Vec<Subject>,
    /// Other tables the findings may name besides `table` (the timeline cache is not
    /// compared when what it is replayed from differs).
    also: Vec<Table>,
    /// `Ledger::open` itself puts it right (it rebuilds a stale cache and an incomplete tree).
    heals_on_open: bool,
    /// Checks the tampered ledger once opened, before any repair (a forgery is read as an
    /// answer, say).
    probe: Option<Probe>,
    /// Repaired by path too, on another copy (`repair_path`, as the command line does).
    by_path: bool,
}

impl Expect {
    /// Repaired by path too.
    fn by_path(mut self) -> Expect {
        self.by_path = true;
        self
    }
}

fn expect(table: Table, subjects: Vec<Subject>) -> Expect {
    let replayed = [
        Table::ActPostings,
        Table::Revocations,
        Table::Retractions,
        Table::OfficePostings,
        Table::KnownOffices,
    ];
    Expect {
        table,
        subjects,
        also: {
            let mut also = Vec::new();
            if replayed.contains(&table) {
                also.push(Table::TimelineCache);
            }
            // Names are read through the person postings and the retractions.
            if matches!(table, Table::PersonPostings | Table::Retractions) {
                also.extend([Table::Names, Table::State]);
            }
            also
        },
        heals_on_open: false,
        probe: None,
        // The meta records are what an open may put right itself.
        by_path: matches!(table, Table::Meta | Table::Unknown),
    }
}

fn check_findings(findings: &Findings, expect: &Expect, what: &str) {
    assert!(
        findings.per_table.contains_key(&expect.table),
        "{what}: no finding of {:?}: {findings:#?}",
        expect.table
    );
    for table in findings.per_table.keys() {
        assert!(
            *table == expect.table || expect.also.contains(table),
            "{what}: a finding of {table:?} too: {findings:#?}"
        );
    }
    if !expect.subjects.is_empty() {
        let named = findings
            .shown
            .iter()
            .any(|f: &Finding| f.table == expect.table && expect.subjects.contains(&f.subject));
        assert!(
            named,
            "{what}: no finding names one of {:?}: {findings:#?}",
            expect.subjects
        );
    }
}

fn diverged(verdict: Verdict, expect: &Expect, what: &str) -> Findings {
    let p = pristine();
    match verdict {
        Verdict::Diverged {
            count,
            head,
            findings,
        } => {
            assert_eq!((count, head), (p.count, p.head), "{what}");
            check_findings(&findings, expect, what);
            findings
        }
        other => panic!("{what}: not diverged: {other:?}"),
    }
}

fn assert_intact(verdict: Verdict, what: &str) {
    let p = pristine();
    assert_eq!(
        verdict,
        Verdict::Intact {
            count: p.count,
            head: p.head
        },
        "{what}"
    );
}

/// Tampers with a copy of the untouched ledger and checks it:
///
/// - through an open [`Ledger`] (`Ledger::open`, `verify`, `repair`, `verify`), then every
///   answer of the same handle, and the database byte for byte the untouched one;
/// - when the case asks for it, by path on another copy, as the command line does
///   (`repair_path`, which verifies first, after an open that rebuilds nothing), the repaired
///   database then byte for byte the untouched one too.
fn case(tamper: impl Fn(&sled::Db, &Pristine) -> Expect) {
    let p = pristine();

    // Through an open ledger.
    let s = copy();
    let expect = {
        let db = raw(&s.path);
        let expect = tamper(&db, p);
        db.flush().unwrap();
        expect
    };
    let mut ledger = Ledger::open(&s.path).unwrap();
    if let Some(probe) = &expect.probe {
        probe(&ledger);
    }
    let verdict = ledger.verify().unwrap();
    let repaired = ledger.repair().unwrap();
    if expect.heals_on_open {
        assert_intact(verdict, "Ledger::verify after an open that heals");
        assert_eq!(
            repaired,
            Repair::NothingToRepair {
                count: p.count,
                head: p.head
            }
        );
    } else {
        let before = diverged(verdict, &expect, "Ledger::verify");
        assert_eq!(
            repaired,
            Repair::Rebuilt {
                count: p.count,
                head: p.head,
                findings: before
            }
        );
    }
    assert_intact(
        ledger.verify().unwrap(),
        "Ledger::verify after Ledger::repair",
    );
    assert_same_answers(&ledger, "the same handle after Ledger::repair");
    drop(ledger);
    assert_untouched(&s.path, "after Ledger::repair");
    let by_path = expect.by_path;
    drop(s);

    // By path.
    if !by_path {
        return;
    }
    let s = copy();
    let expect = {
        let db = raw(&s.path);
        let expect = tamper(&db, p);
        db.flush().unwrap();
        expect
    };
    let before = diverged(verify_path(&s.path).unwrap(), &expect, "verify_path");
    assert_eq!(
        repair_path(&s.path, Duration::ZERO).unwrap(),
        Repair::Rebuilt {
            count: p.count,
            head: p.head,
            findings: before
        }
    );
    assert_untouched(&s.path, "after repair_path");
}

/// The database at `path` holds exactly the untouched ledger's keys and values.
fn assert_untouched(path: &Path, what: &str) {
    let got = dump(&raw(path));
    let want = untouched();
    if got != *want {
        let differing: Vec<String> = got
            .iter()
            .filter(|record| !want.contains(record))
            .chain(want.iter().filter(|record| !got.contains(record)))
            .take(6)
            .map(|(k, v)| format!("{} = {} bytes", String::from_utf8_lossy(k), v.len()))
            .collect();
        panic!("{what}: the database is not the untouched one: {differing:?}");
    }
}

// --- A: act buckets ----------------------------------------------------------------------------

/// The bucket of the first revoked act: its key, value and the acts it holds.
fn revoked_bucket(db: &sled::Db) -> (Vec<u8>, Vec<u8>, Acts) {
    let (r, _) = first_record(db, &[REVOKED]);
    let act = id_of(&r);
    let key = act_key(bucket(&act));
    let value = db.get(&key).unwrap().unwrap().to_vec();
    let acts = decode_bucket(&value);
    assert!(acts.iter().any(|(a, _)| *a == act), "{act} in its bucket");
    (key, value, acts)
}

fn act_subjects(acts: &[(String, Vec<u64>)], bucket: u16) -> Vec<Subject> {
    acts.iter()
        .map(|(a, _)| Subject::Act(a.clone()))
        .chain([Subject::Bucket(bucket)])
        .collect()
}

fn empty_bucket_after(db: &sled::Db, from: u16) -> u16 {
    (from.wrapping_add(1)..)
        .find(|b| db.get(act_key(*b)).unwrap().is_none())
        .unwrap()
}

#[test]
fn act_bucket_changed() {
    case(|db, _| {
        let (key, value, acts) = revoked_bucket(db);
        flip_last_byte(db, &key, &value);
        let b = u16::from_be_bytes([key[1], key[2]]);
        expect(Table::ActPostings, act_subjects(&acts, b)).by_path()
    });
}

#[test]
fn act_bucket_moved() {
    case(|db, _| {
        let (key, _, acts) = revoked_bucket(db);
        let b = u16::from_be_bytes([key[1], key[2]]);
        move_record(db, &key, &act_key(empty_bucket_after(db, b)));
        let missing = acts.iter().map(|(a, _)| Subject::Act(a.clone())).collect();
        expect(Table::ActPostings, missing)
    });
}

#[test]
fn act_bucket_removed() {
    case(|db, _| {
        let (key, _, acts) = revoked_bucket(db);
        db.remove(&key).unwrap();
        let missing = acts.iter().map(|(a, _)| Subject::Act(a.clone())).collect();
        expect(Table::ActPostings, missing)
    });
}

#[test]
fn act_bucket_added() {
    case(|db, _| {
        // A well-formed bucket for an act the log never names, in its own bucket.
        let act = (0..)
            .map(|n| format!("RS-{n:03}-2099-FORGED"))
            .find(|a| db.get(act_key(bucket(a))).unwrap().is_none())
            .unwrap();
        let value = encode_bucket(&[(act.clone(), vec![5, 9])]);
        db.insert(act_key(bucket(&act)), value).unwrap();
        expect(Table::ActPostings, vec![Subject::Act(act)])
    });
}

#[test]
fn act_bucket_rewritten_well_formed_without_a_position() {
    case(|db, _| {
        // The revoked act's last position dropped, the bucket encoded as the store encodes
        // it: only the comparison of positions can tell.
        let (key, _, mut acts) = revoked_bucket(db);
        let (r, _) = first_record(db, &[REVOKED]);
        let act = id_of(&r);
        let entry = acts.iter_mut().find(|(a, _)| *a == act).unwrap();
        assert!(entry.1.len() >= 2, "{entry:?}");
        entry.1.pop();
        db.insert(&key, encode_bucket(&acts)).unwrap();
        expect(Table::ActPostings, vec![Subject::Act(act)]).by_path()
    });
}

// --- R: revocations ---------------------------------------------------------------------------

#[test]
fn revocation_changed() {
    case(|db, _| {
        // Its value is empty: the changed value is one byte.
        let (key, value) = first_record(db, &[REVOKED]);
        assert!(value.is_empty());
        db.insert(&key, vec![0x01]).unwrap();
        expect(Table::Revocations, vec![Subject::Act(id_of(&key))]).by_path()
    });
}

#[test]
fn revocation_moved() {
    case(|db, _| {
        let (key, _) = first_record(db, &[REVOKED]);
        let (act, seq) = (id_of(&key), seq_of(&key));
        move_record(db, &key, &named_seq(REVOKED, &act, seq + 1));
        expect(Table::Revocations, vec![Subject::Act(act)])
    });
}

#[test]
fn revocation_removed() {
    case(|db, _| {
        let (key, _) = first_record(db, &[REVOKED]);
        db.remove(&key).unwrap();
        expect(Table::Revocations, vec![Subject::Act(id_of(&key))])
    });
}

#[test]
fn revocation_added() {
    case(|db, p| {
        // A real act, revoked by an event that does not revoke it.
        let act = p
            .plan
            .acts
            .iter()
            .find(|a| records(db, &named(REVOKED, a)).is_empty())
            .unwrap()
            .clone();
        db.insert(named_seq(REVOKED, &act, p.count), vec![])
            .unwrap();
        expect(Table::Revocations, vec![Subject::Act(act)])
    });
}

// --- X: retractions ---------------------------------------------------------------------------

fn retraction_key(target: u64, seq: u64) -> Vec<u8> {
    let mut key = vec![RETRACTED];
    key.extend_from_slice(&target.to_be_bytes());
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn target_of(key: &[u8]) -> u64 {
    u64::from_be_bytes(key[1..9].try_into().unwrap())
}

#[test]
fn retraction_changed() {
    case(|db, _| {
        // Its value is empty: the changed value is one byte.
        let (key, value) = first_record(db, &[RETRACTED]);
        assert!(value.is_empty());
        db.insert(&key, vec![0x01]).unwrap();
        expect(Table::Retractions, vec![Subject::Position(target_of(&key))]).by_path()
    });
}

#[test]
fn retraction_moved() {
    case(|db, _| {
        let (key, _) = first_record(db, &[RETRACTED]);
        let target = target_of(&key);
        move_record(db, &key, &retraction_key(target - 1, seq_of(&key)));
        expect(Table::Retractions, vec![Subject::Position(target)])
    });
}

#[test]
fn retraction_removed() {
    case(|db, _| {
        let (key, _) = first_record(db, &[RETRACTED]);
        db.remove(&key).unwrap();
        expect(Table::Retractions, vec![Subject::Position(target_of(&key))])
    });
}

#[test]
fn retraction_added() {
    case(|db, p| {
        // Entry 2 (an appointment) retracted by the last entry, which retracts nothing.
        db.insert(retraction_key(2, p.count), vec![]).unwrap();
        expect(Table::Retractions, vec![Subject::Position(2)])
    });
}

// --- O and P: posting blocks ------------------------------------------------------------------

/// The first block of `prefix` holding at least two positions, with its identifier.
fn posting_block(db: &sled::Db, prefix: u8) -> (Vec<u8>, Vec<u8>, String) {
    records(db, &[prefix])
        .into_iter()
        .find(|(_, v)| decode_list(&mut &v[..]).len() >= 2)
        .map(|(k, v)| {
            let id = id_of(&k);
            (k, v, id)
        })
        .unwrap()
}

fn posting_subject(prefix: u8, id: String) -> Subject {
    if prefix == OFFICE {
        Subject::Office(id)
    } else {
        Subject::Person(id)
    }
}

fn posting_table(prefix: u8) -> Table {
    if prefix == OFFICE {
        Table::OfficePostings
    } else {
        Table::PersonPostings
    }
}

fn postings_changed(prefix: u8) {
    case(|db, _| {
        let (key, value, id) = posting_block(db, prefix);
        flip_last_byte(db, &key, &value);
        expect(posting_table(prefix), vec![posting_subject(prefix, id)]).by_path()
    });
}

fn postings_moved(prefix: u8) {
    case(|db, _| {
        // To the same first position of another identifier that has none there.
        let (key, _, id) = posting_block(db, prefix);
        let seq = seq_of(&key);
        let other = records(db, &[prefix])
            .into_iter()
            .map(|(k, _)| id_of(&k))
            .find(|o| *o != id && db.get(named_seq(prefix, o, seq)).unwrap().is_none())
            .unwrap();
        move_record(db, &key, &named_seq(prefix, &other, seq));
        expect(posting_table(prefix), vec![posting_subject(prefix, id)])
    });
}

fn postings_removed(prefix: u8) {
    case(|db, _| {
        let (key, _, id) = posting_block(db, prefix);
        db.remove(&key).unwrap();
        expect(posting_table(prefix), vec![posting_subject(prefix, id)])
    });
}

fn postings_added(prefix: u8) {
    case(|db, _| {
        // A well-formed block for an identifier the log never names.
        let id = "zz-forged-id".to_owned();
        let mut value = Vec::new();
        encode_list(&mut value, &[3, 4, 5]);
        db.insert(named_seq(prefix, &id, 3), value).unwrap();
        expect(posting_table(prefix), vec![posting_subject(prefix, id)])
    });
}

fn postings_forged(prefix: u8) {
    case(|db, _| {
        // The block's last position dropped, encoded as the store encodes it.
        let (key, value, id) = posting_block(db, prefix);
        let mut seqs = decode_list(&mut &value[..]);
        seqs.pop();
        let mut forged = Vec::new();
        encode_list(&mut forged, &seqs);
        db.insert(&key, forged).unwrap();
        expect(posting_table(prefix), vec![posting_subject(prefix, id)]).by_path()
    });
}

#[test]
fn office_postings_changed() {
    postings_changed(OFFICE);
}

#[test]
fn office_postings_moved() {
    postings_moved(OFFICE);
}

#[test]
fn office_postings_removed() {
    postings_removed(OFFICE);
}

#[test]
fn office_postings_added() {
    postings_added(OFFICE);
}

#[test]
fn office_postings_rewritten_well_formed_without_a_position() {
    postings_forged(OFFICE);
}

#[test]
fn person_postings_changed() {
    postings_changed(PERSON);
}

#[test]
fn person_postings_moved() {
    postings_moved(PERSON);
}

#[test]
fn person_postings_removed() {
    postings_removed(PERSON);
}

#[test]
fn person_postings_added() {
    postings_added(PERSON);
}

#[test]
fn person_postings_rewritten_well_formed_without_a_position() {
    postings_forged(PERSON);
}

// --- K: known offices -------------------------------------------------------------------------

fn known_key(office: &str) -> Vec<u8> {
    let mut key = vec![KNOWN];
    key.extend_from_slice(office.as_bytes());
    key
}

#[test]
fn known_office_changed() {
    case(|db, _| {
        // Its value is the first position naming the office: another position.
        let (key, mut value) = first_record(db, &[KNOWN]);
        assert_eq!(value.len(), 8);
        value[7] ^= 1;
        db.insert(&key, value).unwrap();
        let office = String::from_utf8(key[1..].to_vec()).unwrap();
        expect(Table::KnownOffices, vec![Subject::Office(office)]).by_path()
    });
}

#[test]
fn known_office_moved() {
    case(|db, _| {
        let (key, _) = first_record(db, &[KNOWN]);
        let office = String::from_utf8(key[1..].to_vec()).unwrap();
        move_record(db, &key, &known_key(&format!("{office}-X")));
        expect(Table::KnownOffices, vec![Subject::Office(office)])
    });
}

#[test]
fn known_office_removed() {
    case(|db, p| {
        // An office in the middle, with a timeline.
        let office = p.acting.0.clone();
        db.remove(known_key(&office)).unwrap().unwrap();
        expect(Table::KnownOffices, vec![Subject::Office(office)])
    });
}

#[test]
fn known_office_added() {
    case(|db, _| {
        db.insert(known_key("ZZ-FORGED"), vec![]).unwrap();
        expect(
            Table::KnownOffices,
            vec![Subject::Office("ZZ-FORGED".into())],
        )
    });
}

// --- S and W: the timeline cache --------------------------------------------------------------

/// The cache record of `prefix` (`S` or `W`) for the acting holder's office: the block of
/// segments covering the acting day, or the office's first `W` record.
fn cache_record(db: &sled::Db, p: &Pristine, prefix: u8) -> (Vec<u8>, Vec<u8>, String) {
    let office = p.acting.0.clone();
    let start = named(prefix, &office);
    let (key, value) = if prefix == SEGMENT {
        let mut upto = start.clone();
        upto.extend_from_slice(&p.acting.1.ordinal().to_be_bytes());
        let (k, v) = db.range(start.clone()..=upto).next_back().unwrap().unwrap();
        assert!(k.starts_with(&start));
        (k.to_vec(), v.to_vec())
    } else {
        first_record(db, &start)
    };
    (key, value, office)
}

fn cache_changed(prefix: u8) {
    case(|db, p| {
        let (key, value, office) = cache_record(db, p, prefix);
        flip_last_byte(db, &key, &value);
        expect(Table::TimelineCache, vec![Subject::Office(office)]).by_path()
    });
}

fn cache_moved(prefix: u8) {
    case(|db, p| {
        // The key's last byte (a day, or a block's index) one more: a key of the same office
        // that holds nothing.
        let (key, _, office) = cache_record(db, p, prefix);
        let mut to = key.clone();
        *to.last_mut().unwrap() ^= 0x01;
        move_record(db, &key, &to);
        expect(Table::TimelineCache, vec![Subject::Office(office)])
    });
}

fn cache_removed(prefix: u8) {
    case(|db, p| {
        let (key, _, office) = cache_record(db, p, prefix);
        db.remove(&key).unwrap();
        expect(Table::TimelineCache, vec![Subject::Office(office)])
    });
}

fn cache_added(prefix: u8) {
    case(|db, p| {
        // A copy of the record under a key of the same office past all of its records,
        // sealed for that key: every checksum holds.
        let (key, value, office) = cache_record(db, p, prefix);
        let mut to = named(prefix, &office);
        to.extend_from_slice(if prefix == SEGMENT {
            b"\x00\x3f\xff\xff"
        } else {
            b"t\x00\x00\x7f\xff"
        });
        assert!(db.get(&to).unwrap().is_none());
        assert_eq!(seal(&key, &value[8..]), value, "the seal of docs/FORMAT.md");
        db.insert(&to, seal(&to, &value[8..])).unwrap();
        expect(Table::TimelineCache, vec![Subject::Office(office)])
    });
}

#[test]
fn segment_block_changed() {
    cache_changed(SEGMENT);
}

#[test]
fn segment_block_moved() {
    cache_moved(SEGMENT);
}

#[test]
fn segment_block_removed() {
    cache_removed(SEGMENT);
}

#[test]
fn segment_block_added_with_a_valid_seal() {
    cache_added(SEGMENT);
}

#[test]
fn timeline_part_changed() {
    cache_changed(TIMELINE);
}

#[test]
fn timeline_part_moved() {
    cache_moved(TIMELINE);
}

#[test]
fn timeline_part_removed() {
    cache_removed(TIMELINE);
}

#[test]
fn timeline_part_added_with_a_valid_seal() {
    cache_added(TIMELINE);
}

#[test]
fn cache_of_an_office_for_another_office_added_with_a_valid_seal() {
    case(|db, p| {
        // Records for an office nobody ever named, sealed for their keys.
        let (_, value, _) = cache_record(db, p, SEGMENT);
        let mut key = named(SEGMENT, "ZZ-FORGED");
        key.extend_from_slice(&p.acting.1.ordinal().to_be_bytes());
        db.insert(&key, seal(&key, &value[8..])).unwrap();
        expect(
            Table::TimelineCache,
            vec![Subject::Office("ZZ-FORGED".into())],
        )
    });
}

#[test]
fn whole_cache_of_an_office_removed() {
    // Without any record an office reads as one nobody ever held: a wrong answer, not an
    // error, which only the comparison with the log can tell.
    case(|db, p| {
        let office = p.acting.0.clone();
        for prefix in [SEGMENT, TIMELINE] {
            for (key, _) in records(db, &named(prefix, &office)) {
                db.remove(key).unwrap();
            }
        }
        let day = p.acting.1;
        let mut e = Expect::by_path(expect(
            Table::TimelineCache,
            vec![Subject::Office(office.clone())],
        ));
        e.probe = Some(Box::new(move |ledger: &Ledger| {
            let answer = who_held(ledger, &office, day, None).unwrap();
            assert!(
                answer.holder.is_none(),
                "the office reads as vacant: {answer:?}"
            );
        }));
        e
    });
}

/// The deliberate forgery: a segment's acting holder replaced by another person, the block
/// sealed again exactly as `docs/FORMAT.md` says. The store reads it as an answer; only
/// `verify` can tell.
#[test]
fn segment_block_forged_with_its_checksum_recomputed() {
    case(|db, p| {
        let (office, day, stint) = p.acting.clone();
        let (key, value, _) = cache_record(db, p, SEGMENT);
        assert_eq!(seal(&key, &value[8..]), value, "the seal of docs/FORMAT.md");
        let forged_person = p
            .persons
            .iter()
            .find(|person| **person != stint.person.as_str())
            .unwrap()
            .clone();
        let (body, found) = replace_all(
            &value[8..],
            &encoded_stint(stint.person.as_str(), stint.seq, stint.act.as_str()),
            &encoded_stint(&forged_person, stint.seq, stint.act.as_str()),
        );
        assert!(found >= 1, "the acting stint is in the block");
        db.insert(&key, seal(&key, &body)).unwrap();
        let mut e = Expect::by_path(expect(
            Table::TimelineCache,
            vec![Subject::Office(office.clone())],
        ));
        e.probe = Some(Box::new(move |ledger: &Ledger| {
            let answer = who_held(ledger, &office, day, None).unwrap();
            let holder = answer.holder.as_ref().expect("a holder");
            assert_eq!(
                holder.person.as_str(),
                forged_person,
                "the forged record is read as the answer: {answer:?}"
            );
        }));
        e
    });
}

/// The same forgery of a `W` record: a tenure's titular replaced.
#[test]
fn timeline_part_forged_with_its_checksum_recomputed() {
    case(|db, p| {
        let (office, stint) = p.tenure.clone();
        let forged_person = p
            .persons
            .iter()
            .find(|person| **person != stint.person.as_str())
            .unwrap()
            .clone();
        let mut key = named(TIMELINE, &office);
        key.extend_from_slice(b"t\x00\x00\x00\x00");
        let value = db.get(&key).unwrap().unwrap().to_vec();
        assert_eq!(seal(&key, &value[8..]), value, "the seal of docs/FORMAT.md");
        let (body, found) = replace_all(
            &value[8..],
            &encoded_stint(stint.person.as_str(), stint.seq, stint.act.as_str()),
            &encoded_stint(&forged_person, stint.seq, stint.act.as_str()),
        );
        assert_eq!(found, 1, "the tenure's stint is in the block");
        db.insert(&key, seal(&key, &body)).unwrap();
        let mut e = Expect::by_path(expect(
            Table::TimelineCache,
            vec![Subject::Office(office.clone())],
        ));
        e.probe = Some(Box::new(move |ledger: &Ledger| {
            let id = OfficeId::new(office.as_str()).unwrap();
            let timeline = ledger.head_timeline(&id).unwrap().unwrap();
            assert_eq!(
                timeline.tenures[1].stint.person.as_str(),
                forged_person,
                "the forged record is read as the answer"
            );
        }));
        e
    });
}

/// Every cache record of the untouched ledger carries the seal `docs/FORMAT.md` describes
/// (so the forgeries above seal as the store does).
#[test]
fn every_cache_record_is_sealed_as_the_format_says() {
    let s = copy();
    let db = raw(&s.path);
    let mut n = 0;
    for prefix in [SEGMENT, TIMELINE] {
        for (key, value) in records(&db, &[prefix]) {
            assert_eq!(seal(&key, &value[8..]), value, "{key:?}");
            n += 1;
        }
    }
    assert!(n > 100, "{n} cache records");
}

// --- H: tree hash tiles -----------------------------------------------------------------------

fn tile_key(tile: u64) -> Vec<u8> {
    let mut key = vec![TREE];
    key.extend_from_slice(&tile.to_be_bytes());
    key
}

#[test]
fn tree_tile_changed() {
    case(|db, _| {
        let value = db.get(tile_key(3)).unwrap().unwrap();
        flip_last_byte(db, &tile_key(3), &value);
        expect(Table::TreeHashes, vec![Subject::Tile(3)]).by_path()
    });
}

#[test]
fn tree_tile_moved() {
    case(|db, _| {
        let tiles = records(db, &[TREE]).len() as u64;
        move_record(db, &tile_key(3), &tile_key(tiles + 10));
        expect(Table::TreeHashes, vec![Subject::Tile(3)])
    });
}

#[test]
fn tree_tile_removed() {
    case(|db, _| {
        db.remove(tile_key(3)).unwrap().unwrap();
        expect(Table::TreeHashes, vec![Subject::Tile(3)])
    });
}

#[test]
fn tree_tile_added() {
    case(|db, _| {
        let tiles = records(db, &[TREE]).len() as u64;
        let value = db.get(tile_key(0)).unwrap().unwrap();
        db.insert(tile_key(tiles), value).unwrap();
        expect(Table::TreeHashes, vec![Subject::Tile(tiles)])
    });
}

// --- M: the meta records ----------------------------------------------------------------------

#[test]
fn cache_meta_record_changed() {
    case(|db, _| {
        let value = db.get(META_CACHE).unwrap().unwrap();
        flip_last_byte(db, META_CACHE, &value);
        let mut e = expect(Table::Meta, vec![Subject::Record("Mcache".into())]);
        e.heals_on_open = true; // the cache is rebuilt: it names another count
        e
    });
}

#[test]
fn cache_meta_record_moved() {
    case(|db, _| {
        move_record(db, META_CACHE, b"Mcachf");
        expect(Table::Meta, vec![Subject::Record("Mcachf".into())])
    });
}

#[test]
fn tree_meta_record_removed() {
    case(|db, _| {
        db.remove(META_TREE).unwrap().unwrap();
        let mut e = expect(Table::Meta, vec![Subject::Record("Mtree".into())]);
        e.heals_on_open = true; // the tree is completed from the leaves it covers
        e
    });
}

#[test]
fn tree_meta_record_changed() {
    case(|db, p| {
        db.insert(META_TREE, &(p.count - 1).to_be_bytes()[..])
            .unwrap();
        let mut e = expect(Table::Meta, vec![Subject::Record("Mtree".into())]);
        e.heals_on_open = true;
        e
    });
}

#[test]
fn meta_record_added() {
    case(|db, _| {
        db.insert(b"Mjunk", &b"anything"[..]).unwrap();
        expect(Table::Meta, vec![Subject::Record("Mjunk".into())])
    });
}

// --- Records under no table -------------------------------------------------------------------

#[test]
fn record_under_an_unknown_prefix_is_found_and_removed_by_repair() {
    case(|db, _| {
        db.insert(b"Zjunk", &b"x"[..]).unwrap();
        db.insert([0x00, 0x01], &b""[..]).unwrap();
        db.insert([0xff], &b"y"[..]).unwrap();
        expect(Table::Unknown, vec![Subject::Record("Zjunk".into())])
    });
    // And none is left.
    let s = copy();
    {
        let db = raw(&s.path);
        db.insert(b"Zjunk", &b"x"[..]).unwrap();
        db.flush().unwrap();
    }
    let Verdict::Diverged { findings, .. } = verify_path(&s.path).unwrap() else {
        panic!("not diverged");
    };
    assert_eq!(findings.per_table.get(&Table::Unknown), Some(&1));
    assert!(matches!(
        repair_path(&s.path, Duration::ZERO).unwrap(),
        Repair::Rebuilt { .. }
    ));
    let db = raw(&s.path);
    assert!(db.get(b"Zjunk").unwrap().is_none());
    assert_eq!(
        dump(&db),
        *untouched(),
        "the repaired ledger is the untouched one"
    );
}

// ---------------------------------------------------------------------------------------------
// A damaged log is never repaired.

/// Damages the log (and, with it, maybe derived records) of a copy; `repair` by path and
/// through an open ledger (when it opens) must report the log and change no byte.
fn log_fails(damage: impl Fn(&sled::Db)) {
    let s = copy();
    let before = {
        let db = raw(&s.path);
        damage(&db);
        db.flush().unwrap();
        dump(&db)
    };
    let verdict = verify_path(&s.path).unwrap();
    assert!(
        matches!(verdict, Verdict::Broken { .. } | Verdict::Unreadable { .. }),
        "{verdict:?}"
    );
    match repair_path(&s.path, Duration::ZERO).unwrap() {
        Repair::LogFails(v) => assert_eq!(v, verdict),
        other => panic!("repair_path: {other:?}"),
    }
    assert_eq!(dump(&raw(&s.path)), before, "repair_path changed nothing");
    // Through an open ledger, when the damage lets it open.
    if let Ok(mut ledger) = Ledger::open(&s.path) {
        match ledger.repair().unwrap() {
            Repair::LogFails(v) => assert_eq!(v, verdict),
            other => panic!("Ledger::repair: {other:?}"),
        }
        drop(ledger);
        assert_eq!(
            dump(&raw(&s.path)),
            before,
            "Ledger::repair changed nothing"
        );
    }
    assert_eq!(verify_path(&s.path).unwrap(), verdict);
}

#[test]
fn repair_of_a_log_with_a_chunk_removed_changes_nothing() {
    log_fails(|db| {
        db.remove(testing::chunk_key(33 * 5)).unwrap().unwrap();
    });
}

#[test]
fn repair_of_a_log_with_a_changed_byte_changes_nothing() {
    log_fails(|db| {
        let (key, body, range) = entry_location(db, 1234);
        let mut bytes = body.clone();
        bytes[range.end - 2] ^= 0x01;
        db.insert(key, testing::pack_chunk(&bytes)).unwrap();
    });
}

#[test]
fn repair_of_a_log_with_its_last_chunk_removed_changes_nothing() {
    log_fails(|db| {
        db.remove(testing::chunk_key(EVENTS as u64))
            .unwrap()
            .unwrap();
    });
}

#[test]
fn repair_of_a_log_without_a_head_changes_nothing() {
    log_fails(|db| {
        db.remove(META_HEAD).unwrap().unwrap();
    });
}

#[test]
fn repair_of_a_damaged_log_with_damaged_derived_records_changes_nothing() {
    // The derived records differ too: they are left as they are, not rebuilt from a log that
    // does not verify.
    log_fails(|db| {
        testing::remove_entry(db, 700);
        for (key, _) in records(db, &[KNOWN]).into_iter().take(5) {
            db.remove(key).unwrap();
        }
        db.insert(b"Zjunk", &b"x"[..]).unwrap();
        db.remove(META_CACHE).unwrap();
    });
}

// ---------------------------------------------------------------------------------------------
// Repairs run twice, and interrupted.

#[test]
fn repair_of_an_intact_ledger_writes_nothing() {
    let p = pristine();
    let s = copy();
    let before = dump(&raw(&s.path));
    assert_eq!(
        repair_path(&s.path, Duration::ZERO).unwrap(),
        Repair::NothingToRepair {
            count: p.count,
            head: p.head
        }
    );
    assert_eq!(dump(&raw(&s.path)), before);
    let mut ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(
        ledger.repair().unwrap(),
        Repair::NothingToRepair {
            count: p.count,
            head: p.head
        }
    );
    drop(ledger);
    assert_eq!(dump(&raw(&s.path)), before);
}

#[test]
fn a_second_repair_finds_nothing_to_repair() {
    let p = pristine();
    let s = copy();
    let before = dump(&raw(&s.path));
    {
        let db = raw(&s.path);
        for (key, _) in records(&db, &[OFFICE]) {
            db.remove(key).unwrap();
        }
        db.insert(b"Zjunk", &b"x"[..]).unwrap();
        db.flush().unwrap();
    }
    let mut ledger = Ledger::open(&s.path).unwrap();
    assert!(matches!(ledger.repair().unwrap(), Repair::Rebuilt { .. }));
    let nothing = Repair::NothingToRepair {
        count: p.count,
        head: p.head,
    };
    assert_eq!(ledger.repair().unwrap(), nothing);
    drop(ledger);
    assert_eq!(repair_path(&s.path, Duration::ZERO).unwrap(), nothing);
    assert_eq!(
        dump(&raw(&s.path)),
        before,
        "the untouched ledger, byte for byte"
    );
}

/// An interrupted repair: its intent record written, the derived tables partly removed (as
/// the rebuild starts by removing them). The next open completes it.
fn interrupted(remove: &[u8], meta: &[&[u8]]) {
    let p = pristine();
    let s = copy();
    let untouched = dump(&raw(&s.path));
    {
        let db = raw(&s.path);
        db.insert(META_REPAIR, &[][..]).unwrap();
        for &prefix in remove {
            for (key, _) in records(&db, &[prefix]) {
                db.remove(key).unwrap();
            }
        }
        for key in meta {
            db.remove(key).unwrap().unwrap();
        }
        db.insert(b"Zjunk", &b"x"[..]).unwrap();
        db.flush().unwrap();
    }
    // A verification by path does not complete it, and says the records differ.
    let Verdict::Diverged { findings, .. } = verify_path(&s.path).unwrap() else {
        panic!("not diverged");
    };
    assert!(
        findings.per_table.contains_key(&Table::Meta),
        "{findings:?}"
    );
    let ledger = Ledger::open(&s.path).unwrap();
    assert_intact(
        ledger.verify().unwrap(),
        "after the open that completes the repair",
    );
    assert_same_answers(&ledger, "after the open that completes the repair");
    drop(ledger);
    let db = raw(&s.path);
    assert!(db.get(META_REPAIR).unwrap().is_none());
    assert_eq!(dump(&db), untouched, "the untouched ledger, byte for byte");
    assert_eq!(p.count, EVENTS as u64);
}

#[test]
fn an_interrupted_repair_is_completed_by_the_next_open() {
    interrupted(&[KNOWN], &[]);
}

#[test]
fn an_interrupted_repair_without_any_derived_table_is_completed_by_the_next_open() {
    interrupted(
        &[
            ACT, REVOKED, RETRACTED, OFFICE, PERSON, KNOWN, SEGMENT, TIMELINE, TREE,
        ],
        &[META_CACHE, META_TREE],
    );
}

/// A ledger whose derived records keep it from opening (a known office that is not an
/// identifier, and a cache to rebuild from the known offices) is repaired by path, which opens
/// it as verification does.
#[test]
fn a_ledger_that_no_longer_opens_is_repaired_by_path() {
    let s = copy();
    {
        let db = raw(&s.path);
        db.insert(b"K\xff\xfe", &b""[..]).unwrap();
        db.remove(META_CACHE).unwrap().unwrap();
        db.flush().unwrap();
    }
    assert!(Ledger::open(&s.path).is_err());
    let expect = Expect {
        table: Table::KnownOffices,
        subjects: vec![Subject::Office("\u{fffd}\u{fffd}".into())],
        also: vec![Table::Meta, Table::TimelineCache],
        heals_on_open: false,
        probe: None,
        by_path: true,
    };
    let before = diverged(verify_path(&s.path).unwrap(), &expect, "verify_path");
    assert!(before.per_table.contains_key(&Table::Meta), "{before:?}");
    assert!(matches!(
        repair_path(&s.path, Duration::ZERO).unwrap(),
        Repair::Rebuilt { findings, .. } if findings == before
    ));
    assert_untouched(&s.path, "after repair_path");
    let ledger = Ledger::open(&s.path).unwrap();
    assert_same_answers(&ledger, "after repair_path");
}

/// The head record's time (the time of the last entry, the floor of the next append's) is
/// derived from the log like its count and hash, but no check compares it: a forged time
/// verifies intact, repair finds nothing to do, and the next append records its entries at the
/// forged time, which the chain then vouches for.
#[test]
fn a_forged_time_in_the_head_record_is_found() {
    let s = copy();
    {
        let db = raw(&s.path);
        let mut value = db.get(META_HEAD).unwrap().unwrap().to_vec();
        let n = value.len();
        value[n - 27..n - 23].copy_from_slice(b"2999");
        db.insert(META_HEAD, value).unwrap();
        db.flush().unwrap();
    }
    let verdict = verify_path(&s.path).unwrap();
    assert!(!verdict.is_intact(), "{verdict}");
}

/// Every derived record of an empty ledger rebuilt: its tree record (`Mtree`, 0) must be
/// written again, or the repaired ledger never verifies intact and every repair rebuilds
/// again (`rebuild_derived` once removed `Mtree`, and only the indexing of an entry wrote it
/// back).
#[test]
fn a_repaired_empty_ledger_verifies_intact() {
    let s = scratch();
    drop(Ledger::create(&s.path).unwrap());
    {
        let db = raw(&s.path);
        db.insert(b"Zjunk", &b"x"[..]).unwrap();
        db.flush().unwrap();
    }
    assert!(matches!(
        repair_path(&s.path, Duration::ZERO).unwrap(),
        Repair::Rebuilt { count: 0, .. }
    ));
    let verdict = verify_path(&s.path).unwrap();
    assert!(verdict.is_intact(), "{verdict:?}");
    assert!(matches!(
        repair_path(&s.path, Duration::ZERO).unwrap(),
        Repair::NothingToRepair { count: 0, .. }
    ));
}

/// The first append of a ledger interrupted (its intent record written, no entry): the open
/// rolls it back to the empty ledger, which must verify intact (the cause of
/// [`a_repaired_empty_ledger_verifies_intact`] made `crash.rs` fail now and then too, when the
/// child was killed during its first append).
#[test]
fn an_interrupted_first_append_leaves_an_empty_ledger_that_verifies_intact() {
    let s = scratch();
    drop(Ledger::create(&s.path).unwrap());
    {
        let db = raw(&s.path);
        let after = actledger_store::Head {
            count: 1,
            hash: [7; 32],
        };
        db.insert(
            b"Mpending",
            testing::encode_pending(actledger_store::Head::EMPTY, after),
        )
        .unwrap();
        db.flush().unwrap();
    }
    let ledger = Ledger::open(&s.path).unwrap();
    assert!(ledger.recovery().is_some());
    let verdict = ledger.verify().unwrap();
    assert!(verdict.is_intact(), "{verdict:?}");
}

// The names and the answers' state kept at the head (`N`, `V`).

/// `prefix + id`: a key of the names or the state.
fn id_key(prefix: u8, id: &str) -> Vec<u8> {
    let mut key = vec![prefix];
    key.extend_from_slice(id.as_bytes());
    key
}

#[test]
fn name_changed() {
    case(|db, p| {
        let person = p.persons[0].clone();
        let key = id_key(b'N', &person);
        db.insert(&key, "Someone Else".as_bytes()).unwrap();
        expect(Table::Names, vec![Subject::Person(person)]).by_path()
    });
}

#[test]
fn name_removed() {
    case(|db, p| {
        let person = p.persons[0].clone();
        db.remove(id_key(b'N', &person)).unwrap().unwrap();
        expect(Table::Names, vec![Subject::Person(person)])
    });
}

#[test]
fn name_added() {
    case(|db, _| {
        db.insert(id_key(b'N', "zz-nobody"), "Nobody".as_bytes())
            .unwrap();
        expect(Table::Names, vec![Subject::Person("zz-nobody".into())])
    });
}

#[test]
fn state_leaf_changed() {
    case(|db, p| {
        // Another holder's run count: a leaf that still parses, for the acting office.
        let office = p.acting.0.clone();
        let key = id_key(b'V', &office);
        let leaf = String::from_utf8(db.get(&key).unwrap().unwrap().to_vec()).unwrap();
        let forged = leaf.replace("\"segments\":", "\"segments\":1");
        assert_ne!(forged, leaf);
        db.insert(&key, forged.as_bytes()).unwrap();
        expect(Table::State, vec![Subject::Office(office)]).by_path()
    });
}

#[test]
fn state_leaf_removed() {
    case(|db, p| {
        let office = p.acting.0.clone();
        db.remove(id_key(b'V', &office)).unwrap().unwrap();
        expect(Table::State, vec![Subject::Office(office)])
    });
}

#[test]
fn state_leaf_added() {
    case(|db, p| {
        let from = id_key(b'V', &p.acting.0);
        let leaf = db.get(&from).unwrap().unwrap();
        db.insert(id_key(b'V', "ZZ-NOWHERE"), leaf).unwrap();
        expect(Table::State, vec![Subject::Office("ZZ-NOWHERE".into())])
    });
}

/// The key of an office's block of segment hashes numbered `number`.
fn hash_block(office: &str, number: u32) -> Vec<u8> {
    let mut key = testing::named_prefix(b'G', office);
    key.extend_from_slice(&number.to_be_bytes());
    key
}

#[test]
fn segment_hashes_changed() {
    case(|db, p| {
        // One bit of one segment's hash: the record still has the shape of one.
        let office = p.acting.0.clone();
        let key = hash_block(&office, 0);
        let mut hashes = db.get(&key).unwrap().unwrap().to_vec();
        assert_eq!(hashes.len() % 36, 0, "first day and hash per segment");
        *hashes.last_mut().unwrap() ^= 1;
        db.insert(&key, hashes).unwrap();
        expect(Table::State, vec![Subject::Office(office)]).by_path()
    });
}

#[test]
fn segment_hashes_removed() {
    case(|db, p| {
        let office = p.acting.0.clone();
        db.remove(hash_block(&office, 0)).unwrap().unwrap();
        expect(Table::State, vec![Subject::Office(office)])
    });
}

#[test]
fn segment_hashes_moved() {
    case(|db, p| {
        // The block under the number a second block would have: not where it belongs.
        let office = p.acting.0.clone();
        let block = db.remove(hash_block(&office, 0)).unwrap().unwrap();
        db.insert(hash_block(&office, 1), block).unwrap();
        expect(Table::State, vec![Subject::Office(office)])
    });
}

#[test]
fn segment_hashes_added() {
    case(|db, p| {
        let hashes = db.get(hash_block(&p.acting.0, 0)).unwrap().unwrap();
        db.insert(hash_block("ZZ-NOWHERE", 0), hashes).unwrap();
        expect(Table::State, vec![Subject::Office("ZZ-NOWHERE".into())])
    });
}
