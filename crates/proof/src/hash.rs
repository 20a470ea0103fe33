//! The RFC 6962 hashes: leaves, interior nodes, the empty tree, and their text forms.

use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The hash of a leaf: SHA-256(0x00 || data).
///
/// For the ledger, `data` is the entry's export line without its newline.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// A hash as 64 lowercase hexadecimal digits, the form used in JSON.
pub fn hash_to_hex(hash: &Hash) -> String {
    hex::encode(hash)
}

/// Reads a hash written as exactly 64 lowercase hexadecimal digits.
pub fn hash_from_hex(text: &str) -> Result<Hash, HashParseError> {
    if text.len() != 64 {
        return Err(HashParseError::Length { len: text.len() });
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(HashParseError::NotLowerHex);
    }
    let mut hash = [0u8; 32];
    hex::decode_to_slice(text, &mut hash).map_err(|_| HashParseError::NotLowerHex)?;
    Ok(hash)
}

/// A text that is not a hash in lowercase hexadecimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashParseError {
    /// The text does not have 64 characters.
    #[error("a hash has 64 hexadecimal digits, not {len} characters")]
    Length {
        /// The length of the text, in bytes.
        len: usize,
    },
    /// The text holds something other than `0-9` and `a-f`.
    #[error("a hash is written with the lowercase hexadecimal digits 0-9 and a-f only")]
    NotLowerHex,
}
