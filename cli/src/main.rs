//! `shoal`: the command line. Thin glue over the library crates.
#![allow(clippy::print_stdout)]

mod keys;
mod rules_cmd;
mod scan;
mod swarm;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Find personal data and secrets in large data stores.
#[derive(Debug, Parser)]
#[command(name = "shoal", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan files and directories in this process.
    Scan(scan::ScanArgs),
    /// List built-in rules or check rule files.
    #[command(subcommand)]
    Rules(rules_cmd::RulesCommand),
    /// Manage the Ed25519 keys that sign job envelopes.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Submit a scan of a configured source to the swarm.
    Submit(swarm::SubmitArgs),
    /// Show a scan's status.
    Status(swarm::ScanIdArgs),
    /// Cancel a scan: its remaining chunks are skipped.
    Cancel(swarm::ScanIdArgs),
    /// Print a scan's findings from PostgreSQL.
    Report(swarm::ReportArgs),
    /// Mint a bearer token (JWT) for tests and development.
    Token(swarm::TokenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Rules(cmd) => rules_cmd::run(cmd),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Submit(args) => swarm::submit(args),
        Command::Status(args) => swarm::status(args, false),
        Command::Cancel(args) => swarm::status(args, true),
        Command::Report(args) => swarm::report(args),
        Command::Token(args) => swarm::token(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("shoal: {err:#}");
            ExitCode::from(2)
        }
    }
}
