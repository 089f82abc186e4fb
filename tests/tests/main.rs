//! shoal's end-to-end tests: every module starts real servers on loopback.

mod smoke;
mod harness;
mod swarm;
