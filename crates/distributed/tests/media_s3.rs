//! S3 media against a real S3 API (moto's server, started by `scripts/services.sh`, or
//! anything `ROOST_TEST_AWS_ENDPOINT` points at): the shared `Media` conformance suite,
//! then what is specific to S3 — presigned URLs that an HTTP client can actually fetch, the
//! stored Content-Type, and bucket creation and protection (versioning, default encryption)
//! for `--init`.
//!
//! The cases share one bucket, created once per run of this binary under a unique name;
//! they isolate themselves by path prefix.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use roost_distributed::media::{create_bucket_if_missing, s3_media, S3Config};
use roost_distributed::media_protection::{
    bucket_configuration, enable_default_encryption, enable_versioning,
};
use roost_engines::conformance::unique_prefix;
use roost_engines::Media;
use tokio::sync::OnceCell;

fn endpoint() -> String {
    std::env::var("ROOST_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "ROOST_TEST_AWS_ENDPOINT is not set: these tests need an S3 API. Run them through \
             scripts/test.sh, or `source scripts/services.sh; services_install; services_start` first"
        )
    })
}

fn config(bucket: &str) -> S3Config {
    S3Config { region: Some("us-east-1".into()), endpoint: Some(endpoint()), ..S3Config::new(bucket) }
}

/// Bucket names are lowercase letters, digits and dashes.
fn bucket_name(case: &str) -> String {
    unique_prefix(case).to_ascii_lowercase().replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-")
}

/// The run's bucket, created on first use.
async fn bucket() -> &'static str {
    static BUCKET: OnceCell<String> = OnceCell::const_new();
    BUCKET
        .get_or_init(|| async {
            let name = bucket_name("media");
            create_bucket_if_missing(&config(&name)).await.expect("create the test bucket");
            name
        })
        .await
}

async fn s3() -> Arc<dyn Media> {
    Arc::new(s3_media(config(bucket().await)).expect("s3 media"))
}

roost_engines::media_conformance_tests!(s3);

#[tokio::test]
async fn a_presigned_url_serves_the_object_over_plain_http() {
    let media = s3().await;
    let path = format!("{}/posts/p1/image.jpg", unique_prefix("presign"));
    let bytes = Bytes::from((0..=255u8).cycle().take(50_000).collect::<Vec<u8>>());
    media.put(&path, bytes.clone(), "image/jpeg").await.expect("put");

    let url =
        media.presigned_get(&path, Duration::from_secs(60)).await.expect("presign").expect("S3 presigns");
    assert!(url.contains("X-Amz-Signature="), "{url} is not presigned");
    // No credentials on this request: the URL alone must be enough.
    let response = reqwest::get(&url).await.expect("GET the presigned URL");
    assert_eq!(response.status(), reqwest::StatusCode::OK, "{url}");
    let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).cloned();
    assert_eq!(content_type.as_ref().and_then(|v| v.to_str().ok()), Some("image/jpeg"), "S3 keeps the type");
    assert_eq!(response.bytes().await.expect("body"), bytes);

    media.delete(&path).await.expect("delete");
    let gone = reqwest::get(&url).await.expect("GET after delete");
    assert_eq!(gone.status(), reqwest::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn create_bucket_if_missing_is_idempotent() {
    let name = bucket_name("init");
    let config = config(&name);
    let media = s3_media(config.clone()).expect("s3 media");
    assert!(media.ping().await.is_err(), "the bucket should not exist yet");

    create_bucket_if_missing(&config).await.expect("create");
    create_bucket_if_missing(&config).await.expect("create again, as a second `--init` would");
    media.ping().await.expect("the bucket answers");
    media.put("a/b.png", Bytes::from_static(b"png"), "image/png").await.expect("put");
    assert_eq!(media.get("a/b.png").await.expect("get").map(|o| o.bytes), Some(Bytes::from_static(b"png")));
}

#[tokio::test]
async fn init_turns_on_versioning_and_default_encryption() {
    let name = bucket_name("protect");
    let config = config(&name);
    create_bucket_if_missing(&config).await.expect("create");
    let before = bucket_configuration(&config, "versioning").await.expect("GetBucketVersioning");
    assert!(!before.contains("<Status>Enabled</Status>"), "a new bucket is unversioned: {before}");

    for _ in 0..2 {
        enable_versioning(&config).await.expect("PutBucketVersioning");
        enable_default_encryption(&config).await.expect("PutBucketEncryption");
    }
    let versioning = bucket_configuration(&config, "versioning").await.expect("GetBucketVersioning");
    assert!(versioning.contains("<Status>Enabled</Status>"), "{versioning}");
    let encryption = bucket_configuration(&config, "encryption").await.expect("GetBucketEncryption");
    assert!(encryption.contains("AES256"), "{encryption}");
}

#[tokio::test]
async fn creating_a_bucket_outside_us_east_1_states_its_region() {
    let name = bucket_name("region");
    let config = S3Config { region: Some("eu-west-1".into()), ..config(&name) };
    create_bucket_if_missing(&config).await.expect("create in eu-west-1");
    let media = s3_media(config).expect("s3 media");
    media.put("x.jpg", Bytes::from_static(b"x"), "image/jpeg").await.expect("put");
    media.ping().await.expect("ping");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let config = S3Config { endpoint: Some(format!("http://127.0.0.1:{port}")), ..config("nowhere") };
    let media = s3_media(config.clone()).expect("building needs no network");
    assert!(matches!(
        media.get("x").await,
        Err(roost_engines::EngineError::Unavailable { engine: "media", .. })
    ));
    assert!(create_bucket_if_missing(&config).await.is_err());
}

#[tokio::test]
async fn instances_initialising_at_once_all_succeed() {
    let name = bucket_name("race");
    let config = config(&name);
    let (a, b, c) = tokio::join!(
        create_bucket_if_missing(&config),
        create_bucket_if_missing(&config),
        create_bucket_if_missing(&config)
    );
    for outcome in [a, b, c] {
        outcome.expect("a concurrent `--init`");
    }
    s3_media(config).expect("s3 media").ping().await.expect("the bucket answers");
}
