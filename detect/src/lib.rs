//! The detection engine of shoal (built by the detection-engine issue): rules
//! as data files, validators as a closed Rust enum, confidence scoring and
//! private findings. It knows no NATS and no I/O beyond the bytes it is given.
