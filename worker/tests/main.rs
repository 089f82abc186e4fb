//! The worker's per-delivery sequence, driven through the in-process
//! transport (the JetStream transport is exercised end to end in `tests/`).

mod handler;
