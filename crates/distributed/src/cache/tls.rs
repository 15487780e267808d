//! TLS for `rediss://`: rustls with the system's trusted roots, plus those of a private CA
//! when the configuration names one.
//!
//! Built by hand rather than through fred's default because rustls picks a process-wide
//! crypto provider only when exactly one is compiled in; naming aws-lc-rs (the one
//! object_store and the AWS SDK already use) keeps this working whatever else the binary
//! links.

use std::path::Path;
use std::sync::Arc;

use fred::rustls::crypto::aws_lc_rs;
use fred::rustls::pki_types::pem::PemObject;
use fred::rustls::pki_types::CertificateDer;
use fred::rustls::{ClientConfig, RootCertStore};
use fred::rustls_native_certs;
use roost_engines::{EngineError, EngineResult};

pub(super) fn client_config(ca_file: Option<&Path>) -> EngineResult<ClientConfig> {
    let loaded = rustls_native_certs::load_native_certs();
    for err in &loaded.errors {
        // One unreadable certificate file should not take Redis down with it; an empty
        // store (checked below) should.
        tracing::warn!("redis tls: skipping a system root certificate: {err}");
    }
    let mut roots = RootCertStore::empty();
    let (_, ignored) = roots.add_parsable_certificates(loaded.certs);
    if ignored > 0 {
        tracing::warn!("redis tls: {ignored} system root certificates could not be parsed");
    }
    if let Some(path) = ca_file {
        let invalid = |err: &dyn std::fmt::Display| {
            EngineError::Invalid(format!("redis tls: CA file {}: {err}", path.display()))
        };
        let certificates = CertificateDer::pem_file_iter(path).map_err(|err| invalid(&err))?;
        for certificate in certificates {
            roots.add(certificate.map_err(|err| invalid(&err))?).map_err(|err| invalid(&err))?;
        }
    }
    if roots.is_empty() {
        return Err(EngineError::Invalid(
            "rediss:// needs trusted root certificates: the system has none, and no CA file was given".into(),
        ));
    }
    let config = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|err| EngineError::Invalid(format!("redis tls: {err}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}
