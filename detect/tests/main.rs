//! Integration tests of the detection engine.

mod corpus;
mod decode;
mod engine;
mod rules;
