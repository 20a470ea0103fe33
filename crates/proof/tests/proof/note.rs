//! Signed notes and keys: the test vectors of Go's `golang.org/x/mod/sumdb/note`, and what the
//! C2SP signed-note spec says a verifier must reject.

use actledger_proof::{
    KeyError, NoteError, NoteSigner, SignerKey, VerifierKey, open_note, sign_note,
};

const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter() -> VerifierKey {
    VerifierKey::parse(PETER_VKEY).unwrap()
}

fn enoch() -> VerifierKey {
    VerifierKey::parse(ENOCH_VKEY).unwrap()
}

fn peter_signer() -> NoteSigner {
    NoteSigner {
        name: "PeterNeumann".to_owned(),
        key_id: 0xc74f20a3,
    }
}

fn signed() -> String {
    format!("{TEXT}\n{PETER_SIG}")
}

fn malformed(result: Result<impl std::fmt::Debug, NoteError>) -> String {
    match result {
        Err(NoteError::Malformed { reason }) => reason,
        other => panic!("expected a malformed note, got {other:?}"),
    }
}

#[test]
fn go_note_test_vector_verifies() {
    let note = open_note(signed().as_bytes(), &[peter()]).unwrap();
    assert_eq!(note.text, TEXT);
    assert_eq!(note.signers, [peter_signer()]);
}

#[test]
fn signing_with_go_key_gives_go_signature() {
    // Ed25519 signatures are deterministic: the same key and text give Go's bytes.
    let key = SignerKey::parse(PETER_SKEY).unwrap();
    assert_eq!(sign_note(TEXT, &key).unwrap(), signed());
    assert_eq!(key.verifier_key(), &peter());
    assert_eq!(key.verifier_key().to_string(), PETER_VKEY);
    assert_eq!(key.encode(), PETER_SKEY);
    assert_eq!((key.name(), key.key_id()), ("PeterNeumann", 0xc74f20a3));
}

#[test]
fn unknown_signatures_are_ignored_and_known_ones_all_checked() {
    let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let note = open_note(msg.as_bytes(), &[peter()]).unwrap();
    assert_eq!(note.signers, [peter_signer()]);

    let note = open_note(msg.as_bytes(), &[peter(), enoch()]).unwrap();
    assert_eq!(note.signers.len(), 2);
    assert_eq!(note.signers[1].to_string(), "EnochRoot+af0cfe78");

    // The same key given twice is one key.
    let note = open_note(msg.as_bytes(), &[peter(), peter()]).unwrap();
    assert_eq!(note.signers, [peter_signer()]);

    // Repeated and corrupt unknown signatures do not matter while a known one verifies.
    let corrupt_enoch = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let msg = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{corrupt_enoch}");
    let note = open_note(msg.as_bytes(), &[peter()]).unwrap();
    assert_eq!(note.signers, [peter_signer()]);
}

#[test]
fn a_note_signed_by_no_known_key_is_rejected() {
    let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let err = open_note(msg.as_bytes(), &[]).unwrap_err();
    assert_eq!(
        err,
        NoteError::NoKnownSignature {
            signatures: vec!["PeterNeumann".to_owned(), "EnochRoot".to_owned()]
        }
    );
    assert!(
        err.to_string()
            .contains("signed by PeterNeumann, EnochRoot")
    );
}

#[test]
fn an_unknown_key_name_is_rejected() {
    // The same signature under another name: a key we were not given.
    let msg = signed().replace("\u{2014} PeterNeumann", "\u{2014} PeterNeumanX");
    assert!(matches!(
        open_note(msg.as_bytes(), &[peter()]),
        Err(NoteError::NoKnownSignature { .. })
    ));
    // A key of the right name but another key id is another key.
    let other = SignerKey::from_seed("PeterNeumann", [1; 32]).unwrap();
    assert!(matches!(
        open_note(signed().as_bytes(), &[other.verifier_key().clone()]),
        Err(NoteError::NoKnownSignature { .. })
    ));
}

#[test]
fn a_corrupted_signature_is_rejected() {
    let sig = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let msg = format!("{TEXT}\n{sig}");
    assert_eq!(
        open_note(msg.as_bytes(), &[peter()]),
        Err(NoteError::BadSignature {
            key: "PeterNeumann+c74f20a3".to_owned()
        })
    );
}

#[test]
fn every_corrupted_byte_is_rejected() {
    // One bit of every byte, the bit moving along so that each position is hit.
    let msg = signed().into_bytes();
    for i in 0..msg.len() {
        let bit = 1u8 << (i % 8);
        let mut bad = msg.clone();
        bad[i] ^= bit;
        assert!(
            open_note(&bad, &[peter()]).is_err(),
            "byte {i} xor {bit:#x} was accepted"
        );
    }
}

#[test]
fn a_changed_text_is_rejected() {
    let msg = signed().replace("answer", "Answer");
    assert!(matches!(
        open_note(msg.as_bytes(), &[peter()]),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn a_missing_final_newline_is_rejected() {
    let msg = signed();
    let reason = malformed(open_note(msg.trim_end_matches('\n').as_bytes(), &[peter()]));
    assert_eq!(reason, "it does not end in a newline");
}

#[test]
fn malformed_notes_are_rejected_saying_why() {
    let cases = [
        (
            TEXT.to_owned(),
            "no blank line separates the text from the signatures",
        ),
        (
            format!("{TEXT}\n"),
            "there is no signature after the blank line",
        ),
        (
            format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
            "it does not end in a newline",
        ),
        (
            format!("\x01{TEXT}\n{PETER_SIG}"),
            "line 1 holds a control character",
        ),
        (
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
            "line 5 is not a signature line",
        ),
        (
            format!(
                "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
            ),
            "line 4 is not a signature line",
        ),
        (
            format!("{TEXT}\n{}", PETER_SIG.repeat(101)),
            "it has more than 100 signatures",
        ),
    ];
    for (msg, want) in cases {
        let reason = malformed(open_note(msg.as_bytes(), &[peter()]));
        assert!(reason.starts_with(want), "{reason:?} for {msg:?}");
    }
    let mut not_utf8 = signed().into_bytes();
    not_utf8.insert(0, 0xff);
    assert_eq!(
        malformed(open_note(&not_utf8, &[peter()])),
        "it is not UTF-8"
    );
    // 100 signatures are fine.
    let msg = format!("{TEXT}\n{}", PETER_SIG.repeat(100));
    open_note(msg.as_bytes(), &[peter()]).unwrap();
}

#[test]
fn text_to_sign_must_be_a_note_text() {
    let key = SignerKey::from_seed("example.org/ledger", [3; 32]).unwrap();
    let reason = malformed(sign_note("abc", &key));
    assert_eq!(reason, "the text does not end in a newline");
    let reason = malformed(sign_note("a\tb\n", &key));
    assert_eq!(reason, "line 1 holds a control character");
}

#[test]
fn go_verifier_key_manglings_are_refused() {
    VerifierKey::parse(PETER_VKEY).unwrap();
    let b = PETER_VKEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if i != 0 || j != b.len() {
                let part = std::str::from_utf8(&b[i..j]).unwrap();
                assert!(VerifierKey::parse(part).is_err(), "{part:?} accepted");
            }
        }
    }
    for i in 0..b.len() {
        let mut bad = b.to_vec();
        bad[i] += 1;
        let bad = String::from_utf8(bad).unwrap();
        assert!(VerifierKey::parse(&bad).is_err(), "{bad:?} accepted");
    }
    // A key of the wrong length and a key of an unknown algorithm, each with its own key id.
    assert!(
        VerifierKey::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err()
    );
    assert_eq!(
        VerifierKey::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::UnknownAlgorithm)
    );
}

#[test]
fn go_signer_key_manglings_are_refused() {
    let b = PETER_SKEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if i != 0 || j != b.len() {
                let part = std::str::from_utf8(&b[i..j]).unwrap();
                assert!(SignerKey::parse(part).is_err(), "{part:?} accepted");
            }
        }
    }
    for i in 0..b.len() {
        let mut bad = b.to_vec();
        bad[i] += 1;
        let bad = String::from_utf8(bad).unwrap();
        assert!(SignerKey::parse(&bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn key_files_round_trip() {
    let key = SignerKey::generate("example.org/actledger").unwrap();
    assert_eq!(key.name(), "example.org/actledger");
    let line = key.encode();
    assert!(line.starts_with(&format!(
        "PRIVATE+KEY+example.org/actledger+{:08x}+",
        key.key_id()
    )));

    // What keygen writes (a line and a newline) reads back as the same key.
    let again = SignerKey::parse(&format!("{line}\n")).unwrap();
    assert_eq!(again.encode(), line);
    assert_eq!(again.verifier_key(), key.verifier_key());

    let vkey = key.verifier_key().to_string();
    assert!(vkey.starts_with(&format!("example.org/actledger+{:08x}+", key.key_id())));
    let parsed: VerifierKey = format!("{vkey}\n").parse().unwrap();
    assert_eq!(&parsed, key.verifier_key());
    assert_eq!(parsed.to_string(), vkey);
    assert_eq!(parsed.name(), "example.org/actledger");
    assert_eq!(parsed.key_id(), key.key_id());

    // It signs, and its verifier key checks.
    let msg = sign_note("hello\n", &again).unwrap();
    assert_eq!(
        open_note(msg.as_bytes(), &[parsed]).unwrap().text,
        "hello\n"
    );

    // Two generated keys differ.
    let other = SignerKey::generate("example.org/actledger").unwrap();
    assert_ne!(other.encode(), line);
}

#[test]
fn keys_from_the_same_seed_are_the_same_key() {
    let a = SignerKey::from_seed("example.org/ledger", [9; 32]).unwrap();
    let b = SignerKey::from_seed("example.org/ledger", [9; 32]).unwrap();
    assert_eq!(a.encode(), b.encode());
    let c = SignerKey::from_seed("example.org/other", [9; 32]).unwrap();
    assert_ne!(a.key_id(), c.key_id());
    assert_eq!(a.verifier_key().public_key(), c.verifier_key().public_key());
}

#[test]
fn key_names_with_spaces_or_plus_are_refused() {
    for name in ["", "a b", "a+b", "tab\there", "nbsp\u{a0}x"] {
        assert!(
            matches!(SignerKey::generate(name), Err(KeyError::InvalidName { .. })),
            "{name:?}"
        );
    }
}

#[test]
fn signer_key_debug_keeps_the_secret() {
    let key = SignerKey::parse(PETER_SKEY).unwrap();
    let debug = format!("{key:?}");
    assert!(
        debug.contains("PeterNeumann") && debug.contains("c74f20a3"),
        "{debug}"
    );
    assert!(!debug.contains("AYEKFALV"), "{debug}");
    let err = SignerKey::parse(&PETER_SKEY.replace("AYEK", "AYEL")).unwrap_err();
    assert!(!err.to_string().contains("AYE"), "{err}");
}
