//! Serves a ledger, as `actledger serve` will once the CLI wires it: for trying the server by
//! hand and for `bench/load.sh`.
//!
//! ```sh
//! cargo run -p actledger-server --example serve -- LEDGER [ADDR] [TOKEN_FILE]
//! ```

use std::path::PathBuf;

use actledger_server::{ServerConfig, serve_blocking};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let Some(ledger) = args.next() else {
        return Err("usage: serve LEDGER [ADDR] [TOKEN_FILE]".into());
    };
    let mut config = ServerConfig::new(PathBuf::from(ledger));
    if let Some(addr) = args.next() {
        config.addr = addr.to_string_lossy().parse()?;
    }
    config.token_file = args.next().map(PathBuf::from);
    serve_blocking(config, |info, token| {
        eprintln!("serving at {}", info.url());
        if let Some(token) = token {
            eprintln!("made a write token in {}", token.display());
        }
    })?;
    Ok(())
}
