//! TLS (rustls) on a listener, as `server.tls` configures it. Its files (the
//! certificate, the key and the client CA) are re-read when any of them changes
//! on disk (checked at most once per [`RECHECK`], on a handshake), so a renewed
//! certificate or a rotated CA is used without a restart; a reload that fails (a
//! half-written file) keeps the configuration in use. With `client_ca_file`,
//! every client must present a certificate that chains to it (mTLS). A
//! connection that does not complete a handshake within the listener's header
//! read timeout (plaintext HTTP included) is closed.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
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

/// How often a handshake may look at the files for a change.
const RECHECK: Duration = Duration::from_secs(1);

/// ALPN for gRPC: HTTP/2 only.
pub(super) const GRPC_ALPN: &[&[u8]] = &[b"h2"];

/// ALPN for HTTP: HTTP/2, then HTTP/1.1.
pub(super) const HTTP_ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

/// The acceptor `server.tls` configures, rebuilt from its files when they change.
#[derive(Debug)]
pub(super) struct Reloading {
    files: config::Tls,
    alpn: Vec<Vec<u8>>,
    provider: Arc<CryptoProvider>,
    current: Mutex<Current>,
}

#[derive(Debug)]
struct Current {
    config: Arc<ServerConfig>,
    stamp: Stamp,
    checked: Instant,
}

/// What tells a changed file: modification time and length of each of the three.
type Stamp = [Option<(SystemTime, u64)>; 3];

impl Reloading {
    /// The acceptor `tls` configures, offering `alpn`; `None` when TLS is off. A
    /// file that cannot be used stops startup with the key that names it.
    pub(super) fn new(tls: &config::Tls, alpn: &[&[u8]]) -> io::Result<Option<Self>> {
        if !tls.enabled() {
            return Ok(None);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let alpn: Vec<Vec<u8>> = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        let stamp = stamp(tls);
        let config = server_config(tls, &alpn, &provider)?;
        Ok(Some(Self {
            files: tls.clone(),
            alpn,
            provider,
            current: Mutex::new(Current {
                config,
                stamp,
                checked: Instant::now(),
            }),
        }))
    }

    /// The acceptor for the next handshake: rebuilt first when a file changed.
    fn acceptor(&self) -> TlsAcceptor {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.checked.elapsed() >= RECHECK {
            current.checked = Instant::now();
            let stamp = stamp(&self.files);
            if stamp != current.stamp {
                match server_config(&self.files, &self.alpn, &self.provider) {
                    Ok(config) => {
                        current.config = config;
                        current.stamp = stamp;
                        tracing::info!(cert_file = %self.files.cert_file.display(), "TLS files reloaded");
                    }
                    Err(err) => {
                        tracing::warn!(%err, "TLS files not reloaded; keeping the ones in use")
                    }
                }
            }
        }
        TlsAcceptor::from(current.config.clone())
    }
}

/// A server configuration from the files of `tls`, offering `alpn`.
fn server_config(
    tls: &config::Tls,
    alpn: &[Vec<u8>],
    provider: &Arc<CryptoProvider>,
) -> io::Result<Arc<ServerConfig>> {
    let key = certified_key(&tls.cert_file, &tls.key_file, provider)
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| invalid("server.tls", err))?;
    let builder = if tls.client_ca_file.as_os_str().is_empty() {
        builder.with_no_client_auth()
    } else {
        let roots = client_roots(&tls.client_ca_file)?;
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|err| invalid("server.tls.client_ca_file", err))?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut server = builder.with_cert_resolver(Arc::new(Fixed(Arc::new(key))));
    server.alpn_protocols = alpn.to_vec();
    Ok(Arc::new(server))
}

/// The TLS stream of `stream` once its handshake completes within `timeout`;
/// `None` (the connection closed) when it fails, times out, or on gRPC
/// (`http2_only`) the client settled on another protocol than h2.
pub(super) async fn handshake(
    tls: &Reloading,
    stream: TcpStream,
    timeout: Duration,
    http2_only: bool,
    shutdown: &CancellationToken,
) -> Option<TlsStream<TcpStream>> {
    let accepted = tokio::select! {
        accepted = tokio::time::timeout(timeout, tls.acceptor().accept(stream)) => accepted,
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

/// One certificate for every handshake (a changed one comes with a new config).
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn stamp(tls: &config::Tls) -> Stamp {
    [&tls.cert_file, &tls.key_file, &tls.client_ca_file].map(|file| {
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
