//! Lending: the holder of a ledger that listens for borrowers (`Lender`) closes it when asked
//! and opens it again once given back; a borrower that waits opens it as if nobody held it.

use std::path::Path;
use std::time::{Duration, Instant};

use actledger_store::{LOAN_SOCKET, Ledger, Lender, StoreError};

use crate::common::{ledger_with, scratch};

/// Holds the ledger at `path` and lends it to `loans` borrowers, one after another, on a
/// thread; returns the head the holder saw after the last loan.
fn holder_lending(path: &Path, loans: usize) -> std::thread::JoinHandle<u64> {
    let path = path.to_owned();
    let mut held = Some(Ledger::open(&path).unwrap());
    let lender = Lender::listen(&path).unwrap();
    std::thread::spawn(move || {
        for _ in 0..loans {
            let request = lender.next().unwrap();
            drop(held.take());
            request.grant_until_returned();
            held = Some(reopen(&path));
        }
        held.unwrap().head().count
    })
}

/// Opens the ledger, waiting for whoever has it (the borrower letting go), as a lender does.
fn reopen(path: &Path) -> Ledger {
    let started = Instant::now();
    loop {
        match Ledger::open(path) {
            Err(StoreError::InUse { .. }) if started.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(2));
            }
            other => return other.unwrap(),
        }
    }
}

/// Waits until the holder has the ledger again (an opener would borrow it, not find it free).
fn held_again(path: &Path) {
    let started = Instant::now();
    loop {
        match Ledger::open(path) {
            Err(StoreError::InUse { .. }) => return,
            // Not yet: let go at once, so that the holder gets it.
            Ok(ledger) => drop(ledger),
            Err(e) => panic!("{e}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the holder never reopened"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_waiting_opener_borrows_the_ledger_and_the_holder_gets_it_back() {
    let s = scratch();
    drop(ledger_with(&s.path, 2, 3));
    let holder = holder_lending(&s.path, 2);
    // Without waiting: in use, and nothing borrowed.
    assert!(matches!(
        Ledger::open_waiting(&s.path, Duration::ZERO),
        Err(StoreError::InUse { .. })
    ));
    for loan in 0..2 {
        let ledger = Ledger::open_waiting(&s.path, Duration::from_secs(10)).unwrap();
        assert_eq!(ledger.head().count, 6);
        // While it is lent, the holder has let go: a third opener finds it held by the
        // borrower, not by the holder.
        assert!(matches!(
            Ledger::open(&s.path),
            Err(StoreError::InUse { .. })
        ));
        drop(ledger);
        if loan == 0 {
            held_again(&s.path);
        }
    }
    assert_eq!(holder.join().unwrap(), 6);
    assert!(
        !s.path.join(LOAN_SOCKET).exists(),
        "the socket outlived its lender"
    );
}

#[test]
fn lending_works_where_the_socket_path_is_longer_than_a_socket_address_holds() {
    let s = scratch();
    let deep = s.path.join("a".repeat(60)).join("b".repeat(60));
    std::fs::create_dir_all(&deep).unwrap();
    let path = deep.join("ledger");
    assert!(path.join(LOAN_SOCKET).as_os_str().len() > 108);
    drop(ledger_with(&path, 1, 2));
    let holder = holder_lending(&path, 1);
    let ledger = Ledger::open_waiting(&path, Duration::from_secs(10)).unwrap();
    assert_eq!(ledger.head().count, 2);
    drop(ledger);
    assert_eq!(holder.join().unwrap(), 2);
}

#[test]
fn a_holder_that_does_not_lend_in_time_leaves_the_waiter_still_in_use() {
    let s = scratch();
    drop(ledger_with(&s.path, 1, 2));
    let _held = Ledger::open(&s.path).unwrap();
    // Listening, but never answering.
    let _lender = Lender::listen(&s.path).unwrap();
    let started = std::time::Instant::now();
    let error = Ledger::open_waiting(&s.path, Duration::from_millis(400)).unwrap_err();
    assert!(matches!(error, StoreError::StillInUse { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
