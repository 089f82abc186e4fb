//! Submitter authentication: a bearer JWT checked for signature (EdDSA or
//! RS256; static keys or a JWKS fetched, cached and refreshed when a token
//! names an unknown kid), `iss`, `aud`, `exp`, scopes and the tenant claim.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tokio::sync::{Mutex, RwLock};

use crate::config::AuthConfig;

/// Scope needed to submit and cancel scans.
pub const SCOPE_SUBMIT: &str = "scan:submit";
/// Scope that also allows reading status (`scan:submit` does too).
pub const SCOPE_READ: &str = "scan:read";

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `sub`.
    pub subject: String,
    /// The tenant claim.
    pub tenant: String,
    /// Granted scopes (`scope`, space-separated, or `scp`, a list).
    pub scopes: Vec<String>,
}

impl Principal {
    /// Refuses unless one of `scopes` was granted.
    pub fn require(&self, scopes: &[&str]) -> Result<(), AuthError> {
        if self.scopes.iter().any(|s| scopes.contains(&s.as_str())) {
            Ok(())
        } else {
            Err(AuthError::Forbidden {
                reason: "missing_scope",
                message: format!("token lacks the scope {}", scopes.join(" or ")),
            })
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No valid token: reply code `unauthenticated`.
    #[error("{message}")]
    Unauthenticated {
        /// Stable reason for the audit trail (`missing_token`, `expired`, ...).
        reason: &'static str,
        /// For the reply.
        message: String,
    },
    /// A valid token that does not allow this: reply code `forbidden`.
    #[error("{message}")]
    Forbidden {
        /// Stable reason (`missing_scope`, `source_not_allowed`, ...).
        reason: &'static str,
        /// For the reply.
        message: String,
    },
}

impl AuthError {
    /// The reply's error code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Unauthenticated { .. } => "unauthenticated",
            AuthError::Forbidden { .. } => "forbidden",
        }
    }

    /// The audit reason.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Unauthenticated { reason, .. } | AuthError::Forbidden { reason, .. } => {
                reason
            }
        }
    }
}

fn unauthenticated(reason: &'static str, message: impl Into<String>) -> AuthError {
    AuthError::Unauthenticated {
        reason,
        message: message.into(),
    }
}

type Keys = HashMap<String, (DecodingKey, Algorithm)>;

struct Jwks {
    url: String,
    client: reqwest::Client,
    keys: RwLock<Keys>,
    last_fetch: Mutex<Option<Instant>>,
    min_refresh: Duration,
}

/// Checks bearer tokens.
pub struct Authenticator {
    config: AuthConfig,
    static_keys: Keys,
    jwks: Option<Jwks>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer", &self.config.issuer)
            .field("static_keys", &self.static_keys.keys().collect::<Vec<_>>())
            .field("jwks", &self.jwks.as_ref().map(|j| &j.url))
            .finish()
    }
}

/// A setup problem (unreadable key, bad URL).
#[derive(Debug, thiserror::Error)]
#[error("auth: {0}")]
pub struct AuthSetupError(pub String);

fn algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "EdDSA" => Some(Algorithm::EdDSA),
        "RS256" => Some(Algorithm::RS256),
        _ => None,
    }
}

impl Authenticator {
    /// Loads static keys and prepares the JWKS client (nothing is fetched yet).
    pub fn new(config: AuthConfig) -> Result<Authenticator, AuthSetupError> {
        let mut static_keys = Keys::new();
        for k in &config.keys {
            let pem = std::fs::read(&k.pem)
                .map_err(|e| AuthSetupError(format!("{}: {e}", k.pem.display())))?;
            let alg = algorithm(&k.alg)
                .ok_or_else(|| AuthSetupError(format!("{}: alg must be EdDSA or RS256", k.kid)))?;
            let key = match alg {
                Algorithm::EdDSA => DecodingKey::from_ed_pem(&pem),
                _ => DecodingKey::from_rsa_pem(&pem),
            }
            .map_err(|e| AuthSetupError(format!("{}: {e}", k.pem.display())))?;
            static_keys.insert(k.kid.clone(), (key, alg));
        }
        let jwks = match &config.jwks_url {
            None => None,
            Some(url) => {
                let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
                    .iter()
                    .any(|p| url.starts_with(p));
                if !url.starts_with("https://") && !loopback {
                    return Err(AuthSetupError(format!(
                        "jwks_url {url}: https:// only (http:// to loopback)"
                    )));
                }
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| AuthSetupError(e.to_string()))?;
                Some(Jwks {
                    url: url.clone(),
                    client,
                    keys: RwLock::new(Keys::new()),
                    last_fetch: Mutex::new(None),
                    min_refresh: Duration::from_secs(config.jwks_min_refresh_secs),
                })
            }
        };
        Ok(Authenticator {
            config,
            static_keys,
            jwks,
        })
    }

    /// Fetches the JWKS now (at start, so a bad URL shows early).
    pub async fn prefetch(&self) -> Result<usize, AuthSetupError> {
        match &self.jwks {
            Some(j) => j.refresh(true).await,
            None => Ok(0),
        }
    }

    /// Checks an `Authorization` header value.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        let header = authorization
            .map(str::trim)
            .ok_or_else(|| unauthenticated("missing_token", "no Authorization header"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                unauthenticated("missing_token", "Authorization is not `Bearer <JWT>`")
            })?;
        let head = jsonwebtoken::decode_header(token)
            .map_err(|e| unauthenticated("malformed_token", format!("token: {e}")))?;
        if head.alg != Algorithm::EdDSA && head.alg != Algorithm::RS256 {
            return Err(unauthenticated(
                "bad_algorithm",
                format!("token algorithm {:?} is not accepted", head.alg),
            ));
        }
        let kid = head
            .kid
            .ok_or_else(|| unauthenticated("unknown_key", "token has no kid"))?;
        let (key, alg) = self
            .key(&kid)
            .await
            .ok_or_else(|| unauthenticated("unknown_key", format!("unknown key id {kid:?}")))?;
        if alg != head.alg {
            return Err(unauthenticated(
                "bad_algorithm",
                format!("key {kid:?} is for {alg:?}, token says {:?}", head.alg),
            ));
        }
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.config.leeway_secs;
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            let reason = match e.kind() {
                K::ExpiredSignature => "expired",
                K::ImmatureSignature => "not_yet_valid",
                K::InvalidSignature => "bad_signature",
                K::InvalidIssuer => "wrong_issuer",
                K::InvalidAudience => "wrong_audience",
                K::MissingRequiredClaim(_) => "missing_claim",
                _ => "invalid_token",
            };
            unauthenticated(reason, format!("token: {e}"))
        })?;
        let claims = data.claims;
        let subject = claims
            .get("sub")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        let tenant = claims
            .get(&self.config.tenant_claim)
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                unauthenticated(
                    "missing_tenant",
                    format!("token has no `{}` claim", self.config.tenant_claim),
                )
            })?
            .to_owned();
        shoal_schemas::subjects::check_token(&tenant)
            .map_err(|e| unauthenticated("bad_tenant", format!("tenant claim: {e}")))?;
        let mut scopes: Vec<String> = claims
            .get("scope")
            .and_then(|v| v.as_str())
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        if let Some(list) = claims.get("scp").and_then(|v| v.as_array()) {
            scopes.extend(list.iter().filter_map(|v| v.as_str()).map(str::to_owned));
        }
        Ok(Principal {
            subject,
            tenant,
            scopes,
        })
    }

    async fn key(&self, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        if let Some(k) = self.static_keys.get(kid) {
            return Some(k.clone());
        }
        let jwks = self.jwks.as_ref()?;
        if let Some(k) = jwks.keys.read().await.get(kid) {
            return Some(k.clone());
        }
        // An unknown kid may be a key rotated in since the last fetch.
        if let Err(e) = jwks.refresh(false).await {
            tracing::warn!(error = %e, "JWKS refresh failed.");
        }
        jwks.keys.read().await.get(kid).cloned()
    }
}

impl Jwks {
    async fn refresh(&self, force: bool) -> Result<usize, AuthSetupError> {
        let mut last = self.last_fetch.lock().await;
        if !force && last.is_some_and(|t| t.elapsed() < self.min_refresh) {
            return Ok(self.keys.read().await.len());
        }
        *last = Some(Instant::now());
        let set: jsonwebtoken::jwk::JwkSet = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| AuthSetupError(format!("JWKS {}: {e}", self.url)))?
            .json()
            .await
            .map_err(|e| AuthSetupError(format!("JWKS {}: {e}", self.url)))?;
        let mut keys = Keys::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let alg = match &jwk.algorithm {
                jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
                jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                _ => continue,
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(kid, (key, alg));
                }
                Err(e) => tracing::warn!(kid, error = %e, "JWKS key skipped."),
            }
        }
        let n = keys.len();
        *self.keys.write().await = keys;
        tracing::info!(url = %self.url, keys = n, "JWKS fetched.");
        Ok(n)
    }
}
