//! The `actledger` binary: parses the command line, calls the core and store crates, and
//! prints their answers for people or as JSON. Exit codes: 0 success, 1 error, 2 usage,
//! 3 the ledger was altered, 130 and 143 an `import` stopped by SIGINT or SIGTERM.

mod args;
mod commands;
mod files;
mod mirror;
mod parsing;
mod proofs;
mod render;
mod signals;
mod typed;

use std::io::{self, Write};
use std::process::ExitCode;

/// What a command ends with besides success or an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// All good.
    Clean,
    /// Verification found the ledger altered (exit code 3).
    Altered,
    /// `audit --check` found anomalies (exit code 1, nothing on stderr: they are the answer).
    Anomalies,
}

fn main() -> ExitCode {
    let cli = args::parse();
    // Whatever lock on a ledger this process takes names it, so that another process that
    // finds the ledger in use, or gives up waiting for it, says which one holds it.
    actledger_store::describe_process(&format!(
        "actledger {} (pid {})",
        cli.name,
        std::process::id()
    ));
    let mut stdout = io::stdout().lock();
    match commands::run(cli, &mut stdout)
        .and_then(|f| stdout.flush().map(|()| f).map_err(Into::into))
    {
        Ok(Finding::Clean) => ExitCode::SUCCESS,
        Ok(Finding::Altered) => ExitCode::from(3),
        Ok(Finding::Anomalies) => ExitCode::FAILURE,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            let mut stderr = io::stderr().lock();
            // Nothing more can be done if stderr itself is gone.
            let _ = writeln!(stderr, "error: {error:#}");
            // Usage errors (exit 2) are clap's, before this point.
            if error.chain().any(|cause| cause.is::<proofs::NotVerified>()) {
                ExitCode::from(3)
            } else if let Some(stopped) = error
                .chain()
                .find_map(|cause| cause.downcast_ref::<signals::Stopped>())
            {
                ExitCode::from(stopped.code)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// A reader that stopped reading (`actledger log | head`) is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
