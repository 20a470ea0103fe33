//! The command line, as clap derives it. The names, flags and exit codes are a contract
//! (`docs/CLI.md`); everything here only parses, `main.rs` dispatches.

use std::path::PathBuf;
use std::time::Duration;

use actledger_answers::AsOf;
use actledger_core::{Day, Seq};
use clap::{Args, Parser, Subcommand};

use crate::typed::TypedEvent;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  an error: bad input, unknown office, no ledger, ledger in use; `audit --check`
     found anomalies
  2  a usage error: an unknown command or flag, a malformed --on date
  3  verification found the ledger altered";

/// actledger: who held this office on that day, and on what legal basis.
///
/// Records government acts (appointments, departures, trips, delegations of duties,
/// revocations, clerical retractions) in an append-only ledger chained with SHA-256, and
/// answers who held an office on any day, as the ledger stood at any point.
#[derive(Debug, Parser)]
#[command(name = "actledger", version, after_help = EXIT_CODES, after_long_help = EXIT_CODES)]
pub struct Cli {
    /// The ledger to use
    #[arg(
        long,
        global = true,
        env = "ACTLEDGER_LEDGER",
        default_value = "actledger.db",
        value_name = "PATH"
    )]
    pub ledger: PathBuf,

    /// Wait up to SECONDS for another process to finish with the ledger before giving up
    /// (0: fail at once when it is in use)
    #[arg(
        long,
        global = true,
        env = "ACTLEDGER_WAIT",
        default_value = "10",
        value_name = "SECONDS",
        value_parser = parse_wait
    )]
    pub wait: Duration,

    #[command(subcommand)]
    pub command: Command,

    /// The command's name (`who-held`), by which this process describes itself to others
    /// that find the ledger in use.
    #[arg(skip)]
    pub name: String,
}

/// The commands that open no ledger: `--ledger` and `--wait` mean nothing to them.
const NO_LEDGER: [&str; 7] = [
    "keygen",
    "check-proof",
    "check-answer",
    "fetch-answer",
    "demo",
    "completions",
    "man",
];

/// The command line, parsed: clap's, with `--ledger` and `--wait` hidden from the help of the
/// commands that open no ledger (they are global, so clap lists them everywhere).
pub fn parse() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let matches = match command().try_get_matches_from(&args) {
        Ok(matches) => matches,
        Err(error) => without_environment_in_usage(error, &args).exit(),
    };
    match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => Cli {
            name: matches.subcommand_name().unwrap_or_default().to_owned(),
            ..cli
        },
        Err(error) => error.exit(),
    }
}

/// The variables that give `--ledger` and `--wait` when they are not on the command line.
const ENVIRONMENT: [(&str, &str); 2] = [("ledger", "ACTLEDGER_LEDGER"), ("wait", "ACTLEDGER_WAIT")];

/// `error`, with a usage line that shows only what the user typed. clap counts a value taken
/// from the environment as given, and the usage of a missing argument or a conflict repeats
/// what was given: with `ACTLEDGER_LEDGER` set, `actledger who-held` said
/// `Usage: actledger who-held --ledger <PATH> <OFFICE>`, as if `--ledger` were required. The
/// same arguments are parsed again with the variables unread; when that fails the same way,
/// its error (whose usage names only typed arguments) is the one shown.
fn without_environment_in_usage(error: clap::Error, args: &[std::ffi::OsString]) -> clap::Error {
    use clap::error::ContextKind;
    // Help and version are not errors, and their text shows where defaults come from.
    if !error.use_stderr()
        || !ENVIRONMENT
            .iter()
            .any(|(_, var)| std::env::var_os(var).is_some())
    {
        return error;
    }
    let mut command = command();
    for (id, _) in ENVIRONMENT {
        command = command.mut_arg(id, |arg| arg.env(None::<&str>));
    }
    match command.try_get_matches_from(args) {
        Err(again)
            if again.kind() == error.kind()
                && again.get(ContextKind::InvalidArg) == error.get(ContextKind::InvalidArg) =>
        {
            again
        }
        _ => error,
    }
}

/// The command clap parses with. The commands that open no ledger get hidden `--ledger` and
/// `--wait` of their own, which the global ones then leave alone: accepted (scripts may pass
/// them everywhere), never listed in their help.
pub fn command() -> clap::Command {
    let mut command = <Cli as clap::CommandFactory>::command();
    for name in NO_LEDGER {
        command = command.mut_subcommand(name, |sub| {
            sub.arg(
                clap::Arg::new("ledger")
                    .long("ledger")
                    .value_name("PATH")
                    .hide(true),
            )
            .arg(
                clap::Arg::new("wait")
                    .long("wait")
                    .value_name("SECONDS")
                    .hide(true),
            )
        });
    }
    command
}

fn parse_wait(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && (0.0..=86_400.0).contains(s))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| "expected a number of seconds from 0 to 86400, such as 30 or 0.5".into())
}

fn parse_as_of(text: &str) -> Result<AsOf, String> {
    text.parse()
        .map_err(|e: actledger_answers::AsOfSyntaxError| e.to_string())
}

fn parse_day(text: &str) -> Result<Day, String> {
    Day::parse(text)
        .map_err(|e| format!("{text:?} {e}; write a day as YYYY-MM-DD, e.g. 2024-06-03"))
}

/// The day and "as of" point of a question.
#[derive(Debug, Args)]
pub struct When {
    /// The day asked about, YYYY-MM-DD (default: today, in UTC)
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    pub on: Option<Day>,
    #[command(flatten)]
    pub as_of: Point,
}

/// The "as of" point of a question.
#[derive(Debug, Args, Clone, Copy)]
pub struct Point {
    /// Answer as the ledger stood at this position, or at this RFC 3339 time (default: now)
    #[arg(long, value_name = "SEQ|RFC3339", value_parser = parse_as_of)]
    pub as_of: Option<AsOf>,
}

/// Machine-readable output.
#[derive(Debug, Args, Clone, Copy)]
pub struct Json {
    /// Print JSON (documented in docs/JSON.md) instead of text
    #[arg(long)]
    pub json: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an empty ledger (an error if one exists)
    Init,
    /// Record events: one JSON object, or NDJSON; all or nothing
    ///
    /// Reads FILE, or standard input with `-` or no FILE. Each event is validated against the
    /// ledger and the events before it; if any is refused, nothing is written. An event
    /// identical to one already recorded is reported as "already recorded at N" and skipped.
    /// The subcommands record one event from flags named after the spec's fields.
    ///
    /// Once the batch is recorded, a ledger whose folder has grown past 1.2x its size after
    /// its last compaction (and past 4 MiB) is compacted, as `compact` does, with a note on
    /// stderr; a batch of over 1,000 events, or a ledger borrowed from `serve`, is not.
    #[command(subcommand_precedence_over_arg = true, subcommand_value_name = "TYPE")]
    Append {
        /// The events: a file, or `-` for standard input
        #[arg(value_name = "FILE|-")]
        file: Option<PathBuf>,
        /// Print only the summary line, not one line per event
        #[arg(long, short, global = true)]
        quiet: bool,
        /// Refuse the batch (nothing written, exit 1) if it has any warning: an office or
        /// person id never recorded that is close to a known one, or an anomaly it would add
        #[arg(long, global = true)]
        strict: bool,
        #[command(flatten)]
        json: Json,
        #[command(subcommand)]
        typed: Option<TypedEvent>,
    },
    /// Who held OFFICE on a day, titular or acting, and on what basis
    ///
    /// With --proof FILE, also writes an answer bundle to FILE: the answer as of the newest
    /// checkpoint `checkpoint --key` kept (or the one given with --checkpoint), with the signed
    /// checkpoint and state statement and the hashes that tie it to them, for `check-answer`.
    WhoHeld {
        /// The office, e.g. MINDEF
        office: String,
        #[command(flatten)]
        when: When,
        /// Write an answer bundle to FILE, checkable offline with `check-answer`
        #[arg(long, value_name = "FILE", conflicts_with = "as_of")]
        proof: Option<PathBuf>,
        /// With --proof: the signed checkpoint to answer against (its statement must be
        /// kept in the ledger); default: the newest kept one
        #[arg(long, value_name = "FILE", requires = "proof")]
        checkpoint: Option<PathBuf>,
        #[command(flatten)]
        json: Json,
    },
    /// Who held every office on a day
    State {
        #[command(flatten)]
        when: When,
        #[command(flatten)]
        json: Json,
    },
    /// Every titular tenure, acting period and vacancy of OFFICE
    History {
        /// The office, e.g. MINDEF
        office: String,
        #[command(flatten)]
        as_of: Point,
        #[command(flatten)]
        json: Json,
    },
    /// The known offices: id, latest name, first and last day on record
    ///
    /// With QUERY, only those whose id or name contains it, case and accents ignored
    /// (`defensa` finds MINDEF, "Ministerio de Defensa").
    Offices {
        /// Keep the offices whose id or name contains this
        query: Option<String>,
        #[command(flatten)]
        as_of: Point,
        #[command(flatten)]
        json: Json,
    },
    /// An act and every event that names it, revocations included
    Show {
        /// The act, e.g. RS-131-2024-PCM
        act: String,
        #[command(flatten)]
        as_of: Point,
        #[command(flatten)]
        json: Json,
    },
    /// The recorded entries, in order
    Log {
        /// The first position to list
        #[arg(long, default_value_t = 1, value_name = "SEQ")]
        from: Seq,
        /// At most this many entries
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        #[command(flatten)]
        json: Json,
    },
    /// The anomalies of the spec: unattended offices, overlapping delegations...
    Audit {
        /// Exit 1 when there is any anomaly (they are printed all the same), 0 otherwise
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        as_of: Point,
        #[command(flatten)]
        json: Json,
    },
    /// Recompute every hash of the chain; exit 3 if the ledger was altered
    ///
    /// With --checkpoint and --vkey, also check that the ledger extends that signed
    /// checkpoint: it still holds every entry the checkpoint vouches for, unchanged. This
    /// catches removed tail entries and rewritten history that the chain alone cannot show.
    /// Then the state statement of the checkpoint's size (FILE.statement beside it, else the
    /// one the ledger kept) must verify with the same key and sign the state the log implies:
    /// a log that signed a false state is exit 3. With no statement, the output says the state
    /// was not checked.
    Verify {
        /// Check the log alone (chain, positions, times, events, head record): faster, but
        /// says nothing of the indexes, timeline cache and tree hashes that answers are read
        /// from
        #[arg(long)]
        log_only: bool,
        /// A signed checkpoint (from `actledger checkpoint`) the ledger must extend
        #[arg(long, value_name = "FILE", requires = "vkey")]
        checkpoint: Option<PathBuf>,
        /// The verifier key of the checkpoint's signer: a file, or the key line itself
        #[arg(long, value_name = "VKEY", requires = "checkpoint")]
        vkey: Option<String>,
        #[command(flatten)]
        json: Json,
    },
    /// Rebuild every record answers are read from (indexes, timeline cache, tree hashes)
    /// from the log, after checking the log
    ///
    /// The log is verified first; if it fails, nothing is changed (exit 3): restore the
    /// ledger from a backup or an export. Otherwise the derived records are compared with
    /// what the log implies, what differed is listed per table, and every one is rebuilt.
    /// Safe to interrupt (the next open or repair completes it) and to run twice.
    Repair {
        #[command(flatten)]
        json: Json,
    },
    /// Rewrite the ledger's database compactly, reclaiming the space appends left behind
    ///
    /// A ledger grown by many small appends keeps, in its database file, much of what each
    /// append replaced (an append compacts by itself past a bound; see `append --help`).
    /// Every record is copied into a fresh database beside the ledger,
    /// checked against the ledger record by record, and put in its place in one atomic step
    /// (Linux). Answers, proofs and kept checkpoints are unchanged: the records are the same
    /// bytes. Needs the ledger to itself (stop a running `serve` first) and room for the copy.
    /// Safe to interrupt: until the last step the ledger is as it was.
    Compact {
        #[command(flatten)]
        json: Json,
    },
    /// The number of entries and the head hash
    Head {
        #[command(flatten)]
        json: Json,
    },
    /// Write every entry as NDJSON (canonical: the same ledger gives the same bytes)
    Export {
        /// Where to write: a file, or `-` (default) for standard output
        #[arg(value_name = "FILE|-")]
        file: Option<PathBuf>,
    },
    /// Rebuild a ledger at --ledger from an export, checking every hash and link
    Import {
        /// The export: a file, or `-` (default) for standard input
        #[arg(value_name = "FILE|-")]
        file: Option<PathBuf>,
        #[command(flatten)]
        json: Json,
    },
    /// The seed case (RS 131-2024-PCM) in a fresh temporary ledger: answers for 2-5 June 2024
    Demo,
    /// Create a signing key pair: NAME.key (secret, mode 0600) and NAME.vkey (public)
    ///
    /// NAME is the checkpoint origin, e.g. example.org/actledger; the files are named after
    /// it with every `/` made `_`. Prints the verifier key line, never the secret key.
    Keygen {
        /// The key's name: the origin of the checkpoints it signs
        name: String,
        /// Where to write the key files (created if missing)
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
    },
    /// Sign a checkpoint of the ledger as it stands: origin, size and Merkle root
    ///
    /// Also signs, with the same key, a statement of the answers' state at that size, and
    /// keeps both inside the ledger for `who-held --proof`. The checkpoint is printed (or
    /// written to FILE); with --out, the statement is written to FILE.statement.
    Checkpoint {
        /// The signer key file (from `actledger keygen`)
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Write the checkpoint to FILE (and the statement to FILE.statement) instead of
        /// printing it
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Publish a static mirror of the ledger in DIR: C2SP tlog-tiles, with a new checkpoint
    ///
    /// Signs a checkpoint of the ledger as it stands and its state statement (as `checkpoint
    /// --key` does, keeping both in the ledger), then writes into DIR, or brings up to date, the
    /// tiles of the Merkle tree (tile/<L>/<N>[.p/<W>]), the entries in bundles
    /// (tile/entries/<N>[.p/<W>]), the pages for people (index.html and offices/<OFFICE>.html,
    /// drawn as of the new checkpoint), `statement`, and last `checkpoint`. A full tile or bundle is
    /// never rewritten; publishing again with nothing new writes nothing. A DIR whose checkpoint
    /// another key signed, or that this ledger does not extend, is refused (exit 3).
    Publish {
        /// The mirror's folder (created if missing)
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The signer key file (from `actledger keygen`)
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        #[command(flatten)]
        json: Json,
    },
    /// Make LEDGER a verified copy of the mirror in SOURCE, or bring that copy up to date
    ///
    /// SOURCE is a folder `publish` wrote, or the http(s):// URL it is served at. The checkpoint must verify with VKEY and the
    /// statement must name it; every entry of the bundles must hash to the checkpoint's root and
    /// every tile must hold those hashes; then the entries are imported with every check of
    /// `import`. Run again on the clone, it fetches only the new bundles and tiles and refuses a
    /// mirror that does not extend the entries it holds. Anything that does not verify: exit 3,
    /// and nothing is made or changed.
    Clone {
        /// The mirror: a folder, or an http:// or https:// URL
        #[arg(value_name = "SOURCE")]
        source: String,
        /// The ledger to create, or to bring up to date
        #[arg(value_name = "LEDGER")]
        ledger: PathBuf,
        /// The verifier key of the mirror's signer: a file, or the key line itself
        #[arg(long, value_name = "VKEY")]
        vkey: String,
        #[command(flatten)]
        json: Json,
    },
    /// Answer who held OFFICE on a day from the mirror in SOURCE alone, with its proof
    ///
    /// Opens no ledger. SOURCE is a folder `publish` wrote, or the http(s):// URL it is served
    /// at. The mirror's checkpoint and state statement must verify with VKEY, the state it
    /// publishes (state/offices.json) must hash to the statement's state root and the office's
    /// answer segments to its leaf; the answer is what the segment covering the day says, as of
    /// the mirror's checkpoint. With --proof FILE, the answer bundle is written to FILE, for
    /// anyone to check with `check-answer` and the key alone. Anything that does not verify:
    /// exit 3.
    #[command(
        after_help = "Examples:\n  actledger fetch-answer https://example.org/ledger MINDEF --on 2024-06-03 --vkey ledger.vkey\n  actledger fetch-answer ./mirror MINDEF --on 2024-06-03 --vkey ledger.vkey --proof answer.json"
    )]
    FetchAnswer {
        /// The mirror: a folder, or an http:// or https:// URL
        #[arg(value_name = "SOURCE")]
        source: String,
        /// The office id
        #[arg(value_name = "OFFICE")]
        office: String,
        /// The day asked about, YYYY-MM-DD
        #[arg(long, value_name = "DATE", value_parser = parse_day)]
        on: Day,
        /// The verifier key of the mirror's signer: a file, or the key line itself
        #[arg(long, value_name = "VKEY")]
        vkey: String,
        /// Also write the answer bundle to FILE
        #[arg(long, value_name = "FILE")]
        proof: Option<PathBuf>,
        #[command(flatten)]
        json: Json,
    },
    /// Prove that an entry is in the ledger, or that the ledger of NEW entries extends OLD
    ///
    /// `prove SEQ|ACT [--size N]`: an inclusion proof of the entry at SEQ (or of the act's
    /// act_issued entry) in the tree of the first N entries (default: all).
    /// `prove --from OLD --to NEW`: a consistency proof between two tree sizes.
    #[command(
        after_help = "An ACT names its act_issued entry; --event SEQ picks another event of the act \
(its trip, its delegation...), --all proves every one (with --json, one object a line)."
    )]
    Prove {
        /// The entry: its position, or an act id (digits alone are a position)
        #[arg(
            value_name = "SEQ|ACT",
            required_unless_present = "from",
            conflicts_with = "from"
        )]
        target: Option<String>,
        /// With an ACT: prove its event at this position instead of its act_issued entry
        #[arg(long, value_name = "SEQ", conflicts_with = "all")]
        event: Option<u64>,
        /// With an ACT: prove every event that names the act, by position
        #[arg(long)]
        all: bool,
        /// The tree size to prove against (default: the current size)
        #[arg(long, value_name = "N")]
        size: Option<u64>,
        /// The older tree size of a consistency proof
        #[arg(long, value_name = "OLD", requires = "to")]
        from: Option<u64>,
        /// The newer tree size of a consistency proof
        #[arg(long, value_name = "NEW", requires = "from")]
        to: Option<u64>,
        #[command(flatten)]
        json: Json,
    },
    /// Serve the ledger over HTTP: the JSON API, HTML timelines and an OpenAPI document
    ///
    /// The server holds the ledger while it runs; other commands on it then name the server.
    /// Writes (POST /api/v1/events) need the bearer token in --token-file, made at random
    /// (mode 0600) when missing; without --token-file the server is read-only. Under /tlog/ it
    /// serves the static mirror `publish` would write for the newest kept checkpoint (C2SP
    /// tlog-tiles), which `clone http://ADDR/tlog` reads. Stops on Ctrl-C or SIGTERM once the
    /// requests in flight are answered.
    Serve {
        /// The address to listen on
        #[arg(long, value_name = "ADDR", default_value = actledger_server::DEFAULT_ADDR)]
        addr: std::net::SocketAddr,
        /// The bearer token for writes: read from FILE, or made into it when missing
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        /// The signer key (from `actledger keygen`) for GET /api/v1/checkpoint
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
    },
    /// Check a proof offline, against signed checkpoints, without any ledger
    CheckProof {
        /// The verifier key of the checkpoints' signer: a file, or the key line itself
        #[arg(long, value_name = "VKEY")]
        vkey: String,
        /// The signed checkpoint the proof leads to
        #[arg(long, value_name = "FILE")]
        checkpoint: PathBuf,
        /// For a consistency proof: the older signed checkpoint
        #[arg(long, value_name = "FILE")]
        old_checkpoint: Option<PathBuf>,
        /// The proof, as `actledger prove --json` writes it: a file, or `-`
        #[arg(value_name = "PROOF")]
        proof: PathBuf,
    },
    /// Check an answer bundle (from `who-held --proof`) offline, without any ledger
    ///
    /// Checks both signatures, the statement against the checkpoint, every hash up to the
    /// state root, and that the answer is exactly what the proven segment says for the day;
    /// prints the answer and the checkpoint it holds against. Exit 3 when anything does not
    /// verify.
    CheckAnswer {
        /// The verifier key of the ledger's signer: a file, or the key line itself
        #[arg(long, value_name = "VKEY")]
        vkey: String,
        #[command(flatten)]
        json: Json,
        /// The answer bundle: a file, or `-`
        #[arg(value_name = "BUNDLE")]
        bundle: PathBuf,
    },
    /// Print a completion script for SHELL (source it, or put it where your shell looks)
    #[command(
        after_help = "Examples:\n  actledger completions bash > ~/.local/share/bash-completion/completions/actledger\n  actledger completions zsh > ~/.zfunc/_actledger\n  actledger completions fish > ~/.config/fish/completions/actledger.fish"
    )]
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `actledger man > actledger.1 && man ./actledger.1`
    Man,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        super::Cli::command().debug_assert();
        super::command().debug_assert();
    }
}
