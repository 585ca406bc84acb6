//! Node TLS material: a self-signed Ed25519 certificate per node, and rustls configurations for
//! mutual TLS that trust exactly the certificates whose SHA-256 fingerprints are pinned (taken
//! from the authority directory), instead of any certificate authority or platform store.
//!
//! One crypto provider for the whole workspace: `ring`. Every configuration here is built with
//! an explicit provider ([`provider`]), so nothing depends on a process-wide default; binaries
//! that also use rustls elsewhere call [`install_default_provider`] once at start-up.

use std::collections::BTreeSet;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use zeroize::Zeroizing;

use crate::encoding::b64_encode;
use crate::{CryptoError, Sha256Digest};

/// The workspace's one rustls crypto provider.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Installs `ring` as the process-wide default provider. Returns false if a default was
/// already installed (by this call or another).
pub fn install_default_provider() -> bool {
    rustls::crypto::ring::default_provider()
        .install_default()
        .is_ok()
}

/// RFC 8410 section 7: the PKCS #8 v1 encoding of an Ed25519 private key is this fixed prefix
/// followed by the 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A node's TLS certificate (self-signed, Ed25519) and its private key.
pub struct TlsIdentity {
    cert: CertificateDer<'static>,
    key_pkcs8: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("fingerprint", &self.fingerprint())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl TlsIdentity {
    /// Issues a self-signed certificate for `name` (subject common name and DNS name), valid
    /// from `not_before` to `not_after` (Unix seconds), with the Ed25519 key whose seed is
    /// `seed`. The result depends only on the arguments.
    pub fn issue(
        seed: &[u8; 32],
        name: &str,
        not_before: i64,
        not_after: i64,
    ) -> Result<Self, CryptoError> {
        let cert_err = |e: &dyn std::fmt::Display| CryptoError::Certificate(e.to_string());
        let key_pkcs8 = Zeroizing::new([&ED25519_PKCS8_PREFIX[..], &seed[..]].concat());
        let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &PrivatePkcs8KeyDer::from(key_pkcs8.as_slice()),
            &rcgen::PKCS_ED25519,
        )
        .map_err(|e| cert_err(&e))?;
        let mut params = rcgen::CertificateParams::new(vec![name.to_owned()])
            .map_err(|e| CryptoError::Certificate(format!("name `{name}`: {e}")))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.not_before =
            time::OffsetDateTime::from_unix_timestamp(not_before).map_err(|e| cert_err(&e))?;
        params.not_after =
            time::OffsetDateTime::from_unix_timestamp(not_after).map_err(|e| cert_err(&e))?;
        if not_after <= not_before {
            return Err(CryptoError::Certificate(
                "the validity period is empty".into(),
            ));
        }
        // a serial number derived from the key and the period keeps issuance deterministic
        let serial = Sha256Digest::of_parts(&[
            key_pair.public_key_raw(),
            &not_before.to_be_bytes(),
            &not_after.to_be_bytes(),
        ]);
        let mut serial_bytes = serial.as_bytes().get(..16).unwrap_or_default().to_vec();
        if let Some(first) = serial_bytes.first_mut() {
            *first &= 0x7f; // positive
        }
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial_bytes));
        params.is_ca = rcgen::IsCa::NoCa;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.self_signed(&key_pair).map_err(|e| cert_err(&e))?;
        Ok(Self {
            cert: cert.der().clone(),
            key_pkcs8,
        })
    }

    /// Reads a certificate and a PKCS #8 private key from PEM texts.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, CryptoError> {
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| CryptoError::Certificate(format!("certificate pem: {e}")))?;
        let key = PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|_| CryptoError::Certificate("private key pem is not pkcs #8".into()))?;
        Ok(Self {
            cert,
            key_pkcs8: Zeroizing::new(key.secret_pkcs8_der().to_vec()),
        })
    }

    pub fn cert_der(&self) -> &[u8] {
        self.cert.as_ref()
    }

    pub fn cert_pem(&self) -> String {
        pem("CERTIFICATE", self.cert.as_ref())
    }

    pub fn key_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(pem("PRIVATE KEY", &self.key_pkcs8))
    }

    /// SHA-256 of the certificate's DER bytes: what the directory pins.
    pub fn fingerprint(&self) -> Sha256Digest {
        fingerprint(self.cert.as_ref())
    }

    fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_pkcs8.to_vec()))
    }
}

/// The SHA-256 fingerprint of the client certificate a peer presented on a mutual-TLS
/// connection. The node-to-node listener puts it into every request's extensions, so that the
/// endpoint can hold the envelope's sender to the certificate that carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerFingerprint(pub Sha256Digest);

/// The SHA-256 fingerprint of a DER certificate.
pub fn fingerprint(cert_der: &[u8]) -> Sha256Digest {
    Sha256Digest::of(cert_der)
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = b64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    let mut rest = body.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The certificate fingerprints a node accepts from its peers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinnedPeers(BTreeSet<Sha256Digest>);

impl PinnedPeers {
    pub fn new(fingerprints: impl IntoIterator<Item = Sha256Digest>) -> Self {
        Self(fingerprints.into_iter().collect())
    }

    pub fn contains(&self, fingerprint: &Sha256Digest) -> bool {
        self.0.contains(fingerprint)
    }

    fn check(&self, end_entity: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        if self.contains(&fingerprint(end_entity.as_ref())) {
            Ok(())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }
}

/// Accepts a peer certificate if and only if its fingerprint is pinned; the handshake
/// signature is then checked against that certificate's key. Names and chains play no part:
/// the pin is the identity.
#[derive(Debug)]
struct PinnedVerifier {
    pins: PinnedPeers,
    provider: Arc<CryptoProvider>,
}

impl PinnedVerifier {
    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.pins.check(end_entity)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("tls 1.2 is not accepted".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes()
    }
}

impl ClientCertVerifier for PinnedVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.pins.check(end_entity)?;
        Ok(ClientCertVerified::assertion())
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("tls 1.2 is not accepted".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes()
    }
}

/// A TLS 1.3 client configuration presenting `identity` and accepting only pinned servers.
pub fn client_config(
    identity: &TlsIdentity,
    pins: PinnedPeers,
) -> Result<rustls::ClientConfig, CryptoError> {
    let provider = provider();
    let verifier = Arc::new(PinnedVerifier {
        pins,
        provider: provider.clone(),
    });
    rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| CryptoError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![identity.cert.clone()], identity.key_der())
        .map_err(|e| CryptoError::Tls(e.to_string()))
}

/// The officer listener's TLS configuration (TLS 1.2 and 1.3, ring): the certificate chain and
/// private key the operator configures, PEM (the key PKCS #8, PKCS #1 or SEC1). Browsers verify
/// the chain as usual; no client certificate is asked for.
pub fn officer_server_config(
    chain_pem: &str,
    key_pem: &str,
) -> Result<rustls::ServerConfig, CryptoError> {
    let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CryptoError::Certificate(format!("certificate pem: {e}")))?;
    if chain.is_empty() {
        return Err(CryptoError::Certificate(
            "the certificate file holds no certificate".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| CryptoError::Certificate(format!("private key pem: {e}")))?;
    rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| CryptoError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| CryptoError::Tls(format!("certificate and key: {e}")))
}

/// A TLS 1.3 server configuration presenting `identity` and requiring a pinned client
/// certificate.
pub fn server_config(
    identity: &TlsIdentity,
    pins: PinnedPeers,
) -> Result<rustls::ServerConfig, CryptoError> {
    let provider = provider();
    let verifier = Arc::new(PinnedVerifier {
        pins,
        provider: provider.clone(),
    });
    rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| CryptoError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![identity.cert.clone()], identity.key_der())
        .map_err(|e| CryptoError::Tls(e.to_string()))
}
