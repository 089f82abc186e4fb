//! `shoal rules`: list the built-in rules, check rule files against their examples.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use shoal_detect::RuleSet;
use shoal_detect::check::check_examples;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the built-in rules (id, entity, category, name).
    List,
    /// Check rule files: they parse, compile, find every example and no negative example.
    Check {
        /// YAML rule files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn run(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::List => {
            let set = RuleSet::builtin()?;
            for r in set.rules() {
                let category = match r.category {
                    shoal_schemas::Category::Pii => "pii",
                    shoal_schemas::Category::Secret => "secret",
                };
                println!("{:<44} {:<28} {:<7} {}", r.id, r.entity, category, r.name);
            }
            eprintln!("{} rules, {}", set.rules().len(), set.digest());
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Check { files } => {
            let mut sources = Vec::new();
            for f in &files {
                let text =
                    std::fs::read_to_string(f).with_context(|| format!("{}", f.display()))?;
                sources.push((f.display().to_string(), text));
            }
            let set = RuleSet::from_sources(sources)?;
            let failures = check_examples(&set)?;
            for f in &failures {
                println!("FAIL {f}");
            }
            println!("{} rules, {} failures", set.rules().len(), failures.len());
            Ok(if failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
