-- shoal schema, version 1. Applied once by the dispatcher at start.

CREATE TABLE scans (
    scan_id          text PRIMARY KEY,
    tenant           text NOT NULL,
    source           text NOT NULL,
    label            text,
    submitted_by     text NOT NULL,
    include_globs    text[] NOT NULL DEFAULT '{}',
    exclude_globs    text[] NOT NULL DEFAULT '{}',
    state            text NOT NULL,
    chunks_planned   bigint NOT NULL DEFAULT 0,
    chunks_done      bigint NOT NULL DEFAULT 0,
    chunks_failed    bigint NOT NULL DEFAULT 0,
    chunks_cancelled bigint NOT NULL DEFAULT 0,
    records          bigint NOT NULL DEFAULT 0,
    bytes            bigint NOT NULL DEFAULT 0,
    findings         bigint NOT NULL DEFAULT 0,
    cancel_requested boolean NOT NULL DEFAULT false,
    error            text,
    submitted_at     timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX scans_tenant ON scans (tenant, submitted_at);

CREATE TABLE chunks (
    chunk_id      text PRIMARY KEY,
    scan_id       text NOT NULL REFERENCES scans (scan_id),
    stream_seq    bigint,
    state         text NOT NULL DEFAULT 'queued',
    worker        text,
    records       bigint NOT NULL DEFAULT 0,
    bytes         bigint NOT NULL DEFAULT 0,
    findings      bigint NOT NULL DEFAULT 0,
    skipped_total bigint NOT NULL DEFAULT 0,
    skipped       text,
    error         text,
    elapsed_ms    bigint,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chunks_scan ON chunks (scan_id, state);
CREATE INDEX chunks_seq ON chunks (stream_seq);

-- No raw values here: a masked preview and a keyed fingerprint only.
CREATE TABLE findings (
    finding_id  text PRIMARY KEY,
    scan_id     text NOT NULL,
    tenant      text NOT NULL,
    chunk_id    text NOT NULL,
    rule_id     text NOT NULL,
    entity      text NOT NULL,
    category    text NOT NULL,
    confidence  double precision NOT NULL,
    level       text NOT NULL,
    source      text NOT NULL,
    path        text NOT NULL,
    member      text,
    row_key     text,
    start_byte  bigint NOT NULL,
    end_byte    bigint NOT NULL,
    line        integer NOT NULL,
    col         integer NOT NULL,
    field       text,
    json_path   text,
    page        integer,
    preview     text NOT NULL,
    fingerprint text NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX findings_scan ON findings (scan_id, path, start_byte);
CREATE INDEX findings_fingerprint ON findings (tenant, fingerprint);

CREATE TABLE audit (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL,
    actor    text NOT NULL,
    tenant   text,
    action   text NOT NULL,
    decision text NOT NULL,
    reason   text,
    source   text,
    scan_id  text,
    chunk_id text,
    detail   text
);
CREATE INDEX audit_at ON audit (at);
