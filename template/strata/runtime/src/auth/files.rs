//! Keys from files (`hs256_secret_file`, `public_key_files`), re-read when a file
//! changes on disk: checked at most once per [`RECHECK`], on a token, so a
//! rotated secret or PEM key mounted from a Kubernetes secret is used without a
//! restart. A reload that fails (a half-written file) keeps the keys in use.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::keys::{Key, configured_keys};
use crate::config::Jwt;

/// How often a token may look at the files for a change.
const RECHECK: Duration = Duration::from_secs(1);

/// The shared secret and PEM keys as last read, and what their files looked like.
pub(super) struct FileKeys {
    jwt: Jwt,
    keys: RwLock<Arc<Vec<Key>>>,
    seen: Mutex<Seen>,
}

struct Seen {
    stamp: Vec<Option<(SystemTime, u64)>>,
    checked: Instant,
}

impl FileKeys {
    /// The keys `jwt` configures, read once; fails naming the key and file.
    pub(super) fn load(jwt: &Jwt) -> Result<Self, String> {
        let stamp = stamp(&files(jwt));
        let keys = configured_keys(jwt)?;
        Ok(Self {
            jwt: jwt.clone(),
            keys: RwLock::new(Arc::new(keys)),
            seen: Mutex::new(Seen {
                stamp,
                checked: Instant::now(),
            }),
        })
    }

    /// The keys to verify the next token with: read again first when a file
    /// changed since the last look.
    pub(super) fn keys(&self) -> Arc<Vec<Key>> {
        if let Ok(mut seen) = self.seen.try_lock()
            && seen.checked.elapsed() >= RECHECK
        {
            seen.checked = Instant::now();
            let stamp = stamp(&files(&self.jwt));
            if stamp != seen.stamp {
                match configured_keys(&self.jwt) {
                    Ok(keys) => {
                        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
                        seen.stamp = stamp;
                        tracing::info!("JWT key files reloaded");
                    }
                    Err(err) => {
                        tracing::warn!(%err, "JWT key files not reloaded; keeping the keys in use")
                    }
                }
            }
        }
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The files the keys come from.
fn files(jwt: &Jwt) -> Vec<PathBuf> {
    let secret =
        (!jwt.hs256_secret_file.as_os_str().is_empty()).then(|| jwt.hs256_secret_file.clone());
    secret
        .into_iter()
        .chain(jwt.public_key_files.iter().cloned())
        .collect()
}

/// What tells a changed file: its modification time and length.
fn stamp(files: &[PathBuf]) -> Vec<Option<(SystemTime, u64)>> {
    files
        .iter()
        .map(|file| {
            let metadata = std::fs::metadata(file).ok()?;
            Some((metadata.modified().ok()?, metadata.len()))
        })
        .collect()
}
