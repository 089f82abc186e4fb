//! Writes seed inputs for the fuzz targets in `fuzz/`: one valid encoding of
//! each message type, a valid signed envelope, and a text dense with findings (signed by the same fixed
//! test key the `envelope` target trusts).
//!
//! Usage: `cargo run -p shoal-schemas --example fuzz_seeds -- DIR`

use std::path::PathBuf;

use ed25519_dalek::SigningKey;
use shoal_schemas::codec::{to_json, to_msgpack};
use shoal_schemas::envelope::{AUD_WORKER, Signer};
use shoal_schemas::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: fuzz_seeds DIR")?);
    let task = ChunkTask {
        v: 1,
        iss: "shoal-dispatcher".into(),
        aud: AUD_WORKER.into(),
        jti: "seed".into(),
        iat: 1_800_000_000,
        nbf: 1_800_000_000,
        exp: 1_800_003_600,
        tenant: "acme".into(),
        scan_id: "s_1".into(),
        chunk_id: "s_1-c00000000".into(),
        source: "docs".into(),
        spec: ChunkSpec::Fs {
            files: vec![FileRef {
                path: "a/b.csv".into(),
                size: 10,
            }],
        },
        ruleset: "sha256:00".into(),
    };
    let request = ScanRequest {
        v: 1,
        source: "docs".into(),
        include: vec!["**/*.csv".into()],
        exclude: vec![],
        label: Some("seed".into()),
    };
    let signer = Signer::new("k1".into(), SigningKey::from_bytes(&[1; 32]));
    let envelope_dir = dir.join("envelope");
    let messages_dir = dir.join("messages");
    std::fs::create_dir_all(&envelope_dir)?;
    std::fs::create_dir_all(&messages_dir)?;
    std::fs::write(envelope_dir.join("chunk_task"), signer.sign_task(&task)?)?;
    std::fs::write(messages_dir.join("chunk_task.msgpack"), to_msgpack(&task)?)?;
    std::fs::write(
        messages_dir.join("scan_request.msgpack"),
        to_msgpack(&request)?,
    )?;
    std::fs::write(messages_dir.join("scan_request.json"), to_json(&request)?)?;
    let scan_dir = dir.join("scan");
    std::fs::create_dir_all(&scan_dir)?;
    // Longer than the engine's smallest block (8 KiB), with values around
    // the boundaries, so that mutations explore the block overlap.
    let mut long = String::new();
    while long.len() < 20_000 {
        long.push_str("filler text of a log line, nothing to see here 0123456789\n");
        if long.len() % 8192 > 8000 {
            long.push_str("key AKIAZ3MHTJQ5F4GKRW7E card 4539 1488 0343 6467\n");
        }
    }
    std::fs::write(scan_dir.join("long.txt"), long)?;
    // Texts kept in the repository: a Kubernetes Secret in YAML and JSON,
    // whose values the engine decodes, national numbers in their layouts
    // and scripts, and an LDIF entry (folded base64 values), a message,
    // stripe data and password hashes, tables whose header names their
    // columns (quoted cells, `;` delimiters, a line of another shape, cells
    // over lines, stray quotes, people), SQL dumps of PostgreSQL and MySQL,
    // JSON lines of DynamoDB's and MongoDB's exports, and an XML export;
    // values written with escapes, well formed and not, in JSON and XML.
    for (name, text) in [
        (
            "k8s-secret.yaml",
            include_str!("../../fuzz/seed-texts/k8s-secret.yaml"),
        ),
        (
            "national-ids.txt",
            include_str!("../../fuzz/seed-texts/national-ids.txt"),
        ),
        (
            "ldif-mail-cards.txt",
            include_str!("../../fuzz/seed-texts/ldif-mail-cards.txt"),
        ),
        ("table.csv", include_str!("../../fuzz/seed-texts/table.csv")),
        (
            "people.csv",
            include_str!("../../fuzz/seed-texts/people.csv"),
        ),
        (
            "table-multiline.csv",
            include_str!("../../fuzz/seed-texts/table-multiline.csv"),
        ),
        (
            "table-quotes.csv",
            include_str!("../../fuzz/seed-texts/table-quotes.csv"),
        ),
        (
            "pg-dump.sql",
            include_str!("../../fuzz/seed-texts/pg-dump.sql"),
        ),
        (
            "mysqldump.sql",
            include_str!("../../fuzz/seed-texts/mysqldump.sql"),
        ),
        (
            "dynamodb-export.json",
            include_str!("../../fuzz/seed-texts/dynamodb-export.json"),
        ),
        (
            "export.xml",
            include_str!("../../fuzz/seed-texts/export.xml"),
        ),
        (
            "people.ldif",
            include_str!("../../fuzz/seed-texts/people.ldif"),
        ),
        (
            "contacts.vcf",
            include_str!("../../fuzz/seed-texts/contacts.vcf"),
        ),
        ("adt.hl7", include_str!("../../fuzz/seed-texts/adt.hl7")),
        (
            "escaped.json",
            include_str!("../../fuzz/seed-texts/escaped.json"),
        ),
        (
            "entities.xml",
            include_str!("../../fuzz/seed-texts/entities.xml"),
        ),
    ] {
        std::fs::write(scan_dir.join(name), text)?;
    }
    std::fs::write(
        scan_dir.join("mixed.txt"),
        "id,name,card\n1,Ana,4539 1488 0343 6467\nexport AWS_ACCESS_KEY_ID=AKIAZ3MHTJQ5F4GKRW7E\n\
         DATABASE_URL=postgres://billing:Vq8r-Kp2mZ7x@db-prod.internal:5432/billing\n\
         SSN: 536-22-8790 IBAN GB82 WEST 1234 5698 7654 32 mail maria.kovacs@brightline.hu\n",
    )?;
    Ok(())
}
