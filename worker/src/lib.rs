//! The shoal worker: the pull loop over the shared durable consumer and the
//! per-chunk pipeline (verify envelope, claim jti, read, extract, detect,
//! publish findings, ack). Built by the swarm issue.
