//! Writing a secret (a signer key, a write token) into a new file that its owner alone can
//! read. One implementation for the CLI's `keygen` and the server's token: both must refuse to
//! replace an existing secret, must never leave the secret readable by others even for an
//! instant, and must not leave a half-written file that a second try would refuse to replace.
//!
//! It lives here, not in the proof crate (which does no I/O) nor in the store (which owns the
//! ledger's files only): the server is the one crate with file I/O that the CLI already links.

use std::io::{self, Write as _};
use std::path::Path;

/// Creates `path` with mode 0600 (on Unix; elsewhere the platform's default) and writes
/// `contents` into it, synced to disk.
///
/// Fails with [`io::ErrorKind::AlreadyExists`] when `path` exists, whatever it is: a secret is
/// never overwritten, and a symbolic link is not followed. The file is created with its final
/// mode, so no other user can open it between its creation and a later `chmod`. If writing
/// fails after the file was made, the file is removed. The error is the I/O error alone: the
/// caller names the file and what it holds.
pub fn write_secret_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if written.is_err() {
        drop(file);
        // The write error is the one to report; a file that cannot be removed either is
        // at worst an empty or partial secret of mode 0600.
        let _ = std::fs::remove_file(path);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_private_file_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_secret_file(&path, b"s3cret\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"s3cret\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = write_secret_file(&path, b"other\n").unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"s3cret\n");
    }

    #[cfg(unix)]
    #[test]
    fn does_not_follow_a_symbolic_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let error = write_secret_file(&link, b"s3cret\n").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert!(!target.exists());
    }
}
