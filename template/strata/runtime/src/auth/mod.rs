//! JWT bearer tokens on both transports, checked against a per-operation policy
//! (`auth.jwt`). A request to an operation that is not public must carry
//! `Authorization: Bearer <token>` (gRPC: `authorization` metadata) signed by a
//! configured key, within its `exp`/`nbf`, from an accepted issuer and audience;
//! otherwise it is answered 401 UNAUTHENTICATED with
//! `WWW-Authenticate: Bearer error="invalid_token"`. A valid token without the
//! operation's required scopes is answered 403 PERMISSION_DENIED. The verified
//! claims reach the handler as a [`Principal`] in the request's extensions.
//!
//! gRPC checks each call in a layer ([`grpc`]) by its path, which is its
//! operation name. HTTP checks where a route names its operation (the generated
//! routes and [`crate::middleware::operation`]); routes that name none (the
//! OpenAPI document, probes, /metrics) are not API operations and need no token.

mod files;
mod jwks;
mod keys;
mod policy;
mod principal;
mod refusal;

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, Response};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Header, decode, decode_header};
use serde_json::{Map, Value};

pub use principal::Principal;
pub(crate) use refusal::Denied;

use self::files::FileKeys;
use self::jwks::Jwks;
use self::keys::Key;
use self::policy::Policy;
use crate::config;
use crate::middleware::Transport;

/// Checks bearer tokens as `auth.jwt` says; cheap to clone. When `auth.jwt` is
/// off it lets everything through and adds nothing to the chain.
#[derive(Clone, Default)]
pub struct Authenticator {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    policy: Policy,
    files: FileKeys,
    jwks: Option<Arc<Jwks>>,
}

/// Why `auth.jwt` cannot be used: names the key and the file or URL.
#[derive(Debug, Clone)]
pub struct SetupError(String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

impl Authenticator {
    /// The authenticator of `auth`: reads the secret and key files and loads the
    /// JWKS (a background task refreshes it). Fails when a key cannot be read.
    pub async fn new(auth: &config::Auth) -> Result<Self, SetupError> {
        let jwt = &auth.jwt;
        if !jwt.enabled {
            return Ok(Self::default());
        }
        let policy = Policy::new(jwt).map_err(SetupError)?;
        let files = FileKeys::load(jwt).map_err(SetupError)?;
        let jwks = Jwks::load(jwt).await.map_err(SetupError)?;
        Ok(Self {
            inner: Some(Arc::new(Inner {
                policy,
                files,
                jwks,
            })),
        })
    }

    /// Whether tokens are checked at all.
    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// The caller of `operation` with these request `headers`: `None` for a
    /// public operation (or when auth is off), the verified principal otherwise.
    pub(crate) async fn authorize(
        &self,
        operation: &str,
        headers: &HeaderMap,
    ) -> Result<Option<Principal>, Denied> {
        let Some(inner) = &self.inner else {
            return Ok(None);
        };
        if inner.policy.is_public(operation) {
            return Ok(None);
        }
        let token = bearer(headers)
            .ok_or_else(|| Denied::Unauthenticated("a bearer token is required".to_owned()))?;
        let principal = inner.verify(token).await?;
        let missing: Vec<&str> = inner
            .policy
            .required_scopes(operation)
            .filter(|scope| !principal.has_scope(scope))
            .collect();
        if !missing.is_empty() {
            return Err(Denied::Forbidden(missing.join(" ")));
        }
        Ok(Some(principal))
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("enabled", &self.enabled())
            .finish_non_exhaustive()
    }
}

impl Inner {
    async fn verify(&self, token: &str) -> Result<Principal, Denied> {
        let header = decode_header(token).map_err(|_| {
            invalid("the token is malformed or names an algorithm that is not accepted")
        })?;
        if let (Some(kid), Some(jwks)) = (&header.kid, &self.jwks)
            && !jwks.keys().iter().any(|key| key.kid.as_ref() == Some(kid))
        {
            jwks.reload_for_unknown_kid().await;
        }
        let from_files = self.files.keys();
        let rotating = self.jwks.as_ref().map(|jwks| jwks.keys());
        let keys = from_files
            .iter()
            .chain(rotating.iter().flat_map(|keys| keys.iter()));
        let candidates: Vec<&Key> = candidates(keys, &header);
        if candidates.is_empty() {
            return Err(invalid(
                "no configured key verifies this token's kid and alg",
            ));
        }
        let mut last = invalid("the token's signature does not verify");
        for key in candidates {
            match decode::<Map<String, Value>>(token, &key.decoding, &key.validation) {
                Ok(data) => return Ok(Principal::from_claims(data.claims)),
                Err(err) if *err.kind() == ErrorKind::InvalidSignature => {}
                Err(err) => {
                    last = invalid(explain(err.kind()));
                    break;
                }
            }
        }
        Err(last)
    }
}

/// The keys that may have signed a token with `header`: those of its `kid` (or,
/// when no key has that `kid`, those without one), of its `alg` only.
fn candidates<'a>(keys: impl Iterator<Item = &'a Key> + Clone, header: &Header) -> Vec<&'a Key> {
    let by_kid = |kid: Option<&String>| {
        keys.clone()
            .filter(move |key| key.kid.as_ref() == kid && key.algorithm == header.alg)
            .collect::<Vec<_>>()
    };
    match &header.kid {
        Some(kid) => {
            let named = by_kid(Some(kid));
            if named.is_empty() {
                by_kid(None)
            } else {
                named
            }
        }
        None => keys.filter(|key| key.algorithm == header.alg).collect(),
    }
}

/// What is wrong with a token, for the caller (never the token itself).
fn explain(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired",
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)",
        ErrorKind::InvalidIssuer => "the token's issuer is not accepted",
        ErrorKind::InvalidAudience => "the token's audience is not accepted",
        ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim (exp, iss or aud)",
        ErrorKind::InvalidAlgorithm => "the token's algorithm is not accepted for its key",
        _ => "the token is malformed",
    }
}

fn invalid(why: &str) -> Denied {
    Denied::Unauthenticated(why.to_owned())
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// gRPC: every call of `router` to a method of `descriptor_sets` (the encoded
/// `FileDescriptorSet`s of the services mounted) checked by its path, which is
/// its operation name. A path no method serves is left to tonic's UNIMPLEMENTED,
/// so a made-up path never reaches the logs and metrics as an operation.
/// Unchanged when `auth.jwt` is off.
pub fn grpc(router: Router, auth: &Authenticator, descriptor_sets: &[&[u8]]) -> Router {
    if !auth.enabled() {
        return router;
    }
    let auth = auth.clone();
    let served = served_operations(descriptor_sets).map(Arc::new);
    router.layer(axum::middleware::from_fn(
        move |mut request: Request<Body>, next: axum::middleware::Next| {
            let auth = auth.clone();
            let served = served.clone();
            async move {
                let operation = request.uri().path().to_owned();
                if served.is_some_and(|served| !served.contains(&operation)) {
                    return next.run(request).await;
                }
                match auth.authorize(&operation, request.headers()).await {
                    Ok(principal) => {
                        if let Some(principal) = principal {
                            request.extensions_mut().insert(principal);
                        }
                        next.run(request).await
                    }
                    Err(denied) => denied.render(Transport::Grpc),
                }
            }
        },
    ))
}

/// `/package.Service/Method` of every method in `descriptor_sets`; `None` (every
/// path is checked) if one does not decode, so a bad set cannot open a method.
fn served_operations(descriptor_sets: &[&[u8]]) -> Option<HashSet<String>> {
    let mut served = HashSet::new();
    for set in descriptor_sets {
        let pool = match prost_reflect::DescriptorPool::decode(*set) {
            Ok(pool) => pool,
            Err(err) => {
                tracing::error!(%err, "a descriptor set does not decode; checking tokens on every gRPC path");
                return None;
            }
        };
        for service in pool.services() {
            for method in service.methods() {
                served.insert(format!("/{}/{}", service.full_name(), method.name()));
            }
        }
    }
    Some(served)
}

/// HTTP: lets the routes of `router` that name an operation check its caller.
/// Unchanged when `auth.jwt` is off.
pub fn http(router: Router, auth: &Authenticator) -> Router {
    if !auth.enabled() {
        return router;
    }
    router.layer(axum::Extension(auth.clone()))
}

/// The refusal of an HTTP `request` for `operation` whose caller may not call
/// it; otherwise `None`, with the caller's [`Principal`] added to the request.
pub(crate) async fn check_http(
    request: &mut Request<Body>,
    operation: &str,
) -> Option<Response<Body>> {
    let auth = request.extensions().get::<Authenticator>()?.clone();
    match auth.authorize(operation, request.headers()).await {
        Ok(principal) => {
            if let Some(principal) = principal {
                request.extensions_mut().insert(principal);
            }
            None
        }
        Err(denied) => Some(denied.render(Transport::Http)),
    }
}

#[cfg(test)]
mod tests;
