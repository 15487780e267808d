//! The HTTP test harness: starts real `roost serve` processes on free ports and talks to
//! them over HTTP, as any client would.
//!
//! `ROOST_TEST_MODE` picks the engines: `embedded` (default; SQLite, in-process cache,
//! local folder under a temporary data dir) or `distributed` (DynamoDB and S3 on the moto
//! server at `ROOST_TEST_AWS_ENDPOINT`, Redis at `ROOST_TEST_REDIS_URL`; each server gets its
//! own table, bucket and cache namespace). `scripts/test.sh` runs the suite in both.
#![allow(dead_code)]

pub mod dump;
pub mod moto;
pub mod proxy;
pub mod redis;
pub mod sse;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub fn distributed() -> bool {
    match std::env::var("ROOST_TEST_MODE").as_deref() {
        Ok("distributed") => true,
        Ok("embedded") | Err(_) => false,
        Ok(other) => panic!("ROOST_TEST_MODE must be embedded or distributed, not {other}"),
    }
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite through scripts/test.sh, which starts Redis and moto")
    })
}

fn unique(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{name}-{}-{}-{}", std::process::id(), nanos % 1_000_000_000, N.fetch_add(1, Ordering::Relaxed))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// What a server is started with; peers share everything but the port.
#[derive(Clone, Debug)]
pub struct Setup {
    data_dir: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// A distributed setup's table, deleted when the last clone goes.
    table: Option<std::sync::Arc<moto::TableGuard>>,
}

impl Setup {
    /// A fresh deployment on the engines `ROOST_TEST_MODE` names.
    pub fn new() -> Setup {
        Setup::with_engines(distributed())
    }

    /// A fresh deployment on the embedded engines whatever the mode (to add one engine of
    /// the test's own by its variable, say).
    pub fn embedded() -> Setup {
        Setup::with_engines(false)
    }

    /// A fresh deployment on DynamoDB + Redis + S3 whatever the mode (for tests of several
    /// instances sharing one deployment, which only the distributed engines allow).
    pub fn distributed() -> Setup {
        Setup::with_engines(true)
    }

    /// A fresh deployment: its own data dir, or its own table, bucket and namespace.
    fn with_engines(distributed: bool) -> Setup {
        let id = unique("roost");
        let data_dir = std::env::temp_dir().join(&id);
        let mut args = vec!["serve".to_string(), "--data-dir".into(), data_dir.display().to_string()];
        let mut env = vec![
            // Cheap password hashing: the tests register thousands of users.
            ("ROOST_ARGON2_MEMORY_KIB".to_string(), "1024".to_string()),
            ("ROOST_ARGON2_ITERATIONS".into(), "1".into()),
            ("ROOST_LOG".into(), "warn".into()),
            // The abuse limits would refuse what tests do quickly; tests/hardening.rs turns
            // them back on with `rate_limited()`.
            ("ROOST_RATE_LIMITS".into(), "off".into()),
        ];
        let mut guard = None;
        if distributed {
            let aws = required_env("ROOST_TEST_AWS_ENDPOINT");
            let table = id.to_lowercase().replace('_', "-");
            guard = Some(std::sync::Arc::new(moto::TableGuard::new(&aws, &table)));
            args.extend([
                "--init".to_string(),
                "--dynamodb-endpoint".into(),
                aws.clone(),
                "--dynamodb-table".into(),
                table.clone(),
                "--redis-url".into(),
                required_env("ROOST_TEST_REDIS_URL"),
                "--s3-endpoint".into(),
                aws,
                "--s3-bucket".into(),
                table,
            ]);
            env.push(("ROOST_CACHE_NAMESPACE".into(), id.clone()));
            // moto serves one request at a time, and a binary's tests share it: a call may
            // queue behind the others' well past the 10 s a real DynamoDB call is given.
            env.push(("ROOST_DYNAMODB_TIMEOUT_SECS".into(), "60".into()));
            // The same bound for the whole store call (retries included), or a call queued
            // that long would answer 503 at the default 10 s.
            env.push(("ROOST_STORE_TIMEOUT_MS".into(), "60000".into()));
            env.push(("ROOST_REQUEST_TIMEOUT_SECS".into(), "90".into()));
        }
        Setup { data_dir, args, env, table: guard }
    }

    /// Where the embedded engines keep their data.
    /// The value given to a `serve` flag, if any (the engines of a distributed setup).
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.args.iter().position(|a| a == name).and_then(|i| self.args.get(i + 1)).map(String::as_str)
    }

    /// The same deployment with another value for a `serve` flag it already has (an engine
    /// behind a test's own server or proxy).
    pub fn with_flag(mut self, name: &str, value: &str) -> Setup {
        let i = self.args.iter().position(|a| a == name).unwrap_or_else(|| panic!("no {name} in this setup"));
        self.args[i + 1] = value.to_string();
        self
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// The same deployment with a debug builds' switch file (a `ROOST_TEST_*` hook) named by
    /// `variable`: absent for now, the hook acts while the test makes the file exist.
    pub fn switch(self, variable: &str) -> (Setup, PathBuf) {
        let name = self.data_dir.file_name().unwrap().to_string_lossy().into_owned();
        let file = std::env::temp_dir().join(format!("{name}-{}", variable.to_lowercase()));
        (self.env(variable, file.to_str().unwrap()), file)
    }

    /// The cache namespace of a distributed setup (its keys in Redis start with it).
    pub fn cache_namespace(&self) -> Option<&str> {
        self.env.iter().find(|(k, _)| k == "ROOST_CACHE_NAMESPACE").map(|(_, v)| v.as_str())
    }

    /// Sets a `ROOST_*` variable for every server of this setup.
    pub fn env(mut self, name: &str, value: &str) -> Setup {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// With the abuse limits on, as in production (the harness turns them off).
    pub fn rate_limited(self) -> Setup {
        self.env("ROOST_RATE_LIMITS", "on")
    }

    pub async fn start(&self) -> Server {
        Server::spawn(self.clone()).await
    }

    /// Runs `roost ARGS...` with this deployment's engine flags and variables (`admin`,
    /// `backup`, `restore`), beside its server or without one.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_roost"));
        // The setup's arguments are `serve` and then its engine flags.
        command.args(args).args(&self.args[1..]);
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command.env("RUST_BACKTRACE", "0").stdin(Stdio::null());
        command.output().expect("running roost")
    }
}

/// A running `roost serve`; killed when dropped.
pub struct Server {
    child: Option<Child>,
    setup: Setup,
    port: u16,
    pub base: String,
}

impl Server {
    /// A server on a fresh deployment with default settings.
    pub async fn start() -> Server {
        Setup::new().start().await
    }

    async fn spawn(setup: Setup) -> Server {
        let port = free_port();
        let mut server = Server { child: None, setup, port, base: format!("http://127.0.0.1:{port}") };
        server.launch().await;
        server
    }

    async fn launch(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_roost"));
        command.args(&self.setup.args).args(["--listen", &format!("127.0.0.1:{}", self.port)]);
        for (k, v) in &self.setup.env {
            command.env(k, v);
        }
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit());
        self.child = Some(command.spawn().expect("spawning roost"));
        let started = Instant::now();
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(format!("{}/healthz", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("roost exited during startup: {status}");
            }
            assert!(started.elapsed() < Duration::from_secs(60), "roost did not come up within 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown code runs, as in a crash or an OOM kill.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill -9");
            child.wait().unwrap();
        }
    }

    /// SIGTERM: the graceful stop an orchestrator asks for (see [`Server::exited`]).
    pub fn sigterm(&self) {
        let pid = self.child.as_ref().expect("the server is running").id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("running kill").success());
    }

    /// Waits up to `within` for the process to end by itself; its exit status.
    pub async fn exited(&mut self, within: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.as_mut().expect("the server was started").try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(started.elapsed() < within, "roost did not exit within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts the process again on the same data (and port).
    pub async fn restart(&mut self) {
        self.kill9();
        self.launch().await;
    }

    /// The server's process id (to read its memory from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server runs").id()
    }

    pub fn client(&self) -> Client {
        Client { http: reqwest::Client::new(), base: self.base.clone(), token: None }
    }

    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    /// Runs `roost admin ARGS...` on this server's engines (its data dir, or its table,
    /// Redis and bucket), as an operator would beside the running server.
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        self.roost(&[&["admin"], args].concat())
    }

    /// Makes the registered user `username` a moderator with `roost admin`, as an operator
    /// would, and signs it in again (a session's role is read at sign-in).
    pub async fn grant_moderator(&self, username: &str) -> Client {
        let out = self.admin(&["grant-moderator", username]);
        assert!(out.status.success(), "roost admin: {}", String::from_utf8_lossy(&out.stderr));
        let login = serde_json::json!({"username": username, "password": "password123"});
        let body = self.client().post("/api/auth/login", login).await.expect(200);
        self.client().with_token(body["token"].as_str().unwrap())
    }

    /// Runs `roost jobs ARGS...` on this server's engines, as `admin` does.
    pub fn jobs(&self, args: &[&str]) -> std::process::Output {
        self.roost(&[&["jobs"], args].concat())
    }

    /// Runs `roost ARGS...` (a subcommand taking `serve`'s engine flags, such as `check`)
    /// on this server's engines.
    pub fn roost(&self, args: &[&str]) -> std::process::Output {
        self.setup.run(args)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        let _ = std::fs::remove_dir_all(&self.setup.data_dir);
    }
}

/// An HTTP client, signed in or not.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

/// An answer: status and JSON body (`Null` when the body is empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    /// Asserts the status and returns the body.
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self.body
    }

    /// Asserts an error of the contract's shape with this status and code.
    pub fn expect_error(self, status: u16, code: &str) -> Value {
        let body = self.expect(status);
        assert_eq!(body["error"]["code"], code, "error body: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "error body: {body}");
        body
    }
}

impl Client {
    pub fn with_token(&self, token: &str) -> Client {
        Client { token: Some(token.to_string()), ..self.clone() }
    }

    pub fn anonymous(&self) -> Client {
        Client { token: None, ..self.clone() }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request failed");
        let status = response.status();
        let bytes = response.bytes().await.expect("reading body");
        Answer { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(self.request(Method::DELETE, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(self.request(Method::POST, path).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.send(self.request(Method::PATCH, path).json(&body)).await
    }

    /// POST with a raw body and content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        self.send(self.request(Method::POST, path).header("content-type", content_type).body(body)).await
    }

    /// Registers `username` (password `password123`) and returns a client signed in as it,
    /// with the user object.
    pub async fn register(&self, username: &str) -> (Client, Value) {
        let body = self
            .anonymous()
            .post("/api/auth/register", json!({"username": username, "password": "password123"}))
            .await;
        let body = body.expect(201);
        (self.with_token(body["token"].as_str().unwrap()), body["user"].clone())
    }

    /// Walks a cursor-paginated list to the end; returns every item in order.
    pub async fn walk(&self, path: &str, limit: usize) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let sep = if path.contains('?') { '&' } else { '?' };
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
                None => format!("{path}{sep}limit={limit}"),
            };
            let page = self.get(&url).await.expect(200);
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return items,
            }
        }
    }
}

/// `setup` under a store-fault file (see `roost_engines::faults`), absent for now: write
/// `slow <ms>`, `throttle <n>` or `down` to it to make the store misbehave.
pub fn store_faults(setup: Setup) -> (Setup, PathBuf) {
    setup.switch("ROOST_TEST_STORE_FAULTS")
}

/// Runs `redis-cli` against the test Redis (to simulate a lost cache key, say).
pub fn redis_cli(args: &[&str]) -> String {
    let url = required_env("ROOST_TEST_REDIS_URL");
    let out = Command::new("redis-cli").arg("-u").arg(url).args(args).output().expect("running redis-cli");
    assert!(out.status.success(), "redis-cli {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `check` until it returns `Some`, for effects that background jobs complete.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < timeout, "timed out after {timeout:?} waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// --- helpers for the content suites (posts, media, likes, feeds) ---

impl Client {
    /// POST a multipart form.
    pub async fn post_form(&self, path: &str, form: reqwest::multipart::Form) -> Answer {
        self.send(self.request(Method::POST, path).multipart(form)).await
    }

    /// Creates a text-only post as this client; returns the post.
    pub async fn create_post(&self, text: &str) -> Value {
        self.post("/api/posts", json!({ "text": text })).await.expect(201)
    }

    /// Follows `user_id` as this client.
    pub async fn follow(&self, user_id: &str) {
        let state = self.post(&format!("/api/users/{user_id}/follow"), json!({})).await.expect(200);
        assert_eq!(state["following"], true, "follow answer: {state}");
    }

    /// Unfollows `user_id` as this client.
    pub async fn unfollow(&self, user_id: &str) {
        let state = self.delete(&format!("/api/users/{user_id}/follow")).await.expect(200);
        assert_eq!(state["following"], false, "unfollow answer: {state}");
    }
}

/// Registers `{prefix}{i}` for `i` in `0..count`, `concurrency` at a time; in order.
pub async fn register_many(
    client: &Client,
    prefix: &str,
    count: usize,
    concurrency: usize,
) -> Vec<(Client, Value)> {
    use futures::StreamExt;
    futures::stream::iter(0..count)
        .map(|i| {
            let client = client.clone();
            let name = format!("{prefix}{i}");
            async move { client.register(&name).await }
        })
        .buffered(concurrency)
        .collect()
        .await
}

/// The `id` of each item of a list.
pub fn ids_of(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().expect("item without id").to_string()).collect()
}

/// The `text` of each post of a list.
pub fn texts_of(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["text"].as_str().expect("post without text").to_string()).collect()
}

/// A `width` x `height` RGB gradient.
fn gradient(width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8])
    })
}

/// A PNG image.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    gradient(width, height).write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A JPEG image.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&gradient(width, height))
        .unwrap();
    out
}
