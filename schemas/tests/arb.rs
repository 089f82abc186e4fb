//! proptest strategies for every wire type.

use proptest::prelude::*;
use shoal_schemas::*;

pub fn text() -> impl Strategy<Value = String> {
    // Printable ASCII and some multi-byte characters, including the empty string.
    "[ -~éß€😀]{0,24}"
}

pub fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

pub fn scan_request() -> impl Strategy<Value = ScanRequest> {
    (
        text(),
        prop::collection::vec(text(), 0..4),
        prop::collection::vec(text(), 0..4),
        opt_text(),
    )
        .prop_map(|(source, include, exclude, label)| ScanRequest {
            v: 1,
            source,
            include,
            exclude,
            label,
        })
}

fn object_ref() -> impl Strategy<Value = ObjectRef> {
    (
        text(),
        any::<u64>(),
        opt_text(),
        opt_text(),
        proptest::option::of((any::<u64>(), any::<u64>())),
    )
        .prop_map(|(key, size, etag, version_id, range)| ObjectRef {
            key,
            size,
            etag,
            version_id,
            range: range.map(|(start, end)| ByteRange { start, end }),
        })
}

pub fn chunk_spec() -> impl Strategy<Value = ChunkSpec> {
    prop_oneof![
        prop::collection::vec((text(), any::<u64>()), 0..4).prop_map(|files| ChunkSpec::Fs {
            files: files
                .into_iter()
                .map(|(path, size)| FileRef { path, size })
                .collect(),
        }),
        (text(), prop::collection::vec(object_ref(), 0..3))
            .prop_map(|(bucket, objects)| ChunkSpec::S3 { bucket, objects }),
        (
            text(),
            text(),
            prop::collection::vec(text(), 0..3),
            prop::collection::vec(text(), 0..2),
            any::<u64>(),
            any::<u64>()
        )
            .prop_map(|(schema, table, columns, key, block_start, block_end)| {
                ChunkSpec::Postgres {
                    schema,
                    table,
                    columns,
                    key,
                    block_start,
                    block_end,
                }
            }),
        (text(), text(), text()).prop_map(|(channel, oldest, latest)| ChunkSpec::Slack {
            channel,
            oldest,
            latest
        }),
        (text(), any::<u32>(), any::<u32>(), any::<u32>()).prop_map(
            |(mailbox, uid_validity, uid_start, uid_end)| {
                ChunkSpec::Mail {
                    mailbox,
                    uid_validity,
                    uid_start,
                    uid_end,
                }
            }
        ),
    ]
}

pub fn chunk_task() -> impl Strategy<Value = ChunkTask> {
    (
        (text(), text(), text()),
        (any::<i64>(), any::<i64>(), any::<i64>()),
        (text(), text(), text(), text()),
        chunk_spec(),
        text(),
    )
        .prop_map(
            |(
                (iss, aud, jti),
                (iat, nbf, exp),
                (tenant, scan_id, chunk_id, source),
                spec,
                ruleset,
            )| ChunkTask {
                v: 1,
                iss,
                aud,
                jti,
                iat,
                nbf,
                exp,
                tenant,
                scan_id,
                chunk_id,
                source,
                spec,
                ruleset,
            },
        )
}

fn location() -> impl Strategy<Value = Location> {
    (
        (text(), text(), opt_text(), opt_text()),
        (any::<u64>(), any::<u64>(), any::<u32>(), any::<u32>()),
        (opt_text(), opt_text(), proptest::option::of(any::<u32>())),
    )
        .prop_map(
            |(
                (source, path, member, row),
                (start, end, line, column),
                (field, json_path, page),
            )| Location {
                source,
                path,
                member,
                row,
                start,
                end,
                line,
                column,
                field,
                json_path,
                page,
            },
        )
}

pub fn finding() -> impl Strategy<Value = Finding> {
    (
        (text(), text(), text(), text(), text(), text()),
        prop_oneof![Just(Category::Pii), Just(Category::Secret)],
        (0u32..=100).prop_map(|n| f64::from(n) / 100.0),
        location(),
        (text(), text()),
    )
        .prop_map(
            |(
                (finding_id, scan_id, tenant, chunk_id, rule_id, entity),
                category,
                confidence,
                location,
                (preview, fingerprint),
            )| Finding {
                v: 1,
                finding_id,
                scan_id,
                tenant,
                chunk_id,
                rule_id,
                entity,
                category,
                confidence,
                level: Level::of(confidence),
                location,
                preview,
                fingerprint,
            },
        )
}

pub fn finding_batch() -> impl Strategy<Value = FindingBatch> {
    (
        (text(), text()),
        any::<u32>(),
        proptest::collection::vec(finding(), 0..6),
    )
        .prop_map(|((scan_id, chunk_id), seq, findings)| FindingBatch {
            v: 1,
            scan_id,
            chunk_id,
            seq,
            findings,
        })
}

pub fn chunk_result() -> impl Strategy<Value = ChunkResult> {
    (
        (text(), text(), text(), text()),
        prop_oneof![
            Just(ChunkOutcome::Done),
            Just(ChunkOutcome::Failed),
            Just(ChunkOutcome::Cancelled)
        ],
        (
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
        ),
        prop::collection::vec((text(), text(), text()), 0..3),
        opt_text(),
    )
        .prop_map(
            |(
                (scan_id, tenant, chunk_id, worker),
                outcome,
                (records, bytes, findings, skipped_total, elapsed_ms),
                skipped,
                error,
            )| {
                ChunkResult {
                    v: 1,
                    scan_id,
                    tenant,
                    chunk_id,
                    worker,
                    outcome,
                    records,
                    bytes,
                    findings,
                    skipped: skipped
                        .into_iter()
                        .map(|(location, kind, message)| Skipped {
                            location,
                            kind,
                            message,
                        })
                        .collect(),
                    skipped_total,
                    elapsed_ms,
                    error,
                }
            },
        )
}

pub fn scan_status() -> impl Strategy<Value = ScanStatus> {
    (
        (text(), text(), text()),
        prop_oneof![
            Just(ScanState::Planning),
            Just(ScanState::Running),
            Just(ScanState::Done),
            Just(ScanState::Failed),
            Just(ScanState::Cancelled)
        ],
        (
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
        ),
        (any::<i64>(), any::<i64>(), any::<bool>(), opt_text()),
    )
        .prop_map(
            |(
                (scan_id, tenant, source),
                state,
                (chunks_planned, chunks_done, chunks_failed, findings, bytes),
                (submitted_at, updated_at, cancel_requested, error),
            )| {
                ScanStatus {
                    v: 1,
                    scan_id,
                    tenant,
                    source,
                    state,
                    chunks_planned,
                    chunks_done,
                    chunks_failed,
                    findings,
                    bytes,
                    submitted_at,
                    updated_at,
                    cancel_requested,
                    error,
                }
            },
        )
}

pub fn audit_record() -> impl Strategy<Value = AuditRecord> {
    (
        (any::<i64>(), text(), opt_text()),
        prop_oneof![
            Just(AuditAction::Submit),
            Just(AuditAction::Status),
            Just(AuditAction::Cancel),
            Just(AuditAction::ChunkRefused),
            Just(AuditAction::ChunkFailed)
        ],
        prop_oneof![Just(Decision::Accepted), Just(Decision::Refused)],
        (opt_text(), opt_text(), opt_text(), opt_text(), opt_text()),
    )
        .prop_map(
            |(
                (at, actor, tenant),
                action,
                decision,
                (reason, source, scan_id, chunk_id, detail),
            )| AuditRecord {
                v: 1,
                at,
                actor,
                tenant,
                action,
                decision,
                reason,
                source,
                scan_id,
                chunk_id,
                detail,
            },
        )
}
