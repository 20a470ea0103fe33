//! Lending the ledger to the commands run beside the server: the store's loan protocol
//! (`actledger_store::Lender`), served while the server runs. A command that finds the ledger
//! held by the server borrows it; the server finishes the requests in flight, closes the
//! ledger, waits until the command gives it back, and opens it again. Requests that come
//! meanwhile wait for it, as they wait for a write.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use actledger_store::{Ledger, Lender, LoanRequest, StoreError};

/// The ledger as the routes share it: `None` only when it could not be opened again after a
/// loan (every request then says so).
pub(crate) type SharedLedger = Arc<RwLock<Option<Ledger>>>;

/// How long reopening the ledger after a loan waits for the borrower to let go of it.
const REOPEN_WAIT: Duration = Duration::from_secs(60);

/// Lends the ledger to one borrower after another until `stop` completes; a loan under way
/// is finished first.
pub(crate) async fn lend_until(
    lender: Lender,
    ledger: SharedLedger,
    path: PathBuf,
    holder: String,
    stop: impl std::future::Future<Output = ()>,
) {
    let listener = match lender.listener().try_clone().and_then(|listener| {
        listener.set_nonblocking(true)?;
        tokio::net::UnixListener::from_std(listener)
    }) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("actledger serve: commands cannot borrow the ledger: {e}");
            return;
        }
    };
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let Ok(connection) = accepted.and_then(|(stream, _)| stream.into_std()) else {
            continue;
        };
        let (ledger, path, holder) = (Arc::clone(&ledger), path.clone(), holder.clone());
        // One loan at a time: the next borrower is accepted once this one gave it back.
        let _ = tokio::task::spawn_blocking(move || {
            if let Ok(request) = LoanRequest::read(connection) {
                lend(request, &ledger, &path, &holder);
            }
        })
        .await;
    }
    drop(lender);
}

/// Closes the ledger, lends it until the borrower gives it back, and opens it again.
fn lend(request: LoanRequest, ledger: &RwLock<Option<Ledger>>, path: &Path, holder: &str) {
    // Taken as the writer: the requests in flight finish first, the next ones wait.
    let mut slot = ledger.write().unwrap_or_else(PoisonError::into_inner);
    // Dropping waits until sled and the ledger's lock are let go.
    drop(slot.take());
    request.grant_until_returned();
    *slot = match reopen(path, holder) {
        Ok(reopened) => Some(reopened),
        Err(e) => {
            eprintln!(
                "actledger serve: the ledger could not be opened again after a command borrowed it: {e}"
            );
            None
        }
    };
}

/// Opens the ledger again, waiting for the borrower (or whoever took it meanwhile) to let go,
/// without borrowing it back, and says again who holds it.
fn reopen(path: &Path, holder: &str) -> Result<Ledger, StoreError> {
    let ledger = Ledger::open_waiting_to_hold(path, REOPEN_WAIT)?;
    ledger.describe_holder(holder)?;
    Ok(ledger)
}
