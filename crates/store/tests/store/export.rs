//! Export and import: canonical lines, the same head after a round trip, an independent
//! verifier, and imports that refuse anything else naming the line and leave nothing behind.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use actledger_store::{
    Entry, ImportError, Importing, Ledger, StoreError, Verdict, ZERO_HASH, verify_path,
};

use crate::common::{SEED, batch, generated, ledger_with, names_in, scratch};

fn export(ledger: &Ledger) -> Vec<u8> {
    let mut out = Vec::new();
    let mut reported = 0;
    let count = ledger.export(&mut out, &mut |n| reported = n).unwrap();
    assert_eq!(count, ledger.head().count);
    assert_eq!(reported, count);
    out
}

fn import(path: &Path, bytes: &[u8]) -> Result<Ledger, ImportError> {
    Ledger::import(path, &mut &bytes[..], &mut |_| {})
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn unlines(lines: &[String]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect()
}

#[test]
fn export_then_import_gives_the_same_head_and_the_same_bytes() {
    let s = scratch();
    let mut ledger = ledger_with(&s.path, 5, 4);
    ledger.append(batch(SEED)).unwrap();
    let bytes = export(&ledger);
    assert_eq!(
        bytes,
        export(&ledger),
        "export is canonical: same ledger, same bytes"
    );
    assert_eq!(lines(&bytes).len() as u64, ledger.head().count);

    let copy_path = s.dir.path().join("copy");
    let mut progress = Vec::new();
    let copy = Ledger::import(&copy_path, &mut &bytes[..], &mut |n| progress.push(n)).unwrap();
    assert_eq!(copy.head(), ledger.head());
    assert_eq!(progress.last(), Some(&(bytes.len() as u64)));
    assert_eq!(export(&copy), bytes);
    assert_eq!(
        copy.verify().unwrap(),
        Verdict::Intact {
            count: ledger.head().count,
            head: ledger.head().hash
        }
    );
    // Recording times travel with the entries.
    assert_eq!(copy.entry(3).unwrap(), ledger.entry(3).unwrap());
    // Nothing is left beside it.
    assert_eq!(names_in(s.dir.path()), ["copy", "ledger"]);
}

#[test]
fn the_first_line_is_the_documented_shape() {
    let s = scratch();
    let ledger = ledger_with(&s.path, 1, 1);
    let line = &lines(&export(&ledger))[0];
    let entry = ledger.entry(1).unwrap().unwrap();
    assert_eq!(
        *line,
        format!(
            r#"{{"seq":1,"time":"{}","prev":"{}","hash":"{}","event":{}}}"#,
            entry.time,
            "0".repeat(64),
            hex::encode(entry.hash),
            String::from_utf8(entry.event.clone()).unwrap()
        )
    );
    assert_eq!(Entry::parse_export_line(line.as_bytes()).unwrap(), entry);
}

#[test]
fn an_empty_export_makes_an_empty_ledger() {
    let s = scratch();
    let empty = Ledger::create(&s.path).unwrap();
    assert!(export(&empty).is_empty());
    let copy = import(&s.dir.path().join("copy"), b"").unwrap();
    assert_eq!(copy.head().count, 0);
    assert_eq!(
        copy.verify().unwrap(),
        Verdict::Intact {
            count: 0,
            head: ZERO_HASH
        }
    );
}

/// Runs `docs/verify_export.py` on `bytes`; `None` when there is no python3 here.
fn python_verifier(bytes: &[u8], dir: &Path) -> Option<(bool, String)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/verify_export.py");
    let file = dir.join("export.ndjson");
    std::fs::write(&file, bytes).unwrap();
    match Command::new("python3").arg(&script).arg(&file).output() {
        Ok(output) => {
            let text = String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr);
            Some((output.status.success(), text))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("running python3: {e}"),
    }
}

#[test]
fn the_python_verifier_accepts_an_export_and_rejects_any_one_byte_change() {
    let s = scratch();
    let mut ledger = ledger_with(&s.path, 3, 3);
    ledger.append(batch(SEED)).unwrap();
    let bytes = export(&ledger);
    let Some((ok, text)) = python_verifier(&bytes, s.dir.path()) else {
        println!("python3 is not installed here: skipping the independent verifier");
        return;
    };
    assert!(ok, "{text}");
    assert_eq!(
        text.trim(),
        format!(
            "intact: {} entries, head {}",
            ledger.head().count,
            hex::encode(ledger.head().hash)
        )
    );
    assert!(
        python_verifier(b"", s.dir.path()).unwrap().0,
        "an empty export is intact"
    );

    // One changed byte in each part of a line, and in the line structure.
    let lines = lines(&bytes);
    let third_start: usize = lines[..2].iter().map(|l| l.len() + 1).sum();
    let third = &lines[2];
    let mut positions: Vec<usize> = [
        "\"seq\":",
        "\"time\":\"",
        "\"prev\":\"",
        "\"hash\":\"",
        "\"act\":\"",
    ]
    .iter()
    .map(|key| third.find(key).unwrap() + key.len() + 1)
    .collect();
    positions.extend([0, third.len() - 1, third.len()]); // the braces and the newline
    for at in positions {
        let mut changed = bytes.clone();
        let at = third_start + at;
        changed[at] = if changed[at] == b'1' { b'2' } else { b'1' };
        let (ok, text) = python_verifier(&changed, s.dir.path()).unwrap();
        assert!(!ok, "byte {at} changed, yet: {text}");
        assert!(
            text.starts_with("line 3:") || text.starts_with("line 4:"),
            "{text}"
        );
        // The store's import refuses the same file.
        assert!(import(&s.dir.path().join("copy"), &changed).is_err());
    }
}

/// `line`: the 1-based line the refusal must name; `part`: a part of its reason.
fn refused(bytes: &[u8], line: u64, part: &str) {
    let s = scratch();
    let error = import(&s.path, bytes).unwrap_err();
    match &error {
        ImportError::Line { line: at, problem } => {
            assert_eq!(*at, line, "{error}");
            assert!(problem.to_string().contains(part), "{error}");
        }
        other => panic!("{other}"),
    }
    assert!(error.to_string().starts_with(&format!("line {line}: ")));
    assert!(
        names_in(s.dir.path()).is_empty(),
        "left behind: {:?}",
        names_in(s.dir.path())
    );
}

#[test]
fn import_refuses_a_broken_or_non_canonical_export_naming_the_line() {
    let s = scratch();
    let ledger = ledger_with(&s.path, 3, 3);
    let good = lines(&export(&ledger));
    let with = |i: usize, line: String| {
        let mut all = good.clone();
        all[i] = line;
        unlines(&all)
    };

    // A changed event: its hash no longer holds.
    refused(
        &with(4, good[4].replace("p-1-1", "p-1-9")),
        5,
        "hash mismatch",
    );
    // A changed hash: the next line no longer links.
    let mut hash_changed = good[4].clone();
    let at = hash_changed.find(r#""hash":""#).unwrap() + 8;
    let digit = if &hash_changed[at..=at] == "0" {
        "1"
    } else {
        "0"
    };
    hash_changed.replace_range(at..=at, digit);
    refused(&with(4, hash_changed), 5, "hash mismatch");
    // A missing line: a gap.
    let mut gap = good.clone();
    gap.remove(3);
    refused(&unlines(&gap), 4, "gap");
    // Swapped lines.
    let mut swapped = good.clone();
    swapped.swap(2, 6);
    refused(&unlines(&swapped), 3, "gap");
    // Spacing, key order, escapes: equivalent JSON is still not the export.
    refused(
        &with(1, good[1].replacen(r#""seq":2,"#, r#""seq": 2,"#, 1)),
        2,
        "not an export line",
    );
    let event_start = good[1].find(r#""event":"#).unwrap() + 8;
    let mut spaced = good[1].clone();
    spaced.insert(event_start + 1, ' ');
    refused(&with(1, spaced), 2, "canonical");
    refused(&with(0, good[0].replace(".", ",")), 1, "not an export line");
    // CRLF line ends, and a last line without its newline.
    refused(&with(2, format!("{}\r", good[2])), 3, "not an export line");
    let mut cut = unlines(&good);
    cut.pop();
    refused(&cut, good.len() as u64, "newline");
    // A header or a blank line.
    let mut header = vec!["{\"actledger\":1}".to_owned()];
    header.extend(good.clone());
    refused(&unlines(&header), 1, "not an export line");
}

/// A leave and the delegation it bounds, on top of the seed case.
const LEAVE: &str = r#"{"type":"act_issued","act":"RS-169-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-06-19"}
{"type":"leave_granted","act":"RS-169-2024-PCM","person":"walter-astudillo","office":"MINDEF","from":"2024-06-20","until":"2024-06-24","reason":"licencia por salud"}
{"type":"duties_delegated","act":"RS-169-2024-PCM","office":"MINDEF","delegate":"jose-arista","delegate_office":"MEF","from":"2024-06-20"}"#;

#[test]
fn a_leave_is_exported_and_imported_as_it_was_recorded() {
    let s = scratch();
    let mut ledger = Ledger::create(&s.path).unwrap();
    ledger.append(batch(SEED)).unwrap();
    ledger.append(batch(LEAVE)).unwrap();
    let bytes = export(&ledger);
    let exported = lines(&bytes);
    assert!(
        exported[7].ends_with(r#""event":{"type":"leave_granted","act":"RS-169-2024-PCM","person":"walter-astudillo","office":"MINDEF","from":"2024-06-20","until":"2024-06-24","reason":"licencia por salud"}}"#),
        "{}",
        exported[7]
    );
    let copy = import(&s.dir.path().join("copy"), &bytes).unwrap();
    assert_eq!(copy.head(), ledger.head());
    assert_eq!(export(&copy), bytes);
    let on = actledger_core::Day::parse("2024-06-22").unwrap();
    let answer = actledger_core::who_held(&copy, "MINDEF", on, None).unwrap();
    assert_eq!(
        answer,
        actledger_core::who_held(&ledger, "MINDEF", on, None).unwrap()
    );
    let titular = answer.titular.unwrap();
    assert_eq!(titular.absence, Some(actledger_core::AbsenceKind::Leave));
    assert_eq!(titular.absence_act.unwrap().as_str(), "RS-169-2024-PCM");
    assert_eq!(titular.trip_act, None);
    assert_eq!(answer.holder.unwrap().person.as_str(), "jose-arista");

    // A leave's line with its keys in another order is not the export line.
    let mut reordered = exported.clone();
    reordered[7] = reordered[7].replace(
        r#""from":"2024-06-20","until":"2024-06-24""#,
        r#""until":"2024-06-24","from":"2024-06-20""#,
    );
    refused(&unlines(&reordered), 8, "canonical");
    // Nor with a field a leave does not have.
    let mut extra = exported;
    extra[7] = extra[7].replace(r#""reason":"#, r#""destination":"#);
    refused(&unlines(&extra), 8, "destination");
}

#[test]
fn import_validates_every_event_with_the_core_rules() {
    // A well-formed, well-hashed chain whose second event names an act never issued.
    let events = [
        r#"{"type":"act_issued","act":"A-1","kind":"ley","issuer":"PCM","issued_on":"2024-01-01"}"#,
        r#"{"type":"appointed","act":"A-2","person":"ana","office":"MINDEF","on":"2024-01-02"}"#,
    ];
    let mut prev = ZERO_HASH;
    let mut text = String::new();
    for (i, event) in events.iter().enumerate() {
        let entry = Entry::new(
            i as u64 + 1,
            "2026-01-01T00:00:00.000000Z".into(),
            prev,
            event.as_bytes().to_vec(),
        );
        prev = entry.hash;
        text.push_str(&entry.export_line());
    }
    refused(text.as_bytes(), 2, "never issued");

    // The same event twice is not what a ledger records.
    let mut prev = ZERO_HASH;
    let mut text = String::new();
    for seq in 1..=2 {
        let entry = Entry::new(
            seq,
            "2026-01-01T00:00:00.000000Z".into(),
            prev,
            events[0].as_bytes().to_vec(),
        );
        prev = entry.hash;
        text.push_str(&entry.export_line());
    }
    refused(text.as_bytes(), 2, "repeats the event of entry 1");

    // Times that go back.
    let mut prev = ZERO_HASH;
    let mut text = String::new();
    let times = ["2026-01-02T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z"];
    for (i, event) in [events[0], &events[1].replace("A-2", "A-1")]
        .iter()
        .enumerate()
    {
        let entry = Entry::new(
            i as u64 + 1,
            times[i].into(),
            prev,
            event.as_bytes().to_vec(),
        );
        prev = entry.hash;
        text.push_str(&entry.export_line());
    }
    refused(text.as_bytes(), 2, "time went back");
}

#[test]
fn import_refuses_a_ledger_with_entries_and_leaves_it_as_it_was() {
    let s = scratch();
    let ledger = ledger_with(&s.path, 2, 3);
    let bytes = export(&ledger);
    let head = ledger.head();
    drop(ledger);
    let error = import(&s.path, &bytes).unwrap_err();
    assert!(
        matches!(error, ImportError::NotEmpty { count: 6, .. }),
        "{error}"
    );
    assert_eq!(
        verify_path(&s.path).unwrap(),
        Verdict::Intact {
            count: head.count,
            head: head.hash
        }
    );
    assert_eq!(names_in(s.dir.path()), ["ledger"]);
}

#[test]
fn import_fills_an_empty_ledger_or_an_empty_folder_but_nothing_else() {
    let s = scratch();
    let bytes = export(&ledger_with(&s.path, 2, 3));

    let empty_ledger = s.dir.path().join("empty-ledger");
    drop(Ledger::create(&empty_ledger).unwrap());
    assert_eq!(import(&empty_ledger, &bytes).unwrap().head().count, 6);

    let empty_folder = s.dir.path().join("empty-folder");
    std::fs::create_dir(&empty_folder).unwrap();
    assert_eq!(import(&empty_folder, &bytes).unwrap().head().count, 6);

    let occupied = s.dir.path().join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("notes.txt"), "mine").unwrap();
    let error = import(&occupied, &bytes).unwrap_err();
    assert!(
        matches!(error, ImportError::Store(StoreError::PathOccupied { .. })),
        "{error}"
    );
    assert_eq!(names_in(&occupied), ["notes.txt"]);

    // A refused import leaves no folder it made for the path's parents either.
    let mut broken = bytes.clone();
    broken[10] ^= 1;
    assert!(import(&s.dir.path().join("p/q/ledger"), &broken).is_err());
    let nested = s.dir.path().join("a/b/ledger");
    assert_eq!(import(&nested, &bytes).unwrap().head().count, 6);
    assert_eq!(
        names_in(s.dir.path()),
        ["a", "empty-folder", "empty-ledger", "ledger", "occupied"]
    );
}

/// An input that raises `stop` once `after` bytes have been read from it, as a Ctrl-C
/// handler would in the middle of an import.
struct StopsAfter<'a> {
    bytes: &'a [u8],
    read: usize,
    after: usize,
    stop: &'a AtomicBool,
}

impl std::io::Read for StopsAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // A few bytes at a time, so that the stop comes between two lines.
        let n = buf.len().min(self.bytes.len() - self.read).min(64);
        buf[..n].copy_from_slice(&self.bytes[self.read..self.read + n]);
        self.read += n;
        if self.read >= self.after {
            self.stop.store(true, Ordering::Relaxed);
        }
        Ok(n)
    }
}

#[test]
fn an_import_asked_to_stop_leaves_nothing_and_says_it_was_interrupted() {
    let s = scratch();
    let source = ledger_with(&s.dir.path().join("source"), 4, 10);
    let bytes = export(&source);
    drop(source);
    let before = names_in(s.dir.path());
    for after in [0, bytes.len() / 2, bytes.len()] {
        let stop = AtomicBool::new(after == 0);
        let mut input = std::io::BufReader::new(StopsAfter {
            bytes: &bytes,
            read: 0,
            after,
            stop: &stop,
        });
        let how = Importing {
            stop: Some(&stop),
            ..Importing::default()
        };
        let error = Ledger::import_with(&s.path, &mut input, &mut |_| {}, how).unwrap_err();
        assert!(
            matches!(&error, ImportError::Interrupted { path } if *path == s.path),
            "stopped after {after} bytes: {error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!(
                "interrupted: nothing was imported into {}",
                s.path.display()
            )
        );
        assert_eq!(
            names_in(s.dir.path()),
            before,
            "stopped after {after} bytes"
        );
    }
    // Not asked to stop: the whole import.
    let stop = AtomicBool::new(false);
    let how = Importing {
        stop: Some(&stop),
        ..Importing::default()
    };
    let copy = Ledger::import_with(&s.path, &mut &bytes[..], &mut |_| {}, how).unwrap();
    assert_eq!(copy.head().count, 40);
}

#[test]
fn the_leftover_of_a_killed_build_is_removed_and_a_live_one_kept() {
    let s = scratch();
    let bytes = export(&ledger_with(&s.dir.path().join("source"), 1, 3));
    let dir = s.dir.path();
    // What a build killed outright leaves: a staging folder whose lock nobody holds (or with
    // no lock file at all, killed the instant after making it).
    for name in [".ledger.new-Ab12Cd", ".ledger.new-000000"] {
        std::fs::create_dir(dir.join(name)).unwrap();
        std::fs::write(dir.join(name).join("db"), b"half a ledger").unwrap();
    }
    std::fs::write(dir.join(".ledger.new-Ab12Cd").join("lock"), b"").unwrap();
    // A build still running holds its folder's lock: kept.
    let live = dir.join(".ledger.new-LiVe99");
    std::fs::create_dir(&live).unwrap();
    let lock = std::fs::File::create(live.join("lock")).unwrap();
    lock.try_lock().unwrap();
    // Not the staging folders of this target: kept.
    let others = [
        ".ledger.new-toolong7",
        ".ledger.new-abc",
        ".ledger.new-ab.def",
        ".other.new-Ab12Cd",
        "ledger.new-Ab12Cd",
        ".ledger.db.new-Ab12Cd",
    ];
    for name in others {
        std::fs::create_dir(dir.join(name)).unwrap();
    }
    // A file of a staging name is no folder of ours.
    std::fs::write(dir.join(".ledger.new-File00"), b"").unwrap();

    let copy = import(&s.path, &bytes).unwrap();
    assert_eq!(copy.head().count, 3);
    drop(copy);
    let mut expected: Vec<String> = others.iter().map(|n| (*n).to_owned()).collect();
    expected.extend(
        [
            ".ledger.new-File00",
            ".ledger.new-LiVe99",
            "ledger",
            "source",
        ]
        .map(String::from),
    );
    expected.sort();
    assert_eq!(names_in(dir), expected);

    // `create` removes them too, once nobody holds them.
    drop(lock);
    std::fs::remove_dir_all(&s.path).unwrap();
    drop(Ledger::create(&s.path).unwrap());
    assert!(!dir.join(".ledger.new-LiVe99").exists());
}

/// `extend_from_export`: the lines of a longer export after a ledger's head make it that
/// ledger (the same head, the same export); a line that does not follow is refused and the
/// ledger stays as it was, whole and verified.
#[test]
fn extending_with_the_rest_of_an_export_gives_the_longer_ledger_or_nothing() {
    let s = scratch();
    let mut longer = ledger_with(&s.path, 5, 4);
    longer.append(batch(SEED)).unwrap();
    let all = lines(&export(&longer));
    let short_path = s.dir.path().join("short");
    let mut short = import(&short_path, &unlines(&all[..9])).unwrap();
    let before = export(&short);

    // The rest but one line in the middle: refused, naming the line, nothing kept.
    let mut gap = all[9..].to_vec();
    gap.remove(3);
    let refused = short
        .extend_from_export(&mut &unlines(&gap)[..], &mut |_| {})
        .unwrap_err();
    assert!(
        matches!(refused, ImportError::Line { line: 4, .. }),
        "{refused}"
    );
    assert_eq!(short.head().count, 9);
    assert_eq!(export(&short), before);
    assert!(matches!(
        short.verify().unwrap(),
        Verdict::Intact { count: 9, .. }
    ));

    // The rest: the longer ledger.
    let added = short
        .extend_from_export(&mut &unlines(&all[9..])[..], &mut |_| {})
        .unwrap();
    assert_eq!(added, all.len() as u64 - 9);
    assert_eq!(short.head(), longer.head());
    assert_eq!(lines(&export(&short)), all);
    assert!(matches!(short.verify().unwrap(), Verdict::Intact { .. }));
    drop(short);
    let reopened = Ledger::open(&short_path).unwrap();
    assert_eq!(reopened.head(), longer.head());
    assert!(reopened.recovery().is_none(), "no intent record is left");
}

/// An export of several of the import's chunks (10,000 lines each), re-chained from line
/// `from` on so that every line after a changed one still links.
fn rechained(lines: &[String], from: usize) -> Vec<String> {
    let mut out: Vec<String> = lines[..from - 1].to_vec();
    let mut prev = if from == 1 {
        ZERO_HASH
    } else {
        Entry::parse_export_line(lines[from - 2].as_bytes())
            .unwrap()
            .hash
    };
    for line in &lines[from - 1..] {
        let old = Entry::parse_export_line(line.as_bytes()).unwrap();
        let entry = Entry::new(old.seq, old.time.clone(), prev, old.event.clone());
        prev = entry.hash;
        out.push(entry.export_line().trim_end().to_owned());
    }
    out
}

#[test]
fn an_import_of_many_chunks_reports_the_first_problem_in_line_order() {
    let s = scratch();
    let mut ledger = Ledger::create(&s.path).unwrap();
    ledger.append(batch(&generated(3, 25_000))).unwrap();
    let lines = lines(&export(&ledger));
    assert_eq!(lines.len(), 25_000);

    // A line cut short in the third chunk: named, and nothing left.
    let mut cut = lines.clone();
    cut[20_999].truncate(40);
    refused(&unlines(&cut), 21_000, "");

    // An event that validation refuses in the first chunk (an act issued twice, the chain
    // made whole again), and a line cut short in the second, which the checker reaches while
    // the first is validated: the first one in line order is reported.
    let mut twice = lines.clone();
    let first_act = lines
        .iter()
        .position(|line| line.contains(r#""type":"act_issued""#))
        .unwrap();
    let repeated = Entry::parse_export_line(twice[first_act].as_bytes()).unwrap();
    let at = 5_000;
    let old = Entry::parse_export_line(twice[at - 1].as_bytes()).unwrap();
    twice[at - 1] = Entry::new(old.seq, old.time, old.prev, repeated.event)
        .export_line()
        .trim_end()
        .to_owned();
    let mut twice = rechained(&twice, at);
    twice[14_999].truncate(40);
    let error = import(&s.dir.path().join("copy"), &unlines(&twice)).unwrap_err();
    assert!(
        matches!(error, ImportError::Line { line: 5_000, .. }),
        "{error}"
    );
    assert_eq!(names_in(s.dir.path()), ["ledger"]);

    // Whole, it imports to the same head.
    let copy = import(&s.dir.path().join("copy"), &unlines(&lines)).unwrap();
    assert_eq!(copy.head(), ledger.head());
}
