//! The shoal worker: a stateless agent that pulls signed chunks, verifies
//! them, reads the data with its own read-only credentials, detects, and
//! publishes findings that never hold the raw value.
//!
//! - [`pipeline`]: the per-chunk code (source → detection → findings), with
//!   no transport. `shoal scan` runs the same code.
//! - [`worker`]: the per-delivery sequence (verify → claim jti → cancel flag →
//!   run → publish → double ack) and the pull loop with its slots and shutdown.
//! - [`ack`]: the one mapping from error kind to acknowledgement.
//! - [`transport`]: the queue and bus traits; [`nats`] implements them on
//!   JetStream, [`local`] in process.
//! - [`config`]: the worker's configuration file and environment;
//!   [`process`]: logging and stop signals, shared by the binaries.
//!
//! The worker opens no listening socket: every connection is outbound.

pub mod ack;
pub mod config;
pub mod local;
pub mod nats;
pub mod pipeline;
pub mod process;
pub mod transport;
pub mod worker;

pub use ack::{Ack, ErrorKind, ack_for};
pub use pipeline::{ChunkError, ChunkRunner, FindingSink, Fingerprints};
pub use worker::{Handled, Settings, Worker, run};
