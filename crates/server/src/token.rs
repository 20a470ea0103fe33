//! The bearer token that guards writes: read from a file, or made at random into a new file
//! readable by its owner alone ([`write_secret_file`]), and compared in constant time.

use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::write_secret_file;
use crate::server::ServerError;

/// How many random bytes a new token has (written as twice as many hex digits).
pub const TOKEN_BYTES: usize = 32;

/// The token in the file at `path` (surrounding white space trimmed), or a new random one
/// written there with mode 0600 when the file is missing. Returns the token and whether it
/// was created.
pub fn load_or_create_token(path: &Path) -> Result<(String, bool), ServerError> {
    let failed = |what: &'static str| {
        let path = path.to_owned();
        move |source| ServerError::Token { what, path, source }
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let token = text.trim();
            if token.is_empty() {
                return Err(ServerError::EmptyToken {
                    path: path.to_owned(),
                });
            }
            Ok((token.to_owned(), false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; TOKEN_BYTES];
            getrandom::fill(&mut bytes).map_err(|e| ServerError::Token {
                what: "making a random token for",
                path: path.to_owned(),
                source: std::io::Error::other(e.to_string()),
            })?;
            let token = hex::encode(bytes);
            write_secret_file(path, format!("{token}\n").as_bytes()).map_err(failed("creating"))?;
            Ok((token, true))
        }
        Err(e) => Err(failed("reading")(e)),
    }
}

/// A token as the server keeps it: its digest, so that comparing never depends on where the
/// first differing byte is, nor on the length.
#[derive(Clone)]
pub(crate) struct TokenDigest([u8; 32]);

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest(..)")
    }
}

impl TokenDigest {
    pub(crate) fn new(token: &str) -> TokenDigest {
        TokenDigest(Sha256::digest(token.as_bytes()).into())
    }

    /// Whether `given` is the token, in constant time.
    pub(crate) fn matches(&self, given: &[u8]) -> bool {
        let given: [u8; 32] = Sha256::digest(given).into();
        self.0.ct_eq(&given).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_gets_a_random_private_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let (token, created) = load_or_create_token(&path).unwrap();
        assert!(created);
        assert_eq!(token.len(), 2 * TOKEN_BYTES);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(load_or_create_token(&path).unwrap(), (token.clone(), false));
        let (other, _) = load_or_create_token(&dir.path().join("other")).unwrap();
        assert_ne!(token, other);
    }

    #[test]
    fn an_empty_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, " \n").unwrap();
        let error = load_or_create_token(&path).unwrap_err().to_string();
        assert!(error.contains("is empty"), "{error}");
    }

    #[test]
    fn compares_whole_tokens() {
        let digest = TokenDigest::new("secret");
        assert!(digest.matches(b"secret"));
        assert!(!digest.matches(b"secre"));
        assert!(!digest.matches(b"secret2"));
        assert!(!digest.matches(b""));
    }
}
