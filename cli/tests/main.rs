//! Integration tests of the `shoal` binary, run as a user would run it.

mod keys;
mod scan;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs the `shoal` binary in `dir`, with no standard input.
pub fn shoal(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run shoal")
}
