//! Keys that rotate: a JWKS from a file or a URL, loaded at startup, refreshed
//! every `auth.jwt.jwks_refresh`, and again when a token names a `kid` it does
//! not know (at most once per [`MIN_REFETCH`]), so a key rotated at the issuer is
//! picked up by its first token.

use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::keys::{Key, jwks_keys};
use crate::config::Jwt;

/// The shortest time between two loads a token's unknown `kid` triggers: made-up
/// `kid`s must not turn into a flood of fetches.
const MIN_REFETCH: Duration = Duration::from_secs(5);

/// How long one JWKS fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest JWKS document read.
const MAX_DOCUMENT: usize = 1024 * 1024;

/// Where the JWKS comes from.
#[derive(Debug, Clone)]
enum Origin {
    File(std::path::PathBuf),
    Url(String),
}

/// The current JWKS keys and how to load them again.
pub(super) struct Jwks {
    origin: Origin,
    jwt: Jwt,
    client: reqwest::Client,
    keys: RwLock<Arc<Vec<Key>>>,
    last_load: Mutex<Option<Instant>>,
}

impl Jwks {
    /// The JWKS `jwt` configures, loaded once; `None` when it configures none.
    pub(super) async fn load(jwt: &Jwt) -> Result<Option<Arc<Self>>, String> {
        let origin = if !jwt.jwks_url.is_empty() {
            Origin::Url(jwt.jwks_url.clone())
        } else if !jwt.jwks_file.as_os_str().is_empty() {
            Origin::File(jwt.jwks_file.clone())
        } else {
            return Ok(None);
        };
        let mut client = crate::client::http_client_builder().timeout(FETCH_TIMEOUT);
        if !jwt.jwks_ca_file.as_os_str().is_empty() {
            let ca = &jwt.jwks_ca_file;
            let pem = std::fs::read(ca)
                .map_err(|err| format!("auth.jwt.jwks_ca_file {}: {err}", ca.display()))?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|err| format!("auth.jwt.jwks_ca_file {}: {err}", ca.display()))?;
            client = client.tls_certs_merge(roots);
        }
        let client = client
            .build()
            .map_err(|err| format!("auth.jwt.jwks_url: {err}"))?;
        let jwks = Self {
            origin,
            jwt: jwt.clone(),
            client,
            keys: RwLock::new(Arc::new(Vec::new())),
            last_load: Mutex::new(None),
        };
        // The first unknown `kid` may reload at once: the startup load was not
        // triggered by a token.
        let keys = jwks.fetch().await?;
        jwks.replace(keys);
        let jwks = Arc::new(jwks);
        tokio::spawn(refresh_every(Arc::downgrade(&jwks), jwt.jwks_refresh));
        Ok(Some(jwks))
    }

    /// The keys as last loaded.
    pub(super) fn keys(&self) -> Arc<Vec<Key>> {
        self.keys
            .read()
            .map(|keys| keys.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Loads the JWKS again unless it was loaded within [`MIN_REFETCH`]; a failed
    /// load keeps the keys there are.
    pub(super) async fn reload_for_unknown_kid(&self) {
        let mut last = self.last_load.lock().await;
        if last.is_some_and(|at| at.elapsed() < MIN_REFETCH) {
            return;
        }
        *last = Some(Instant::now());
        self.reload().await;
    }

    async fn reload(&self) {
        match self.fetch().await {
            Ok(keys) => self.replace(keys),
            Err(err) => tracing::warn!(%err, "JWKS not reloaded; keeping the keys there are"),
        }
    }

    fn replace(&self, keys: Vec<Key>) {
        let keys = Arc::new(keys);
        match self.keys.write() {
            Ok(mut current) => *current = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }

    async fn fetch(&self) -> Result<Vec<Key>, String> {
        let (name, document) = match &self.origin {
            Origin::File(path) => (
                format!("auth.jwt.jwks_file {}", path.display()),
                std::fs::read(path).map_err(|err| err.to_string()),
            ),
            Origin::Url(url) => (format!("auth.jwt.jwks_url {url}"), self.get(url).await),
        };
        let document = document.map_err(|err| format!("{name}: {err}"))?;
        jwks_keys(&document, &self.jwt).map_err(|err| format!("{name}: {err}"))
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|err| err.to_string())?;
        let body = response.bytes().await.map_err(|err| err.to_string())?;
        if body.len() > MAX_DOCUMENT {
            return Err(format!("larger than {MAX_DOCUMENT} bytes"));
        }
        Ok(body.to_vec())
    }
}

/// Reloads the JWKS every `period` for as long as it is in use.
async fn refresh_every(jwks: Weak<Jwks>, period: Duration) {
    loop {
        tokio::time::sleep(period).await;
        let Some(jwks) = jwks.upgrade() else { return };
        *jwks.last_load.lock().await = Some(Instant::now());
        jwks.reload().await;
    }
}
