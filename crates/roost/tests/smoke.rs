//! The harness itself: a server comes up, answers, and survives a restart.

mod common;

use common::Server;

#[tokio::test]
async fn serves_health_and_restarts() {
    let mut server = Server::start().await;
    let client = server.client();
    assert_eq!(client.get("/healthz").await.expect(200)["status"], "ok");
    let (alice, user) = client.register("alice").await;
    server.restart().await;
    let me = alice.get("/api/me").await.expect(200);
    assert_eq!(me["id"], user["id"]);
}
