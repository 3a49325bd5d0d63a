//! TLS (rustls) on a listener, as `server.tls` configures it: the certificate and
//! key are re-read when their files change on disk (checked at most once per
//! [`RECHECK`], on a handshake), so a renewed certificate is served without a
//! restart; a reload that fails (a half-written file) keeps the one in use.
//! With `client_ca_file`, every client must present a certificate that chains to
//! it (mTLS). A connection that does not complete a handshake within the
//! listener's header read timeout (plaintext HTTP included) is closed.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

use crate::config;

/// How often a handshake may look at the files for a new certificate.
const RECHECK: Duration = Duration::from_secs(1);

/// ALPN for gRPC: HTTP/2 only.
pub(super) const GRPC_ALPN: &[&[u8]] = &[b"h2"];

/// ALPN for HTTP: HTTP/2, then HTTP/1.1.
pub(super) const HTTP_ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

/// The acceptor `tls` configures, offering `alpn`; `None` when TLS is off.
pub(super) fn acceptor(tls: &config::Tls, alpn: &[&[u8]]) -> io::Result<Option<TlsAcceptor>> {
    if !tls.enabled() {
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let resolver = ReloadingCert::load(&tls.cert_file, &tls.key_file, provider.clone())?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| invalid("server.tls", err))?;
    let builder = if tls.client_ca_file.as_os_str().is_empty() {
        builder.with_no_client_auth()
    } else {
        let roots = client_roots(&tls.client_ca_file)?;
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|err| invalid("server.tls.client_ca_file", err))?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut server = builder.with_cert_resolver(Arc::new(resolver));
    server.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    Ok(Some(TlsAcceptor::from(Arc::new(server))))
}

/// The TLS stream of `stream` once its handshake completes within `timeout`;
/// `None` (the connection closed) when it fails, times out, or on gRPC
/// (`http2_only`) the client settled on another protocol than h2.
pub(super) async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    timeout: Duration,
    http2_only: bool,
    shutdown: &CancellationToken,
) -> Option<TlsStream<TcpStream>> {
    let accepted = tokio::select! {
        accepted = tokio::time::timeout(timeout, acceptor.accept(stream)) => accepted,
        () = shutdown.cancelled() => return None,
    };
    let stream = match accepted {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => {
            tracing::debug!(%err, "TLS handshake failed");
            return None;
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            return None;
        }
    };
    let alpn = stream.get_ref().1.alpn_protocol();
    if http2_only && alpn.is_some_and(|protocol| protocol != b"h2") {
        return None;
    }
    Some(stream)
}

/// The CA certificates client certificates must chain to.
fn client_roots(path: &Path) -> io::Result<RootCertStore> {
    let key = "server.tls.client_ca_file";
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path).map_err(|err| invalid(key, err))? {
        roots.add(cert).map_err(|err| invalid(key, err))?;
    }
    Ok(roots)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| format!("{}: {err}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

fn invalid(key: &str, err: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{key}: {err}"))
}

/// The certificate and key of two files, re-read when either changes.
#[derive(Debug)]
struct ReloadingCert {
    cert_file: PathBuf,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
    current: Mutex<Current>,
}

#[derive(Debug)]
struct Current {
    key: Arc<CertifiedKey>,
    stamp: Stamp,
    checked: Instant,
}

/// What tells a changed file: its modification time and length, for both files.
type Stamp = [Option<(SystemTime, u64)>; 2];

impl ReloadingCert {
    fn load(cert_file: &Path, key_file: &Path, provider: Arc<CryptoProvider>) -> io::Result<Self> {
        let stamp = stamp(cert_file, key_file);
        let key = certified_key(cert_file, key_file, &provider)
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
        Ok(Self {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            provider,
            current: Mutex::new(Current {
                key: Arc::new(key),
                stamp,
                checked: Instant::now(),
            }),
        })
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.checked.elapsed() >= RECHECK {
            current.checked = Instant::now();
            let stamp = stamp(&self.cert_file, &self.key_file);
            if stamp != current.stamp {
                match certified_key(&self.cert_file, &self.key_file, &self.provider) {
                    Ok(key) => {
                        current.key = Arc::new(key);
                        current.stamp = stamp;
                        tracing::info!(cert_file = %self.cert_file.display(), "TLS certificate reloaded");
                    }
                    Err(err) => {
                        tracing::warn!(%err, "TLS certificate not reloaded; serving the previous one")
                    }
                }
            }
        }
        Some(current.key.clone())
    }
}

fn stamp(cert_file: &Path, key_file: &Path) -> Stamp {
    [cert_file, key_file].map(|file| {
        let metadata = std::fs::metadata(file).ok()?;
        Some((metadata.modified().ok()?, metadata.len()))
    })
}

/// The chain of `cert_file` with the key of `key_file`, which must match it.
fn certified_key(
    cert_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, String> {
    let certs = read_certs(cert_file).map_err(|err| format!("server.tls.cert_file {err}"))?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|err| format!("server.tls.key_file {}: {err}", key_file.display()))?;
    CertifiedKey::from_der(certs, key, provider).map_err(|err| {
        format!(
            "server.tls: the key of {} does not fit the certificate of {}: {err}",
            key_file.display(),
            cert_file.display()
        )
    })
}
