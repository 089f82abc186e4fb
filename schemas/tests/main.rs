//! Integration tests of `shoal-schemas`: codec round trips, the envelope's
//! refusals, key rotation and decoding of arbitrary bytes.

mod arb;
mod envelope;
mod garbage;
mod roundtrip;
