//! What `roost serve --init` turns on for the media bucket beyond creating it: versioning
//! (`PutBucketVersioning`), so an overwritten or deleted image can be brought back, and
//! default server-side encryption (`PutBucketEncryption`, SSE-S3), which S3 applies to new
//! buckets anyway since 2023 but an older or S3-compatible one may lack.
//!
//! object_store has no bucket administration, so, as for CreateBucket (see `media`), the
//! requests are presigned by object_store — with the subresource (`?versioning`) folded into
//! the signature — and sent with reqwest: the credentials, region and addressing are those
//! of the media engine itself. Servers vary in what they implement; the caller treats a
//! refusal as a warning.

use std::time::Duration;

use base64::Engine;
use md5::{Digest, Md5};
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer, Url};
use reqwest::Method;
use roost_engines::{EngineError, EngineResult};

use crate::media::{admin_http, build, builder, unavailable, S3Config};

const VERSIONING: &str = "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
    <Status>Enabled</Status></VersioningConfiguration>";
const ENCRYPTION: &str =
    "<ServerSideEncryptionConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
    <Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>\
    </ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";

/// `PutBucketVersioning` with `Status=Enabled` (idempotent).
pub async fn enable_versioning(config: &S3Config) -> EngineResult<()> {
    put_configuration(config, "versioning", VERSIONING).await
}

/// `PutBucketEncryption`: SSE-S3 (AES-256) by default for every new object (idempotent).
pub async fn enable_default_encryption(config: &S3Config) -> EngineResult<()> {
    put_configuration(config, "encryption", ENCRYPTION).await
}

/// `GET /?subresource` of the bucket (`GetBucketVersioning`, `GetBucketEncryption`): the XML
/// S3 answers, for an operator's check (and the tests).
pub async fn bucket_configuration(config: &S3Config, subresource: &str) -> EngineResult<String> {
    let url = signed(config, Method::GET, subresource).await?;
    let response = admin_http()?.get(url).send().await.map_err(unavailable)?;
    let status = response.status();
    let body = response.text().await.map_err(unavailable)?;
    match status.is_success() {
        true => Ok(body),
        false => Err(failed("GET", subresource, config, status, &body)),
    }
}

async fn put_configuration(config: &S3Config, subresource: &str, body: &'static str) -> EngineResult<()> {
    let url = signed(config, Method::PUT, subresource).await?;
    // S3 requires a Content-MD5 on bucket configuration writes.
    let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(body.as_bytes()));
    let response =
        admin_http()?.put(url).header("content-md5", md5).body(body).send().await.map_err(unavailable)?;
    let status = response.status();
    match status.is_success() {
        true => Ok(()),
        false => Err(failed("PUT", subresource, config, status, &response.text().await.unwrap_or_default())),
    }
}

/// A presigned URL of the bucket's `subresource`.
async fn signed(config: &S3Config, method: Method, subresource: &str) -> EngineResult<Url> {
    let s3 = build(builder(config))?;
    let options = SignedUrlOptions::new().with_query([(subresource, "")]);
    s3.signed_url_opts(method, &Path::from(""), Duration::from_secs(300), &options).await.map_err(unavailable)
}

fn failed(
    verb: &str,
    subresource: &str,
    config: &S3Config,
    status: reqwest::StatusCode,
    body: &str,
) -> EngineError {
    unavailable(format!("{verb} ?{subresource} of bucket {}: {status}: {body}", config.bucket))
}
