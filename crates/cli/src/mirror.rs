//! Static mirrors: `publish` writes one from the ledger. A mirror that is not this ledger's
//! (another key's checkpoint, another history) is a finding, exit 3, as a checkpoint that does
//! not verify is.

use std::io::Write;
use std::path::Path;

use actledger_mirror::PublishError;
use actledger_store::Ledger;
use anyhow::{Result, anyhow};

use crate::commands::{Unit, print, progress_bar, store_error};
use crate::proofs::{not_verified, read_signer_key};
use crate::render;

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
