//! `publish`: the files of C2SP tlog-tiles for the ledger's entries, read back by the reader
//! written from the spec at the sizes where the layout turns (0, 1, 255, 256, 257; the proof
//! crate's tests read the larger turns, 65,536 and 65,793, from tiles of a tree in memory);
//! incremental updates; folders that are not this ledger's mirror.

use actledger_mirror::{PublishError, STATE_FILE, publish};
use actledger_proof::{Checkpoint, SignerKey};

use crate::tlog_reader::read_mirror;
use crate::{DATA_FILES, Sandbox, snapshot};

fn read_back(s: &Sandbox) {
    let size = s.ledger.head().count;
    let mirror = s.mirror();
    let read = read_mirror(size, &|path| std::fs::read(mirror.join(path)).ok())
        .unwrap_or_else(|e| panic!("size {size}: {e}"));
    assert_eq!(read.entries, s.lines(), "size {size}");
    assert_eq!(read.root, s.ledger.tree_root(size).unwrap(), "size {size}");
    let checkpoint = std::fs::read(mirror.join("checkpoint")).unwrap();
    let opened = Checkpoint::open(&checkpoint, &[s.key.verifier_key().clone()]).unwrap();
    assert_eq!(opened.checkpoint.size, size);
    assert_eq!(opened.checkpoint.root, read.root);
    let statement = std::fs::read(mirror.join("statement")).unwrap();
    let statement =
        actledger_proof::Statement::open(&statement, &[s.key.verifier_key().clone()]).unwrap();
    assert!(statement.binds(&opened.checkpoint));
}

#[test]
fn a_mirror_reads_back_as_the_ledger_at_every_turning_size() {
    for size in [0, 1, 255, 256, 257] {
        let mut s = Sandbox::new();
        s.grow_to(size);
        let published = s.publish();
        assert_eq!(published.size, size);
        assert_eq!(published.previous_size, None);
        read_back(&s);
        // Exactly the spec's files, the index (no office has a page: acts alone name none),
        // the statement and the checkpoint, the checkpoint last.
        let files = snapshot(&s.mirror());
        let read = read_mirror(size, &|p| std::fs::read(s.mirror().join(p)).ok()).unwrap();
        let mut expected: Vec<String> = read.fetched.into_iter().collect();
        expected.extend(["checkpoint".to_owned(), "statement".to_owned()]);
        expected.extend(DATA_FILES.map(str::to_owned));
        expected.push(STATE_FILE.to_owned());
        expected.push("index.html".to_owned());
        expected.sort();
        assert_eq!(
            files.keys().cloned().collect::<Vec<_>>(),
            expected,
            "size {size}"
        );
        assert_eq!(
            published.written.last().map(String::as_str),
            Some("checkpoint")
        );
        assert_eq!(published.written.len(), files.len());
        assert_eq!(published.unchanged, 0);
    }
}

#[test]
fn publishing_again_with_nothing_new_writes_nothing() {
    let mut s = Sandbox::new();
    s.grow_to(257);
    s.publish();
    let before = snapshot(&s.mirror());
    let again = s.publish();
    assert_eq!(again.written, Vec::<String>::new());
    assert_eq!(again.unchanged, before.len() as u64);
    assert_eq!(again.previous_size, Some(257));
    assert_eq!(
        snapshot(&s.mirror()),
        before,
        "bytes and modification times"
    );
}

#[test]
fn an_update_writes_what_is_new_and_never_rewrites_a_full_tile() {
    let mut s = Sandbox::new();
    s.grow_to(255);
    s.publish();
    let at_255 = snapshot(&s.mirror());
    s.grow_to(257);
    let published = s.publish();
    assert_eq!(
        published.written,
        [
            "tile/0/000",
            "tile/0/001.p/1",
            "tile/1/000.p/1",
            "tile/entries/000",
            "tile/entries/001.p/1",
            STATE_FILE,
            "index.html",
            "statement",
            "checkpoint"
        ]
    );
    assert_eq!(published.previous_size, Some(255));
    read_back(&s);
    // The partial tiles of 255 stay, unchanged, for a reader of the older checkpoint.
    let at_257 = snapshot(&s.mirror());
    for name in ["tile/0/000.p/255", "tile/entries/000.p/255"] {
        assert_eq!(at_257.get(name), at_255.get(name), "{name}");
    }
    s.grow_to(260);
    let published = s.publish();
    assert_eq!(
        published.written,
        [
            "tile/0/001.p/4",
            "tile/entries/001.p/4",
            STATE_FILE,
            "index.html",
            "statement",
            "checkpoint"
        ]
    );
    read_back(&s);
    let at_260 = snapshot(&s.mirror());
    for name in ["tile/0/000", "tile/entries/000", "tile/1/000.p/1"] {
        assert_eq!(at_260.get(name), at_257.get(name), "{name} was rewritten");
    }
}

#[test]
fn files_follow_the_umask() {
    let mut s = Sandbox::new();
    s.grow_to(3);
    s.publish();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let reference = s.dir.path().join("reference");
        std::fs::write(&reference, b"").unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for name in [
            "checkpoint",
            "statement",
            "tile/0/000.p/3",
            "tile/entries/000.p/3",
        ] {
            assert_eq!(mode(&s.mirror().join(name)), mode(&reference), "{name}");
        }
    }
}

#[test]
fn a_folder_that_is_not_this_ledgers_mirror_is_refused() {
    let mut s = Sandbox::new();
    s.grow_to(5);
    s.publish();
    let before = snapshot(&s.mirror());

    // Another key's checkpoint.
    let other = SignerKey::from_seed("example.org/other", [3; 32]).unwrap();
    let signed = actledger_answers::sign_checkpoint(&s.ledger, &other).unwrap();
    let refused = publish(&s.ledger, &s.mirror(), &signed, &mut |_| {}).unwrap_err();
    assert!(
        matches!(refused, PublishError::ForeignCheckpoint { .. }),
        "{refused}"
    );
    assert!(refused.is_mismatch());

    // Another history under the same key.
    let mut twin = Sandbox::new();
    twin.ledger
        .append(actledger_core::parse_batch(crate::act(99).as_bytes()).unwrap())
        .unwrap();
    twin.grow_to(6);
    let signed = actledger_answers::sign_checkpoint(&twin.ledger, &s.key).unwrap();
    let refused = publish(&twin.ledger, &s.mirror(), &signed, &mut |_| {}).unwrap_err();
    assert!(
        matches!(refused, PublishError::Diverged { size: 5, .. }),
        "{refused}"
    );

    // A ledger behind the mirror.
    let mut short = Sandbox::new();
    short.grow_to(3);
    let signed = actledger_answers::sign_checkpoint(&short.ledger, &s.key).unwrap();
    let refused = publish(&short.ledger, &s.mirror(), &signed, &mut |_| {}).unwrap_err();
    assert!(
        matches!(
            refused,
            PublishError::MirrorAhead {
                published: 5,
                count: 3,
                ..
            }
        ),
        "{refused}"
    );
    assert_eq!(snapshot(&s.mirror()), before, "a refusal writes nothing");

    // A full bundle left with other bytes (by someone else) under an older checkpoint.
    s.grow_to(300);
    let tampered = s.mirror().join("tile/entries/000");
    let mut bytes = publish_elsewhere_bundle(&s);
    bytes[10] ^= 1;
    std::fs::create_dir_all(tampered.parent().unwrap()).unwrap();
    std::fs::write(&tampered, &bytes).unwrap();
    let refused = publish(&s.ledger, &s.mirror(), &s.sign(), &mut |_| {}).unwrap_err();
    assert!(
        matches!(refused, PublishError::FullTileDiffers { .. }),
        "{refused}"
    );
    let checkpoint = std::fs::read(s.mirror().join("checkpoint")).unwrap();
    assert_eq!(checkpoint, before["checkpoint"].0, "the checkpoint stays");
}

/// The bytes of the first full bundle of `s`'s ledger, as a publish elsewhere writes them.
fn publish_elsewhere_bundle(s: &Sandbox) -> Vec<u8> {
    let elsewhere = s.dir.path().join("elsewhere");
    publish(&s.ledger, &elsewhere, &s.sign(), &mut |_| {}).unwrap();
    std::fs::read(elsewhere.join("tile/entries/000")).unwrap()
}

/// A ledger from before the 65,000-byte event cap may hold an entry whose export line does not
/// fit a bundle's 16-bit length: publish refuses it by its position, before writing anything.
#[test]
fn an_entry_too_long_for_a_bundle_is_refused_by_name_and_nothing_is_written() {
    use actledger_store::testing::{META_HEAD, Sled, encode_head, read_entry, write_entry_raw};
    use actledger_store::{Entry, Head, Ledger};
    let mut s = Sandbox::new();
    s.grow_to(3);
    let path = s.dir.path().join("ledger");
    let key = s.key.clone();
    let dir = s.dir;
    drop(s.ledger);
    {
        // Written as an older version did: an event of 65,400 bytes, within the old bound.
        let db = Sled::open(&path).unwrap();
        let last = read_entry(&db, 3);
        let mut event = r#"{"type":"act_issued","act":"RS-900-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-01","title":""#.to_owned();
        event.push_str(&"a".repeat(65_400 - event.len() - 2));
        event.push_str("\"}");
        let long = Entry::new(4, last.time.clone(), last.hash, event.into_bytes());
        write_entry_raw(&db, 4, &long);
        let head = Head {
            count: 4,
            hash: long.hash,
        };
        db.insert(META_HEAD, encode_head(head, &long.time)).unwrap();
        db.flush().unwrap();
    }
    let ledger = Ledger::open(&path).unwrap();
    assert_eq!(ledger.head().count, 4);
    let signed = actledger_answers::sign_checkpoint(&ledger, &key).unwrap();
    let mirror = dir.path().join("mirror");
    let refused = publish(&ledger, &mirror, &signed, &mut |_| {}).unwrap_err();
    assert!(
        matches!(refused, PublishError::EntryTooLong { seq: 4, len } if len > 65_535),
        "{refused}"
    );
    assert!(
        refused
            .to_string()
            .starts_with("entry 4 cannot be published"),
        "{refused}"
    );
    assert!(snapshot(&mirror).is_empty(), "nothing is written");
}

/// The larger turns, end to end: 65,536 entries (a full level-1 tile, a level-2 tile of width
/// 1), then 65,793 (one more full level-0 tile and bundle, and a level-1 tile of width 1).
#[test]
fn a_mirror_reads_back_at_65_536_and_65_793_entries_and_keeps_its_full_tiles() {
    let mut s = Sandbox::new();
    s.grow_to(65_536);
    let published = s.publish();
    assert_eq!(published.written.len(), 256 + 256 + 1 + 1 + 3 + 1 + 1 + 2);
    read_back(&s);
    let before = snapshot(&s.mirror());
    s.grow_to(65_793);
    let published = s.publish();
    assert_eq!(
        published.written,
        [
            "tile/0/256",
            "tile/0/257.p/1",
            "tile/1/001.p/1",
            "tile/entries/256",
            "tile/entries/257.p/1",
            STATE_FILE,
            "index.html",
            "statement",
            "checkpoint"
        ]
    );
    read_back(&s);
    let after = snapshot(&s.mirror());
    for (name, file) in &before {
        if !["checkpoint", "statement", "index.html", STATE_FILE].contains(&name.as_str()) {
            assert_eq!(after.get(name), Some(file), "{name} changed");
        }
    }
}

/// A publish killed outright leaves a temporary file where it was writing; the next publish
/// that writes there removes it.
#[test]
fn the_next_publish_removes_what_a_killed_one_left() {
    let mut s = Sandbox::new();
    s.grow_to(3);
    s.publish();
    let left = [
        s.mirror().join(".actledger-Ab12Cd.tmp"),
        s.mirror().join("tile/0/000.p/.actledger-Xy34Zw.tmp"),
    ];
    for file in &left {
        std::fs::write(file, b"half a tile").unwrap();
    }
    s.grow_to(4);
    s.publish();
    for file in &left {
        assert!(!file.exists(), "{} is still there", file.display());
    }
    read_back(&s);
}

#[test]
fn a_file_that_cannot_be_written_fails_the_publish_by_name_before_the_checkpoint() {
    let mut s = Sandbox::new();
    s.grow_to(300);
    s.publish();
    let checkpoint = std::fs::read(s.mirror().join("checkpoint")).unwrap();
    s.grow_to(700);
    // A file where the data files' folder goes: they cannot be written, while the tiles and
    // bundles before them were (by the writer thread, whose error this is).
    std::fs::rename(s.mirror().join("data"), s.dir.path().join("data-aside")).unwrap();
    std::fs::write(s.mirror().join("data"), "in the way").unwrap();
    let error = publish(&s.ledger, &s.mirror(), &s.sign(), &mut |_| {}).unwrap_err();
    match &error {
        PublishError::Write { path, .. } => {
            assert!(
                path.starts_with(s.mirror().join("data")),
                "{error}: {path:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        std::fs::read(s.mirror().join("checkpoint")).unwrap(),
        checkpoint,
        "the previous checkpoint stays in force"
    );
    std::fs::remove_file(s.mirror().join("data")).unwrap();
    let published = s.publish();
    assert_eq!(published.previous_size, Some(300));
    read_back(&s);
}
