//! Ledgers and events for the tests.

use std::path::{Path, PathBuf};

use actledger_core::{InputEvent, parse_batch};
use actledger_store::{AppendReport, Appended, Ledger};

/// A temporary folder and the path of a ledger inside it (not created).
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn scratch() -> Scratch {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    Scratch { dir, path }
}

/// What became of each event of the append `report` reports, each hash read back from the log.
pub fn outcomes(ledger: &Ledger, report: &AppendReport) -> Vec<(usize, Appended)> {
    ledger
        .appended(report)
        .collect::<Result<_, _>>()
        .expect("the appended entries read back")
}

pub fn batch(text: &str) -> Vec<InputEvent> {
    parse_batch(text.as_bytes()).unwrap()
}

/// Batch `k` of a deterministic history: an act and the appointments it makes, all valid
/// after batches `0..k`, all different from any other batch's events.
pub fn numbered_batch(k: u64, size: usize) -> String {
    let offices = ["MINDEF", "MEF", "MINSA", "MINJUS"];
    let office = offices[(k % 4) as usize];
    let day = actledger_core::Day::from_ordinal(
        actledger_core::Day::parse("2020-01-01").unwrap().ordinal() + k as u32,
    )
    .unwrap();
    let mut lines = vec![format!(
        r#"{{"type":"act_issued","act":"RS-{k:05}-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"{day}"}}"#
    )];
    for j in 1..size {
        lines.push(format!(
            r#"{{"type":"appointed","act":"RS-{k:05}-PCM","person":"p-{k}-{j}","person_name":"Persona {k} {j}","office":"{office}","on":"{day}"}}"#
        ));
    }
    lines.join("\n")
}

/// `events` generated events (`actledger-gen`, `seed`), as NDJSON.
pub fn generated(seed: u64, events: u64) -> String {
    let mut ndjson = Vec::new();
    actledger_gen::Generator::new(seed)
        .write_ndjson(events, &mut ndjson)
        .unwrap();
    String::from_utf8(ndjson).unwrap()
}

/// A ledger at `path` holding `batches` numbered batches of `size` events.
pub fn ledger_with(path: &Path, batches: u64, size: usize) -> Ledger {
    let mut ledger = Ledger::create(path).unwrap();
    for k in 0..batches {
        ledger.append(batch(&numbered_batch(k, size))).unwrap();
    }
    ledger
}

/// The seed case of the spec, with the appointment before it.
pub const SEED: &str = r#"{"type":"act_issued","act":"RS-001-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-01"}
{"type":"appointed","act":"RS-001-2024-PCM","person":"walter-astudillo","person_name":"Walter Astudillo","office":"MINDEF","on":"2024-01-02"}
{"type":"appointed","act":"RS-001-2024-PCM","person":"jose-arista","person_name":"José Arista Arbildo","office":"MEF","on":"2024-01-02"}
{"type":"act_issued","act":"RS-131-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-06-01","title":"Autorizan viaje del Ministro de Defensa a los Estados Unidos de America y encargan su Despacho al Ministro de Economia y Finanzas"}
{"type":"trip_authorized","act":"RS-131-2024-PCM","person":"walter-astudillo","office":"MINDEF","from":"2024-06-02","until":"2024-06-04","destination":"Miami, Florida, United States","purpose":"Meeting with the Commander of US Southern Command on defense and security cooperation"}
{"type":"duties_delegated","act":"RS-131-2024-PCM","office":"MINDEF","delegate":"jose-arista","delegate_name":"José Arista Arbildo","delegate_office":"MEF","from":"2024-06-02","until":"2024-06-04"}"#;

/// Opens the ledger's sled database directly, for tampering (the ledger must be closed).
pub fn raw(path: &Path) -> actledger_store::testing::Sled {
    actledger_store::testing::Sled::open(path).unwrap()
}

/// Files and folders directly under `dir`, by name.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
