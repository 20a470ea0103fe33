//! Ctrl-C (SIGINT) and SIGTERM during a command that stops cleanly when asked (`import`, and
//! the compaction after an `append`).
//!
//! While a [`Stop`] lives, the first of these signals only sets a flag, which the store checks
//! between lines; the command then removes what it built, says so in one line and exits with
//! 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell reports a process
//! the signal ended (an `append` whose compaction stopped exits 0 instead: its batch is
//! recorded). A second signal ends the process at once with that code: the way out of a
//! read that waits on a terminal or a pipe for input that never comes; what it leaves (a
//! staging folder) is removed by the next `import` or `init` of the same ledger.
//!
//! signal-hook rather than ctrlc: ctrlc's handler is not told which signal came (its
//! `termination` feature sends SIGINT, SIGTERM and SIGHUP to the same handler), so the exit
//! code could not say which, and it has no second-signal exit.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

/// The exit code of a process that a signal ended: 128 + its number.
fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(u8::MAX)
}

/// Ctrl-C and SIGTERM caught as a request to stop, until dropped; after that, either ends the
/// process at once with its exit code, as by default.
#[derive(Debug)]
pub(crate) struct Stop {
    requested: Arc<AtomicBool>,
    /// The exit code of the signal that asked (0 while none did).
    code: Arc<AtomicUsize>,
}

impl Stop {
    /// Catches SIGINT and SIGTERM from now on.
    pub(crate) fn catch() -> std::io::Result<Stop> {
        let stop = Stop {
            requested: Arc::new(AtomicBool::new(false)),
            code: Arc::new(AtomicUsize::new(0)),
        };
        for signal in [SIGINT, SIGTERM] {
            let code = exit_code(signal);
            // In this order: a second signal finds the flag set by the first and exits; the
            // first one finds it clear, records its code, then sets it.
            flag::register_conditional_shutdown(
                signal,
                i32::from(code),
                Arc::clone(&stop.requested),
            )?;
            flag::register_usize(signal, Arc::clone(&stop.code), usize::from(code))?;
            flag::register(signal, Arc::clone(&stop.requested))?;
        }
        Ok(stop)
    }

    /// The flag a signal sets: what the store checks.
    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.requested
    }

    /// The exit code of the signal that asked to stop (130 if none said which).
    pub(crate) fn code(&self) -> u8 {
        u8::try_from(self.code.load(Ordering::SeqCst))
            .ok()
            .filter(|code| *code != 0)
            .unwrap_or_else(|| exit_code(SIGINT))
    }
}

impl Drop for Stop {
    fn drop(&mut self) {
        // The handlers stay (unregistering the last one would leave the signal ignored, not
        // back to its default); with the flag set, the next signal ends the process at once.
        self.requested.store(true, Ordering::SeqCst);
    }
}

/// A command stopped by a signal, having cleaned up: its message, and the exit code that
/// says which signal (`main` exits with it).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Stopped {
    /// What was (not) done, one line.
    pub message: String,
    /// 128 + the signal's number.
    pub code: u8,
}
