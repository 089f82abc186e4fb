//! `shoal`: the command line. Thin glue over the library crates.
#![allow(clippy::print_stdout)]

mod keys;

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
    /// Manage the Ed25519 keys that sign job envelopes.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
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
