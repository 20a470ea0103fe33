//! The fuzz harness: every parser and decoder that reads bytes from outside, one [`Target`]
//! each, and valid [`seeds`] to mutate from.
//!
//! The same functions run under cargo-fuzz (`fuzz/`, nightly and libFuzzer) and under the
//! proptest byte-mutation suite of this crate's tests (`tests/tests/e2e/fuzz.rs`, stable, in
//! `cargo test`). A target passes an input when it returns: an `Err` is the right answer to bad
//! bytes, a panic is a bug. Where a target accepts its input, it also checks that what it read
//! round-trips, so that "accepted" means "understood".

use actledger_core::{parse_batch, parse_event};
use actledger_proof::{
    Checkpoint, ConsistencyProof, InclusionProof, MemoryTree, SignerKey, TilePath, VerifierKey,
    decode_bundle, encode_bundle, open_note, parse_tile_path,
};
use actledger_store::{Entry, Ledger, parse_time, testing};

/// What a fuzz target reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `append`'s input: one JSON object or NDJSON ([`parse_batch`]).
    EventBatch,
    /// One export line ([`Entry::parse_export_line`]).
    ExportLine,
    /// A whole export, imported into a fresh ledger ([`Ledger::import`]).
    Import,
    /// A stored chunk of entries (layout 4), as the store reads it back from sled: as its
    /// stored (compressed) value and as its unpacked body.
    StoredEntry,
    /// A signed checkpoint ([`Checkpoint::open`]) and its text ([`Checkpoint::parse`]).
    Checkpoint,
    /// A proof file (`prove --json`), checked against a checkpoint.
    ProofJson,
    /// Key files: the signer key (`.key`) and the verifier key line (`.vkey`).
    KeyFile,
    /// What `clone` reads from a mirror besides its notes: an entry bundle
    /// ([`decode_bundle`]) and a tile or bundle path ([`parse_tile_path`]).
    Tiles,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 8] = [
        Target::EventBatch,
        Target::ExportLine,
        Target::Import,
        Target::StoredEntry,
        Target::Checkpoint,
        Target::ProofJson,
        Target::KeyFile,
        Target::Tiles,
    ];

    /// The target's name, as its cargo-fuzz target is named.
    pub fn name(self) -> &'static str {
        match self {
            Target::EventBatch => "event_batch",
            Target::ExportLine => "export_line",
            Target::Import => "import",
            Target::StoredEntry => "stored_entry",
            Target::Checkpoint => "checkpoint",
            Target::ProofJson => "proof_json",
            Target::KeyFile => "key_file",
            Target::Tiles => "tiles",
        }
    }
}

/// The origin (and key name) of the seeds' checkpoints.
pub const ORIGIN: &str = "example.org/actledger-fuzz";

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, [42; 32]).expect("a valid key name")
}

/// Runs one target on one input. Panics only on a bug.
pub fn run(target: Target, data: &[u8]) {
    match target {
        Target::EventBatch => event_batch(data),
        Target::ExportLine => export_line(data),
        Target::Import => import(data),
        Target::StoredEntry => stored_entry(data),
        Target::Checkpoint => checkpoint(data),
        Target::ProofJson => proof_json(data),
        Target::KeyFile => key_file(data),
        Target::Tiles => tiles(data),
    }
}

fn event_batch(data: &[u8]) {
    let Ok(batch) = parse_batch(data) else { return };
    for input in batch {
        // Accepted means understood: the canonical bytes read back as the same event.
        let canonical = input.event.canonical_bytes();
        let again = parse_event(&canonical).expect("canonical bytes parse");
        assert_eq!(again, input.event, "the canonical form changes the event");
        assert_eq!(again.canonical_bytes(), canonical);
    }
}

fn export_line(data: &[u8]) {
    let Ok(entry) = Entry::parse_export_line(data) else {
        return;
    };
    // Accepted means canonical: the line writes back byte for byte.
    let line = entry.export_line();
    let given = data.strip_suffix(b"\n").unwrap_or(data);
    assert_eq!(line.as_bytes().strip_suffix(b"\n"), Some(given));
    let _ = entry.hash_is_valid();
    let _ = entry.recorded_at();
}

fn import(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("ledger");
    let mut input = data;
    if let Ok(ledger) = Ledger::import(&path, &mut input, &mut |_| {}) {
        // An import only takes what export writes: it exports back the same bytes.
        assert!(ledger.verify().expect("verifies").is_intact());
        let mut out = Vec::new();
        ledger.export(&mut out, &mut |_| {}).expect("exports");
        assert_eq!(out, data, "an import does not export back to its input");
    }
}

/// A stored chunk of the log (layout 4), read both as a stored value (unpacked, then read)
/// and as an unpacked body: a value that unpacks reads as its body does, reading a body is
/// exact, and every entry it yields behaves. (Compression has many blocks for one body, so
/// exactness is of the body, not of the stored value.)
fn stored_entry(data: &[u8]) {
    if let Ok(body) = testing::unpack_chunk(data) {
        assert_eq!(
            testing::decode_chunk(1, data),
            testing::decode_chunk_body(1, &body),
            "a value does not read as its body"
        );
        stored_body(&body);
    }
    stored_body(data);
}

fn stored_body(body: &[u8]) {
    let Ok(entries) = testing::decode_chunk_body(1, body) else {
        return;
    };
    assert_eq!(
        testing::encode_chunk_body(&entries),
        body,
        "decoding is not exact"
    );
    assert_eq!(
        testing::decode_chunk(1, &testing::encode_chunk(&entries)).as_ref(),
        Ok(&entries),
        "a packed chunk does not read back"
    );
    for entry in entries {
        let _ = entry.hash_is_valid();
        let _ = entry.event();
        let _ = entry.recorded_at();
        // Whatever was stored as UTF-8, its export line is either refused or read back as
        // the same entry (the store writes only UTF-8 events; verification refuses any other).
        if std::str::from_utf8(&entry.event).is_ok()
            && let Ok(again) = Entry::parse_export_line(entry.export_line().as_bytes())
        {
            assert_eq!(again, entry);
        }
    }
}

fn checkpoint(data: &[u8]) {
    let vkey = key().verifier_key().clone();
    if let Ok(signed) = Checkpoint::open(data, std::slice::from_ref(&vkey)) {
        assert_eq!(signed.checkpoint.origin, ORIGIN);
    }
    let _ = open_note(data, std::slice::from_ref(&vkey));
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(checkpoint) = Checkpoint::parse(text) {
            // Reading is strict: what is read writes back the same (extension lines aside).
            let again = Checkpoint::parse(&checkpoint.to_note_text()).expect("reparses");
            assert_eq!(again.size, checkpoint.size);
            assert_eq!(again.root, checkpoint.root);
        }
        let _ = parse_time(text);
    }
}

fn proof_json(data: &[u8]) {
    let (old, new) = seed_checkpoints();
    if let Ok(proof) = serde_json::from_slice::<InclusionProof>(data) {
        let _ = proof.check(&new);
        let _ = proof.check(&old);
    }
    if let Ok(proof) = serde_json::from_slice::<ConsistencyProof>(data) {
        let _ = proof.check(&old, &new);
        let _ = proof.check(&new, &old);
    }
}

fn tiles(data: &[u8]) {
    if let Ok(entries) = decode_bundle(data) {
        // A bundle read writes back to the same bytes.
        let again = encode_bundle(entries.iter().copied()).expect("a read bundle encodes");
        assert_eq!(again, data);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(path) = parse_tile_path(text)
    {
        // Only the canonical spelling of a path reads.
        let written = match path {
            TilePath::Tile(tile) => tile.path(),
            TilePath::Bundle(bundle) => bundle.path(),
        };
        assert_eq!(written, text);
    }
}

fn key_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = SignerKey::parse(text) {
        let again = SignerKey::parse(&key.encode()).expect("an encoded key parses");
        assert_eq!(again.verifier_key(), key.verifier_key());
    }
    if let Ok(vkey) = text.parse::<VerifierKey>() {
        let again: VerifierKey = vkey.to_string().parse().expect("a key line parses");
        assert_eq!(again, vkey);
    }
}

/// The export lines of a small valid ledger, as a tree of their leaves.
fn seed_tree() -> (Vec<String>, MemoryTree) {
    let lines = seed_export_lines();
    let mut tree = MemoryTree::new();
    for line in &lines {
        tree.push(line.as_bytes());
    }
    (lines, tree)
}

/// Checkpoints of the seed ledger at size 3 and at its full size.
fn seed_checkpoints() -> (Checkpoint, Checkpoint) {
    let (lines, tree) = seed_tree();
    let old = Checkpoint::new(ORIGIN, 3, tree_root(&tree, 3));
    let size = lines.len() as u64;
    let new = Checkpoint::new(ORIGIN, size, tree.root());
    (old, new)
}

fn tree_root(tree: &MemoryTree, size: u64) -> actledger_proof::Hash {
    actledger_proof::tree_root(size, tree.stored_hashes()).expect("a root of a stored size")
}

/// The export lines (without their newlines) of a small valid ledger: the first events of a
/// generated history, chained as `export` writes them.
pub fn seed_export_lines() -> Vec<String> {
    let text = crate::history::ndjson(8, "F");
    let batch = parse_batch(text.as_bytes()).expect("a generated history parses");
    let mut prev = actledger_store::ZERO_HASH;
    let mut lines = Vec::new();
    for (seq, input) in (1..).zip(batch) {
        let entry = Entry::new(
            seq,
            format!("2026-01-01T00:00:{:02}.000000Z", seq % 60),
            prev,
            input.event.canonical_bytes(),
        );
        prev = entry.hash;
        let line = entry.export_line();
        lines.push(line.trim_end_matches('\n').to_owned());
    }
    lines
}

/// Valid inputs of a target, to mutate from.
pub fn seeds(target: Target) -> Vec<Vec<u8>> {
    let lines = seed_export_lines();
    match target {
        Target::EventBatch => {
            let text = crate::history::ndjson(12, "S");
            let mut seeds: Vec<Vec<u8>> = text.lines().map(|l| l.as_bytes().to_vec()).collect();
            seeds.push(text.clone().into_bytes());
            seeds.push(text.replace('\n', "\r\n").into_bytes());
            seeds.push(
                br#"{
  "type": "record_retracted",
  "seq": 3,
  "reason": "recorded in error"
}"#
                .to_vec(),
            );
            seeds
        }
        Target::ExportLine => lines
            .iter()
            .map(|l| format!("{l}\n").into_bytes())
            .collect(),
        Target::Import => {
            let all: String = lines.iter().map(|l| format!("{l}\n")).collect();
            vec![
                all.into_bytes(),
                format!("{}\n", lines[0]).into_bytes(),
                Vec::new(),
            ]
        }
        Target::StoredEntry => {
            let entries: Vec<Entry> = lines
                .iter()
                .map(|l| Entry::parse_export_line(l.as_bytes()).expect("a seed line parses"))
                .collect();
            let mut seeds = vec![
                testing::encode_chunk(&entries),
                testing::encode_chunk_body(&entries),
            ];
            for entry in &entries {
                seeds.push(testing::encode_chunk(std::slice::from_ref(entry)));
                seeds.push(testing::encode_chunk_body(std::slice::from_ref(entry)));
            }
            seeds
        }
        Target::Checkpoint => {
            let key = key();
            let (old, new) = seed_checkpoints();
            vec![
                old.sign(&key).expect("signs").into_bytes(),
                new.sign(&key).expect("signs").into_bytes(),
                new.to_note_text().into_bytes(),
            ]
        }
        Target::ProofJson => {
            let (lines, tree) = seed_tree();
            let size = lines.len() as u64;
            let mut seeds = Vec::new();
            for seq in [1, 2, size] {
                let line = lines[seq as usize - 1].clone();
                let proof = InclusionProof::generate(seq, size, line, tree.stored_hashes())
                    .expect("a proof of a stored leaf");
                seeds.push(serde_json::to_vec(&proof).expect("serializes"));
            }
            let proof = ConsistencyProof::generate(3, size, tree.stored_hashes())
                .expect("a proof between stored sizes");
            seeds.push(serde_json::to_vec(&proof).expect("serializes"));
            seeds
        }
        Target::KeyFile => {
            let key = key();
            vec![
                key.encode().into_bytes(),
                format!("{}\n", key.verifier_key()).into_bytes(),
            ]
        }
        Target::Tiles => {
            let bundle = encode_bundle(lines.iter().map(|l| l.as_bytes())).expect("short lines");
            vec![
                bundle,
                encode_bundle([&b""[..]]).expect("an empty entry"),
                b"tile/0/x001/x234/067".to_vec(),
                b"tile/entries/000.p/7".to_vec(),
                b"tile/2/003.p/255".to_vec(),
            ]
        }
    }
}
