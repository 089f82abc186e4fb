//! Integration tests of the detection engine.

mod corpus;
mod engine;
mod rules;
