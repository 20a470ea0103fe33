//! Running the server: open the ledger, read the token, bind, say who holds the ledger, serve until a
//! signal, finish the requests in flight, let go of the ledger.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actledger_proof::SignerKey;
use actledger_store::{Ledger, Lender, StoreError};

use crate::routes::{AppState, Limits, router};
use crate::token::load_or_create_token;

/// What `actledger serve` is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The ledger's folder (it must exist: `actledger init` makes one).
    pub ledger: PathBuf,
    /// Where to listen.
    pub addr: SocketAddr,
    /// The bearer token for writes: read from this file, or made at random into it (mode
    /// 0600) when it is missing. Without a token file, writes are refused.
    pub token_file: Option<PathBuf>,
    /// The signer key file (from `actledger keygen`) that signs the checkpoints of
    /// `GET /api/v1/checkpoint`. Without one, that route is a 404.
    pub key_file: Option<PathBuf>,
    /// What the server accepts.
    pub limits: Limits,
    /// How long to wait for another process to let go of the ledger before giving up
    /// (zero: fail at once when it is in use).
    pub wait: std::time::Duration,
}

/// The default address: loopback only, port 8080.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

impl ServerConfig {
    /// Serving the ledger at `ledger` on 127.0.0.1:8080, read-only, with the default limits.
    pub fn new(ledger: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            ledger: ledger.into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token_file: None,
            key_file: None,
            limits: Limits::default(),
            wait: std::time::Duration::ZERO,
        }
    }
}

/// A server that holds a ledger: where it listens and which process it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its process id.
    pub pid: u32,
}

impl ServerInfo {
    /// The base URL of the server (`http://ADDR`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// How the server describes itself as the ledger's holder, and in its first line of output.
impl std::fmt::Display for ServerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "actledger serve at {} (pid {})", self.url(), self.pid)
    }
}

/// Why the server could not start or stopped with an error.
///
/// A message names what failed; an I/O error behind it is its [`source`](std::error::Error::source),
/// not part of the message: print the whole chain (anyhow's `{:#}`) to show it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The ledger could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The ledger does not verify (its log, or a record answers are read from): it is not
    /// served, so that no answer comes from a record nobody checked.
    #[error(
        "the ledger at {} does not verify, so it is not served: {verdict} (`actledger verify` lists every finding; `actledger repair` rebuilds derived records from an intact log)",
        .path.display()
    )]
    NotVerified {
        /// The ledger's folder.
        path: PathBuf,
        /// What verification found.
        verdict: Box<actledger_store::Verdict>,
    },
    /// The token file could not be read or made.
    #[error("{what} the token file {}", .path.display())]
    Token {
        /// What was being done.
        what: &'static str,
        /// The token file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The token file holds nothing but white space.
    #[error("the token file {} is empty: put a token in it, or remove it to have one made", .path.display())]
    EmptyToken {
        /// The token file.
        path: PathBuf,
    },
    /// The signer key file could not be read or is not a signer key.
    #[error("the signer key file {}: {reason}", .path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The address could not be listened on.
    #[error("listening on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving HTTP")]
    Serve(#[source] std::io::Error),
    /// The async runtime could not be started.
    #[error("starting the async runtime")]
    Runtime(#[source] std::io::Error),
    /// A task of the server failed.
    #[error("a task of the server failed: {0}")]
    Task(String),
}

/// A server that holds its ledger and listens, not serving yet.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    lender: Lender,
    ledger_path: PathBuf,
    state: AppState,
    info: ServerInfo,
    token_created: Option<PathBuf>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServerError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServerError::Task(e.to_string()))
}

fn read_signer(path: &Path) -> Result<SignerKey, ServerError> {
    let failed = |reason: String| ServerError::Key {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    SignerKey::parse(text.trim())
        .map_err(|e| failed(format!("not a signer key (PRIVATE+KEY+...): {e}")))
}

impl Server {
    /// Opens the ledger (holding its lock from now on), reads the signer key, reads or makes
    /// the token, listens on the address and describes itself as the ledger's holder.
    pub async fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        let path = config.ledger.clone();
        let wait = config.wait;
        let ledger = blocking(move || Ledger::open_waiting_to_hold(&path, wait)).await??;
        // Derived records can be edited while no server runs: every record an answer is read
        // from is compared with the log before the first answer (docs/DESIGN.md).
        let (ledger, verdict) = blocking(move || {
            let verdict = ledger.verify();
            (ledger, verdict)
        })
        .await?;
        let verified = match verdict? {
            actledger_store::Verdict::Intact { count, .. } => crate::routes::Verified {
                at: actledger_store::format_time(chrono::Utc::now()),
                size: count,
            },
            other => {
                return Err(ServerError::NotVerified {
                    path: config.ledger.clone(),
                    verdict: Box::new(other),
                });
            }
        };
        let signer = match config.key_file.clone() {
            Some(file) => Some(blocking(move || read_signer(&file)).await??),
            None => None,
        };
        let mut token_created = None;
        let token = match config.token_file.clone() {
            Some(file) => {
                let (token, created) = blocking({
                    let file = file.clone();
                    move || load_or_create_token(&file)
                })
                .await??;
                if created {
                    token_created = Some(file);
                }
                Some(token)
            }
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.addr,
            source,
        })?;
        let info = ServerInfo {
            addr,
            pid: std::process::id(),
        };
        // An opener refused while the server runs is told which server holds the ledger, and
        // commands borrow it (crate::lending).
        ledger.describe_holder(&info.to_string())?;
        let lender = Lender::listen(&config.ledger)?;
        let mut state =
            AppState::new(ledger, token.as_deref(), config.limits).with_verified(verified);
        if let Some(key) = signer {
            state = state.with_signer(key);
        }
        Ok(Server {
            listener,
            lender,
            ledger_path: config.ledger,
            state,
            info,
            token_created,
        })
    }

    /// Where it listens, and which process it is.
    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// The token file made at random by [`Server::bind`], if it made one.
    pub fn token_created(&self) -> Option<&Path> {
        self.token_created.as_deref()
    }

    /// Serves until `shutdown` completes, then stops taking connections, finishes the
    /// requests in flight and lets go of the ledger.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let Server {
            listener,
            lender,
            ledger_path,
            state,
            info,
            ..
        } = self;
        let ledger = Arc::clone(&state.ledger);
        let (stop_lending, lending_stopped) = tokio::sync::oneshot::channel::<()>();
        let lending = tokio::spawn(crate::lending::lend_until(
            lender,
            Arc::clone(&ledger),
            ledger_path,
            info.to_string(),
            async {
                let _ = lending_stopped.await;
            },
        ));
        let served = axum::serve(listener, router(state))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServerError::Serve);
        // A loan under way ends first; then nobody borrows any more.
        let _ = stop_lending.send(());
        let _ = lending.await;
        // Dropping the ledger waits for sled to release its lock: off the async threads.
        blocking(move || drop(ledger)).await?;
        served
    }
}

/// Serves `config` until SIGINT or SIGTERM. See [`Server`] to learn the address first.
pub async fn serve(config: ServerConfig) -> Result<(), ServerError> {
    Server::bind(config)
        .await?
        .run_until(shutdown_signal())
        .await
}

/// [`serve`] on a runtime of its own, for callers without one (the CLI). `ready` is called
/// once the server listens, with where it listens and the token file it made, if any.
pub fn serve_blocking(
    config: ServerConfig,
    ready: impl FnOnce(&ServerInfo, Option<&Path>),
) -> Result<(), ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServerError::Runtime)?;
    runtime.block_on(async {
        let server = Server::bind(config).await?;
        ready(server.info(), server.token_created());
        server.run_until(shutdown_signal()).await
    })
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        // Without a handler, waiting forever is right: SIGTERM may still come.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
