//! A Redis of the test's own, on a free port and in its own folder, that the test can stop
//! and start again (with its data, or empty), unlike the shared one of `scripts/services.sh`.
//! With AOF on, as production must be (a server refuses a Redis that keeps nothing).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, unique, Setup};

/// A `redis-server` child process; killed and its folder removed when dropped.
pub struct PrivateRedis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    /// `redis://127.0.0.1:PORT`.
    pub url: String,
}

impl PrivateRedis {
    pub fn start() -> PrivateRedis {
        let port = free_port();
        let dir = std::env::temp_dir().join(unique("redis"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = PrivateRedis { child: None, port, dir, url: format!("redis://127.0.0.1:{port}") };
        redis.launch();
        redis
    }

    fn launch(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/services.sh installs it)");
        self.child = Some(child);
        for _ in 0..200 {
            if self.cli_status(&["PING"]) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// SIGKILL, as a crashed or unplugged Redis: no reply to anything from now on, and
    /// connections refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with nothing in it (its data files deleted first),
    /// as a replacement node or a restart that lost its disk.
    pub fn start_empty(&mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.dir).unwrap();
        std::fs::create_dir_all(&self.dir).unwrap();
        self.launch();
    }

    fn cli_status(&self, args: &[&str]) -> bool {
        let out = Command::new("redis-cli").args(["-p", &self.port.to_string()]).args(args).output();
        out.is_ok_and(|o| o.status.success())
    }

    /// Runs `redis-cli ARGS...` against it; its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli").args(["-p", &self.port.to_string()]).args(args).output().unwrap();
        assert!(out.status.success(), "redis-cli {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Setup {
    /// The same deployment with `redis` as its cache.
    pub fn with_redis(self, redis: &PrivateRedis) -> Setup {
        self.with_flag("--redis-url", &redis.url)
    }
}
