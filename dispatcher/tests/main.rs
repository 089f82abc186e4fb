//! The dispatcher's library through its public interface.

mod auth;
mod db;
