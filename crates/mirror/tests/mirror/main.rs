//! The one integration-test binary of actledger-mirror: mirrors published from real ledgers
//! and read back by a tlog-tiles reader written from the spec alone; the data files of the
//! seed case, field by field.
#![allow(clippy::unwrap_used)]

mod answers;
mod data;
mod pages;
mod publish;
#[path = "../../../proof/tests/proof/tlog_reader.rs"]
mod tlog_reader;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use actledger_core::parse_batch;
use actledger_proof::SignerKey;
use actledger_store::{KeptCheckpoint, Ledger};

/// The data files every publish writes.
pub const DATA_FILES: [&str; 3] = [
    actledger_mirror::HOLDINGS_FILE,
    actledger_mirror::POPOLO_FILE,
    actledger_mirror::FTM_FILE,
];

/// A ledger and a folder for its mirrors.
#[derive(Debug)]
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub ledger: Ledger,
    pub key: SignerKey,
}

/// The `n`-th act of the tests' ledgers (from 0): acts only, each valid on its own.
pub fn act(n: u64) -> String {
    format!(
        r#"{{"type":"act_issued","act":"RS-{n}-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-01"}}"#
    )
}

impl Sandbox {
    #[allow(clippy::new_without_default)] // each call is a new folder: not a default value
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::create(&dir.path().join("ledger")).unwrap();
        Sandbox {
            dir,
            ledger,
            key: SignerKey::from_seed("example.org/mirror", [9; 32]).unwrap(),
        }
    }

    /// Appends acts until the ledger holds `size` entries.
    pub fn grow_to(&mut self, size: u64) {
        let from = self.ledger.head().count;
        if size <= from {
            return;
        }
        let batch: Vec<String> = (from..size).map(act).collect();
        self.ledger
            .append(parse_batch(batch.join("\n").as_bytes()).unwrap())
            .unwrap();
    }

    pub fn mirror(&self) -> PathBuf {
        self.dir.path().join("mirror")
    }

    pub fn sign(&self) -> KeptCheckpoint {
        actledger_answers::sign_checkpoint(&self.ledger, &self.key).unwrap()
    }

    pub fn publish(&self) -> actledger_mirror::Published {
        actledger_mirror::publish(&self.ledger, &self.mirror(), &self.sign(), &mut |_| {}).unwrap()
    }

    /// The export lines, without their newlines.
    pub fn lines(&self) -> Vec<Vec<u8>> {
        let mut export = Vec::new();
        self.ledger.export(&mut export, &mut |_| {}).unwrap();
        export
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    }
}

/// Every file under `dir` (paths with `/`), with its bytes and modification time.
pub fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
    let mut files = BTreeMap::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for item in std::fs::read_dir(&folder).unwrap() {
            let path = item.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let meta = std::fs::metadata(&path).unwrap();
                files.insert(
                    name,
                    (std::fs::read(&path).unwrap(), meta.modified().unwrap()),
                );
            }
        }
    }
    files
}
