//! Integration tests of the `shoal` binary, run as a user would run it.

mod keys;
mod scan;
