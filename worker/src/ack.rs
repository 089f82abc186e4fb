//! What an error means for the message that carried the chunk. Every error
//! of the per-chunk pipeline has a [`ErrorKind`], and [`ack_for`] is the one
//! place that turns a kind into an acknowledgement.

use std::time::Duration;

use shoal_schemas::envelope::EnvelopeError;

/// How a delivery is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// Done: acknowledged and confirmed by the server (double ack).
    Ack,
    /// Not now: redeliver after the delay (never a bare Nak, which redelivers at once).
    Nak(Duration),
    /// Still working: extend the ack deadline.
    Progress,
    /// Never: do not redeliver.
    Term,
}

/// The kinds of failure of a chunk, by what retrying would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The envelope's signature or key does not check out.
    Unauthenticated,
    /// The envelope or its body cannot be decoded, or names another audience or type.
    Malformed,
    /// The envelope has expired.
    Expired,
    /// The envelope is not valid yet (clock skew between dispatcher and worker).
    NotYetValid,
    /// The envelope's jti was already claimed by another message.
    Replay,
    /// NATS, KV or a store failed in a way that may pass.
    Transient,
    /// This worker has no configuration for the chunk's source; another may.
    SourceUnavailable,
    /// The chunk asks for something no retry can give (a kind this build
    /// does not read, a spec of the wrong kind).
    Permanent,
    /// A bug: the chunk panicked.
    Panic,
    /// The worker is stopping; another worker should take the chunk.
    ShuttingDown,
}

impl ErrorKind {
    /// The kind of an envelope refusal.
    pub fn of_envelope(e: &EnvelopeError) -> ErrorKind {
        match e {
            EnvelopeError::UnknownKey(_)
            | EnvelopeError::KeyNotYetValid { .. }
            | EnvelopeError::KeyRetired { .. }
            | EnvelopeError::BadKey(_)
            | EnvelopeError::BadSignature => ErrorKind::Unauthenticated,
            EnvelopeError::Expired { .. } => ErrorKind::Expired,
            EnvelopeError::NotYetValid { .. } | EnvelopeError::IssuedInFuture { .. } => {
                ErrorKind::NotYetValid
            }
            EnvelopeError::TooLarge { .. }
            | EnvelopeError::Malformed(_)
            | EnvelopeError::NonCanonical
            | EnvelopeError::UnsupportedVersion(_)
            | EnvelopeError::WrongType { .. }
            | EnvelopeError::Body(_)
            | EnvelopeError::WrongAudience { .. }
            | EnvelopeError::MissingJti => ErrorKind::Malformed,
        }
    }

    /// Whether a refusal of this kind is written to the audit trail.
    pub fn is_refusal(self) -> bool {
        matches!(
            self,
            ErrorKind::Unauthenticated
                | ErrorKind::Malformed
                | ErrorKind::Expired
                | ErrorKind::Replay
        )
    }
}

/// Delay before a transient failure is retried.
pub const RETRY_DELAY: Duration = Duration::from_secs(5);
/// Delay before a chunk whose source this worker lacks is offered again.
pub const ELSEWHERE_DELAY: Duration = Duration::from_secs(15);
/// Delay before a chunk that panicked is retried (maybe on another worker).
pub const PANIC_DELAY: Duration = Duration::from_secs(10);
/// Delay before a chunk given back at shutdown is offered again.
pub const SHUTDOWN_DELAY: Duration = Duration::from_secs(1);
/// Delay before a chunk from a dispatcher whose clock runs ahead is retried.
pub const SKEW_DELAY: Duration = Duration::from_secs(10);

/// The acknowledgement for a chunk that failed with `kind`.
pub fn ack_for(kind: ErrorKind) -> Ack {
    match kind {
        ErrorKind::Unauthenticated
        | ErrorKind::Malformed
        | ErrorKind::Expired
        | ErrorKind::Replay
        | ErrorKind::Permanent => Ack::Term,
        ErrorKind::NotYetValid => Ack::Nak(SKEW_DELAY),
        ErrorKind::Transient => Ack::Nak(RETRY_DELAY),
        ErrorKind::SourceUnavailable => Ack::Nak(ELSEWHERE_DELAY),
        ErrorKind::Panic => Ack::Nak(PANIC_DELAY),
        ErrorKind::ShuttingDown => Ack::Nak(SHUTDOWN_DELAY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthenticated_is_terminated() {
        assert_eq!(ack_for(ErrorKind::Unauthenticated), Ack::Term);
    }

    #[test]
    fn malformed_is_terminated() {
        assert_eq!(ack_for(ErrorKind::Malformed), Ack::Term);
    }

    #[test]
    fn expired_is_terminated() {
        assert_eq!(ack_for(ErrorKind::Expired), Ack::Term);
    }

    #[test]
    fn replay_is_terminated() {
        assert_eq!(ack_for(ErrorKind::Replay), Ack::Term);
    }

    #[test]
    fn permanent_is_terminated() {
        assert_eq!(ack_for(ErrorKind::Permanent), Ack::Term);
    }

    #[test]
    fn not_yet_valid_waits_for_the_clock() {
        assert_eq!(ack_for(ErrorKind::NotYetValid), Ack::Nak(SKEW_DELAY));
    }

    #[test]
    fn transient_is_retried_after_a_delay() {
        assert_eq!(ack_for(ErrorKind::Transient), Ack::Nak(RETRY_DELAY));
    }

    #[test]
    fn missing_source_is_offered_elsewhere() {
        assert_eq!(
            ack_for(ErrorKind::SourceUnavailable),
            Ack::Nak(ELSEWHERE_DELAY)
        );
    }

    #[test]
    fn panic_is_retried_after_a_delay() {
        assert_eq!(ack_for(ErrorKind::Panic), Ack::Nak(PANIC_DELAY));
    }

    #[test]
    fn shutdown_gives_the_chunk_back() {
        assert_eq!(ack_for(ErrorKind::ShuttingDown), Ack::Nak(SHUTDOWN_DELAY));
    }

    #[test]
    fn no_kind_is_a_bare_nak() {
        for kind in [
            ErrorKind::Unauthenticated,
            ErrorKind::Malformed,
            ErrorKind::Expired,
            ErrorKind::NotYetValid,
            ErrorKind::Replay,
            ErrorKind::Transient,
            ErrorKind::SourceUnavailable,
            ErrorKind::Permanent,
            ErrorKind::Panic,
            ErrorKind::ShuttingDown,
        ] {
            if let Ack::Nak(d) = ack_for(kind) {
                assert!(d >= Duration::from_secs(1), "{kind:?}");
            }
        }
    }

    #[test]
    fn envelope_errors_by_kind() {
        assert_eq!(
            ErrorKind::of_envelope(&EnvelopeError::BadSignature),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            ErrorKind::of_envelope(&EnvelopeError::UnknownKey("k".into())),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            ErrorKind::of_envelope(&EnvelopeError::Expired { exp: 1, now: 2 }),
            ErrorKind::Expired
        );
        assert_eq!(
            ErrorKind::of_envelope(&EnvelopeError::NotYetValid { nbf: 2, now: 1 }),
            ErrorKind::NotYetValid
        );
        assert_eq!(
            ErrorKind::of_envelope(&EnvelopeError::NonCanonical),
            ErrorKind::Malformed
        );
    }
}
