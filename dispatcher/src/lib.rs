//! The shoal dispatcher: submission, authentication, planning, signing,
//! status, and the findings sink.
//!
//! - [`service`]: `shoal.submit` / `shoal.status` / `shoal.cancel` over NATS
//!   request/reply, and the planner that signs and publishes chunk tasks.
//! - [`auth`]: bearer JWTs (EdDSA, RS256; static keys or JWKS) and scopes.
//! - [`sink`]: the durable consumer that writes events to PostgreSQL.
//! - [`db`]: migrations and queries; [`setup`]: streams, buckets, consumers.
//! - [`config`]: the configuration file and environment.
//!
//! Data flow: request → [`auth`] → tenant policy → scan row + audit record
//! → reply → planner (Source::plan → sign → publish, Msg-Id = chunk id) →
//! workers → events → [`sink`] → PostgreSQL and KV `shoal_scans`.

pub mod auth;
pub mod config;
pub mod db;
pub mod service;
pub mod setup;
pub mod sink;

pub use service::{Dispatcher, Parts};
