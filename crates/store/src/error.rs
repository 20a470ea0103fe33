//! What the store's operations fail with, and what verification finds.

use std::fmt;
use std::path::Path;
use std::path::PathBuf;

use actledger_core::{InvalidEvent, Seq};

use crate::entry::EntryError;

/// Why the store could not do what was asked (open, read, write).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A compaction was asked to stop before it put its copy in the ledger's place: the copy
    /// is removed, the ledger is as it was.
    #[error("compacting {} was stopped: the ledger is as it was", .path.display())]
    CompactionStopped {
        /// The ledger's folder.
        path: PathBuf,
    },
    /// Another process (or another handle in this one) has the ledger open.
    #[error("the ledger at {} is {}", .path.display(), HeldBy(.holder))]
    InUse {
        /// The ledger's folder.
        path: PathBuf,
        /// Who holds it, as the holder describes itself
        /// ([`Ledger::describe_holder`](crate::Ledger::describe_holder)), if it does.
        holder: Option<String>,
    },
    /// Another process still had the ledger open when the wait for it ran out
    /// ([`Ledger::open_waiting`](crate::Ledger::open_waiting)).
    #[error(
        "the ledger at {} is still {} after waiting {:.1} s",
        .path.display(),
        HeldBy(.holder),
        .waited.as_secs_f64()
    )]
    StillInUse {
        /// The ledger's folder.
        path: PathBuf,
        /// How long the open waited.
        waited: std::time::Duration,
        /// Who held it last, as the holder describes itself, if it does.
        holder: Option<String>,
    },
    /// Nothing at the path, or something that is not a ledger made by `create` or `import`.
    #[error("there is no ledger at {}", .path.display())]
    NotALedger {
        /// The path given.
        path: PathBuf,
    },
    /// `create` (or `import`) found a ledger already there.
    #[error("a ledger already exists at {}", .path.display())]
    AlreadyExists {
        /// The ledger's folder.
        path: PathBuf,
    },
    /// The path exists and is not a ledger, so the store will not write there.
    #[error("{} exists and is not an empty folder", .path.display())]
    PathOccupied {
        /// The path given.
        path: PathBuf,
    },
    /// A ledger written with another (older, newer or unknown) layout.
    #[error(
        "the ledger at {} has unsupported format version {found}; this program reads version {} (export it with the program that wrote it, then import the export)",
        .path.display(),
        crate::LAYOUT_VERSION
    )]
    UnsupportedFormat {
        /// The ledger's folder.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// The ledger's own records disagree with each other (run verification to see where).
    #[error("the ledger at {} is damaged: {damage}", .path.display())]
    Damaged {
        /// The ledger's folder.
        path: PathBuf,
        /// What is wrong.
        damage: Damage,
    },
    /// A position or tree size the ledger does not have (a proof past the head...).
    #[error("{0}")]
    OutOfRange(OutOfRange),
    /// The comparison of the derived records with the log needs a random key, and the
    /// operating system gave none.
    #[error("no random key for the comparison of the derived records: {reason}")]
    NoRandomKey {
        /// What the operating system said.
        reason: String,
    },
    /// A checkpoint could not be signed.
    #[error("signing the checkpoint: {reason}")]
    Signing {
        /// Why.
        reason: String,
    },
    /// An entry that cannot be read, or a chain that does not hold, found while reading.
    #[error("entry {seq}: {problem}")]
    Broken {
        /// The position of the entry.
        seq: Seq,
        /// What is wrong with it.
        problem: Problem,
    },
    /// The storage engine found the ledger's files damaged: its own checksums failed, or a
    /// file ends early. Verification reports it as a verdict.
    #[error("the storage engine found the files of the ledger at {} damaged: {reason}", .path.display())]
    Corrupt {
        /// The ledger's folder.
        path: PathBuf,
        /// What the engine reported, in words.
        reason: String,
    },
    /// The storage engine failed.
    #[error("the storage engine failed on the ledger at {}: {reason}", .path.display())]
    Storage {
        /// The ledger's folder.
        path: PathBuf,
        /// What failed, in words (the engine's error is in the message once, not also as a
        /// cause, so that a printed chain does not repeat it).
        reason: String,
        /// The engine's error.
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file-system operation failed.
    #[error("{what} {}", .path.display())]
    Io {
        /// What was being done ("creating", "renaming ... to").
        what: String,
        /// The path concerned.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Writing an export failed.
    #[error("writing the export")]
    Write(#[source] std::io::Error),
}

/// What is wrong with a ledger whose own records disagree ([`StoreError::Damaged`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// The head record is not the last stored entry.
    #[error(
        "its head record says {count} entries ending in {}, which is not its last stored entry (run verify)",
        hex::encode(.hash)
    )]
    HeadNotLast {
        /// The count the head record gives.
        count: u64,
        /// The hash the head record gives.
        hash: [u8; 32],
    },
    /// The head record is missing or cannot be read.
    #[error("{0}")]
    HeadRecord(String),
    /// The format record cannot be read.
    #[error("its format record is unreadable")]
    FormatRecord,
    /// The record of an append in progress cannot be read.
    #[error("its record of an append in progress is unreadable")]
    PendingRecord,
    /// An append was interrupted, and the log holds neither the head before it nor the head
    /// after it.
    #[error(
        "an append from {before} to {after} entries was interrupted, and the log holds neither (run verify)"
    )]
    InterruptedAppend {
        /// The entries before the append.
        before: u64,
        /// The entries the append would have made.
        after: u64,
    },
    /// An entry the head covers is missing.
    #[error("entry {seq} is missing")]
    MissingEntry {
        /// Its position.
        seq: Seq,
    },
    /// A key of the log is not a position.
    #[error("an entry key is malformed")]
    EntryKey,
    /// An entry of the log cannot be read.
    #[error("entry {seq} is unreadable: {error} (run verify)")]
    Entry {
        /// The position (of the first entry of its chunk, when the chunk cannot be read).
        seq: Seq,
        /// Why.
        error: EntryError,
    },
    /// A kept checkpoint (`C`) cannot be read.
    #[error(
        "the checkpoint kept for size {size} is malformed: {reason} (sign a new one with `checkpoint --key`)"
    )]
    KeptCheckpoint {
        /// Its size.
        size: u64,
        /// What is wrong.
        reason: String,
    },
    /// The stored Merkle tree hashes are missing or do not add up.
    #[error("the stored Merkle tree: {reason}")]
    TreeHashes {
        /// What is wrong.
        reason: String,
    },
    /// A record of the indexes cannot be read.
    #[error(
        "{what} of the indexes is malformed (the indexes are derived from the log: export, then import into a new ledger, rebuilds them)"
    )]
    Index {
        /// Which record.
        what: &'static str,
    },
    /// A record of the timeline cache fails its checksum.
    #[error(
        "{what} of the query cache fails its checksum (the cache is derived from the log: export, then import into a new ledger, rebuilds it)"
    )]
    CacheChecksum {
        /// Which record.
        what: &'static str,
    },
    /// The timeline cache of an office lacks a block, or holds one out of place.
    #[error(
        "the query cache of office {office} is inconsistent: a segment is missing or out of place (the cache is derived from the log: export, then import into a new ledger, rebuilds it)"
    )]
    CacheInconsistent {
        /// The office.
        office: String,
    },
    /// A record answers are read from cannot be decoded.
    #[error("{what} is unreadable: {why}")]
    Unreadable {
        /// Which record.
        what: &'static str,
        /// Why.
        why: &'static str,
    },
}

/// A position or size the ledger does not have ([`StoreError::OutOfRange`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutOfRange {
    /// A tree larger than the ledger.
    #[error("tree size {size}: the ledger holds {count} entries")]
    TreeSize {
        /// The size asked for.
        size: u64,
        /// The entries the ledger holds.
        count: u64,
    },
    /// An entry outside the tree asked about.
    #[error("entry {seq} is not in a tree of {size} entries")]
    NotInTree {
        /// The entry.
        seq: Seq,
        /// The tree's size.
        size: u64,
    },
    /// Sizes no consistency proof joins.
    #[error(
        "no consistency proof from {first} to {second} entries: the first size must be from 1 to the second"
    )]
    ConsistencySizes {
        /// The first size.
        first: u64,
        /// The second size.
        second: u64,
    },
    /// A tree hash off the right edge of the tree being built.
    #[error("tree hash {index} is not on the right edge of the tree")]
    TreeHash {
        /// The stored hash's index.
        index: u64,
    },
}

impl StoreError {
    /// The same error, naming `to` wherever it named `from` or a path in it: a ledger built
    /// aside is reported at the user's path, never at the folder it was built in.
    pub(crate) fn moved(mut self, from: &Path, to: &Path) -> StoreError {
        use StoreError::*;
        let path = match &mut self {
            CompactionStopped { path }
            | InUse { path, .. }
            | StillInUse { path, .. }
            | NotALedger { path }
            | AlreadyExists { path }
            | PathOccupied { path }
            | UnsupportedFormat { path, .. }
            | Damaged { path, .. }
            | Corrupt { path, .. }
            | Storage { path, .. }
            | Io { path, .. } => path,
            OutOfRange(_) | NoRandomKey { .. } | Signing { .. } | Broken { .. } | Write(_) => {
                return self;
            }
        };
        if let Ok(rest) = path.strip_prefix(from) {
            *path = if rest.as_os_str().is_empty() {
                to.to_owned()
            } else {
                to.join(rest)
            };
        }
        self
    }
}

/// "held by HOLDER", or "in use by another process" when the holder says nothing.
struct HeldBy<'a>(&'a Option<String>);

impl fmt::Display for HeldBy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(holder) => write!(f, "held by {holder}"),
            None => f.write_str("in use by another process"),
        }
    }
}

/// Why an append was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// An event breaks a rule of the spec: nothing of the batch was written.
    #[error(transparent)]
    Invalid(#[from] InvalidEvent),
    /// The store failed: nothing of the batch was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an import was refused. Nothing is left behind at the path when it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A line of the export is not what `export` writes, or breaks the chain or a rule.
    #[error("line {line}: {problem}")]
    Line {
        /// The 1-based line.
        line: u64,
        /// What is wrong with it.
        problem: LineProblem,
    },
    /// The path already holds a ledger with entries.
    #[error("the ledger at {} already holds {count} entries: import only makes a new ledger", .path.display())]
    NotEmpty {
        /// The ledger's folder.
        path: PathBuf,
        /// How many entries it holds.
        count: u64,
    },
    /// The export could not be read.
    #[error("reading the export at line {line}")]
    Read {
        /// The line being read.
        line: u64,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The import was asked to stop ([`Importing::stop`](crate::Importing::stop)): nothing
    /// was moved into place, and the folder it was built in is removed.
    #[error("interrupted: nothing was imported into {}", .path.display())]
    Interrupted {
        /// The path the ledger was to go to.
        path: PathBuf,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What is wrong with a line of an export ([`ImportError::Line`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineProblem {
    /// The last line does not end with a newline.
    #[error("does not end with a newline (export ends every line with one)")]
    NoNewline,
    /// The line is not in the form `export` writes.
    #[error("not an export line: {0}")]
    NotAnExportLine(EntryError),
    /// The line breaks the chain (its position, link, hash or time).
    #[error("{0}")]
    Chain(Problem),
    /// The event breaks a rule of the spec.
    #[error("{}{}", .0.field.as_ref().map(|f| format!("field {f:?}: ")).unwrap_or_default(), .0.reason)]
    Invalid(InvalidEvent),
    /// The event repeats one recorded earlier.
    #[error("repeats the event of entry {seq}: a ledger never records one event twice")]
    Repeats {
        /// The position of the earlier event.
        seq: Seq,
    },
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Every hash and link holds, and the stored head is the last entry.
    Intact {
        /// How many entries.
        count: u64,
        /// The hash of the last one (32 zero bytes when there is none).
        head: [u8; 32],
    },
    /// The first position at which something is wrong.
    Broken {
        /// The first bad position.
        seq: Seq,
        /// What is wrong there.
        problem: Problem,
    },
    /// The log is intact, but records that answers are read from (indexes, the timeline
    /// cache, the stored tree hashes, their meta records) differ from what the log implies.
    Diverged {
        /// How many entries the (intact) log holds.
        count: u64,
        /// The hash of its last entry.
        head: [u8; 32],
        /// What differs.
        findings: Findings,
    },
    /// The storage engine found its own files damaged (its checksums failed, or a file could
    /// not be read) while verifying.
    Unreadable {
        /// What the engine reported.
        reason: String,
    },
}

impl Verdict {
    /// Whether the chain is intact (and, when they were checked, every derived record).
    pub fn is_intact(&self) -> bool {
        matches!(self, Verdict::Intact { .. })
    }
}

/// The derived tables, as findings name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Table {
    /// `A`: the events of each act.
    ActPostings,
    /// `R`: the revocations of each act.
    Revocations,
    /// `X`: the retractions of each position.
    Retractions,
    /// `O`: the events shaping each office's timeline.
    OfficePostings,
    /// `P`: the events about each person.
    PersonPostings,
    /// `K`: the known offices.
    KnownOffices,
    /// `S` and `W`: the timelines at the head.
    TimelineCache,
    /// `N`: every person's name at the head.
    Names,
    /// `V`: every known office's leaf of the answers' state at the head.
    State,
    /// `H`: the stored Merkle tree hashes.
    TreeHashes,
    /// `M`: the meta records (head, cache and tree records).
    Meta,
    /// `C`: the signed checkpoints and statements kept by `checkpoint`.
    KeptCheckpoints,
    /// A record under a prefix the ledger never writes.
    Unknown,
}

impl Table {
    /// Every table, in the order findings are reported.
    pub const ALL: [Table; 13] = [
        Table::ActPostings,
        Table::Revocations,
        Table::Retractions,
        Table::OfficePostings,
        Table::PersonPostings,
        Table::KnownOffices,
        Table::TimelineCache,
        Table::Names,
        Table::State,
        Table::TreeHashes,
        Table::Meta,
        Table::KeptCheckpoints,
        Table::Unknown,
    ];

    /// The table's short name, for scripts: `act_postings`, `timeline_cache`...
    pub fn name(self) -> &'static str {
        match self {
            Table::ActPostings => "act_postings",
            Table::Revocations => "revocations",
            Table::Retractions => "retractions",
            Table::OfficePostings => "office_postings",
            Table::PersonPostings => "person_postings",
            Table::KnownOffices => "known_offices",
            Table::TimelineCache => "timeline_cache",
            Table::Names => "names",
            Table::State => "state",
            Table::TreeHashes => "tree_hashes",
            Table::Meta => "meta",
            Table::KeptCheckpoints => "kept_checkpoints",
            Table::Unknown => "unknown",
        }
    }

    /// The key prefix(es) of the table in the stored layout (`docs/FORMAT.md`).
    pub fn prefix(self) -> &'static str {
        match self {
            Table::ActPostings => "A",
            Table::Revocations => "R",
            Table::Retractions => "X",
            Table::OfficePostings => "O",
            Table::PersonPostings => "P",
            Table::KnownOffices => "K",
            Table::TimelineCache => "S/W",
            Table::Names => "N",
            Table::State => "V",
            Table::TreeHashes => "H",
            Table::Meta => "M",
            Table::KeptCheckpoints => "C",
            Table::Unknown => "?",
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Table::ActPostings => "act postings",
            Table::Revocations => "revocations",
            Table::Retractions => "retractions",
            Table::OfficePostings => "office postings",
            Table::PersonPostings => "person postings",
            Table::KnownOffices => "known offices",
            Table::TimelineCache => "timeline cache",
            Table::Names => "names",
            Table::State => "answers' state",
            Table::TreeHashes => "tree hashes",
            Table::Meta => "meta records",
            Table::KeptCheckpoints => "kept checkpoints",
            Table::Unknown => "unknown records",
        };
        write!(f, "{} ({what})", self.prefix())
    }
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Subject {
    /// An act.
    Act(String),
    /// An act bucket (`A`), when no single act can be named.
    Bucket(u16),
    /// An office.
    Office(String),
    /// A person.
    Person(String),
    /// A position of the log (a retracted entry).
    Position(Seq),
    /// A tile of stored tree hashes.
    Tile(u64),
    /// A record named by its key (meta records, unknown records).
    Record(String),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Act(act) => write!(f, "act {act}"),
            Subject::Bucket(bucket) => write!(f, "act bucket {bucket}"),
            Subject::Office(office) => write!(f, "office {office}"),
            Subject::Person(person) => write!(f, "person {person}"),
            Subject::Position(seq) => write!(f, "entry {seq}"),
            Subject::Tile(tile) => write!(f, "tile {tile}"),
            Subject::Record(key) => write!(f, "record {key}"),
        }
    }
}

/// How a stored record differs from what the log implies.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Difference {
    /// The log implies records that are not stored.
    Missing,
    /// Records are stored that the log does not imply.
    Extra,
    /// The stored records hold other values than the log implies.
    Different,
    /// A stored record cannot be read as its table's records are written.
    Malformed(String),
    /// The records could not be compared: what they are computed from differs (named by
    /// other findings).
    NotCompared(String),
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Missing => {
                f.write_str("missing: the log implies records that are not stored")
            }
            Difference::Extra => f.write_str("extra: stored records the log does not imply"),
            Difference::Different => {
                f.write_str("different: the stored records differ from what the log implies")
            }
            Difference::Malformed(why) => write!(f, "malformed: {why}"),
            Difference::NotCompared(why) => write!(f, "not compared: {why}"),
        }
    }
}

/// One difference between the stored derived records and what the log implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The table.
    pub table: Table,
    /// The office, person, act, position or record concerned.
    pub subject: Subject,
    /// How it differs.
    pub difference: Difference,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {}: {}", self.table, self.subject, self.difference)
    }
}

/// The findings of a comparison of the derived records with the log: the first few in full,
/// and how many per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// The first findings, in the order they were made (at most [`Findings::SHOWN`]).
    pub shown: Vec<Finding>,
    /// How many findings per table (every finding, shown or not).
    pub per_table: std::collections::BTreeMap<Table, u64>,
}

impl Findings {
    /// How many findings are kept in full.
    pub const SHOWN: usize = 20;

    /// Takes note of a finding.
    pub fn push(&mut self, finding: Finding) {
        *self.per_table.entry(finding.table).or_default() += 1;
        if self.shown.len() < Self::SHOWN {
            self.shown.push(finding);
        }
    }

    /// How many findings in all.
    pub fn total(&self) -> u64 {
        self.per_table.values().sum()
    }

    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.per_table.is_empty()
    }

    /// Whether any finding concerns one of `tables`.
    pub fn concern(&self, tables: &[Table]) -> bool {
        tables
            .iter()
            .any(|table| self.per_table.contains_key(table))
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Intact { count, head } => {
                write!(f, "intact: {count} entries, head {}", hex::encode(head))
            }
            Verdict::Broken { seq, problem } => write!(f, "broken at entry {seq}: {problem}"),
            Verdict::Diverged {
                count, findings, ..
            } => write!(
                f,
                "the log is intact ({count} entries), but {} derived records differ from it",
                findings.total()
            ),
            Verdict::Unreadable { reason } => write!(f, "unreadable: {reason}"),
        }
    }
}

/// What is wrong at a position of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The stored hash is not the hash of the entry's fields.
    HashMismatch {
        /// The hash the fields give.
        expected: [u8; 32],
        /// The hash stored with the entry.
        actual: [u8; 32],
    },
    /// Positions are missing: the next stored entry is a later one.
    Gap {
        /// The position that should come next.
        expected: Seq,
        /// The position found instead.
        found: Seq,
    },
    /// The entry stored at this position says it belongs at another.
    Misplaced {
        /// The position the entry names.
        found: Seq,
    },
    /// The entry's previous hash is not the hash of the entry before it.
    BrokenLink,
    /// The entry's recording time is earlier than the entry before it.
    TimeWentBack {
        /// The time of the entry before.
        previous: String,
        /// This entry's time.
        time: String,
    },
    /// The entry (or its key, or its event) cannot be read.
    Unparsable(String),
    /// The stored head (count and hash of the last entry) disagrees with the entries.
    HeadMismatch {
        /// The count the head records.
        stored_count: u64,
        /// The hash the head records.
        stored_hash: [u8; 32],
        /// How many entries the chain holds.
        found_count: u64,
        /// The hash of the chain's last entry.
        found_hash: [u8; 32],
    },
    /// The ledger's head record is missing or unreadable.
    NoHead(String),
    /// The time in the head record is not the recording time of the last entry.
    HeadTimeMismatch {
        /// The time the head record holds.
        stored: String,
        /// The time of the chain's last entry ("" when there is none).
        found: String,
    },
    /// The ledger holds fewer entries than a checkpoint it should extend (or none at all).
    ShorterThanCheckpoint {
        /// The entries the ledger holds.
        count: u64,
        /// The checkpoint's tree size.
        size: u64,
    },
    /// The Merkle root of the ledger's first entries is not the checkpoint's root.
    RootMismatch {
        /// The checkpoint's tree size.
        size: u64,
        /// The checkpoint's root.
        expected: [u8; 32],
        /// The root of the ledger's first `size` entries.
        actual: [u8; 32],
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::HashMismatch { expected, actual } => write!(
                f,
                "hash mismatch: the entry's fields hash to {}, but the stored hash is {}",
                hex::encode(expected),
                hex::encode(actual)
            ),
            Problem::Gap { expected, found } => write!(
                f,
                "gap: entry {expected} is missing (the next stored entry is {found})"
            ),
            Problem::Misplaced { found } => {
                write!(f, "misplaced: the entry stored here is entry {found}")
            }
            Problem::BrokenLink => {
                f.write_str("broken link: its previous hash is not the hash of the entry before it")
            }
            Problem::TimeWentBack { previous, time } => write!(
                f,
                "time went back: recorded at {time}, before the entry before it ({previous})"
            ),
            Problem::Unparsable(reason) => write!(f, "unreadable entry: {reason}"),
            Problem::HeadMismatch {
                stored_count,
                stored_hash,
                found_count,
                found_hash,
            } => write!(
                f,
                "head mismatch: the ledger records {stored_count} entries ending in {}, but its chain holds {found_count} ending in {}",
                hex::encode(stored_hash),
                hex::encode(found_hash)
            ),
            Problem::NoHead(reason) => write!(f, "no head record: {reason}"),
            Problem::HeadTimeMismatch { stored, found } => write!(
                f,
                "head mismatch: the head record's time is {stored:?}, but the last entry was recorded at {found:?}"
            ),
            Problem::ShorterThanCheckpoint { count, size } => write!(
                f,
                "the ledger holds {count} entries but the checkpoint vouches for {size}: entries were removed"
            ),
            Problem::RootMismatch {
                size,
                expected,
                actual,
            } => write!(
                f,
                "the Merkle root of the first {size} entries is {}, not the checkpoint's {}: history was rewritten",
                hex::encode(actual),
                hex::encode(expected)
            ),
        }
    }
}

pub(crate) fn storage(path: &Path) -> impl Fn(sled::Error) -> StoreError + '_ {
    move |e| {
        if let sled::Error::Io(io) = &e
            && io.to_string().contains("could not acquire lock")
        {
            return StoreError::InUse {
                path: path.to_owned(),
                holder: None,
            };
        }
        let corrupt = match &e {
            sled::Error::Corruption { .. } => true,
            sled::Error::Io(io) => matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ),
            _ => false,
        };
        if corrupt {
            return StoreError::Corrupt {
                path: path.to_owned(),
                reason: describe(&e),
            };
        }
        StoreError::Storage {
            path: path.to_owned(),
            reason: describe(&e),
            error: Box::new(e),
        }
    }
}

/// A sled error in words: sled prints I/O errors in debug form and corruption with an empty
/// backtrace.
fn describe(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::StorageFull => "no space left on the device".into(),
            std::io::ErrorKind::FileTooLarge => {
                "file too large: a file of the ledger would pass the file-size limit".into()
            }
            _ => format!("I/O error: {io}"),
        },
        sled::Error::Corruption { at, .. } => format!(
            "it read corrupted data{}: the ledger's files are damaged (restore them from a backup, or import an export)",
            at.map(|at| format!(" at offset {at}")).unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

pub(crate) fn io_error(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_owned();
    let what = what.to_owned();
    move |source| StoreError::Io { what, path, source }
}

pub(crate) fn damaged(path: &Path, damage: Damage) -> StoreError {
    StoreError::Damaged {
        path: path.to_owned(),
        damage,
    }
}
