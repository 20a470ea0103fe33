//! The marker a running server leaves in the ledger's folder, so that a command that finds the
//! ledger in use can say that `actledger serve` holds it, and where.
//!
//! sled ignores files it did not make (it only reads `conf`, `db`, `blobs/` and `snap.*`), so
//! the marker lives inside the ledger's folder and moves with it. It is written once the
//! server holds the ledger's lock and is listening, and removed at shutdown; a marker left by a
//! server that was killed is recognized as stale because its process is gone.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The marker's file name inside the ledger's folder.
pub const MARKER_FILE: &str = "actledger-server.json";

/// A server that holds a ledger: where it listens and which process it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its process id.
    pub pid: u32,
}

impl ServerInfo {
    /// The base URL of the server (`http://ADDR`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl std::fmt::Display for ServerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "actledger serve at {} (pid {})", self.url(), self.pid)
    }
}

pub(crate) fn marker_path(ledger: &Path) -> PathBuf {
    ledger.join(MARKER_FILE)
}

/// The server that holds the ledger at `ledger`, if its marker is there and its process is
/// alive. Call it when opening fails with [`StoreError::InUse`](actledger_store::StoreError):
/// "the ledger at PATH is held by actledger serve at http://ADDR (pid N)".
pub fn server_holding(ledger: &Path) -> Option<ServerInfo> {
    let bytes = std::fs::read(marker_path(ledger)).ok()?;
    let info: ServerInfo = serde_json::from_slice(&bytes).ok()?;
    process_alive(info.pid).then_some(info)
}

/// Whether a process with this id runs. Where `/proc` is not there to ask, the marker is
/// trusted (the server removes it when it stops).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

/// The marker of this process's server: written on creation, removed on drop.
#[derive(Debug)]
pub(crate) struct Marker {
    path: PathBuf,
}

impl Marker {
    /// Writes the marker for a server of this process listening on `addr`, replacing a stale
    /// one. It is written aside and renamed, so a reader never sees half of it.
    pub(crate) fn write(ledger: &Path, addr: SocketAddr) -> std::io::Result<Marker> {
        let path = marker_path(ledger);
        let info = ServerInfo {
            addr,
            pid: std::process::id(),
        };
        let aside = ledger.join(format!(".{MARKER_FILE}.{}", info.pid));
        let mut file = std::fs::File::create(&aside)?;
        let json = serde_json::to_vec(&info).map_err(std::io::Error::other)?;
        file.write_all(&json)?;
        file.sync_all()?;
        std::fs::rename(&aside, &path)?;
        Ok(Marker { path })
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        // Only our own marker: a later server may have replaced it (it cannot while we hold
        // the ledger, but a marker is cheap to check).
        let ours = std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice::<ServerInfo>(&b).ok())
            .is_some_and(|info| info.pid == std::process::id());
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_then_found_then_removed() {
        let dir = tempfile::tempdir().unwrap();
        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(server_holding(dir.path()), None);
        let marker = Marker::write(dir.path(), addr).unwrap();
        let info = server_holding(dir.path()).unwrap();
        assert_eq!(info.addr, addr);
        assert_eq!(
            info.to_string(),
            format!(
                "actledger serve at http://127.0.0.1:8080 (pid {})",
                std::process::id()
            )
        );
        drop(marker);
        assert_eq!(server_holding(dir.path()), None);
    }

    #[test]
    fn a_marker_whose_process_is_gone_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        // Pids are below 2^22 on Linux: this one cannot run.
        let stale = r#"{"addr":"127.0.0.1:9","pid":4294967295}"#;
        std::fs::write(dir.path().join(MARKER_FILE), stale).unwrap();
        if Path::new("/proc/self").exists() {
            assert_eq!(server_holding(dir.path()), None);
        }
        std::fs::write(dir.path().join(MARKER_FILE), "not json").unwrap();
        assert_eq!(server_holding(dir.path()), None);
    }
}
