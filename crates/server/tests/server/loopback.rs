//! The server over a real loopback port: an HTTP client, the marker that tells who holds the
//! ledger, a write with a token made at random, and a graceful shutdown that finishes the
//! request in flight.

use std::time::Duration;

use actledger_server::{Limits, Server, ServerConfig};
use actledger_store::{Ledger, StoreError};
use axum::http::{Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_loopback_and_shuts_down_gracefully() {
    let fixture = Fixture::seed();
    let token_file = fixture.dir.path().join("token");
    let key = actledger_proof::SignerKey::from_seed("example.org/actledger", [7; 32]).unwrap();
    let key_file = fixture.dir.path().join("example.org_actledger.key");
    std::fs::write(&key_file, format!("{}\n", key.encode())).unwrap();
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        token_file: Some(token_file.clone()),
        key_file: Some(key_file),
        limits: Limits::default(),
        ..ServerConfig::new(fixture.path())
    };
    let server = Server::bind(config).await.unwrap();
    let info = server.info().clone();
    assert_eq!(server.token_created(), Some(token_file.as_path()));
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_owned();

    // The ledger is held, and says by whom.
    let path = fixture.path().to_owned();
    let second = tokio::task::spawn_blocking(move || Ledger::open(&path))
        .await
        .unwrap();
    let Err(StoreError::InUse {
        holder: Some(held), ..
    }) = &second
    else {
        panic!("{second:?}");
    };
    assert_eq!(*held, info.to_string());
    assert_eq!(
        second.unwrap_err().to_string(),
        format!(
            "the ledger at {} is held by actledger serve at http://{} (pid {})",
            fixture.path().display(),
            info.addr,
            std::process::id()
        )
    );

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    let base = info.url();

    // An HTTP client, gzip asked for.
    let client: Client<_, Full<axum::body::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let response = client
        .request(
            Request::get(format!("{base}/api/v1/offices/MINDEF/holder?on=2024-06-03"))
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Full::default())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
    let zipped = response.into_body().collect().await.unwrap().to_bytes();
    let mut body = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut body)
        .unwrap();
    assert_eq!(body, WHO_HELD_SEED);

    // The checkpoint, signed with the key file's key.
    let response = client
        .request(
            Request::get(format!("{base}/api/v1/checkpoint"))
                .body(Full::default())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let note = response.into_body().collect().await.unwrap().to_bytes();
    let opened = actledger_proof::Checkpoint::open(&note, &[key.verifier_key().clone()]).unwrap();
    assert_eq!(opened.checkpoint.size, 7);

    // A write with the token the server made.
    let response = client
        .request(
            Request::post(format!("{base}/api/v1/events"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::from(
                    r#"{"type":"act_issued","act":"RS-300-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-08-01"}"#,
                ))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    // A write in flight when the shutdown comes: its body arrives after, and it is answered.
    let event = r#"{"type":"act_issued","act":"RS-301-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-08-02"}"#;
    let mut stream = tokio::net::TcpStream::connect(info.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        info.addr,
        event.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&event.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !running.is_finished(),
        "the server stopped with a request in flight"
    );
    stream.write_all(&event.as_bytes()[10..]).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 201"), "{reply}");
    drop(client);
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the server stops once the request is answered")
        .unwrap()
        .unwrap();

    // Gone: the ledger opens, with both writes, and its lock describes nobody.
    let ledger = fixture.open();
    assert_eq!(ledger.head().count, 9);
    let path = fixture.path().to_owned();
    let error = std::thread::spawn(move || Ledger::open(&path).unwrap_err())
        .join()
        .unwrap();
    assert!(
        matches!(error, StoreError::InUse { holder: None, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_second_server_on_the_same_ledger_names_the_first() {
    let fixture = Fixture::seed();
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::new(fixture.path())
    };
    let first = Server::bind(config.clone()).await.unwrap();
    let error = Server::bind(config.clone()).await.unwrap_err().to_string();
    assert_eq!(
        error,
        format!(
            "the ledger at {} is held by actledger serve at http://{} (pid {})",
            fixture.path().display(),
            first.info().addr,
            std::process::id()
        )
    );
    drop(first);
}

#[tokio::test]
async fn a_bad_key_file_is_refused_at_start() {
    let fixture = Fixture::seed();
    let key_file = fixture.dir.path().join("bad.key");
    std::fs::write(&key_file, "not a key\n").unwrap();
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        key_file: Some(key_file.clone()),
        ..ServerConfig::new(fixture.path())
    };
    let error = Server::bind(config).await.unwrap_err().to_string();
    assert!(
        error.starts_with(&format!(
            "the signer key file {}: not a signer key",
            key_file.display()
        )),
        "{error}"
    );
    // The ledger is free.
    drop(fixture.open());
}

/// Derived records can be edited while no server runs: a server verifies the whole ledger
/// before it listens, refuses one whose records differ from the log, and says in `/healthz`
/// when it verified the one it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_verifies_the_ledger_before_answering_and_refuses_a_forged_record() {
    let fixture = Fixture::seed();
    let config = || ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::new(fixture.path())
    };

    let server = Server::bind(config()).await.unwrap();
    let base = server.info().url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    let client: Client<_, Full<axum::body::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let response = client
        .request(
            Request::get(format!("{base}/healthz"))
                .body(Full::default())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let health: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(health["verified"]["size"], 7, "{health}");
    assert_eq!(
        health["verified"]["at"].as_str().map(str::len),
        Some(27),
        "{health}"
    );
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();

    // An insider removes MINDEF's posting block while no server runs: who-held MINDEF would
    // answer from what is left. The server does not start.
    let path = fixture.path().to_owned();
    tokio::task::spawn_blocking(move || {
        let db = actledger_store::testing::Sled::open(&path).unwrap();
        let key: Vec<u8> = db
            .scan_prefix(b"OMINDEF\0")
            .keys()
            .next()
            .unwrap()
            .unwrap()
            .to_vec();
        db.remove(key).unwrap();
        db.flush().unwrap();
    })
    .await
    .unwrap();
    let refused = Server::bind(config()).await;
    match refused {
        Err(actledger_server::ServerError::NotVerified { verdict, .. }) => {
            let actledger_store::Verdict::Diverged { findings, .. } = *verdict else {
                panic!("{verdict}");
            };
            assert!(
                findings.concern(&[actledger_store::Table::OfficePostings]),
                "{findings:?}"
            );
        }
        other => panic!("a forged ledger was served: {other:?}"),
    }
}
