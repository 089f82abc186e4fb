//! `shoal`: the command line. Thin glue over the library crates.
#![allow(clippy::print_stdout)]

mod keys;
mod rules_cmd;
mod scan;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Rules(cmd) => rules_cmd::run(cmd),
        Command::Keys(cmd) => keys::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("shoal: {err:#}");
            ExitCode::from(2)
        }
    }
}
