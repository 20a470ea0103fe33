//! The proof commands: keys, signed checkpoints, inclusion and consistency proofs, and their
//! offline check. A proof, checkpoint or signature that does not verify exits with 3.

use std::fs;
use std::io::Write;
use std::path::Path;

use actledger_answers::{
    CheckpointRef, HexHash, NotChecked, StateCheck, StatementSource, VerifyAnswer, check_statement,
};
use actledger_proof::{
    Checkpoint, ConsistencyProof, InclusionProof, SignedCheckpoint, SignerKey, Statement,
    VerifierKey, hash_to_hex,
};
use actledger_store::{Ledger, Scope, Verdict};
use anyhow::{Context, Result, anyhow, bail};

use crate::Finding;
use crate::commands::store_error;
use crate::files::{read_input, write_atomically};

/// A proof, checkpoint or signature that does not verify, or does not parse (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotVerified(pub String);

pub(crate) fn not_verified(message: impl Into<String>) -> anyhow::Error {
    NotVerified(message.into()).into()
}

/// `--vkey` takes a file holding the verifier key line, or the line itself (a path that
/// exists wins).
pub(crate) fn read_vkey(arg: &str) -> Result<VerifierKey> {
    let path = Path::new(arg);
    let text = if path.exists() {
        fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    } else {
        arg.to_owned()
    };
    text.trim().parse::<VerifierKey>().map_err(|e| {
        // A key line has two '+' and no '/' or '.': anything else was meant as a file.
        let looks_like_a_file = !arg.contains('+') || arg.ends_with(".vkey");
        if looks_like_a_file {
            anyhow!(
                "--vkey {arg:?}: no such file (give the path of a .vkey file that `actledger keygen` wrote, or the verifier key line itself)"
            )
        } else {
            anyhow!("--vkey {arg:?} is not a verifier key line (name+hash+base64): {e}")
        }
    })
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
    actledger_server::write_secret_file(&secret, format!("{}\n", key.encode()).as_bytes())
        .with_context(|| format!("writing {}", secret.display()))?;
    let vkey = key.verifier_key().to_string();
    fs::write(&public, format!("{vkey}\n"))
        .with_context(|| format!("writing {}", public.display()))?;
    writeln!(out, "{vkey}")?;
    Ok(())
}

/// The signer key in `key_file` (from `keygen`).
pub(crate) fn read_signer_key(key_file: &Path) -> Result<SignerKey> {
    let text =
        fs::read_to_string(key_file).with_context(|| format!("reading {}", key_file.display()))?;
    SignerKey::parse(text.trim())
        .map_err(|e| anyhow!("{} is not a signer key file: {e}", key_file.display()))
}

pub fn checkpoint(
    ledger: &Ledger,
    key_file: &Path,
    file: Option<&Path>,
    out: &mut dyn Write,
) -> Result<()> {
    let key = read_signer_key(key_file)?;
    let kept = actledger_answers::sign_checkpoint(ledger, &key)?;
    match file {
        Some(file) => {
            write_atomically(file, |w| Ok(w.write_all(kept.checkpoint.as_bytes())?))?;
            let statement = statement_file(file);
            write_atomically(&statement, |w| Ok(w.write_all(kept.statement.as_bytes())?))?;
        }
        None => write!(out, "{}", kept.checkpoint)?,
    }
    Ok(())
}

/// Where `checkpoint --out FILE` writes the statement: FILE.statement.
fn statement_file(file: &Path) -> std::path::PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".statement");
    name.into()
}

/// The kept checkpoint an answer bundle is made against: the one of `given`'s size, which
/// the ledger must extend, or the newest.
fn kept_for(ledger: &Ledger, given: Option<&Path>) -> Result<actledger_store::KeptCheckpoint> {
    let Some(file) = given else {
        return ledger.newest_kept_checkpoint()?.context(
            "no checkpoint is kept in this ledger: sign one with `actledger checkpoint --key FILE`, then ask again",
        );
    };
    let bytes = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let body = text.split("\n\n").next().unwrap_or_default();
    let size = Checkpoint::parse(&format!("{body}\n"))
        .map_err(|e| not_verified(format!("{} is not a checkpoint: {e}", file.display())))?
        .size;
    let head = ledger.head().count;
    if size > head {
        return Err(not_verified(format!(
            "the ledger does not extend the checkpoint {}: it is of size {size}, the ledger holds {head} entries",
            file.display()
        )));
    }
    let kept = ledger.kept_checkpoint(size)?.with_context(|| {
        format!(
            "no statement is kept for size {size}: a statement must be signed, and `actledger checkpoint --key FILE` signs one of the ledger's current size"
        )
    })?;
    let opened = kept
        .open()
        .map_err(|reason| not_verified(format!("the checkpoint kept for size {size}: {reason}")))?;
    let given = Checkpoint::open(&bytes, std::slice::from_ref(&opened.vkey)).map_err(|e| {
        not_verified(format!(
            "the checkpoint {} does not verify with the key of the one kept for size {size}: {e}",
            file.display()
        ))
    })?;
    if given.checkpoint.root != ledger.tree_root(size)? {
        return Err(not_verified(format!(
            "the ledger does not extend the checkpoint {}: its root of size {size} differs",
            file.display()
        )));
    }
    Ok(actledger_store::KeptCheckpoint {
        checkpoint: text.into_owned(),
        ..kept
    })
}

pub fn who_held_proof(
    ledger: &Ledger,
    office: &str,
    on: actledger_core::Day,
    file: &Path,
    checkpoint: Option<&Path>,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let kept = kept_for(ledger, checkpoint)?;
    let bundle = match actledger_answers::make_bundle(ledger, office, on, &kept) {
        Err(actledger_answers::AnswerError::Proof { reason }) => return Err(not_verified(reason)),
        other => other?,
    };
    write_atomically(file, |w| {
        serde_json::to_writer(&mut *w, &bundle)?;
        Ok(w.write_all(b"\n")?)
    })?;
    print_proven(&bundle.answer, as_json, out)
}

fn print_proven(
    answer: &actledger_answers::ProvenAnswer,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    use actledger_answers::ProvenAnswer;
    if as_json {
        serde_json::to_writer(&mut *out, answer)?;
        writeln!(out)?;
        return Ok(());
    }
    match answer {
        ProvenAnswer::Held(held) => write!(out, "{}", crate::render::who_held_text(held))?,
        ProvenAnswer::Unknown(unknown) => writeln!(
            out,
            "{} on {}: unknown office as of {}",
            unknown.office, unknown.on, unknown.as_of
        )?,
    }
    Ok(())
}

pub fn check_answer(vkey: &str, bundle: &Path, as_json: bool, out: &mut dyn Write) -> Result<()> {
    let vkey = read_vkey(vkey)?;
    let bytes = read_input(Some(bundle))?;
    let checked = actledger_answers::check_bundle(&bytes, &vkey)
        .map_err(|e| not_verified(format!("the answer bundle does not verify: {e}")))?;
    print_checked(&checked, as_json, out)
}

/// A checked answer, and the checkpoint it holds against.
pub(crate) fn print_checked(
    checked: &actledger_answers::CheckedAnswer,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    if as_json {
        serde_json::to_writer(&mut *out, &checked)?;
        writeln!(out)?;
    } else {
        print_proven(&checked.answer, false, out)?;
        writeln!(
            out,
            "checked against the checkpoint of {} at size {}",
            checked.checkpoint.origin, checked.checkpoint.size
        )?;
    }
    Ok(())
}

/// The entry a `prove` argument names: digits are a position, anything else an act.
/// Which events of an act `prove ACT` proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The act's `act_issued` entry (the contract's meaning of `prove ACT`).
    Named,
    /// The event of the act at this position.
    Event(u64),
    /// Every event that names the act.
    All,
}

/// The positions `target` names: a position, or events of an act as `pick` says; with the
/// act's other events, for the hint.
fn target_seqs(ledger: &Ledger, target: &str, pick: Pick) -> Result<(Vec<u64>, Vec<u64>)> {
    if !target.is_empty() && target.bytes().all(|b| b.is_ascii_digit()) {
        if pick != Pick::Named {
            bail!("--event and --all go with an ACT, not a position");
        }
        let seq = target
            .parse()
            .with_context(|| format!("{target} is too large for a position"))?;
        return Ok((vec![seq], Vec::new()));
    }
    let act = actledger_core::ActId::new(target)
        .map_err(|e| anyhow!("{target:?} is neither a position nor an act id: it {e}"))?;
    let events = actledger_core::Recorded::events_of_act(ledger, &act)?;
    let issued = actledger_core::issued_at(ledger, &act)?;
    let chosen = match (pick, issued) {
        (Pick::All, _) if !events.is_empty() => events.clone(),
        (Pick::Event(seq), _) if events.contains(&seq) => vec![seq],
        (Pick::Event(seq), _) if !events.is_empty() => bail!(
            "entry {seq} is not an event of {target}: its events are at {}",
            list(&events)
        ),
        (Pick::Named, Some(seq)) => vec![seq],
        _ => bail!("unknown act {target:?}: no recorded event names it"),
    };
    let others = events.into_iter().filter(|s| !chosen.contains(s)).collect();
    Ok((chosen, others))
}

fn list(seqs: &[u64]) -> String {
    seqs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn prove_inclusion(
    ledger: &Ledger,
    target: &str,
    pick: Pick,
    size: Option<u64>,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let (seqs, others) = target_seqs(ledger, target, pick)?;
    let size = size.unwrap_or(ledger.head().count);
    for (i, seq) in seqs.iter().enumerate() {
        let proof = ledger.inclusion_proof(*seq, size)?;
        if as_json {
            writeln!(out, "{}", serde_json::to_string(&proof)?)?;
            continue;
        }
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(
            out,
            "entry {} is leaf {} of the tree of {} entries",
            proof.seq, proof.leaf_index, proof.tree_size
        )?;
        writeln!(out, "leaf hash {}", hash_to_hex(&proof.leaf_hash))?;
        writeln!(out, "root      {}", hash_to_hex(&ledger.tree_root(size)?))?;
        writeln!(out, "proof ({}):", hashes(proof.proof.len()))?;
        for hash in &proof.proof {
            writeln!(out, "  {}", hash_to_hex(hash))?;
        }
    }
    if !as_json && !others.is_empty() {
        writeln!(
            out,
            "{target} has other events, at {}: prove one with --event SEQ, or all with --all",
            list(&others)
        )?;
    }
    Ok(())
}

fn hashes(n: usize) -> String {
    format!("{n} {}", if n == 1 { "hash" } else { "hashes" })
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
        writeln!(out, "proof ({}):", hashes(proof.proof.len()))?;
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

/// `verify --checkpoint CP --vkey VKEY`: the ledger verified and checked to extend CP, then
/// (the log and the records answers are read from being intact) the state statement of CP's
/// size compared with the state the log implies: `CP.statement` when it exists, else the one
/// kept in the ledger for that size. A statement that signs a false state is exit 3.
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
    // A statement file that is there must hold before anything else is read, as the
    // checkpoint must: it is the monitor's evidence.
    let file = statement_file(checkpoint);
    let beside = open_statement_beside(&file, cp, &vkey)?;
    let file = file.display().to_string();
    let verdict = actledger_store::verify_path_against_waiting(path, cp, scope, wait)
        .map_err(|e| store_error(e, path))?;
    let (verdict, state) = match (verdict, scope) {
        (Verdict::Intact { count, head }, Scope::Everything) => {
            let ledger = crate::commands::open(path, wait)?;
            let state = check_state(&ledger, cp, &vkey, beside, file)?;
            let verdict = crate::commands::with_newest_statement(&ledger, count, head)?;
            (verdict, state)
        }
        (verdict @ Verdict::Intact { .. }, _) => (
            verdict,
            StateCheck::not_checked(cp.size, NotChecked::LogOnly, Some(file), None),
        ),
        (verdict, _) => (
            verdict,
            StateCheck::not_checked(cp.size, NotChecked::LedgerNotVerified, Some(file), None),
        ),
    };
    let answer = VerifyAnswer::new(verdict, scope)
        .against(CheckpointRef {
            origin: cp.origin.clone(),
            size: cp.size,
            root: HexHash(cp.root),
        })
        .with_state(state);
    crate::commands::report_verdict(&answer, as_json, out)
}

/// The statement in `file` (beside the checkpoint), if there is one: it must verify with
/// `vkey` and name `checkpoint`, else exit 3.
fn open_statement_beside(
    file: &Path,
    checkpoint: &Checkpoint,
    vkey: &VerifierKey,
) -> Result<Option<Statement>> {
    if !file.exists() {
        return Ok(None);
    }
    let bytes = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let statement = Statement::open(&bytes, std::slice::from_ref(vkey)).map_err(|e| {
        not_verified(format!(
            "the statement {} does not verify with key {}: {e}",
            file.display(),
            vkey.name()
        ))
    })?;
    if !statement.binds(checkpoint) {
        return Err(not_verified(format!(
            "the statement {} is not of the checkpoint: it does not name its origin, size {} and root",
            file.display(),
            checkpoint.size
        )));
    }
    Ok(Some(statement))
}

/// The state check of an intact ledger against `checkpoint`: the statement `beside` it when
/// there is one, else the one kept for its size when `vkey` signed it, else none.
fn check_state(
    ledger: &Ledger,
    checkpoint: &Checkpoint,
    vkey: &VerifierKey,
    beside: Option<Statement>,
    file: String,
) -> Result<StateCheck> {
    let size = checkpoint.size;
    if let Some(statement) = beside {
        return Ok(check_statement(
            ledger,
            &statement,
            StatementSource::File,
            Some(file),
        )?);
    }
    let Some(kept) = ledger.kept_checkpoint(size)? else {
        return Ok(StateCheck::not_checked(
            size,
            NotChecked::NoStatement,
            Some(file),
            None,
        ));
    };
    let statement = match Statement::open(kept.statement.as_bytes(), std::slice::from_ref(vkey)) {
        Ok(statement) => statement,
        // Signed with another key, it says nothing of this signer's log.
        Err(e) => {
            return Ok(StateCheck::not_checked(
                size,
                NotChecked::KeptUnderAnotherKey,
                Some(file),
                Some(format!("{e} (key {})", vkey.name())),
            ));
        }
    };
    if !statement.binds(checkpoint) {
        // The same key signed this checkpoint and a statement of another log at its size.
        return Err(not_verified(format!(
            "the statement kept for size {size}, signed with key {}, does not name the checkpoint's origin and root: the key signed two different logs of size {size}",
            vkey.name()
        )));
    }
    Ok(check_statement(
        ledger,
        &statement,
        StatementSource::Kept,
        None,
    )?)
}
