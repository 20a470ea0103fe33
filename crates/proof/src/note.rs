//! Signed notes (C2SP signed-note) with Ed25519 keys, and their key files.
//!
//! The format work is done by the `signed_note` crate, a port of Go's
//! `golang.org/x/mod/sumdb/note`; this module gives it our types and errors that say what is
//! wrong. A signer key reads `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>` and a verifier
//! key `<name>+<key id>+<base64(0x01 || public key)>`, where the key id is the first four bytes
//! of SHA-256(name || "\n" || 0x01 || public key), in eight hex digits.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use signed_note::{Note, StandardSigner, StandardVerifier, Verifier, VerifierList};

/// The signature type byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;

/// The largest note this crate reads, as `signed_note` does.
pub const MAX_NOTE_BYTES: usize = 1_000_000;

/// The most signatures a note may carry; the C2SP spec asks verifiers to accept at least 16.
pub const MAX_NOTE_SIGNATURES: usize = 100;

/// How much of an input an error message repeats.
const QUOTE_LIMIT: usize = 200;

fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Whether `name` can name a key: non-empty, no Unicode space, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    signed_note::is_key_name_valid(name)
}

/// Why a key could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key name is empty or holds a space or a `+`.
    #[error("the key name {name:?} is empty or holds a space or a plus sign")]
    InvalidName {
        /// The name, cut to 200 characters.
        name: String,
    },
    /// The text is not a signer key. The secret is never repeated.
    #[error(
        "a signer key reads PRIVATE+KEY+NAME+KEYID+BASE64 (an Ed25519 seed); this one does not"
    )]
    MalformedSigner,
    /// The text is not a verifier key.
    #[error("a verifier key reads NAME+KEYID+BASE64 (an Ed25519 public key), not {text:?}")]
    MalformedVerifier {
        /// The text, cut to 200 characters.
        text: String,
    },
    /// The key is of another algorithm than Ed25519.
    #[error("the key is not an Ed25519 key (signature type 0x01)")]
    UnknownAlgorithm,
    /// The key id is not the hash of the name and public key.
    #[error("the key id does not match the key name and public key")]
    WrongKeyId,
    /// The system's random source failed.
    #[error("could not read random bytes for a new key: {0}")]
    Random(String),
}

/// A private key that signs notes: Ed25519, in the signed-note key format.
///
/// Its `Debug` shows the name and key id only; [`SignerKey::encode`] gives the secret key line.
#[derive(Clone)]
pub struct SignerKey {
    name: String,
    key_id: u32,
    signing_key: ed25519_dalek::SigningKey,
    signer: StandardSigner,
    verifier: VerifierKey,
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl SignerKey {
    /// A new key named `name`, from the system's random source.
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Self::from_seed(name, seed)
    }

    /// The key named `name` with the Ed25519 private key `seed` (RFC 8032's 32 bytes).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, KeyError> {
        if !is_valid_key_name(name) {
            return Err(KeyError::InvalidName { name: quote(name) });
        }
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        let key_id = signed_note::key_id(name, &with_alg(public.as_bytes()));
        let encoded = format!(
            "PRIVATE+KEY+{name}+{key_id:08x}+{}",
            BASE64.encode(with_alg(&seed))
        );
        Self::parse(&encoded)
    }

    /// Reads a signer key line; surrounding white space (a final newline) is ignored.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let signer = StandardSigner::new(text).map_err(|e| match e {
            signed_note::SignerError::Format => KeyError::MalformedSigner,
            signed_note::SignerError::Alg => KeyError::UnknownAlgorithm,
            signed_note::SignerError::Id => KeyError::WrongKeyId,
        })?;
        // `signed_note` checked the shape; take out what it keeps to itself.
        let mut fields = text.splitn(5, '+');
        let (Some(_), Some(_), Some(name), Some(id), Some(key)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(KeyError::MalformedSigner);
        };
        let key_id = u32::from_str_radix(id, 16).map_err(|_| KeyError::MalformedSigner)?;
        let key = BASE64.decode(key).map_err(|_| KeyError::MalformedSigner)?;
        let seed: [u8; 32] = key
            .get(1..)
            .and_then(|seed| seed.try_into().ok())
            .ok_or(KeyError::MalformedSigner)?;
        let signing_key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let verifier = VerifierKey::parse(&signed_note::new_ed25519_verifier_key(
            name,
            &signing_key.verifying_key(),
        ))?;
        Ok(Self {
            name: name.to_owned(),
            key_id,
            signing_key,
            signer,
            verifier,
        })
    }

    /// The key line, `PRIVATE+KEY+<name>+<key id>+<base64>`, with no newline: a secret.
    pub fn encode(&self) -> String {
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64.encode(with_alg(self.signing_key.as_bytes()))
        )
    }

    /// The key name (for checkpoints, the origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The verifier key that checks this key's signatures.
    pub fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }
}

fn with_alg(key: &[u8; 32]) -> [u8; 33] {
    let mut out = [0u8; 33];
    out[0] = ALG_ED25519;
    out[1..].copy_from_slice(key);
    out
}

/// A public key that checks note signatures: Ed25519, in the signed-note key format.
#[derive(Clone)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    public_key: [u8; 32],
    verifier: StandardVerifier,
}

impl PartialEq for VerifierKey {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.key_id == other.key_id
            && self.public_key == other.public_key
    }
}

impl Eq for VerifierKey {}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VerifierKey")
            .field(&self.to_string())
            .finish()
    }
}

/// The key line, `<name>+<key id>+<base64>`, with no newline.
impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64.encode(with_alg(&self.public_key))
        )
    }
}

impl FromStr for VerifierKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, KeyError> {
        Self::parse(text)
    }
}

impl VerifierKey {
    /// Reads a verifier key line; surrounding white space (a final newline) is ignored.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let malformed = || KeyError::MalformedVerifier { text: quote(text) };
        let verifier = StandardVerifier::new(text).map_err(|e| match e {
            signed_note::VerifierError::Format => malformed(),
            signed_note::VerifierError::Alg => KeyError::UnknownAlgorithm,
            signed_note::VerifierError::Id => KeyError::WrongKeyId,
        })?;
        let (name, rest) = text.split_once('+').ok_or_else(malformed)?;
        let (id, key) = rest.split_once('+').ok_or_else(malformed)?;
        let key_id = u32::from_str_radix(id, 16).map_err(|_| malformed())?;
        let key = BASE64.decode(key).map_err(|_| malformed())?;
        let public_key: [u8; 32] = key
            .get(1..)
            .and_then(|key| key.try_into().ok())
            .ok_or_else(malformed)?;
        Ok(Self {
            name: name.to_owned(),
            key_id,
            public_key,
            verifier,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }
}

/// A key whose signature on a note verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSigner {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: u32,
}

impl fmt::Display for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{:08x}", self.name, self.key_id)
    }
}

/// A note whose signatures were checked: its text and the known keys that signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    /// The text, ending in a newline, without the blank line and the signatures.
    pub text: String,
    /// The known keys whose signatures verified, in the order of the note.
    pub signers: Vec<NoteSigner>,
}

/// Why a note could not be signed or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note (or the text to sign) breaks the signed-note format.
    #[error("malformed signed note: {reason}")]
    Malformed {
        /// What is wrong, naming the line.
        reason: String,
    },
    /// No signature is by one of the given keys.
    #[error("the note is signed by none of the given keys (it is signed by {})", signed_by(.signatures))]
    NoKnownSignature {
        /// The key names of the note's signature lines (the first five).
        signatures: Vec<String>,
    },
    /// A signature by one of the given keys does not verify: the note was changed.
    #[error("the signature by {key} does not verify: the note is not the one that key signed")]
    BadSignature {
        /// The key, as `name+keyid`.
        key: String,
    },
    /// Two different given keys share a name and a key id.
    #[error("two different verifier keys are named {key}")]
    AmbiguousKey {
        /// The key, as `name+keyid`.
        key: String,
    },
    /// Signing failed.
    #[error("could not sign the note: {0}")]
    Signing(String),
}

fn signed_by(names: &[String]) -> String {
    if names.is_empty() {
        "no key".to_owned()
    } else {
        names.join(", ")
    }
}

/// Signs `text` (which must end in a newline) with `key`: the text, a blank line and the
/// signature line `— <name> <base64(key id || signature)>`.
pub fn sign_note(text: &str, key: &SignerKey) -> Result<String, NoteError> {
    let mut note = Note::new(text.as_bytes(), &[]).map_err(|_| NoteError::Malformed {
        reason: text_fault(text),
    })?;
    note.add_sigs(&[&key.signer])
        .map_err(|e| NoteError::Signing(e.to_string()))?;
    String::from_utf8(note.to_bytes()).map_err(|e| NoteError::Signing(e.to_string()))
}

/// Opens a signed note: checks its format and the signatures by `keys`, as the C2SP
/// signed-note spec says. Signatures by other keys are ignored; the note is rejected when no
/// signature by a given key verifies, or when one of them does not.
pub fn open_note(msg: &[u8], keys: &[VerifierKey]) -> Result<VerifiedNote, NoteError> {
    let note = Note::from_bytes(msg).map_err(|_| NoteError::Malformed {
        reason: message_fault(msg),
    })?;
    // The same key given twice is one key; `VerifierList` would call it ambiguous.
    let mut seen = HashSet::new();
    let verifiers: Vec<Box<dyn Verifier>> = keys
        .iter()
        .filter(|key| seen.insert((key.name.clone(), key.key_id, key.public_key)))
        .map(|key| Box::new(key.verifier.clone()) as Box<dyn Verifier>)
        .collect();
    let (verified, _unknown) = note
        .verify(&VerifierList::new(verifiers))
        .map_err(|e| match e {
            signed_note::NoteError::InvalidSignature { name, id } => NoteError::BadSignature {
                key: format!("{name}+{id:08x}"),
            },
            signed_note::NoteError::UnverifiedNote => NoteError::NoKnownSignature {
                signatures: signature_names(msg),
            },
            signed_note::NoteError::VerificationError(
                signed_note::VerificationError::AmbiguousKey { name, id },
            ) => NoteError::AmbiguousKey {
                key: format!("{name}+{id:08x}"),
            },
            other => NoteError::Malformed {
                reason: other.to_string(),
            },
        })?;
    let text = String::from_utf8(note.text().to_vec()).map_err(|_| NoteError::Malformed {
        reason: "it is not UTF-8".to_owned(),
    })?;
    Ok(VerifiedNote {
        text,
        signers: verified
            .iter()
            .map(|sig| NoteSigner {
                name: sig.name().to_owned(),
                key_id: sig.id(),
            })
            .collect(),
    })
}

/// Says why `text` cannot be signed; only called once `signed_note` has refused it.
fn text_fault(text: &str) -> String {
    if text.len() > MAX_NOTE_BYTES {
        return format!("the text is larger than {MAX_NOTE_BYTES} bytes");
    }
    if let Some(line) = control_character_line(text) {
        return format!("line {line} holds a control character");
    }
    if !text.ends_with('\n') {
        return "the text does not end in a newline".to_owned();
    }
    "the text cannot be signed".to_owned()
}

fn control_character_line(text: &str) -> Option<usize> {
    text.split('\n')
        .position(|line| line.chars().any(|c| c < '\u{20}'))
        .map(|i| i + 1)
}

/// Says why `msg` is not a signed note; only called once `signed_note` has refused it, to
/// explain, never to decide.
fn message_fault(msg: &[u8]) -> String {
    if msg.len() > MAX_NOTE_BYTES {
        return format!("it is larger than {MAX_NOTE_BYTES} bytes");
    }
    let Ok(text) = std::str::from_utf8(msg) else {
        return "it is not UTF-8".to_owned();
    };
    if let Some(line) = control_character_line(text) {
        return format!("line {line} holds a control character");
    }
    if !text.ends_with('\n') {
        return "it does not end in a newline".to_owned();
    }
    let Some((body, signatures)) = text.rsplit_once("\n\n") else {
        return "no blank line separates the text from the signatures".to_owned();
    };
    let Some(signatures) = signatures.strip_suffix('\n') else {
        return "there is no signature after the blank line".to_owned();
    };
    let lines: Vec<&str> = signatures.split('\n').collect();
    if lines.len() > MAX_NOTE_SIGNATURES {
        return format!("it has more than {MAX_NOTE_SIGNATURES} signatures");
    }
    // The text's lines, the blank line, then the signatures.
    let first = body.split('\n').count() + 2;
    for (i, line) in lines.iter().enumerate() {
        if !is_signature_line(line) {
            return format!(
                "line {} is not a signature line (\u{2014} NAME BASE64): {:?}",
                first + i,
                quote(line)
            );
        }
    }
    "it is not a signed note".to_owned()
}

fn is_signature_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("\u{2014} ") else {
        return false;
    };
    let Some((name, sig)) = rest.split_once(' ') else {
        return false;
    };
    is_valid_key_name(name) && BASE64.decode(sig).is_ok_and(|sig| sig.len() >= 5)
}

/// The key names of the signature lines of a well-formed note, for messages.
fn signature_names(msg: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(msg) else {
        return Vec::new();
    };
    let Some((_, signatures)) = text.rsplit_once("\n\n") else {
        return Vec::new();
    };
    let mut names: Vec<String> = Vec::new();
    for line in signatures.lines() {
        if let Some((name, _)) = line
            .strip_prefix("\u{2014} ")
            .and_then(|rest| rest.split_once(' '))
        {
            let name = quote(name);
            if !names.contains(&name) {
                names.push(name);
            }
            if names.len() == 5 {
                break;
            }
        }
    }
    names
}
