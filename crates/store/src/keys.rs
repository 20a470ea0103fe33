//! The key space of the one sled tree: a one-byte prefix per table (see `docs/FORMAT.md`).
//!
//! Identifiers never contain 0x00, so `prefix + id + 0x00` delimits an identifier exactly, and
//! positions are big-endian so that keys sort in position order.

use actledger_core::Seq;

/// `M` + name: the meta records.
pub const META: u8 = b'M';
/// `L` + first seq: a chunk of up to 32 entries of the chain, compressed (`crate::chunk`).
pub const ENTRY: u8 = b'L';
/// `A` + bucket (u16 BE): the events of every act in the bucket (`postings`).
pub const ACT: u8 = b'A';
/// `R` + revoked act + 0x00 + seq: the revocations of an act.
pub const REVOKED: u8 = b'R';
/// `X` + retracted seq + seq: the retractions of a position.
pub const RETRACTED: u8 = b'X';
/// `O` + office + 0x00 + first seq: a block of the events shaping an office's timeline.
pub const OFFICE: u8 = b'O';
/// `P` + person + 0x00 + first seq: a block of the events about a person.
pub const PERSON: u8 = b'P';
/// `K` + office: the known offices.
pub const KNOWN: u8 = b'K';
/// `S` + office + 0x00 + from-day ordinal (u32 BE): cached timeline segments at the head.
pub const SEGMENT: u8 = b'S';
/// `W` + office + 0x00 + part + index (u32 BE): the rest of the cached timeline at the head.
pub const TIMELINE: u8 = b'W';
/// `N` + person: the person's name at the head (absent: none recorded).
pub const NAME: u8 = b'N';
/// `V` + office: the office's leaf of the answers' state at the head (`crate::state`).
pub const STATE: u8 = b'V';
/// `G` + office + 0x00 + block number (u32 BE): the leaf hashes of the office's answer
/// segments at the head, with each segment's first day, in blocks (`crate::state`): what
/// proving one answer reads instead of naming and hashing every segment.
pub const SEGMENT_HASHES: u8 = b'G';

/// `H` + tile (u64 BE) -> up to 128 hashes of 32 bytes: the Merkle tree over the entries, in
/// the stored-hash layout of Go's `sumdb/tlog`, a tile per 128 stored-hash indexes
/// (`crate::tree::TILE_LEN`).
pub const TREE: u8 = b'H';

/// `C` + size (u64 BE): a signed checkpoint and state statement kept by `checkpoint`
/// (`crate::kept`). Not derived from the log: no repair rebuilds or removes them.
pub const CHECKPOINT: u8 = b'C';

/// The format version record.
pub const META_FORMAT: &[u8] = b"Mformat";
/// The head record: count (u64 BE), hash of the last entry (32), time of the last entry.
pub const META_HEAD: &[u8] = b"Mhead";
/// The cache record: cache version (u32 BE), head count it reflects (u64 BE).
pub const META_CACHE: &[u8] = b"Mcache";

/// The tree record: how many leaves (entries) the stored tree hashes cover (u64 BE).
pub const META_TREE: &[u8] = b"Mtree";

/// The intent record of an append being written: the heads before and after it (count u64
/// BE and hash, twice). Present only while an append is in progress (`crate::recovery`).
pub const META_PENDING: &[u8] = b"Mpending";

/// The intent record of a repair: present while `repair` rebuilds the derived tables, so that
/// an interrupted repair is completed by the next open (`crate::repair`).
pub const META_REPAIR: &[u8] = b"Mrepair";

/// The tables derived from the log, rebuilt whole when an append was interrupted.
pub const DERIVED: [u8; 12] = [
    ACT,
    REVOKED,
    RETRACTED,
    OFFICE,
    PERSON,
    KNOWN,
    SEGMENT,
    TIMELINE,
    NAME,
    STATE,
    SEGMENT_HASHES,
    TREE,
];

/// The prefix of every table the store writes: the meta records, the log, the derived tables
/// and the kept checkpoints. A key under any other prefix is no record of the ledger's.
pub const WRITTEN: [u8; DERIVED.len() + 3] = {
    let mut all = [META; DERIVED.len() + 3];
    all[1] = ENTRY;
    let mut i = 0;
    while i < DERIVED.len() {
        all[2 + i] = DERIVED[i];
        i += 1;
    }
    all[DERIVED.len() + 2] = CHECKPOINT;
    all
};

/// `prefix + id`: the key of a one-record-per-identifier table (`N`, `V`). Identifiers of one
/// kind sort as their keys do.
pub fn id_key(prefix: u8, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.len() + 1);
    key.push(prefix);
    key.extend_from_slice(id.as_bytes());
    key
}

/// The key of the tile of stored tree hashes numbered `tile` (indexes `tile * 128 ..`).
pub fn tree_hash(tile: u64) -> [u8; 9] {
    let mut key = [TREE; 9];
    key[1..].copy_from_slice(&tile.to_be_bytes());
    key
}

/// The key of the chunk whose first entry is at `seq`.
pub fn entry(seq: Seq) -> [u8; 9] {
    let mut key = [ENTRY; 9];
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// `prefix + id + 0x00`: the start of every key about `id` in a table.
pub fn named_prefix(prefix: u8, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.len() + 10);
    key.push(prefix);
    key.extend_from_slice(id.as_bytes());
    key.push(0);
    key
}

/// `prefix + id + 0x00 + seq`.
pub fn named(prefix: u8, id: &str, seq: Seq) -> Vec<u8> {
    let mut key = named_prefix(prefix, id);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// `X + retracted + seq`.
pub fn retracted(target: Seq, seq: Seq) -> [u8; 17] {
    let mut key = [RETRACTED; 17];
    key[1..9].copy_from_slice(&target.to_be_bytes());
    key[9..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// `X + retracted`: the prefix of the retractions of `target`.
pub fn retracted_prefix(target: Seq) -> [u8; 9] {
    let mut key = [RETRACTED; 9];
    key[1..].copy_from_slice(&target.to_be_bytes());
    key
}

/// The position that ends a key (its last eight bytes), if the key is long enough.
pub fn seq_suffix(key: &[u8]) -> Option<Seq> {
    let at = key.len().checked_sub(8)?;
    let bytes: [u8; 8] = key[at..].try_into().ok()?;
    Some(Seq::from_be_bytes(bytes))
}

/// The first position of an `L` key.
pub fn entry_seq(key: &[u8]) -> Option<Seq> {
    (key.len() == 9 && key[0] == ENTRY)
        .then(|| seq_suffix(key))
        .flatten()
}
