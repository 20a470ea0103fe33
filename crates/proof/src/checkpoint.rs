//! Checkpoints (C2SP tlog-checkpoint): the signed statement "the tree of this origin had this
//! size and this root".
//!
//! ```text
//! example.org/actledger
//! 8
//! XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=
//!
//! — example.org/actledger <base64 of the 4-byte key id and the 64-byte Ed25519 signature>
//! ```
//!
//! The first three lines are the note text that is signed: origin, tree size in decimal, root in
//! base64. A blank line, then one signature line per signer, follow.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::hash::Hash;
use crate::note::{NoteError, NoteSigner, SignerKey, VerifierKey, open_note, sign_note};

const QUOTE_LIMIT: usize = 200;

fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A tree head: the log's origin, the tree size and the root hash, plus the optional extension
/// lines of the spec (we write none, and keep those we read so that the text round-trips).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity; for actledger, the name of the key that signs (`keygen NAME`).
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The RFC 6962 root of the first `size` leaves.
    pub root: Hash,
    /// Extension lines, each non-empty, without newlines.
    pub extensions: Vec<String>,
}

/// A checkpoint whose signature by its origin's key verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The given keys whose signatures verified; one of them is named as the origin.
    pub signers: Vec<NoteSigner>,
}

/// Why a checkpoint could not be read, signed or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The text does not end in a newline.
    #[error("a checkpoint ends in a newline; this one does not")]
    NoFinalNewline,
    /// Fewer than three lines.
    #[error("a checkpoint has at least three lines (origin, size, root); this one has {lines}")]
    TooFewLines {
        /// The number of lines.
        lines: usize,
    },
    /// The first line is empty.
    #[error("line 1: the origin is empty")]
    EmptyOrigin,
    /// The second line is not a tree size.
    #[error("line 2: the tree size {text:?} is not a decimal number without leading zeros")]
    BadSize {
        /// The line, cut to 200 characters.
        text: String,
    },
    /// The third line is not a root hash.
    #[error("line 3: the root hash {text:?} is not the base64 of 32 bytes")]
    BadRoot {
        /// The line, cut to 200 characters.
        text: String,
    },
    /// An empty extension line (a checkpoint's text has no blank line).
    #[error("line {line}: an extension line is empty")]
    EmptyExtension {
        /// The line number, from 1.
        line: usize,
    },
    /// A line holds a newline or another control character.
    #[error("line {line}: a checkpoint line holds no control characters")]
    ControlCharacter {
        /// The line number, from 1.
        line: usize,
    },
    /// The signed note does not verify.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The note verified, but not with a key named as the checkpoint's origin.
    #[error(
        "the checkpoint of {origin:?} is not signed by a key of that name (signed by {signers})"
    )]
    NotSignedByOrigin {
        /// The origin, cut to 200 characters.
        origin: String,
        /// The keys that did sign.
        signers: String,
    },
    /// Signing with a key whose name is not the origin.
    #[error("the key {key:?} cannot sign a checkpoint of {origin:?}: the key name is the origin")]
    KeyNotOrigin {
        /// The key name.
        key: String,
        /// The origin, cut to 200 characters.
        origin: String,
    },
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text: `origin\nsize\nbase64(root)\n`, then the extension lines.
    pub fn to_note_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Reads a checkpoint's note text strictly, as C2SP tlog-checkpoint says: a non-empty
    /// origin; the size in decimal without leading zeros; the root as the base64 of 32 bytes;
    /// then any non-empty extension lines; every line ending in a newline.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let Some(body) = text.strip_suffix('\n') else {
            return Err(CheckpointError::NoFinalNewline);
        };
        let lines: Vec<&str> = body.split('\n').collect();
        if let Some(line) = lines
            .iter()
            .position(|line| line.chars().any(|c| c < '\u{20}'))
        {
            return Err(CheckpointError::ControlCharacter { line: line + 1 });
        }
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines { lines: lines.len() });
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size =
            parse_size(size).ok_or_else(|| CheckpointError::BadSize { text: quote(size) })?;
        let root =
            parse_root(root).ok_or_else(|| CheckpointError::BadRoot { text: quote(root) })?;
        if let Some(i) = extensions.iter().position(|line| line.is_empty()) {
            return Err(CheckpointError::EmptyExtension { line: i + 4 });
        }
        Ok(Self {
            origin: (*origin).to_owned(),
            size,
            root,
            extensions: extensions.iter().map(|line| (*line).to_owned()).collect(),
        })
    }

    /// Signs the checkpoint with `key`, whose name must be the origin: the signed note text.
    pub fn sign(&self, key: &SignerKey) -> Result<String, CheckpointError> {
        if key.name() != self.origin {
            return Err(CheckpointError::KeyNotOrigin {
                key: key.name().to_owned(),
                origin: quote(&self.origin),
            });
        }
        let text = self.to_note_text();
        // Refuse what could not be read back.
        Self::parse(&text)?;
        Ok(sign_note(&text, key)?)
    }

    /// Opens a signed checkpoint: the note must verify with `keys` (see
    /// [`open_note`](crate::open_note)), its text must be a checkpoint, and one of the keys that
    /// signed it must be named as its origin.
    pub fn open(msg: &[u8], keys: &[VerifierKey]) -> Result<SignedCheckpoint, CheckpointError> {
        let note = open_note(msg, keys)?;
        let checkpoint = Self::parse(&note.text)?;
        if !note
            .signers
            .iter()
            .any(|signer| signer.name == checkpoint.origin)
        {
            return Err(CheckpointError::NotSignedByOrigin {
                origin: quote(&checkpoint.origin),
                signers: note
                    .signers
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(SignedCheckpoint {
            checkpoint,
            signers: note.signers,
        })
    }
}

fn parse_size(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

fn parse_root(text: &str) -> Option<Hash> {
    // The standard alphabet with canonical padding; anything else is refused.
    BASE64.decode(text).ok()?.try_into().ok()
}
