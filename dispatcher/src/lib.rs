//! The shoal dispatcher: submission over NATS request/reply, JWT
//! authentication and tenant policy, planning, signing and publishing chunk
//! tasks, scan status, and the findings sink into PostgreSQL. Built by the
//! swarm issue.
