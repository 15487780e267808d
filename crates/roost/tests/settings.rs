//! Settings reach a real server: values are typed by the setting they set, not by their look.

mod common;

use common::Setup;

/// `token_secret` is a string even when it is all digits (it once stopped `serve` at startup).
#[tokio::test]
async fn a_numeric_token_secret_starts_the_server() {
    let server = Setup::new().env("ROOST_TOKEN_SECRET", "123456").start().await;
    let client = server.client();
    assert_eq!(client.get("/healthz").await.expect(200)["status"], "ok");
    let (alice, _) = client.register("alice").await;
    alice.get("/api/me").await.expect(200);
}
