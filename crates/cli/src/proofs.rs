//! The proof commands: keys, signed checkpoints, inclusion and consistency proofs, and their
//! offline check. A proof, checkpoint or signature that does not verify exits with 3.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use actledger_proof::{
    Checkpoint, ConsistencyProof, InclusionProof, SignedCheckpoint, SignerKey, VerifierKey,
    hash_to_hex,
};
use actledger_store::{Ledger, Scope, Verdict};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;

use crate::Finding;
use crate::commands::{read_input, store_error, write_atomically};

/// A proof, checkpoint or signature that does not verify, or does not parse (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotVerified(pub String);

fn not_verified(message: impl Into<String>) -> anyhow::Error {
    NotVerified(message.into()).into()
}

/// `--vkey` takes a file holding the verifier key line, or the line itself (a path that
/// exists wins).
fn read_vkey(arg: &str) -> Result<VerifierKey> {
    let path = Path::new(arg);
    let text = if path.exists() {
        fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    } else {
        arg.to_owned()
    };
    text.trim()
        .parse::<VerifierKey>()
        .map_err(|e| anyhow!("--vkey {arg:?} is not a verifier key line (name+hash+base64): {e}"))
}

fn open_checkpoint(file: &Path, vkey: &VerifierKey) -> Result<SignedCheckpoint> {
    let bytes = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    Checkpoint::open(&bytes, std::slice::from_ref(vkey)).map_err(|e| {
        not_verified(format!(
            "the checkpoint {} does not verify with key {}: {e}",
            file.display(),
            vkey.name()
        ))
    })
}

pub fn keygen(name: &str, dir: &Path, out: &mut dyn Write) -> Result<()> {
    let key = SignerKey::generate(name).map_err(|e| anyhow!("key name {name:?}: {e}"))?;
    let stem = name.replace('/', "_");
    let secret = dir.join(format!("{stem}.key"));
    let public = dir.join(format!("{stem}.vkey"));
    for file in [&secret, &public] {
        if file.exists() {
            bail!(
                "{} already exists: refusing to overwrite a key",
                file.display()
            );
        }
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&secret)
        .with_context(|| format!("creating {}", secret.display()))?;
    writeln!(file, "{}", key.encode())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", secret.display()))?;
    let vkey = key.verifier_key().to_string();
    fs::write(&public, format!("{vkey}\n"))
        .with_context(|| format!("writing {}", public.display()))?;
    writeln!(out, "{vkey}")?;
    Ok(())
}

pub fn checkpoint(
    ledger: &Ledger,
    key_file: &Path,
    file: Option<&Path>,
    out: &mut dyn Write,
) -> Result<()> {
    let text =
        fs::read_to_string(key_file).with_context(|| format!("reading {}", key_file.display()))?;
    let key = SignerKey::parse(text.trim())
        .map_err(|e| anyhow!("{} is not a signer key file: {e}", key_file.display()))?;
    let note = ledger.checkpoint(&key)?;
    match file {
        Some(file) => write_atomically(file, |w| Ok(w.write_all(note.as_bytes())?))?,
        None => write!(out, "{note}")?,
    }
    Ok(())
}

/// The entry a `prove` argument names: digits are a position, anything else an act.
fn target_seq(ledger: &Ledger, target: &str) -> Result<u64> {
    if !target.is_empty() && target.bytes().all(|b| b.is_ascii_digit()) {
        return target
            .parse()
            .with_context(|| format!("{target} is too large for a position"));
    }
    let act = actledger_core::ActId::new(target)
        .map_err(|e| anyhow!("{target:?} is neither a position nor an act id: it {e}"))?;
    match actledger_core::issued_at(ledger, &act)? {
        Some(seq) => Ok(seq),
        None => bail!("unknown act {target:?}: no act_issued records it"),
    }
}

pub fn prove_inclusion(
    ledger: &Ledger,
    target: &str,
    size: Option<u64>,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let seq = target_seq(ledger, target)?;
    let size = size.unwrap_or(ledger.head().count);
    let proof = ledger.inclusion_proof(seq, size)?;
    if as_json {
        writeln!(out, "{}", serde_json::to_string(&proof)?)?;
    } else {
        writeln!(
            out,
            "entry {} is leaf {} of the tree of {} entries",
            proof.seq, proof.leaf_index, proof.tree_size
        )?;
        writeln!(out, "leaf hash {}", hash_to_hex(&proof.leaf_hash))?;
        writeln!(out, "root      {}", hash_to_hex(&ledger.tree_root(size)?))?;
        writeln!(out, "proof ({} hashes):", proof.proof.len())?;
        for hash in &proof.proof {
            writeln!(out, "  {}", hash_to_hex(hash))?;
        }
    }
    Ok(())
}

pub fn prove_consistency(
    ledger: &Ledger,
    from: u64,
    to: u64,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let proof = ledger.consistency_proof(from, to)?;
    if as_json {
        writeln!(out, "{}", serde_json::to_string(&proof)?)?;
    } else {
        writeln!(
            out,
            "the first {} entries are a prefix of the first {}",
            proof.first, proof.second
        )?;
        writeln!(
            out,
            "root of {:<8} {}",
            proof.first,
            hash_to_hex(&proof.first_root)
        )?;
        writeln!(
            out,
            "root of {:<8} {}",
            proof.second,
            hash_to_hex(&proof.second_root)
        )?;
        writeln!(out, "proof ({} hashes):", proof.proof.len())?;
        for hash in &proof.proof {
            writeln!(out, "  {}", hash_to_hex(hash))?;
        }
    }
    Ok(())
}

pub fn check_proof(
    vkey: &str,
    checkpoint: &Path,
    old: Option<&Path>,
    proof_file: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    let vkey = read_vkey(vkey)?;
    let new = open_checkpoint(checkpoint, &vkey)?;
    let bytes = read_input(Some(proof_file))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| not_verified(format!("the proof is not JSON: {e}")))?;
    let origin = &new.checkpoint.origin;
    if value.get("leaf_index").is_some() {
        let proof: InclusionProof = serde_json::from_value(value)
            .map_err(|e| not_verified(format!("the inclusion proof does not parse: {e}")))?;
        proof
            .check(&new.checkpoint)
            .map_err(|e| not_verified(format!("the inclusion proof does not verify: {e}")))?;
        writeln!(
            out,
            "verified: entry {} is in the ledger {origin} of {} entries (root {})",
            proof.seq,
            new.checkpoint.size,
            hash_to_hex(&new.checkpoint.root)
        )?;
    } else if value.get("first").is_some() {
        let old = old.context(
            "a consistency proof is checked against two checkpoints: add --old-checkpoint FILE",
        )?;
        let old = open_checkpoint(old, &vkey)?;
        let proof: ConsistencyProof = serde_json::from_value(value)
            .map_err(|e| not_verified(format!("the consistency proof does not parse: {e}")))?;
        proof
            .check(&old.checkpoint, &new.checkpoint)
            .map_err(|e| not_verified(format!("the consistency proof does not verify: {e}")))?;
        writeln!(
            out,
            "verified: the ledger {origin} of {} entries extends its first {} entries, unchanged",
            new.checkpoint.size, old.checkpoint.size
        )?;
    } else {
        return Err(not_verified(
            "the proof is neither an inclusion proof (leaf_index) nor a consistency proof (first, second)",
        ));
    }
    Ok(())
}

pub fn verify_against(
    path: &Path,
    checkpoint: &Path,
    vkey: &str,
    scope: Scope,
    wait: std::time::Duration,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<Finding> {
    let vkey = read_vkey(vkey)?;
    let signed = open_checkpoint(checkpoint, &vkey)?;
    let cp = &signed.checkpoint;
    let verdict = actledger_store::verify_path_against_waiting(path, cp, scope, wait)
        .map_err(|e| store_error(e, path))?;
    if let Verdict::Intact { count, head } = &verdict
        && !as_json
    {
        writeln!(out, "intact: {count} entries, head {}", hex::encode(head))?;
        writeln!(
            out,
            "extends the checkpoint of {} entries signed by {}",
            cp.size, cp.origin
        )?;
        if scope == Scope::Log {
            writeln!(out, "{}", crate::commands::LOG_ONLY_NOTE)?;
        }
        return Ok(Finding::Clean);
    }
    let mut extra = serde_json::Map::new();
    extra.insert(
        "checkpoint".into(),
        json!({"origin": cp.origin, "size": cp.size, "root": hash_to_hex(&cp.root)}),
    );
    crate::commands::report_verdict(&verdict, scope, as_json, &mut extra, out)
}
