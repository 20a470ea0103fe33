//! `verify` checking the derived records (indexes, timeline cache, tree hashes) against the
//! log, and `repair` rebuilding them, through the binary: stdout, stderr and exit code.

use std::path::Path;

use actledger_store::testing::{OFFICE, Sled, entry_location, named_prefix, pack_chunk};
use predicates::prelude::PredicateBooleanExt as _;
use predicates::str::contains;
use serde_json::Value;

use crate::{SEED, Sandbox, stdout_of};

/// Every key and value of the ledger's sled database, in key order (opened directly: no
/// process may hold the ledger).
fn dump(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    try_dump(path).unwrap()
}

/// [`dump`], or why the database cannot be read whole.
/// Every key and value of a sled database, in key order.
type Records = Vec<(Vec<u8>, Vec<u8>)>;

fn try_dump(path: &Path) -> Result<Records, String> {
    let db = Sled::open(path).map_err(|e| e.to_string())?;
    dump_db(&db)
}

fn dump_db(db: &Sled) -> Result<Records, String> {
    db.iter()
        .map(|item| {
            let (key, value) = item.map_err(|e| e.to_string())?;
            Ok((key.to_vec(), value.to_vec()))
        })
        .collect()
}

/// Removes every `O` record of `office`; returns how many there were.
fn remove_office_postings(path: &Path, office: &str) -> usize {
    let db = Sled::open(path).unwrap();
    let keys: Vec<_> = db
        .scan_prefix(named_prefix(OFFICE, office))
        .keys()
        .map(|k| k.unwrap())
        .collect();
    for key in &keys {
        db.remove(key).unwrap();
    }
    db.flush().unwrap();
    keys.len()
}

fn head_hash(s: &Sandbox) -> String {
    let head: Value = serde_json::from_str(&s.head()).unwrap();
    head["hash"].as_str().unwrap().to_owned()
}

fn json_of(assert: &assert_cmd::assert::Assert) -> Value {
    let text = stdout_of(assert);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

const MISSING_MINDEF: &str =
    "  O (office postings), office MINDEF: missing: the log implies records that are not stored\n";
/// The timeline cache is replayed from the office postings: with those wrong, it is not
/// compared, and says so.
const CACHE_NOT_COMPARED: &str = "  S/W (timeline cache), record every office: not compared: the indexes timelines are replayed from differ from the log\n";

/// The findings of a removed `O` block of MINDEF, as JSON.
fn findings_json() -> Value {
    serde_json::json!([
        {"table": "office_postings", "prefix": "O", "subject": "office MINDEF",
            "difference": "missing: the log implies records that are not stored",
            "message": MISSING_MINDEF.trim()},
        {"table": "timeline_cache", "prefix": "S/W", "subject": "record every office",
            "difference": "not compared: the indexes timelines are replayed from differ from the log",
            "message": CACHE_NOT_COMPARED.trim()},
    ])
}

#[test]
fn an_untouched_ledger_verifies_whole_and_log_only_says_what_it_left_out() {
    let s = Sandbox::seeded();
    let head = head_hash(&s);
    s.run(&["verify"]).code(0).stderr("").stdout(format!(
        "intact: 7 entries, head {head}\n\
         every index, cached timeline and tree hash matches what the log implies\n"
    ));
    s.run(&["verify", "--log-only"])
        .code(0)
        .stderr("")
        .stdout(format!(
            "intact: 7 entries, head {head}\n\
             log only: the indexes, timeline cache and tree hashes that answers are read from were not checked\n"
        ));
    let value = json_of(&s.run(&["verify", "--json"]).code(0).stderr(""));
    assert_eq!(
        value,
        serde_json::json!({"intact": true, "log_intact": true, "answers_checked": true,
            "count": 7, "head": head})
    );
    let value = json_of(
        &s.run(&["verify", "--json", "--log-only"])
            .code(0)
            .stderr(""),
    );
    assert_eq!(value["intact"], true);
    assert_eq!(value["answers_checked"], false);
}

#[test]
fn a_removed_office_block_is_found_then_repaired() {
    let s = Sandbox::seeded();
    let head = head_hash(&s);
    let answer_before = stdout_of(&s.run(&["history", "MINDEF"]).success());
    assert!(remove_office_postings(&s.ledger(), "MINDEF") > 0);

    // verify: exit 3, the table and the office named, and what to do.
    s.run(&["verify"]).code(3).stderr("").stdout(format!(
        "ALTERED: the log is intact (7 entries, head {head}), but the records answers are read from differ from what it implies (2 findings):\n\
         {MISSING_MINDEF}\
         {CACHE_NOT_COMPARED}\
         per table: O (office postings): 1, S/W (timeline cache): 1\n\
         `actledger repair` rebuilds the derived records from the log\n"
    ));
    let value = json_of(&s.run(&["verify", "--json"]).code(3).stderr(""));
    assert_eq!(
        value,
        serde_json::json!({"intact": false, "log_intact": true, "answers_checked": true,
            "count": 7, "head": head, "total": 2,
            "per_table": {"office_postings": 1, "timeline_cache": 1},
            "findings": findings_json()})
    );
    // The log alone is intact, and says what it did not look at.
    s.run(&["verify", "--log-only"])
        .code(0)
        .stderr("")
        .stdout(format!(
            "intact: 7 entries, head {head}\n\
             log only: the indexes, timeline cache and tree hashes that answers are read from were not checked\n"
        ));

    // repair: exit 0, says what differed.
    s.run(&["repair"]).code(0).stderr("").stdout(format!(
        "repaired: every derived record was rebuilt from the log (7 entries, head {head}); before, 2 findings:\n\
         {MISSING_MINDEF}\
         {CACHE_NOT_COMPARED}\
         per table: O (office postings): 1, S/W (timeline cache): 1\n"
    ));
    s.run(&["verify"]).code(0).stderr("").stdout(contains(
        "every index, cached timeline and tree hash matches",
    ));
    s.run(&["history", "MINDEF"])
        .success()
        .stderr("")
        .stdout(answer_before);
    s.run(&["repair"]).code(0).stderr("").stdout(format!(
        "nothing to repair: the log is intact (7 entries, head {head}) and every derived record matches it\n"
    ));
    let value = json_of(&s.run(&["repair", "--json"]).code(0).stderr(""));
    assert_eq!(
        value,
        serde_json::json!({"repaired": false, "count": 7, "head": head, "total": 0,
            "per_table": {}, "findings": []})
    );
}

#[test]
fn repair_json_lists_what_it_rebuilt() {
    let s = Sandbox::seeded();
    let head = head_hash(&s);
    assert!(remove_office_postings(&s.ledger(), "MINDEF") > 0);
    let value = json_of(&s.run(&["repair", "--json"]).code(0).stderr(""));
    assert_eq!(
        value,
        serde_json::json!({"repaired": true, "count": 7, "head": head, "total": 2,
            "per_table": {"office_postings": 1, "timeline_cache": 1},
            "findings": findings_json()})
    );
    s.run(&["verify"]).code(0).stderr("");
    let value = json_of(&s.run(&["repair", "--json"]).code(0).stderr(""));
    assert_eq!(value["repaired"], false);
    assert_eq!(value["total"], 0);
}

/// Runs `repair` (text and JSON) on a ledger whose log was damaged by `damage` (found at
/// entry `seq`, for `problem`), and checks that it refuses, says so, and leaves every byte of
/// every record as it was.
fn repair_refuses(damage: impl FnOnce(&Sled), seq: u64, problem: &str) {
    let verdict = format!("ALTERED: entry {seq}: {problem}: ");
    let s = Sandbox::seeded();
    {
        let db = Sled::open(&s.ledger()).unwrap();
        damage(&db);
        db.flush().unwrap();
    }
    // Some derived records differ too, so that a repair would have work to do.
    assert!(remove_office_postings(&s.ledger(), "MINDEF") > 0);
    let before = dump(&s.ledger());
    let done = s.run(&["repair"]).code(3).stderr("");
    let text = stdout_of(&done);
    assert!(
        text.starts_with(
            "the log fails verification, so nothing was changed (restore the ledger from a backup or an export):\n"
        ),
        "{text}"
    );
    assert!(text.contains(&verdict), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(dump(&s.ledger()) == before, "repair changed a record");

    let value = json_of(&s.run(&["repair", "--json"]).code(3).stderr(""));
    assert_eq!(value["repaired"], false);
    assert_eq!(value["intact"], false);
    assert_eq!(value["log_intact"], false);
    assert_eq!(value["seq"], seq);
    assert!(
        value["problem"].as_str().is_some_and(|p| !p.is_empty()),
        "{value}"
    );
    assert!(
        dump(&s.ledger()) == before,
        "repair --json changed a record"
    );
    // verify says the same.
    s.run(&["verify"])
        .code(3)
        .stderr("")
        .stdout(contains(verdict));
    assert!(dump(&s.ledger()) == before, "verify changed a record");
}

#[test]
fn repair_of_a_ledger_whose_log_has_a_changed_byte_changes_nothing() {
    repair_refuses(
        |db| {
            let (key, mut body, range) = entry_location(db, 4);
            let at = range.start
                + body[range.clone()]
                    .windows(11)
                    .position(|w| w == b"jose-arista")
                    .expect("entry 4 names jose-arista");
            body[at] = b'J';
            db.insert(key, pack_chunk(&body)).unwrap();
        },
        4,
        "hash mismatch",
    );
}

#[test]
fn repair_of_a_ledger_whose_log_lost_a_chunk_changes_nothing() {
    repair_refuses(
        |db| {
            let (key, _, _) = entry_location(db, 1);
            db.remove(key).unwrap();
        },
        1,
        "head mismatch",
    );
}

/// A byte flipped inside sled's data file (`db`) of a closed ledger, at offsets spread evenly
/// over the part of the file in use. The ledger is copied right after the append that filled
/// it, before any other open: what that append wrote is the tail of sled's log, the part sled
/// replays when it opens.
///
/// Each run of `verify` must end in 0 or 3 without a panic, and:
/// - exit 1 never for the storage engine failing on corruption it should report (exit 3);
/// - say intact (exit 0) only of the original log (its 7 entries and head) with every record
///   reading as before, or of a log that sled 0.34 rolled back to an earlier state: sled takes
///   a message of its own log that fails its checksum for a torn write at its end, discards
///   it and everything after, and opens the state before without an error. That rollback is
///   the documented limit of `docs/RELIABILITY.md` ("a torn tail"): the entries it keeps form
///   a consistent, shorter ledger, which only a signed checkpoint shows to be short
///   (`verify --checkpoint`). It is counted here, not excused silently.
/// - when the storage engine reports the damage, `verify --json` says so and `repair`
///   refuses (exit 3, "nothing was changed").
///
/// sled rewrites the tail of its own files on every open (the same recovery), so the files'
/// bytes are not compared.
///
/// Every trial runs; the violations are listed together at the end.
#[test]
fn a_byte_flipped_in_the_data_file_is_reported_or_rolls_back_to_a_consistent_ledger() {
    let s = Sandbox::seeded();
    let template = Sandbox::new();
    copy_dir(&s.ledger(), &template.ledger());
    let head = head_hash(&s);
    let pristine = dump(&s.ledger());
    let original_log = format!("7 entries, head {head}");
    let bytes = std::fs::read(template.ledger().join("db")).unwrap();
    let used = bytes.iter().rposition(|b| *b != 0).map_or(0, |at| at + 1);
    assert!(used > 64, "the data file holds {used} bytes");
    let trials = 24;
    let mut seen: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    let mut violations = Vec::new();
    for trial in 0..trials {
        let at = used * (2 * trial + 1) / (2 * trials);
        let copy = Sandbox::new();
        copy_dir(&template.ledger(), &copy.ledger());
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x5a;
        std::fs::write(copy.ledger().join("db"), &damaged).unwrap();
        let files_before = files(&copy.ledger());
        let ran = copy.run(&["verify"]);
        let output = ran.get_output();
        let code = output.status.code();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let first = stdout.lines().next().unwrap_or("").to_owned();
        let what = format!("offset {at}: verify exit {code:?}: {first:.130}{stderr:.300}");
        let mut problems: Vec<String> = Vec::new();
        let mut violation = |text: &str| problems.push(text.to_owned());
        if !matches!(code, Some(0 | 3)) || stderr.contains("panicked") {
            violation("an exit code that is not 0 or 3, or a panic");
        }
        if stderr.contains("the storage engine failed") {
            violation("corruption reported as a failure of the storage engine (exit 1)");
        }
        let files_changed = files(&copy.ledger()) != files_before;
        let outcome = match code {
            Some(0) if first.starts_with(&format!("intact: {original_log}")) => {
                if try_dump(&copy.ledger()).as_ref() != Ok(&pristine) {
                    violation("exit 0, intact, but the records read differently");
                }
                format!("exit 0, {}", first.get(..24).unwrap_or(&first))
            }
            Some(0) => {
                // Rolled back by sled: a consistent, shorter ledger, fewer than the 7 entries.
                let count: Option<u64> = first
                    .strip_prefix("intact: ")
                    .and_then(|rest| rest.split(' ').next())
                    .and_then(|n| n.parse().ok());
                if count.is_none_or(|count| count >= 7) {
                    violation("exit 0 for a log that is neither the original nor shorter");
                }
                format!(
                    "exit 0, rolled back by sled: {}",
                    first.get(..24).unwrap_or(&first)
                )
            }
            Some(3) if first.starts_with("ALTERED: the storage engine") => {
                let value = json_of(&copy.run(&["verify", "--json"]));
                let problem = value["problem"].as_str().unwrap_or("");
                if value["intact"] != false
                    || value["log_intact"] != false
                    || !problem.starts_with("the storage engine found the ledger's files damaged: ")
                {
                    violation(&format!("verify --json said {value}"));
                }
                let repaired = copy.run(&["repair"]);
                let text = stdout_of(&repaired);
                if repaired.get_output().status.code() != Some(3)
                    || !text.starts_with("the log fails verification, so nothing was changed")
                {
                    violation(&format!("repair said {text:.300}"));
                }
                "exit 3, the storage engine found damage".to_owned()
            }
            Some(3) if first.starts_with("ALTERED: the log is intact (") => {
                // The original log, or one rolled back by sled, whose derived records (ahead
                // of it) differ.
                format!("exit 3, {}", first.get(..40).unwrap_or(&first))
            }
            Some(3) => format!("exit 3, {}", first.get(..24).unwrap_or(&first)),
            _ => format!("exit {code:?}, {}", stderr.trim()),
        };
        let outcome = if files_changed {
            format!("{outcome} (files changed)")
        } else {
            outcome
        };
        seen.entry(outcome).or_default().push(at);
        if !problems.is_empty() {
            violations.push(format!("{what}\n    {}", problems.join("; ")));
        }
    }
    println!("a byte flipped in the data file ({used} bytes used), {trials} offsets:");
    for (outcome, offsets) in &seen {
        println!("  {}: {outcome} (offsets {offsets:?})", offsets.len());
    }
    assert!(
        violations.is_empty(),
        "{} violations in {trials} trials:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// Every file of a folder and its bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut found = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            found.extend(files(&entry.path()));
        } else {
            found.insert(entry.path(), std::fs::read(entry.path()).unwrap());
        }
    }
    found
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A repair of an empty ledger leaves it intact too: a missing meta record (the cache's, the
/// tree's) is rebuilt, and a second repair has nothing to do.
#[test]
fn repair_of_an_empty_ledger_leaves_it_intact() {
    for key in ["Mcache", "Mtree"] {
        let s = Sandbox::new();
        s.run(&["init"]).success();
        {
            let db = Sled::open(&s.ledger()).unwrap();
            assert!(db.remove(key).unwrap().is_some(), "{key}");
            db.flush().unwrap();
        }
        s.run(&["verify"]).code(3).stderr("").stdout(contains(format!(
            "  M (meta records), record {key}: missing: the log implies records that are not stored\n"
        )));
        s.run(&["repair"]).code(0).stderr("").stdout(contains(
            "repaired: every derived record was rebuilt from the log (0 entries",
        ));
        s.run(&["verify"])
            .code(0)
            .stderr("")
            .stdout(contains("intact: 0 entries"));
        s.run(&["repair"])
            .code(0)
            .stderr("")
            .stdout(contains("nothing to repair"));
    }
}

/// A meta record holding another value than the log implies is one finding: "different".
#[test]
fn a_changed_meta_record_is_one_finding() {
    let s = Sandbox::seeded();
    let head = head_hash(&s);
    {
        let db = Sled::open(&s.ledger()).unwrap();
        db.insert(b"Mtree", &6u64.to_be_bytes()[..]).unwrap();
        db.flush().unwrap();
    }
    s.run(&["verify"]).code(3).stderr("").stdout(format!(
        "ALTERED: the log is intact (7 entries, head {head}), but the records answers are read from differ from what it implies (1 finding):\n  \
         M (meta records), record Mtree: different: the stored records differ from what the log implies\n\
         per table: M (meta records): 1\n\
         `actledger repair` rebuilds the derived records from the log\n"
    ));
    s.run(&["repair"]).code(0).stderr("").stdout(contains(
        "repaired: every derived record was rebuilt from the log (7 entries",
    ));
    s.run(&["verify"]).code(0).stderr("");
}

/// A record under a prefix the store never writes is an extra finding, and repair removes it.
#[test]
fn a_record_of_an_unknown_table_is_found_and_removed() {
    let s = Sandbox::seeded();
    {
        let db = Sled::open(&s.ledger()).unwrap();
        db.insert(b"Zstray", b"value".as_slice()).unwrap();
        db.flush().unwrap();
    }
    s.run(&["verify"]).code(3).stderr("").stdout(contains(
        "  ? (unknown records), record Zstray: extra: stored records the log does not imply\n\
         per table: ? (unknown records): 1\n",
    ));
    let value = json_of(&s.run(&["verify", "--json"]).code(3).stderr(""));
    assert_eq!(value["per_table"], serde_json::json!({"unknown": 1}));
    assert_eq!(value["findings"][0]["prefix"], "?");
    s.run(&["repair"]).code(0).stderr("").stdout(
        contains("repaired: every derived record was rebuilt from the log")
            .and(contains("before, 1 finding:")),
    );
    assert!(
        dump(&s.ledger()).iter().all(|(key, _)| key[0] != b'Z'),
        "repair left the stray record"
    );
    s.run(&["verify"]).code(0).stderr("");
}

#[test]
fn compact_keeps_every_record_and_says_what_it_did() {
    let s = Sandbox::seeded();
    let before = dump(&s.ledger());
    let text = stdout_of(&s.run(&["compact"]).code(0).stderr(""));
    assert!(
        text.starts_with("compacted ")
            && text.contains(&format!("{} records copied", before.len())),
        "{text}"
    );
    assert_eq!(dump(&s.ledger()), before);
    let value = json_of(&s.run(&["compact", "--json"]).code(0).stderr(""));
    assert_eq!(value["records"], before.len());
    assert!(value["before_bytes"].as_u64().unwrap() > 0);
    assert!(value["after_bytes"].as_u64().unwrap() > 0);
    s.run(&["verify"]).code(0).stderr("");
    assert_eq!(dump(&s.ledger()), before);
}

/// `acts` acts, each an appointment to one of a few offices, all valid in order.
pub(crate) fn many_acts(acts: u32) -> String {
    let offices = ["OF-A", "OF-B", "OF-C", "OF-D", "OF-E"];
    let mut lines = String::new();
    let first = actledger_core::Day::parse("2021-08-08").unwrap().ordinal();
    for k in 0..acts {
        // One act a day.
        let on = actledger_core::Day::from_ordinal(first + k).unwrap();
        let office = offices[(k % 5) as usize];
        lines.push_str(&format!(
            "{{\"type\":\"act_issued\",\"act\":\"RS-{k:05}-PCM\",\"kind\":\"resolucion_suprema\",\"issuer\":\"PCM\",\"issued_on\":\"{on}\"}}\n{{\"type\":\"appointed\",\"act\":\"RS-{k:05}-PCM\",\"person\":\"p-{k}\",\"person_name\":\"Persona {k}\",\"office\":\"{office}\",\"on\":\"{on}\"}}\n"
        ));
    }
    lines
}

/// Leaves in the closed ledger's database file what many rewrites leave: a record written
/// over and over, flushed each time, then removed. The records are as they were; the file is
/// not.
pub(crate) fn bloat(path: &Path) {
    let db = Sled::open(path).unwrap();
    let before = db.size_on_disk().unwrap();
    // Small records rewritten in place, as an append rewrites the tails of its tables.
    let key = |round: u32, i: u32| format!("zz-{:03}-{i}", round % 64).into_bytes();
    for round in 0..1_500u32 {
        for i in 0..8 {
            db.insert(key(round, i), vec![(round % 251) as u8; 2_000])
                .unwrap();
        }
        db.flush().unwrap();
    }
    for round in 0..64 {
        for i in 0..8 {
            db.remove(key(round, i)).unwrap();
        }
    }
    db.flush().unwrap();
    let after = db.size_on_disk().unwrap();
    assert!(
        after > before + (8 << 20),
        "not bloated: {before} then {after}"
    );
}

#[test]
fn an_append_compacts_a_ledger_grown_past_its_bound_and_says_so() {
    let s = Sandbox::new();
    s.run(&["init"]).success();
    let big = s.write("big.ndjson", &many_acts(8_000));
    s.run(&["append", "--quiet", big.to_str().unwrap()])
        .success();
    bloat(&s.ledger());
    let before = dump(&s.ledger());
    // As if the folder had been a tenth of its size after its last compaction: the next
    // append finds it grown past its bound.
    std::fs::write(s.ledger().join("compacted-bytes"), "1000\n").unwrap();
    let appended = s
        .cmd()
        .args(["append", "-"])
        .write_stdin(SEED)
        .assert()
        .code(0);
    let stderr = String::from_utf8(appended.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("note: ")
            && stderr.contains("after its last compaction (or when first measured); compacted to"),
        "{stderr}"
    );
    assert!(stdout_of(&appended).contains("recorded"));
    let after = dump(&s.ledger());
    assert!(after.len() > before.len(), "the append is kept");
    s.run(&["verify"]).code(0).stdout(contains("intact"));
    s.run(&["who-held", "MINDEF", "--on", "2024-06-03"])
        .code(0)
        .stdout(contains("José Arista Arbildo"));
    // With --json, stderr stays empty, compaction or not.
    bloat(&s.ledger());
    std::fs::write(s.ledger().join("compacted-bytes"), "1000\n").unwrap();
    let quiet = s
        .cmd()
        .args(["append", "--json", "-"])
        .write_stdin(SEED)
        .assert()
        .code(0)
        .stderr("");
    assert!(stdout_of(&quiet).starts_with('{'));
    assert_eq!(dump(&s.ledger()), after, "the batch was already recorded");
}
