//! Checkpoints: the C2SP tlog-checkpoint text, read strictly, signed and opened.

use actledger_proof::{
    Checkpoint, CheckpointError, EMPTY_ROOT, MemoryTree, NoteError, SignerKey, leaf_hash, sign_note,
};

use crate::h;

const ROOT_8: &str = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";

fn key() -> SignerKey {
    SignerKey::from_seed("example.org/actledger", [42; 32]).unwrap()
}

#[test]
fn note_text_is_origin_size_and_base64_root() {
    let checkpoint = Checkpoint::new("example.org/actledger", 8, h(ROOT_8));
    assert_eq!(
        checkpoint.to_note_text(),
        "example.org/actledger\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    );
    assert_eq!(
        Checkpoint::parse(&checkpoint.to_note_text()).unwrap(),
        checkpoint
    );
    let empty = Checkpoint::new("o", 0, EMPTY_ROOT);
    assert_eq!(
        empty.to_note_text(),
        "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    );
    assert_eq!(Checkpoint::parse(&empty.to_note_text()).unwrap(), empty);
}

/// The checkpoint vectors of `tlog_tiles` (Cloudflare's port of Go's sumdb/tlog): the root there
/// is the leaf hash of "hello world".
#[test]
fn good_checkpoints_parse_and_round_trip() {
    let root = leaf_hash(b"hello world");
    for text in [
        "example.com/origin\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\nabc\ndef\n",
        "example.com/origin\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
        "e\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\nabc\ndef\n",
    ] {
        let checkpoint = Checkpoint::parse(text).unwrap();
        assert_eq!(checkpoint.size, 123);
        assert_eq!(checkpoint.root, root);
        assert_eq!(checkpoint.to_note_text(), text);
    }
    let with_extensions = Checkpoint::parse(
        "example.com/origin\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\nabc\ndef\n",
    )
    .unwrap();
    assert_eq!(with_extensions.extensions, ["abc", "def"]);
}

#[test]
fn bad_checkpoints_are_refused_naming_the_line() {
    let root = "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=";
    let cases: Vec<(String, CheckpointError)> = vec![
        (format!("\n123\n{root}\n"), CheckpointError::EmptyOrigin),
        (
            format!("o\n0123\n{root}\n"),
            CheckpointError::BadSize {
                text: "0123".into(),
            },
        ),
        (
            format!("o\n00\n{root}\n"),
            CheckpointError::BadSize { text: "00".into() },
        ),
        (
            format!("o\n+123\n{root}\n"),
            CheckpointError::BadSize {
                text: "+123".into(),
            },
        ),
        (
            format!("o\n-1\n{root}\n"),
            CheckpointError::BadSize { text: "-1".into() },
        ),
        (
            format!("o\n0xabcdef\n{root}\n"),
            CheckpointError::BadSize {
                text: "0xabcdef".into(),
            },
        ),
        (
            format!("o\n18446744073709551616\n{root}\n"),
            CheckpointError::BadSize {
                text: "18446744073709551616".into(),
            },
        ),
        (
            format!("o\n\n{root}\n"),
            CheckpointError::BadSize { text: "".into() },
        ),
        (
            format!("o\n1 \n{root}\n"),
            CheckpointError::BadSize { text: "1 ".into() },
        ),
        (
            "o\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0\n".into(),
            CheckpointError::BadRoot {
                text: "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0".into(),
            },
        ),
        (
            "o\n123\nQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBCg==\n".into(),
            CheckpointError::BadRoot {
                text: "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBCg==".into(),
            },
        ),
        (
            "o\n123\n5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328\n".into(),
            CheckpointError::BadRoot {
                text: ROOT_8.into(),
            },
        ),
        (
            format!("o\n123\n{root}\nabc\n\n"),
            CheckpointError::EmptyExtension { line: 5 },
        ),
        (
            format!("o\n123\n{root}\nabc\ndef"),
            CheckpointError::NoFinalNewline,
        ),
        (format!("o\n123\n{root}"), CheckpointError::NoFinalNewline),
        ("o\n123\n".into(), CheckpointError::TooFewLines { lines: 2 }),
        (
            format!("o\r\n123\n{root}\n"),
            CheckpointError::ControlCharacter { line: 1 },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(Checkpoint::parse(&text), Err(want), "{text:?}");
    }
    // A 10 MB size line is not repeated in full.
    let long = format!("o\n{}\n{root}\n", "9".repeat(10_000_000));
    let err = Checkpoint::parse(&long).unwrap_err().to_string();
    assert!(err.len() < 300, "{} bytes", err.len());
}

#[test]
fn a_signed_checkpoint_opens_with_its_verifier_key() {
    let mut tree = MemoryTree::new();
    for i in 1..=5 {
        tree.push(format!("{{\"seq\":{i}}}").as_bytes());
    }
    let key = key();
    let checkpoint = Checkpoint::new(key.name(), tree.size(), tree.root());
    let signed = checkpoint.sign(&key).unwrap();
    assert!(signed.starts_with(&format!(
        "{}\n\u{2014} example.org/actledger ",
        checkpoint.to_note_text()
    )));
    assert!(signed.ends_with('\n'));

    let opened = Checkpoint::open(signed.as_bytes(), &[key.verifier_key().clone()]).unwrap();
    assert_eq!(opened.checkpoint, checkpoint);
    assert_eq!(opened.signers.len(), 1);
    assert_eq!(opened.signers[0].name, "example.org/actledger");
    assert_eq!(opened.signers[0].key_id, key.key_id());
}

#[test]
fn a_changed_checkpoint_does_not_open() {
    let key = key();
    let signed = Checkpoint::new(key.name(), 5, h(ROOT_8))
        .sign(&key)
        .unwrap();
    let vkeys = [key.verifier_key().clone()];
    // Another size, another root.
    let bigger = signed.replacen("\n5\n", "\n6\n", 1);
    assert!(matches!(
        Checkpoint::open(bigger.as_bytes(), &vkeys),
        Err(CheckpointError::Note(NoteError::BadSignature { .. }))
    ));
    let other_root = signed.replacen("Xcna", "Ycna", 1);
    assert!(Checkpoint::open(other_root.as_bytes(), &vkeys).is_err());
    // Another key.
    let stranger = SignerKey::from_seed("example.org/actledger", [1; 32]).unwrap();
    assert!(matches!(
        Checkpoint::open(signed.as_bytes(), &[stranger.verifier_key().clone()]),
        Err(CheckpointError::Note(NoteError::NoKnownSignature { .. }))
    ));
    // No final newline.
    assert!(Checkpoint::open(signed.trim_end().as_bytes(), &vkeys).is_err());
}

#[test]
fn only_the_origin_key_signs_a_checkpoint() {
    let key = key();
    let other = SignerKey::from_seed("example.org/witness", [5; 32]).unwrap();
    let checkpoint = Checkpoint::new(key.name(), 5, h(ROOT_8));
    assert!(matches!(
        checkpoint.sign(&other),
        Err(CheckpointError::KeyNotOrigin { .. })
    ));
    // A checkpoint text signed by a key of another name verifies as a note, not as a
    // checkpoint of that origin.
    let signed = sign_note(&checkpoint.to_note_text(), &other).unwrap();
    let err = Checkpoint::open(signed.as_bytes(), &[other.verifier_key().clone()]).unwrap_err();
    assert!(
        matches!(err, CheckpointError::NotSignedByOrigin { .. }),
        "{err}"
    );
    // A signed note that is not a checkpoint.
    let signed = sign_note("hello\n", &key).unwrap();
    assert_eq!(
        Checkpoint::open(signed.as_bytes(), &[key.verifier_key().clone()]),
        Err(CheckpointError::TooFewLines { lines: 1 })
    );
}

#[test]
fn a_checkpoint_that_could_not_be_read_back_is_not_signed() {
    let key = SignerKey::from_seed("o", [2; 32]).unwrap();
    let mut checkpoint = Checkpoint::new("o", 1, h(ROOT_8));
    checkpoint.extensions.push(String::new());
    assert_eq!(
        checkpoint.sign(&key),
        Err(CheckpointError::EmptyExtension { line: 4 })
    );
}
