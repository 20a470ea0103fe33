//! Static mirrors: `publish` writes one from the ledger, `clone` makes a ledger from one. A mirror that is not this ledger's
//! (another key's checkpoint, another history) is a finding, exit 3, as a checkpoint that does
//! not verify is.

use std::io::Write;
use std::path::Path;

use actledger_mirror::{CloneError, PublishError};
use actledger_store::{ImportError, Importing, Ledger};
use anyhow::{Context, Result, anyhow};

use crate::commands::{Unit, print, progress_bar, store_error};
use crate::files::write_atomically;
use crate::proofs::{not_verified, print_checked, read_signer_key, read_vkey};
use crate::render;
use crate::signals::{Stop, Stopped};

pub fn publish(
    ledger: &Ledger,
    ledger_path: &Path,
    dir: &Path,
    key_file: &Path,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let key = read_signer_key(key_file)?;
    let refused = |e: PublishError| match e {
        PublishError::Store(store) => store_error(store, ledger_path),
        mismatch if mismatch.is_mismatch() => not_verified(format!("{mismatch}")),
        other => anyhow!(other).context("the mirror's checkpoint was left as it was"),
    };
    // A folder that is not this ledger's mirror is refused before a checkpoint is signed and
    // kept for it.
    actledger_mirror::published_size(ledger, dir, key.verifier_key()).map_err(refused)?;
    let signed = actledger_answers::sign_checkpoint(ledger, &key)?;
    let bar = progress_bar(Some(signed.size), "publishing", Unit::Entries);
    let published = actledger_mirror::publish(ledger, dir, &signed, &mut |done| {
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let published = published.map_err(refused)?;
    print(out, as_json, &published, |published| {
        render::published_text(published, dir)
    })
}

pub fn clone(
    source: &str,
    ledger_path: &Path,
    vkey: &str,
    wait: std::time::Duration,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let vkey = read_vkey(vkey)?;
    // Ctrl-C or SIGTERM stops the import of a new clone between lines; nothing is left.
    let stop = Stop::catch().context("catching Ctrl-C and SIGTERM")?;
    let how = Importing {
        wait,
        stop: Some(stop.flag()),
    };
    let bar = progress_bar(None, "cloning", Unit::Bytes);
    let cloned = actledger_mirror::clone_mirror(source, ledger_path, &vkey, how, &mut |done| {
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let cloned = cloned.map_err(|e| match e {
        mismatch if mismatch.is_mismatch() => {
            not_verified(format!("{mismatch}; nothing was cloned"))
        }
        CloneError::Store(store) => store_error(store, ledger_path),
        CloneError::Import(ImportError::Store(store)) => {
            store_error(store, ledger_path).context("nothing was cloned")
        }
        CloneError::Import(e @ ImportError::Interrupted { .. }) => anyhow!(Stopped {
            message: e.to_string(),
            code: stop.code(),
        }),
        other => anyhow!(other).context("nothing was cloned"),
    })?;
    drop(stop);
    print(out, as_json, &cloned, |cloned| {
        render::cloned_text(cloned, ledger_path)
    })
}

pub fn fetch_answer(
    source: &str,
    office: &str,
    on: actledger_core::Day,
    vkey: &str,
    proof: Option<&Path>,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let vkey = read_vkey(vkey)?;
    let bundle = actledger_mirror::bundle_from_mirror(source, &vkey, office, on).map_err(|e| {
        if e.is_mismatch() {
            not_verified(format!("{e}"))
        } else {
            anyhow!(e).context(format!("no answer was made from the mirror at {source}"))
        }
    })?;
    let bytes = serde_json::to_vec(&bundle)?;
    // Checked as `check-answer` would check it: what is printed is what anyone can verify.
    let checked = actledger_answers::check_bundle(&bytes, &vkey).map_err(|e| {
        not_verified(format!(
            "the answer made from the mirror does not verify: {e}"
        ))
    })?;
    if let Some(file) = proof {
        write_atomically(file, |w| {
            w.write_all(&bytes)?;
            Ok(w.write_all(b"\n")?)
        })?;
    }
    print_checked(&checked, as_json, out)
}
