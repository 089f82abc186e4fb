//! shoal's end-to-end tests: every module starts real servers on loopback.

mod harness;
mod smoke;
mod swarm;
