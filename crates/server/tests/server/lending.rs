//! Commands beside a running server: the server lends its ledger to any opener that waits
//! (`Ledger::open_waiting`), serves again once it is given back, and answers the requests that
//! came meanwhile after it.

use std::time::Duration;

use actledger_core::parse_batch;
use actledger_server::{Server, ServerConfig};
use actledger_store::{LOAN_SOCKET, Ledger, StoreError};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::common::*;

const LATER_ACT: &str = r#"{"type":"act_issued","act":"RS-300-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-08-01"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_lends_its_ledger_to_commands_and_serves_what_they_wrote() {
    let fixture = Fixture::seed();
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::new(fixture.path())
    };
    let server = Server::bind(config).await.unwrap();
    let base = server.info().url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    let client: Client<_, Full<axum::body::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let get = |route: &str| {
        let request = axum::http::Request::get(format!("{base}{route}"))
            .body(Full::default())
            .unwrap();
        let response = client.request(request);
        async move {
            let response = response.await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };

    // Without waiting, the ledger is in use, as before.
    let path = fixture.path().to_owned();
    let refused = tokio::task::spawn_blocking(move || Ledger::open_waiting(&path, Duration::ZERO))
        .await
        .unwrap();
    assert!(
        matches!(refused, Err(StoreError::InUse { .. })),
        "{refused:?}"
    );

    // Waiting, it is lent: a command reads and writes it as if nobody held it.
    let path = fixture.path().to_owned();
    let (lent_tx, lent_rx) = std::sync::mpsc::channel();
    let (give_back, given_back) = std::sync::mpsc::channel::<()>();
    let borrower = std::thread::spawn(move || {
        let mut ledger = Ledger::open_waiting(&path, Duration::from_secs(10)).unwrap();
        assert_eq!(ledger.head().count, 7);
        ledger
            .append(parse_batch(LATER_ACT.as_bytes()).unwrap())
            .unwrap();
        lent_tx.send(()).unwrap();
        given_back.recv().unwrap();
        drop(ledger);
    });
    tokio::task::spawn_blocking(move || lent_rx.recv_timeout(Duration::from_secs(20)).unwrap())
        .await
        .unwrap();

    // A request while the ledger is lent waits for it, then sees what the command wrote.
    let waiting = tokio::spawn(get("/healthz"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "answered while the ledger was lent");
    give_back.send(()).unwrap();
    borrower.join().unwrap();
    let (status, body) = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    assert!(body.contains(r#""size":8"#), "{body}");

    // Eight borrowers at once: each gets the ledger in turn and reads what one alone reads.
    let borrowers: Vec<_> = (0..8)
        .map(|_| {
            let path = fixture.path().to_owned();
            std::thread::spawn(move || {
                let ledger = Ledger::open_waiting(&path, Duration::from_secs(30)).unwrap();
                ledger.head()
            })
        })
        .collect();
    let heads: Vec<_> = borrowers.into_iter().map(|b| b.join().unwrap()).collect();
    assert!(
        heads
            .iter()
            .all(|head| *head == heads[0] && head.count == 8)
    );
    let (status, body) = get("/api/v1/offices/MINDEF/holder?on=2024-06-03").await;
    assert_eq!(status, 200);
    assert_eq!(body, WHO_HELD_SEED.replace(r#""as_of":7"#, r#""as_of":8"#));

    // Stopped, the server takes its socket away and lets go of the ledger.
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!fixture.path().join(LOAN_SOCKET).exists());
    assert_eq!(fixture.open().head().count, 8);
}

#[tokio::test]
async fn a_socket_left_by_a_server_that_died_neither_blocks_waiters_nor_the_next_server() {
    let fixture = Fixture::seed();
    // What a killed server leaves: a socket file nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(fixture.path().join(LOAN_SOCKET)).unwrap());
    assert!(fixture.path().join(LOAN_SOCKET).exists());
    let path = fixture.path().to_owned();
    let ledger = tokio::task::spawn_blocking(move || {
        Ledger::open_waiting(&path, Duration::from_secs(5)).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(ledger.head().count, 7);
    drop(ledger);
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::new(fixture.path())
    };
    let server = Server::bind(config).await.unwrap();
    let path = fixture.path().to_owned();
    let running = tokio::spawn(server.run_until(std::future::pending()));
    let head = tokio::task::spawn_blocking(move || {
        Ledger::open_waiting(&path, Duration::from_secs(10))
            .unwrap()
            .head()
    })
    .await
    .unwrap();
    assert_eq!(head.count, 7);
    running.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_waits_for_the_ledger_but_never_borrows_it() {
    let fixture = Fixture::seed();
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::new(fixture.path())
    };
    let first = Server::bind(config.clone()).await.unwrap();
    let first_info = first.info().clone();
    let running = tokio::spawn(first.run_until(std::future::pending()));
    let second = Server::bind(ServerConfig {
        wait: Duration::from_millis(500),
        ..config
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(
        second.contains(&format!("is still held by {first_info}")),
        "{second}"
    );
    // The first still holds and lends its ledger.
    assert!(fixture.path().join(LOAN_SOCKET).exists());
    let path = fixture.path().to_owned();
    let head = tokio::task::spawn_blocking(move || {
        Ledger::open_waiting(&path, Duration::from_secs(10))
            .unwrap()
            .head()
    })
    .await
    .unwrap();
    assert_eq!(head.count, 7);
    running.abort();
}
