//! `RedisCache` against a real redis-server (started by `scripts/services.sh`, or anything
//! `ROOST_TEST_REDIS_URL` points at): the shared `Cache` conformance suite, then what is
//! specific to Redis — pipelines that are one round trip, blocking reads on connections of
//! their own, pending messages of a vanished consumer, pub/sub between instances and across
//! reconnects, failures as `Unavailable`, and Redis Cluster.
//!
//! Every case builds its own handle: each `#[tokio::test]` runs its own runtime, and fred's
//! connection tasks belong to the runtime that started them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use fred::prelude::{Builder, ClientLike, Config, Value};
use fred::types::{ClusterHash, CustomCommand};
use futures::StreamExt;
use roost_distributed::cache::{RedisCache, RedisConfig};
use roost_engines::conformance::unique_prefix;
use roost_engines::{Cache, EngineError, Subscription};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

fn redis_url() -> String {
    std::env::var("ROOST_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!(
            "ROOST_TEST_REDIS_URL is not set: these tests need a Redis server. Run them through \
             scripts/test.sh, or `source scripts/services.sh; services_install; services_start` first"
        )
    })
}

async fn connect(config: RedisConfig) -> RedisCache {
    RedisCache::connect(config).await.expect("connect to the test Redis")
}

async fn redis_cache() -> Arc<dyn Cache> {
    Arc::new(connect(RedisConfig::new(redis_url())).await)
}

roost_engines::cache_conformance_tests!(redis_cache);

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

async fn next_message(subscription: &mut Subscription) -> Bytes {
    match tokio::time::timeout(Duration::from_secs(5), subscription.next()).await {
        Ok(Some(message)) => message,
        Ok(None) => panic!("subscription ended"),
        Err(_) => panic!("no message within 5 s"),
    }
}

/// A plain fred client, for what the tests do behind the cache's back.
async fn admin(url: &str) -> fred::prelude::Client {
    let client = Builder::from_config(Config::from_url(url).expect("url")).build().expect("client");
    client.init().await.expect("admin connection");
    client
}

async fn admin_command(client: &fred::prelude::Client, command: &'static str, args: Vec<&str>) -> Value {
    let args: Vec<Value> = args.into_iter().map(|a| Value::from(a.to_string())).collect();
    client.custom(CustomCommand::new_static(command, ClusterHash::Random, false), args).await.expect(command)
}

/// A loopback TCP proxy to `upstream` that holds every chunk going to Redis for `up` and
/// every chunk coming back for `down` before passing it on: n round trips then cost at
/// least n × (`up` + `down`).
async fn slow_proxy(upstream: SocketAddr, up: Duration, down: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let address = listener.local_addr().expect("proxy address");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else { return };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let upward = tokio::spawn(relay(client_read, server_write, up));
                relay(server_read, client_write, down).await;
                upward.abort();
            });
        }
    });
    address
}

/// Copies `from` to `to`, each chunk `delay` late, until either side closes.
async fn relay(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Duration) {
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        tokio::time::sleep(delay).await;
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
}

fn redis_address(url: &str) -> SocketAddr {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host_port = rest.rsplit_once('@').map_or(rest, |(_, hp)| hp).trim_end_matches('/');
    host_port.parse().unwrap_or_else(|_| panic!("ROOST_TEST_REDIS_URL {url:?} is not redis://ip:port"))
}

#[tokio::test]
async fn many_key_set_queries_are_one_round_trip() {
    let delay = Duration::from_millis(100);
    let proxy = slow_proxy(redis_address(&redis_url()), Duration::ZERO, delay).await;
    let slow = connect(RedisConfig::new(format!("redis://{proxy}"))).await;
    let direct = connect(RedisConfig::new(redis_url())).await;

    let p = unique_prefix("pipeline");
    let keys: Vec<String> = (0..40).map(|i| format!("{p}:likers:{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        let members: Vec<String> = (0..i % 4).map(|m| format!("u{m}")).collect();
        direct.sadd(key, &members).await.expect("sadd");
    }

    let started = Instant::now();
    let cards = slow.scard_many(&keys).await.expect("scard_many");
    let took = started.elapsed();
    assert_eq!(cards, (0..40).map(|i| (i % 4) as u64).collect::<Vec<_>>());
    // One round trip costs one `delay`; forty would cost four seconds.
    assert!(took < delay * 5, "scard_many of 40 keys took {took:?}");

    let pairs: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), "u2".to_string())).collect();
    let started = Instant::now();
    let members = slow.sismember_many(&pairs).await.expect("sismember_many");
    let took = started.elapsed();
    assert_eq!(members, (0..40).map(|i| i % 4 == 3).collect::<Vec<_>>());
    assert!(took < delay * 5, "sismember_many of 40 pairs took {took:?}");

    let strings: Vec<String> = (0..40).map(|i| format!("{p}:post:{i}")).collect();
    for key in &strings {
        direct.set(key, b(key), None).await.expect("set");
    }
    let started = Instant::now();
    let values = slow.mget(&strings).await.expect("mget");
    let took = started.elapsed();
    assert_eq!(values, strings.iter().map(|k| Some(b(k))).collect::<Vec<_>>());
    assert!(took < delay * 5, "mget of 40 keys took {took:?}");
}

#[tokio::test]
async fn a_blocking_read_does_not_hold_up_other_commands() {
    // One pooled connection: were the blocking read on it, every GET would wait behind it.
    let config = RedisConfig { pool_size: 1, blocking_connections: 2, ..RedisConfig::new(redis_url()) };
    let cache = Arc::new(connect(config).await);
    let p = unique_prefix("blocking");
    let (stream, key) = (format!("{p}:jobs"), format!("{p}:key"));
    cache.xgroup_create(&stream, "g").await.expect("group");
    cache.set(&key, b("v"), None).await.expect("set");

    let readers: Vec<_> = (0..2)
        .map(|i| {
            let (cache, stream) = (cache.clone(), stream.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let read = cache.xreadgroup(&stream, "g", &format!("c{i}"), 10, Duration::from_secs(2)).await;
                (read.expect("blocking read"), started.elapsed())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    for _ in 0..50 {
        assert_eq!(cache.get(&key).await.expect("get"), Some(b("v")));
    }
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1000), "50 GETs during two blocking reads took {took:?}");

    for reader in readers {
        let (read, waited) = reader.await.expect("reader task");
        assert!(read.is_empty());
        // Both blocked side by side, each on its own connection, not one after the other.
        assert!(waited >= Duration::from_millis(1900) && waited < Duration::from_millis(3500), "{waited:?}");
    }
}

#[tokio::test]
async fn a_vanished_consumers_messages_are_claimed_by_another_instance() {
    let stream = format!("{}:jobs", unique_prefix("rescue"));
    let worker = connect(RedisConfig::new(redis_url())).await;
    worker.xgroup_create(&stream, "workers").await.expect("group");
    let mut sent = Vec::new();
    for job in ["a", "b", "c"] {
        sent.push(worker.xadd(&stream, b(job)).await.expect("xadd"));
    }
    let taken = worker.xreadgroup(&stream, "workers", "worker-1", 10, Duration::ZERO).await.expect("read");
    assert_eq!(taken.len(), 3);
    drop(worker); // it dies holding three unacknowledged jobs

    let rescuer = connect(RedisConfig::new(redis_url())).await;
    rescuer.xgroup_create(&stream, "workers").await.expect("group exists already");
    let min_idle = Duration::from_millis(300);
    assert!(rescuer
        .xautoclaim(&stream, "workers", "worker-2", min_idle, 10)
        .await
        .expect("claim")
        .is_empty());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let claimed = rescuer.xautoclaim(&stream, "workers", "worker-2", min_idle, 10).await.expect("claim");
    assert_eq!(claimed.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), sent);
    assert_eq!(claimed.iter().map(|m| m.payload.clone()).collect::<Vec<_>>(), vec![b("a"), b("b"), b("c")]);
    assert!(claimed.iter().all(|m| m.deliveries == 2), "{claimed:?}");

    let ids: Vec<String> = claimed.iter().map(|m| m.id.clone()).collect();
    assert_eq!(rescuer.xack(&stream, "workers", &ids).await.expect("ack"), 3);
    assert_eq!(rescuer.xlen(&stream).await.expect("xlen"), 0);
}

#[tokio::test]
async fn pubsub_crosses_instances() {
    let (one, two) =
        (connect(RedisConfig::new(redis_url())).await, connect(RedisConfig::new(redis_url())).await);
    let channel = format!("{}:presence", unique_prefix("instances"));
    let mut on_one = one.subscribe(&channel).await.expect("subscribe");
    let mut on_two = two.subscribe(&channel).await.expect("subscribe");

    two.publish(&channel, b("from two")).await.expect("publish");
    assert_eq!(next_message(&mut on_one).await, b("from two"));
    assert_eq!(next_message(&mut on_two).await, b("from two"));
    one.publish(&channel, b("from one")).await.expect("publish");
    assert_eq!(next_message(&mut on_two).await, b("from one"));
    assert_eq!(next_message(&mut on_one).await, b("from one"));
}

#[tokio::test]
async fn subscriptions_and_commands_survive_dropped_connections() {
    // A server of its own: killing connections on the shared one would disturb other cases.
    let server = RedisServer::start(&[]);
    let url = format!("redis://127.0.0.1:{}", server.port);
    let cache = connect(RedisConfig::new(url.clone())).await;
    let p = unique_prefix("reconnect");
    let (channel, key) = (format!("{p}:events"), format!("{p}:key"));
    let mut subscription = cache.subscribe(&channel).await.expect("subscribe");
    cache.set(&key, b("kept"), None).await.expect("set");

    let admin = admin(&url).await;
    let killed = admin_command(&admin, "CLIENT", vec!["KILL", "TYPE", "pubsub"]).await;
    assert!(killed.as_u64().unwrap_or(0) >= 1, "no subscriber connection was killed: {killed:?}");
    admin_command(&admin, "CLIENT", vec!["KILL", "TYPE", "normal", "SKIPME", "yes"]).await;

    // Commands are retried on the new connection.
    assert_eq!(cache.get(&key).await.expect("get after reconnect"), Some(b("kept")));

    // The subscription comes back by itself; publish until the resubscribe has landed.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        cache.publish(&channel, b("still here")).await.expect("publish");
        match tokio::time::timeout(Duration::from_millis(200), subscription.next()).await {
            Ok(Some(message)) => {
                assert_eq!(message, b("still here"));
                break;
            }
            Ok(None) => panic!("the subscription ended with its connection"),
            Err(_) => assert!(Instant::now() < deadline, "not resubscribed within 10 s"),
        }
    }
}

#[tokio::test]
async fn subscribe_returns_once_redis_has_the_subscription() {
    // Commands reach Redis late: a subscribe that returned as soon as SUBSCRIBE was written
    // would let the publish below reach Redis first, and the message go to nobody.
    let proxy = slow_proxy(redis_address(&redis_url()), Duration::from_millis(300), Duration::ZERO).await;
    let late = connect(RedisConfig::new(format!("redis://{proxy}"))).await;
    let direct = connect(RedisConfig::new(redis_url())).await;
    let channel = format!("{}:events", unique_prefix("confirmed"));
    let mut subscription = late.subscribe(&channel).await.expect("subscribe");
    direct.publish(&channel, b("right after")).await.expect("publish");
    assert_eq!(next_message(&mut subscription).await, b("right after"));
}

#[tokio::test]
async fn dropping_the_last_subscription_unsubscribes() {
    let url = redis_url();
    let cache = connect(RedisConfig::new(url.clone())).await;
    let channel = format!("{}:events", unique_prefix("unsubscribe"));
    let admin = admin(&url).await;
    let subscribers = || async {
        let reply = admin_command(&admin, "PUBSUB", vec!["NUMSUB", &channel]).await;
        reply.into_array().get(1).and_then(Value::as_u64).expect("NUMSUB count")
    };

    let first = cache.subscribe(&channel).await.expect("subscribe");
    let second = cache.subscribe(&channel).await.expect("subscribe");
    assert_eq!(subscribers().await, 1, "one Redis subscription per instance and channel");
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(subscribers().await, 1, "still wanted by the second");
    drop(second);
    let deadline = Instant::now() + Duration::from_secs(5);
    while subscribers().await != 0 {
        assert!(Instant::now() < deadline, "still subscribed after the last subscription was dropped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    // A port that was free a moment ago: nothing listens there.
    let port = free_port();
    let config = RedisConfig {
        connect_timeout: Duration::from_secs(1),
        ..RedisConfig::new(format!("redis://127.0.0.1:{port}"))
    };
    let started = Instant::now();
    match RedisCache::connect(config).await {
        Err(EngineError::Unavailable { engine: "redis", .. }) => {}
        Err(other) => panic!("expected Unavailable, got {other}"),
        Ok(_) => panic!("connected to a closed port"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_silent_server_times_out_as_unavailable() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let config = RedisConfig {
        connect_timeout: Duration::from_millis(500),
        command_timeout: Duration::from_millis(300),
        ..RedisConfig::new(format!("redis://{address}"))
    };
    let started = Instant::now();
    let outcome = match RedisCache::connect(config).await {
        Err(err) => Err(err),
        Ok(cache) => cache.get("any").await.map(drop),
    };
    assert!(
        matches!(outcome, Err(EngineError::Unavailable { engine: "redis", .. })),
        "expected Unavailable, got {outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_bad_url_is_invalid() {
    match RedisCache::connect(RedisConfig::new("redis://")).await {
        Err(EngineError::Invalid(_)) => {}
        other => panic!("expected Invalid, got {:?}", other.map(drop)),
    }
}

#[tokio::test]
async fn auth_comes_from_the_url() {
    // A server with a password, just for this case.
    let server = RedisServer::start(&["--requirepass", "s3cret"]);
    let url = format!("redis://:s3cret@127.0.0.1:{}", server.port);
    let cache = connect(RedisConfig::new(url)).await;
    cache.set("k", b("v"), None).await.expect("set with AUTH");
    assert_eq!(cache.get("k").await.expect("get"), Some(b("v")));

    let wrong = RedisConfig {
        connect_timeout: Duration::from_secs(2),
        ..RedisConfig::new(format!("redis://:nope@127.0.0.1:{}", server.port))
    };
    assert!(matches!(RedisCache::connect(wrong).await, Err(EngineError::Unavailable { .. })));
}

#[tokio::test]
async fn rediss_verifies_the_server_against_the_given_ca() {
    let certificates = TestCertificates::generate();
    let server = RedisServer::start_tls(&certificates);
    let url = format!("rediss://localhost:{}", server.port);

    let config = RedisConfig {
        tls_ca_file: Some(certificates.path("ca.crt").into()),
        ..RedisConfig::new(url.clone())
    };
    let cache = connect(config).await;
    cache.set("k", b("over tls"), None).await.expect("set over TLS");
    assert_eq!(cache.get("k").await.expect("get"), Some(b("over tls")));
    let mut subscription = cache.subscribe("events").await.expect("subscribe over TLS");
    cache.publish("events", b("hi")).await.expect("publish");
    assert_eq!(next_message(&mut subscription).await, b("hi"));
    cache.xgroup_create("jobs", "g").await.expect("group");
    assert!(cache
        .xreadgroup("jobs", "g", "c", 1, Duration::from_millis(100))
        .await
        .expect("blocking read")
        .is_empty());

    // Without the CA, the server's certificate is not trusted.
    let untrusting = RedisConfig { connect_timeout: Duration::from_secs(2), ..RedisConfig::new(url) };
    assert!(matches!(
        RedisCache::connect(untrusting).await,
        Err(EngineError::Unavailable { engine: "redis", .. })
    ));
}

/// A Redis Cluster of three primaries on loopback, for this binary's cluster case.
#[tokio::test]
async fn cluster_mode_routes_every_call_by_slot() {
    let nodes: Vec<RedisServer> = (0..3)
        .map(|_| RedisServer::start(&["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"]))
        .collect();
    let addresses: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
    let status = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addresses)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdout(Stdio::null())
        .status()
        .expect("redis-cli --cluster create (redis-tools)");
    assert!(status.success(), "cluster create failed");
    wait_for_cluster(&addresses[0]).await;

    let cache = connect(RedisConfig::cluster(format!("redis://{}", addresses[0]))).await;
    let p = unique_prefix("cluster");
    // Keys of different entities hash to different slots, hence to different nodes.
    let keys: Vec<String> = (0..12).map(|i| format!("post:{{{p}-{i}}}")).collect();
    for (i, key) in keys.iter().enumerate() {
        cache.set(key, b(&i.to_string()), None).await.expect("set");
    }
    let mut wanted = keys.clone();
    wanted.insert(3, format!("post:{{{p}-missing}}"));
    let values = cache.mget(&wanted).await.expect("mget across slots");
    assert_eq!(values[3], None);
    assert_eq!(values[0], Some(b("0")));
    assert_eq!(values[12], Some(b("11")));
    assert_eq!(cache.del(&wanted).await.expect("del across slots"), 12);

    let sets: Vec<String> = (0..12).map(|i| format!("likes:{{{p}-{i}}}")).collect();
    for (i, key) in sets.iter().enumerate() {
        cache.sadd(key, &(0..i).map(|m| format!("u{m}")).collect::<Vec<_>>()).await.expect("sadd");
    }
    assert_eq!(cache.scard_many(&sets).await.expect("scard_many"), (0..12).collect::<Vec<u64>>());
    let pairs: Vec<(String, String)> = sets.iter().map(|k| (k.clone(), "u5".to_string())).collect();
    assert_eq!(
        cache.sismember_many(&pairs).await.expect("sismember_many"),
        (0..12).map(|i| i > 5).collect::<Vec<_>>()
    );

    let stream = format!("jobs:{{{p}}}");
    cache.xgroup_create(&stream, "g").await.expect("group");
    let id = cache.xadd(&stream, b("job")).await.expect("xadd");
    let read = cache.xreadgroup(&stream, "g", "c", 10, Duration::from_millis(200)).await.expect("read");
    assert_eq!(read.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), vec![id.clone()]);
    assert_eq!(cache.xack(&stream, "g", &[id]).await.expect("ack"), 1);

    let mut subscription = cache.subscribe(&format!("{p}:events")).await.expect("subscribe");
    cache.publish(&format!("{p}:events"), b("hi")).await.expect("publish");
    assert_eq!(next_message(&mut subscription).await, b("hi"));
}

async fn wait_for_cluster(address: &str) {
    let admin = admin(&format!("redis://{address}")).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let info = admin_command(&admin, "CLUSTER", vec!["INFO"]).await;
        if info.as_str().is_some_and(|s| s.contains("cluster_state:ok")) {
            return;
        }
        assert!(Instant::now() < deadline, "cluster not ok: {info:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A redis-server of the test's own, on a free loopback port, stopped on drop.
struct RedisServer {
    port: u16,
    process: Child,
    dir: PathBuf,
}

impl RedisServer {
    fn start(args: &[&str]) -> RedisServer {
        let port = free_port();
        RedisServer::launch(port, &[&["--port", &port.to_string()], args].concat())
    }

    /// TLS only, with the certificate and key of `tls` (clients are not asked for one).
    fn start_tls(tls: &TestCertificates) -> RedisServer {
        let port = free_port();
        let (cert, key, ca) = (tls.path("server.crt"), tls.path("server.key"), tls.path("ca.crt"));
        RedisServer::launch(
            port,
            &[
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--tls-cert-file",
                &cert,
                "--tls-key-file",
                &key,
                "--tls-ca-cert-file",
                &ca,
                "--tls-auth-clients",
                "no",
            ],
        )
    }

    fn launch(port: u16, args: &[&str]) -> RedisServer {
        let dir = std::env::temp_dir().join(unique_prefix("redis-server"));
        std::fs::create_dir_all(&dir).expect("server dir");
        let process = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (from scripts/services.sh's services_install)");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisServer { port, process, dir }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A throwaway CA and a server certificate it signed for `localhost` and 127.0.0.1.
struct TestCertificates {
    dir: PathBuf,
}

impl TestCertificates {
    fn generate() -> TestCertificates {
        let dir = std::env::temp_dir().join(unique_prefix("redis-tls"));
        std::fs::create_dir_all(&dir).expect("certificate dir");
        std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").expect("san.ext");
        let steps: [&[&str]; 3] = [
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "1",
                "-subj",
                "/CN=roost test CA",
            ],
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.crt",
                "-days",
                "1",
                "-extfile",
                "san.ext",
            ],
        ];
        for args in steps {
            let status = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("openssl");
            assert!(status.success(), "openssl {args:?} failed");
        }
        TestCertificates { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TestCertificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
