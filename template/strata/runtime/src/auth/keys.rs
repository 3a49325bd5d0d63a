//! The keys tokens are verified with. Each key carries the one algorithm it
//! verifies, so the token's header cannot choose another: `alg: none` names no
//! key, and an HS256 token signed with a public key finds only the shared
//! secret (if any), never the public key.

use std::path::Path;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::config::Jwt;

/// One verification key with its algorithm and the claim checks tokens meet.
pub(super) struct Key {
    pub(super) kid: Option<String>,
    pub(super) algorithm: Algorithm,
    pub(super) decoding: DecodingKey,
    pub(super) validation: Validation,
}

/// `exp` always; `nbf` when present; `iss` and `aud` required and checked when
/// configured; `leeway` on both times.
fn validation(algorithm: Algorithm, jwt: &Jwt) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = jwt.leeway.as_secs();
    validation.validate_nbf = true;
    if !jwt.issuers.is_empty() {
        validation.set_issuer(&jwt.issuers);
        validation.required_spec_claims.insert("iss".to_owned());
    }
    if jwt.audiences.is_empty() {
        validation.validate_aud = false;
    } else {
        validation.set_audience(&jwt.audiences);
        validation.required_spec_claims.insert("aud".to_owned());
    }
    validation
}

impl Key {
    fn new(kid: Option<String>, algorithm: Algorithm, decoding: DecodingKey, jwt: &Jwt) -> Self {
        Self {
            kid,
            algorithm,
            decoding,
            validation: validation(algorithm, jwt),
        }
    }
}

/// The keys of the config and its files: the HS256 secret and the PEM public
/// keys (read again by `files` when a file changes).
pub(super) fn configured_keys(jwt: &Jwt) -> Result<Vec<Key>, String> {
    let mut keys = Vec::new();
    let secret = if jwt.hs256_secret_file.as_os_str().is_empty() {
        jwt.hs256_secret.clone()
    } else {
        let path = &jwt.hs256_secret_file;
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("auth.jwt.hs256_secret_file {}: {err}", path.display()))?;
        let secret = text.trim_end().to_owned();
        if secret.len() < 32 {
            return Err(format!(
                "auth.jwt.hs256_secret_file {}: the secret must be at least 32 bytes",
                path.display()
            ));
        }
        secret
    };
    if !secret.is_empty() {
        let decoding = DecodingKey::from_secret(secret.as_bytes())
            .map_err(|err| format!("auth.jwt.hs256_secret: {err}"))?;
        keys.push(Key::new(None, Algorithm::HS256, decoding, jwt));
    }
    for path in &jwt.public_key_files {
        let (algorithm, decoding) = pem_key(path)?;
        keys.push(Key::new(None, algorithm, decoding, jwt));
    }
    Ok(keys)
}

/// A PEM public key and the algorithm its type implies.
fn pem_key(path: &Path) -> Result<(Algorithm, DecodingKey), String> {
    let name = || format!("auth.jwt.public_key_files: {}", path.display());
    let pem = std::fs::read(path).map_err(|err| format!("{}: {err}", name()))?;
    if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
        return Ok((Algorithm::RS256, key));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
        return Ok((Algorithm::ES256, key));
    }
    if let Ok(key) = DecodingKey::from_ed_pem(&pem) {
        return Ok((Algorithm::EdDSA, key));
    }
    Err(format!(
        "{}: not a PEM RSA, P-256 or Ed25519 public key",
        name()
    ))
}

/// The signing keys of a JWKS document; symmetric keys, encryption keys and
/// algorithms it cannot verify are left out.
pub(super) fn jwks_keys(document: &[u8], jwt: &Jwt) -> Result<Vec<Key>, String> {
    let set: JwkSet =
        serde_json::from_slice(document).map_err(|err| format!("not a JWKS document: {err}"))?;
    Ok(set
        .keys
        .iter()
        .filter(|jwk| jwk.common.public_key_use != Some(PublicKeyUse::Encryption))
        .filter_map(|jwk| {
            let algorithm = jwk_algorithm(jwk)?;
            let decoding = DecodingKey::from_jwk(jwk).ok()?;
            Some(Key::new(
                jwk.common.key_id.clone(),
                algorithm,
                decoding,
                jwt,
            ))
        })
        .collect())
}

/// The JWK's `alg`, or the one its key type implies; `None` for shared secrets.
fn jwk_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
        _ => return None,
    };
    let algorithm = match jwk.common.key_algorithm {
        Some(named) => Algorithm::try_from(named).ok()?,
        None => implied,
    };
    // `alg` may not switch the key's family (an RSA key named HS256).
    (algorithm.family() == implied.family()).then_some(algorithm)
}
