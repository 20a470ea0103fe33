//! `actledger-gen`: writes a deterministic stream of valid events as NDJSON.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use actledger_gen::Generator;

/// Writes N realistic, valid events as NDJSON, the same bytes for the same N and seed.
///
/// Exit codes: 0 success (a closed pipe included), 1 an error (a file that cannot be
/// written), 2 a usage error.
#[derive(Debug, Parser)]
#[command(name = "actledger-gen", version)]
struct Args {
    /// How many events to write.
    #[arg(long, value_name = "N")]
    events: u64,
    /// The seed: the same seed and N always give the same bytes.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Write to FILE instead of standard output (`-` is standard output).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print no summary on standard error.
    #[arg(long, short)]
    quiet: bool,
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut generator = Generator::new(args.seed);
    let summary = match args
        .out
        .as_deref()
        .filter(|p| *p != std::path::Path::new("-"))
    {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("creating {}", path.display()))?;
            let mut out = BufWriter::with_capacity(1 << 20, file);
            generator
                .write_ndjson(args.events, &mut out)
                .with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
            generator
                .write_ndjson(args.events, &mut out)
                .context("writing standard output")?
        }
    };
    if !args.quiet {
        eprintln!(
            "{} events, {} bytes ({:.1} bytes/event), simulated up to {}",
            summary.events,
            summary.bytes,
            summary.bytes as f64 / summary.events.max(1) as f64,
            summary.last_day
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error)
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(error) => {
            let _ = writeln!(io::stderr(), "error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        super::Args::command().debug_assert();
    }
}
