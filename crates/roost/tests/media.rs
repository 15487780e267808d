//! Media over HTTP (docs/api.md, "posts"): `POST /api/media` as multipart
//! or raw bytes, the type taken from the bytes, the size limit, metadata stripping, and
//! serving the image and its thumbnail back.

mod common;

use std::time::Duration;

use common::{jpeg, png, Client, Server, Setup};
use reqwest::multipart::{Form, Part};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A string that must not survive the upload.
const SECRET: &[u8] = b"GPS 48.8584N 2.2945E OWNER=ROOST-SECRET-MARKER";

/// `jpeg` with an APP1 Exif segment carrying [`SECRET`] right after SOI.
fn jpeg_with_exif(jpeg: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let mut payload = b"Exif\0\0".to_vec();
    // A little-endian TIFF header with an empty IFD, then the secret.
    payload.extend_from_slice(b"II*\0\x08\0\0\0\0\0\0\0\0\0");
    payload.extend_from_slice(SECRET);
    let len = u16::try_from(payload.len() + 2).unwrap();
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn file_form(bytes: Vec<u8>, file_type: &str) -> Form {
    Form::new().part("file", Part::bytes(bytes).file_name("upload.bin").mime_str(file_type).unwrap())
}

/// GET a path; the raw answer (status, headers, bytes).
async fn fetch(client: &Client, path: &str) -> reqwest::Response {
    client.anonymous().request(reqwest::Method::GET, path).send().await.expect("GET failed")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap().to_string()
}

#[tokio::test]
async fn multipart_upload_answers_201_with_every_media_field() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let image = png(40, 30);
    let media = alice.post_form("/api/media", file_form(image.clone(), "image/png")).await.expect(201);
    assert!(media["id"].as_str().is_some_and(|s| !s.is_empty()), "{media}");
    assert!(media["url"].as_str().is_some_and(|s| !s.is_empty()), "{media}");
    assert_eq!(media["content_type"], "image/png");
    assert_eq!(media["width"], 40);
    assert_eq!(media["height"], 30);
    // A PNG without metadata chunks is stored as it came.
    assert_eq!(media["size"], image.len() as u64);
}

#[tokio::test]
async fn raw_body_upload_answers_201() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let media = alice.post_raw("/api/media", "image/jpeg", jpeg(64, 48)).await.expect(201);
    assert_eq!(media["content_type"], "image/jpeg");
    assert_eq!(media["width"], 64);
    assert_eq!(media["height"], 48);
    assert!(media["size"].as_u64().is_some_and(|n| n > 0), "{media}");
}

#[tokio::test]
async fn upload_without_token_is_401() {
    let server = Server::start().await;
    server.client().post_raw("/api/media", "image/png", png(8, 8)).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn type_comes_from_the_bytes_not_the_claimed_content_type() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let raw = alice.post_raw("/api/media", "image/jpeg", png(16, 16)).await.expect(201);
    assert_eq!(raw["content_type"], "image/png");
    let form = alice.post_form("/api/media", file_form(png(16, 16), "image/jpeg")).await.expect(201);
    assert_eq!(form["content_type"], "image/png");
    let served = fetch(&alice, raw["url"].as_str().unwrap()).await;
    assert_eq!(served.status(), 200);
    assert_eq!(header(&served, "content-type"), "image/png");
}

#[tokio::test]
async fn text_claiming_to_be_an_image_is_415() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let text = b"<html><script>alert(1)</script></html>\n".repeat(20);
    alice.post_raw("/api/media", "image/png", text.clone()).await.expect_error(415, "unsupported_media_type");
    alice
        .post_form("/api/media", file_form(text, "image/png"))
        .await
        .expect_error(415, "unsupported_media_type");
}

#[tokio::test]
async fn upload_over_the_size_limit_is_413() {
    let server = Setup::new().env("ROOST_MEDIA_MAX_BYTES", "100000").start().await;
    let (alice, _) = server.client().register("alice").await;
    // A real image, so that only its size is wrong with it.
    let mut big = png(8, 8);
    big.resize(150_000, 0);
    alice.post_raw("/api/media", "image/png", big.clone()).await.expect_error(413, "too_large");
    alice.post_form("/api/media", file_form(big, "image/png")).await.expect_error(413, "too_large");
    // Just under the limit is fine.
    alice.post_raw("/api/media", "image/png", png(8, 8)).await.expect(201);
}

/// The server must refuse a huge body as soon as it passes the limit, not after reading it
/// all: the client announces 1 GiB and then sends only a few hundred KB and stalls. A
/// server that waits for the rest never answers.
#[tokio::test]
async fn body_far_over_the_limit_is_refused_before_it_is_read() {
    let server = Setup::new().env("ROOST_MEDIA_MAX_BYTES", "100000").start().await;
    let (alice, _) = server.client().register("alice").await;
    let token = alice.token.clone().unwrap();
    let address = server.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /api/media HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: image/png\r\nContent-Length: {}\r\n\r\n",
        1u64 << 30
    );
    let (stall_tx, stall_rx) = tokio::sync::oneshot::channel::<()>();
    let sender = tokio::spawn(async move {
        let mut body = png(8, 8);
        body.resize(400_000, 0);
        // Errors are fine: the server may close the connection once it has answered.
        if writer.write_all(head.as_bytes()).await.is_ok() && writer.write_all(&body).await.is_ok() {
            let _ = writer.flush().await;
        }
        // Hold the connection open (sending nothing more) until the test is done.
        let _ = stall_rx.await;
        drop(writer);
    });
    let answer = tokio::time::timeout(Duration::from_secs(60), async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !contains(&buf, b"\r\n") {
            let n = reader.read(&mut chunk).await.expect("reading the answer");
            assert!(n > 0, "connection closed without an answer");
            buf.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&buf).to_string()
    })
    .await
    .expect("no answer while the body was still incomplete: the server waits for all of it");
    let _ = stall_tx.send(());
    sender.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "answer: {answer}");
}

#[tokio::test]
async fn jpeg_exif_is_stripped_and_the_image_still_decodes() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let upload = jpeg_with_exif(&jpeg(64, 48));
    assert!(contains(&upload, SECRET));
    let media = alice.post_raw("/api/media", "image/jpeg", upload).await.expect(201);
    let served = fetch(&alice, media["url"].as_str().unwrap()).await;
    assert_eq!(served.status(), 200);
    let bytes = served.bytes().await.unwrap();
    assert!(!contains(&bytes, SECRET), "the Exif marker was served back");
    assert!(!contains(&bytes, b"Exif\0\0"), "an Exif segment was served back");
    assert_eq!(media["size"], bytes.len() as u64);
    let decoded =
        image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).expect("stored bytes decode");
    assert_eq!((decoded.width(), decoded.height()), (64, 48));
}

#[tokio::test]
async fn media_is_served_with_content_type_and_cache_control() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let image = png(20, 10);
    let media = alice.post_raw("/api/media", "image/png", image.clone()).await.expect(201);
    let served = fetch(&alice, media["url"].as_str().unwrap()).await;
    assert_eq!(served.status(), 200);
    assert_eq!(header(&served, "content-type"), "image/png");
    assert!(!header(&served, "cache-control").is_empty());
    assert_eq!(served.bytes().await.unwrap().as_ref(), image.as_slice());
}

#[tokio::test]
async fn thumbnail_is_a_small_jpeg() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let media = alice.post_raw("/api/media", "image/png", png(800, 400)).await.expect(201);
    let thumbnail_url = media["thumbnail_url"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}/thumbnail", media["url"].as_str().unwrap()));
    let served = fetch(&alice, &thumbnail_url).await;
    assert_eq!(served.status(), 200);
    assert_eq!(header(&served, "content-type"), "image/jpeg");
    let bytes = served.bytes().await.unwrap();
    let decoded =
        image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).expect("thumbnail decodes");
    assert_eq!((decoded.width(), decoded.height()), (320, 160));
}

#[tokio::test]
async fn unknown_media_is_404() {
    let server = Server::start().await;
    let client = server.client();
    client.get("/api/media/01ARZ3NDEKTSV4RRFFQ69G5FAV").await.expect_error(404, "not_found");
    client.get("/api/media/01ARZ3NDEKTSV4RRFFQ69G5FAV/thumbnail").await.expect_error(404, "not_found");
}
