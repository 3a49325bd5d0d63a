//! The `auth` section: who may call the API (JWT bearer tokens).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Invalid;

/// What `--print-config` and error messages show instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// Authentication of API calls.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    #[serde(default)]
    pub jwt: Jwt,
}

impl Auth {
    /// Checks the section mounted at `section` (usually `auth`).
    pub fn validate(&self, section: &str) -> Result<(), Invalid> {
        self.jwt.validate(&format!("{section}.jwt"))
    }

    /// The secret keys of this section mounted at `section`, for
    /// [`crate::Config::redact`]: `auth.jwt.hs256_secret`.
    pub fn is_secret(section: &str, key: &str) -> bool {
        key.strip_prefix(section)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|rest| rest == "jwt.hs256_secret")
    }
}

/// Bearer tokens (JWT) on both transports. Every configured key source is used:
/// a token names its key by `kid`, or is tried against the keys of its algorithm.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Jwt {
    /// Off: every call is served without a token.
    #[serde(default)]
    pub enabled: bool,
    /// A shared secret for HS256 tokens (at least 32 bytes); best set from the
    /// environment (`<PREFIX>__AUTH__JWT__HS256_SECRET`) or `hs256_secret_file`.
    #[serde(default)]
    pub hs256_secret: String,
    /// A file holding the HS256 secret (a mounted Kubernetes secret); trailing
    /// whitespace is ignored.
    #[serde(default)]
    pub hs256_secret_file: PathBuf,
    /// PEM public keys (RSA for RS256, P-256 for ES256, Ed25519 for EdDSA).
    #[serde(default)]
    pub public_key_files: Vec<PathBuf>,
    /// A JWKS document on disk, re-read every `jwks_refresh`.
    #[serde(default)]
    pub jwks_file: PathBuf,
    /// A JWKS endpoint (`https://` or `http://`), fetched at startup, every
    /// `jwks_refresh`, and when a token names an unknown `kid`.
    #[serde(default)]
    pub jwks_url: String,
    /// PEM CA certificates an `https://` `jwks_url`'s certificate must chain
    /// to, besides the system's roots (an issuer with a private CA).
    #[serde(default)]
    pub jwks_ca_file: PathBuf,
    /// How often the JWKS is fetched (or re-read) again.
    #[serde(default = "default_jwks_refresh", with = "humantime_serde")]
    pub jwks_refresh: Duration,
    /// Accepted `iss` values; empty: not checked.
    #[serde(default)]
    pub issuers: Vec<String>,
    /// Accepted `aud` values (a token matches with any of them); empty: not checked.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    #[serde(default = "default_leeway", with = "humantime_serde")]
    pub leeway: Duration,
    /// Operations callable without a token, as globs over the operation names the
    /// logs and metrics use (`/helloworld.v1.Greeter/*`). Probes and /metrics
    /// never need a token.
    #[serde(default = "default_public_operations")]
    pub public_operations: Vec<String>,
    /// Scopes a token must carry, per operation glob; every matching entry
    /// applies. Scopes are read from the `scope` (space-separated) or `scp`
    /// (list) claim.
    #[serde(default)]
    pub required_scopes: BTreeMap<String, Vec<String>>,
}

fn default_jwks_refresh() -> Duration {
    Duration::from_secs(300)
}

fn default_leeway() -> Duration {
    Duration::from_secs(30)
}

/// Health checks and server reflection: what tools and probes call.
fn default_public_operations() -> Vec<String> {
    vec![
        "/grpc.health.v1.Health/*".to_owned(),
        "/grpc.reflection.*".to_owned(),
    ]
}

impl Default for Jwt {
    fn default() -> Self {
        Self {
            enabled: false,
            hs256_secret: String::new(),
            hs256_secret_file: PathBuf::new(),
            public_key_files: Vec::new(),
            jwks_file: PathBuf::new(),
            jwks_url: String::new(),
            jwks_ca_file: PathBuf::new(),
            jwks_refresh: default_jwks_refresh(),
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: default_leeway(),
            public_operations: default_public_operations(),
            required_scopes: BTreeMap::new(),
        }
    }
}

/// Shortest HS256 secret accepted: the hash's size (RFC 7518 §3.2).
const MIN_HS256_SECRET: usize = 32;

impl Jwt {
    /// Checks the section mounted at `section` (usually `auth.jwt`).
    pub fn validate(&self, section: &str) -> Result<(), Invalid> {
        let key = |name: &str| format!("{section}.{name}");
        if !self.hs256_secret.is_empty() && self.hs256_secret.len() < MIN_HS256_SECRET {
            return Err(Invalid::new(
                key("hs256_secret"),
                format!(
                    "must be at least {MIN_HS256_SECRET} bytes, got {}",
                    self.hs256_secret.len()
                ),
            ));
        }
        if !self.hs256_secret.is_empty() && !self.hs256_secret_file.as_os_str().is_empty() {
            return Err(Invalid::new(
                key("hs256_secret_file"),
                "must be empty when hs256_secret is set (one source for one secret)",
            ));
        }
        let url = &self.jwks_url;
        if !url.is_empty() && !url.starts_with("https://") && !url.starts_with("http://") {
            return Err(Invalid::new(
                key("jwks_url"),
                format!("must be empty or an https:// or http:// URL, got {url:?}"),
            ));
        }
        let ca = &self.jwks_ca_file;
        if !ca.as_os_str().is_empty() && !url.starts_with("https://") {
            return Err(Invalid::new(
                key("jwks_ca_file"),
                "is only used with an https:// jwks_url",
            ));
        }
        if !ca.as_os_str().is_empty() && !ca.is_file() {
            return Err(Invalid::new(
                key("jwks_ca_file"),
                format!("{} is not a readable file", ca.display()),
            ));
        }
        if self.jwks_refresh.is_zero() {
            return Err(Invalid::new(key("jwks_refresh"), "must be greater than 0"));
        }
        let no_key = self.hs256_secret.is_empty()
            && self.hs256_secret_file.as_os_str().is_empty()
            && self.public_key_files.is_empty()
            && self.jwks_file.as_os_str().is_empty()
            && url.is_empty();
        if self.enabled && no_key {
            return Err(Invalid::new(
                key("enabled"),
                "is true but no key is configured: set hs256_secret, hs256_secret_file, \
                 public_key_files, jwks_file or jwks_url",
            ));
        }
        let patterns = self
            .public_operations
            .iter()
            .map(|glob| ("public_operations", glob))
            .chain(
                self.required_scopes
                    .keys()
                    .map(|glob| ("required_scopes", glob)),
            );
        for (name, glob) in patterns {
            if !glob.starts_with('/') {
                return Err(Invalid::new(
                    key(name),
                    format!(
                        "{glob:?} must start with / (operations are named \
                         /package.Service/Method)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

// The secret must never reach a log line through `{:?}`.
impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = if self.hs256_secret.is_empty() {
            ""
        } else {
            REDACTED
        };
        f.debug_struct("Jwt")
            .field("enabled", &self.enabled)
            .field("hs256_secret", &secret)
            .field("hs256_secret_file", &self.hs256_secret_file)
            .field("public_key_files", &self.public_key_files)
            .field("jwks_file", &self.jwks_file)
            .field("jwks_url", &self.jwks_url)
            .field("jwks_ca_file", &self.jwks_ca_file)
            .field("jwks_refresh", &self.jwks_refresh)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("leeway", &self.leeway)
            .field("public_operations", &self.public_operations)
            .field("required_scopes", &self.required_scopes)
            .finish()
    }
}
