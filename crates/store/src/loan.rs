//! Lending the ledger: a process that holds a ledger for long (`serve`) lets a command that
//! needs it have it for a while, so that readers share a ledger with a running server and each
//! gets the answer it would get alone, read from the files by the same code.
//!
//! The lender listens on a Unix socket in the ledger's folder ([`LOAN_SOCKET`]). A borrower
//! that finds the ledger in use connects and asks (`lend`); the lender finishes what it was
//! doing, closes the ledger (letting go of its lock), and answers `ok`; the borrower takes the
//! lock as if nobody held it. When the borrower closes the connection (its [`Ledger`] is
//! dropped, or the process ends, even killed), the lender opens the ledger again. Borrowers
//! queue on the socket: the lender lends to one at a time.
//!
//! The socket sits in the ledger's folder, so only who may open the ledger's files may ask:
//! a borrower gains nothing the files did not already give it. The loan changes no answer:
//! the borrower opens, checks and reads the ledger exactly as when nobody holds it.
//!
//! [`Ledger`]: crate::Ledger

use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::StoreError;

/// The socket's name in the ledger's folder.
pub const LOAN_SOCKET: &str = "lend.sock";

/// What a borrower sends, and what the lender answers once the ledger is closed.
const ASK: &[u8] = b"lend\n";
const GRANTED: &[u8] = b"ok\n";

/// The longest path a Unix socket address holds (`sun_path`, less its final NUL).
const SOCKET_PATH_MAX: usize = 107;

/// A loan of the ledger, held by the borrower: dropping it gives the ledger back.
#[derive(Debug)]
pub struct Loan {
    _connection: UnixStream,
}

/// Asks the lender of the ledger in `dir`, if there is one, to lend it, waiting up to `wait`
/// for the lender to close it. `None` when nobody lends it (no socket, or a socket left by a
/// lender that is gone) or the lender did not close it in time.
pub(crate) fn borrow(dir: &Path, wait: Duration) -> Option<Loan> {
    let socket = dir.join(LOAN_SOCKET);
    if wait.is_zero() || !socket.exists() {
        return None;
    }
    let mut connection = connect(&socket).ok()?;
    connection.set_read_timeout(Some(wait)).ok()?;
    connection.write_all(ASK).ok()?;
    let mut answer = [0u8; GRANTED.len()];
    connection.read_exact(&mut answer).ok()?;
    (answer == GRANTED).then_some(Loan {
        _connection: connection,
    })
}

/// Connects to the socket at `path`, through the folder's descriptor when the path is longer
/// than a socket address holds.
fn connect(path: &Path) -> io::Result<UnixStream> {
    match short_path(path)? {
        ShortPath::Direct => UnixStream::connect(path),
        ShortPath::Through { path, _dir } => UnixStream::connect(path),
    }
}

/// A path to the socket that fits a socket address.
enum ShortPath {
    /// The path itself fits.
    Direct,
    /// `/proc/self/fd/N/NAME`, N an open descriptor of the folder, kept open while used.
    Through { path: PathBuf, _dir: std::fs::File },
}

fn short_path(path: &Path) -> io::Result<ShortPath> {
    if path.as_os_str().len() <= SOCKET_PATH_MAX {
        return Ok(ShortPath::Direct);
    }
    use std::os::fd::AsRawFd as _;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(ShortPath::Direct);
    };
    let dir = std::fs::File::open(dir)?;
    let short = Path::new("/proc/self/fd")
        .join(dir.as_raw_fd().to_string())
        .join(name);
    Ok(ShortPath::Through {
        path: short,
        _dir: dir,
    })
}

/// The lender's socket for the ledger in `dir`. Removes the socket file when dropped.
#[derive(Debug)]
pub struct Lender {
    listener: UnixListener,
    socket: PathBuf,
}

impl Lender {
    /// Listens for borrowers of the ledger in `dir`, which the caller holds. A socket file left
    /// by a lender that is gone is replaced (only the ledger's holder lends it, and the caller
    /// holds it).
    pub fn listen(dir: &Path) -> Result<Lender, StoreError> {
        let socket = dir.join(LOAN_SOCKET);
        let failed = |source| StoreError::Io {
            what: "listening for borrowers on".into(),
            path: socket.clone(),
            source,
        };
        match std::fs::remove_file(&socket) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(failed(e)),
            _ => {}
        }
        let listener = match short_path(&socket).map_err(failed)? {
            ShortPath::Direct => UnixListener::bind(&socket),
            ShortPath::Through { path, _dir } => UnixListener::bind(path),
        }
        .map_err(failed)?;
        Ok(Lender { listener, socket })
    }

    /// The listening socket, for a caller that accepts borrowers itself (an async runtime's
    /// listener); each accepted connection goes to [`LoanRequest::read`].
    pub fn listener(&self) -> &UnixListener {
        &self.listener
    }

    /// Waits for the next borrower and reads its request.
    pub fn next(&self) -> io::Result<LoanRequest> {
        let (connection, _) = self.listener.accept()?;
        LoanRequest::read(connection)
    }
}

impl Drop for Lender {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// A borrower's request, read and not yet granted.
#[derive(Debug)]
pub struct LoanRequest {
    connection: UnixStream,
}

/// How long a connection may take to say what it wants.
const REQUEST_WAIT: Duration = Duration::from_secs(5);

impl LoanRequest {
    /// Reads a borrower's request from a connection to the lender's socket.
    pub fn read(connection: UnixStream) -> io::Result<LoanRequest> {
        connection.set_nonblocking(false)?;
        connection.set_read_timeout(Some(REQUEST_WAIT))?;
        let mut line = Vec::with_capacity(ASK.len());
        BufReader::new(&connection)
            .take(ASK.len() as u64)
            .read_until(b'\n', &mut line)?;
        if line != ASK {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a request for the ledger",
            ));
        }
        Ok(LoanRequest { connection })
    }

    /// Tells the borrower the ledger is closed (the caller closed it first), then waits until
    /// the borrower gives it back: it closes the connection, or its process ends. Returns at
    /// once when the borrower is already gone (it gave up waiting).
    pub fn grant_until_returned(self) {
        let mut connection = self.connection;
        if connection.write_all(GRANTED).is_err() || connection.set_read_timeout(None).is_err() {
            return;
        }
        // The borrower never writes again: any read that returns means it is done.
        let mut rest = [0u8; 64];
        while let Ok(n) = connection.read(&mut rest) {
            if n == 0 {
                break;
            }
        }
    }
}
