//! S3 media: the shared `ObjectMedia` over object_store's `AmazonS3`, for AWS or any
//! S3-compatible endpoint (MinIO, moto, …), with presigned GET URLs.
//!
//! Credentials come from object_store's AWS chain: `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, then a web-identity token (EKS), then the
//! container credentials endpoint (ECS), then instance metadata (EC2). Shared profile files
//! (`~/.aws/credentials`, `AWS_PROFILE`) are not part of that chain. Any other `AWS_*`
//! variable object_store knows (`AWS_REGION`, `AWS_ENDPOINT_URL`, …) applies as well,
//! under the explicit settings of `S3Config`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{BackoffConfig, RetryConfig};
use reqwest::{Method, StatusCode};
use roost_engines::{EngineError, EngineResult, ObjectMedia, Presigner};

/// Where the media bucket lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Config {
    /// Name of the bucket that holds the images.
    pub bucket: String,
    /// `None`: `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: Option<String>,
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); `None` is AWS itself. Custom
    /// endpoints are addressed path-style (`endpoint/bucket/key`), which every
    /// S3-compatible server understands without wildcard DNS.
    pub endpoint: Option<String>,
}

impl S3Config {
    /// Defaults for `bucket`: AWS's own endpoint, region from the environment.
    pub fn new(bucket: impl Into<String>) -> Self {
        S3Config { bucket: bucket.into(), region: None, endpoint: None }
    }
}

/// The media engine on S3. Fails only on configuration that can never work (no bucket
/// name, an unparsable endpoint); reachability is `Media::ping`'s business.
pub fn s3_media(config: S3Config) -> EngineResult<ObjectMedia> {
    let s3 = Arc::new(build(builder(&config))?);
    let presigner = Arc::new(S3Presigner { s3: s3.clone() });
    // S3 keeps Content-Type and Cache-Control, so presigned URLs serve images with them.
    Ok(ObjectMedia::new(s3, Some(presigner), true))
}

/// Creates the bucket unless it exists (`roost serve --init`).
///
/// object_store has no CreateBucket, and its request signing is private. Rather than pull
/// in aws-sdk-s3 (a large crate, for one call at start-up) or sign by hand, we let
/// object_store presign the two bucket-level requests: S3 accepts query-string
/// authentication for every operation, so a presigned `HEAD` or `PUT` of the bucket's URL
/// is an authenticated HeadBucket or CreateBucket. This reuses the very credentials,
/// region and addressing style that `s3_media` will use, and reqwest is already beneath
/// object_store.
///
/// HeadBucket goes first so that a deployment whose role may use the bucket but not create
/// it (the bucket made by infrastructure code) passes `--init` untouched.
pub async fn create_bucket_if_missing(config: &S3Config) -> EngineResult<()> {
    let builder = builder(config);
    // The region the requests are signed for, as object_store resolves it.
    let region = builder.get_config_value(&AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".into());
    let s3 = build(builder)?;
    let http = admin_http()?;
    let bucket = Path::from("");
    let expires = Duration::from_secs(300);

    let head_url = s3.signed_url(Method::HEAD, &bucket, expires).await.map_err(unavailable)?;
    let head = http.head(head_url).send().await.map_err(unavailable)?;
    match head.status() {
        status if status.is_success() => return Ok(()),
        StatusCode::NOT_FOUND => {}
        status => {
            return Err(EngineError::unavailable("media", format!("HeadBucket {}: {status}", config.bucket)))
        }
    }

    let put_url = s3.signed_url(Method::PUT, &bucket, expires).await.map_err(unavailable)?;
    // Outside us-east-1, S3 wants the region restated in the body. Inside, the body is
    // empty, but S3 still refuses a PUT without a Content-Length.
    let body = if region == "us-east-1" {
        String::new()
    } else {
        format!(
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
        )
    };
    let response = http
        .put(put_url)
        // Stated outright: reqwest leaves the header out for an empty body.
        .header(reqwest::header::CONTENT_LENGTH, body.len())
        .body(body)
        .send()
        .await
        .map_err(unavailable)?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    // Another instance running `--init` at the same moment may have won the race.
    if status == StatusCode::CONFLICT && body.contains("BucketAlreadyOwnedByYou") {
        return Ok(());
    }
    Err(EngineError::unavailable("media", format!("CreateBucket {}: {status}: {body}", config.bucket)))
}

/// The HTTP client of bucket-level requests (here and in `media_protection`).
pub(crate) fn admin_http() -> EngineResult<reqwest::Client> {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().map_err(unavailable)
}

pub(crate) fn builder(config: &S3Config) -> AmazonS3Builder {
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&config.bucket)
        // object_store's default retries for three minutes; a request (and `/readyz`) should
        // give up well before a client or load balancer does.
        .with_retry(RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 3,
            retry_timeout: Duration::from_secs(15),
        });
    if let Some(region) = &config.region {
        builder = builder.with_region(region);
    }
    if let Some(endpoint) = &config.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    builder
}

pub(crate) fn build(builder: AmazonS3Builder) -> EngineResult<AmazonS3> {
    builder.build().map_err(|err| EngineError::Invalid(format!("s3 media: {err}")))
}

pub(crate) fn unavailable(err: impl std::fmt::Display) -> EngineError {
    EngineError::unavailable("media", err)
}

/// Adapts object_store's `Signer` to the engine layer's `Presigner`.
struct S3Presigner {
    s3: Arc<AmazonS3>,
}

#[async_trait]
impl Presigner for S3Presigner {
    async fn presign_get(&self, path: &Path, expires: Duration) -> object_store::Result<String> {
        Ok(self.s3.signed_url(Method::GET, path, expires).await?.to_string())
    }
}
