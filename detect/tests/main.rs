//! Integration tests of the detection engine.

mod corpus;
mod decode;
mod engine;
mod rules;

/// The findings of `out` as a worker publishes them, for a record at
/// `path` of a local scan with a random fingerprint key.
fn publish(
    e: &shoal_detect::Engine,
    out: &[shoal_detect::Detection],
    path: &str,
) -> Vec<shoal_schemas::Finding> {
    let key = shoal_detect::privacy::FingerprintKey::random().unwrap();
    let location = shoal_schemas::Location {
        source: "local".into(),
        path: path.into(),
        ..shoal_schemas::Location::default()
    };
    let ctx = shoal_detect::privacy::RecordContext {
        scan_id: "s_1",
        tenant: "t",
        chunk_id: "c_1",
        location: &location,
    };
    out.iter()
        .map(|d| shoal_detect::privacy::to_finding(e, &key, &ctx, d))
        .collect()
}
