//! One writer at a time: a second opener, in another process or this one, is told at once that
//! the ledger is in use, and the first one's appends are intact.

use std::time::{Duration, Instant};

use actledger_store::{Ledger, StoreError, Verdict, verify_path};

use crate::child::{OPEN_VAR, command};
use crate::common::{batch, ledger_with, numbered_batch, scratch};

#[test]
fn a_second_process_is_told_at_once_that_the_ledger_is_in_use() {
    let s = scratch();
    let mut ledger = ledger_with(&s.path, 2, 4);

    let started = Instant::now();
    let output = command("try_open", OPEN_VAR, &s.path).output().unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = format!(
        "result: the ledger at {} is in use by another process",
        s.path.display()
    );
    assert!(stdout.contains(&expected), "{stdout}");
    assert!(
        elapsed < Duration::from_secs(5),
        "the second process waited {elapsed:?}"
    );

    // The first process goes on appending, and everything holds.
    ledger.append(batch(&numbered_batch(2, 4))).unwrap();
    drop(ledger);
    assert!(matches!(
        verify_path(&s.path).unwrap(),
        Verdict::Intact { count: 12, .. }
    ));

    // Once the first has closed it, the second process opens it.
    let output = command("try_open", OPEN_VAR, &s.path).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("result: opened"));
}

#[test]
fn a_second_open_in_the_same_process_is_in_use_too() {
    let s = scratch();
    let ledger = ledger_with(&s.path, 1, 3);
    let started = Instant::now();
    for result in [
        Ledger::open(&s.path).map(|_| ()),
        verify_path(&s.path).map(|_| ()),
        Ledger::create(&s.path).map(|_| ()),
    ] {
        let error = result.unwrap_err();
        assert!(matches!(error, StoreError::InUse { .. }), "{error:?}");
        assert!(
            !error.to_string().contains("could not acquire lock"),
            "{error}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(ledger);
    // Dropping releases it at once.
    let reopened = Ledger::open(&s.path).unwrap();
    assert_eq!(reopened.head().count, 3);
}

#[test]
fn the_holder_says_who_it_is_and_a_holder_gone_says_nothing() {
    let s = scratch();
    let ledger = ledger_with(&s.path, 1, 3);
    let in_use = || {
        let error = Ledger::open(&s.path).unwrap_err();
        let StoreError::InUse { holder, .. } = &error else {
            panic!("{error:?}");
        };
        (holder.clone(), error.to_string())
    };
    assert_eq!(
        in_use(),
        (
            None,
            format!(
                "the ledger at {} is in use by another process",
                s.path.display()
            )
        )
    );
    ledger
        .describe_holder("actledger serve at http://127.0.0.1:8080 (pid 7)\nmore")
        .unwrap();
    let text = "actledger serve at http://127.0.0.1:8080 (pid 7)";
    assert_eq!(
        in_use(),
        (
            Some(text.to_owned()),
            format!("the ledger at {} is held by {text}", s.path.display())
        )
    );
    let error = Ledger::open_waiting(&s.path, Duration::from_millis(50)).unwrap_err();
    assert!(
        matches!(&error, StoreError::StillInUse { holder: Some(h), .. } if h == text),
        "{error:?}"
    );
    drop(ledger);

    // A description left in the lock file by a holder that was killed describes nobody.
    std::fs::write(
        s.path.join("lock"),
        "actledger serve at http://127.0.0.1:9 (pid 1)",
    )
    .unwrap();
    let ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(in_use().0, None);
    drop(ledger);
}
