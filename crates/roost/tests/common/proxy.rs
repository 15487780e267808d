//! A TCP proxy that a test can cut and restore, to put a network failure between a server
//! and one of its engines (S3, say) without touching the engine itself.
//!
//! Threads, not tasks: it must keep forwarding whatever runtime the test awaits on.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Forwards `127.0.0.1:port` to `target` until dropped.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`, for an endpoint flag.
    pub url: String,
    shared: Arc<Shared>,
}

struct Shared {
    cut: AtomicBool,
    stopped: AtomicBool,
    /// Both ends of every open connection, to sever them on a cut.
    open: Mutex<Vec<TcpStream>>,
}

impl Proxy {
    /// A proxy to `target` (`host:port`).
    pub fn start(target: &str) -> Proxy {
        let target: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(target).unwrap().next().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared { cut: false.into(), stopped: false.into(), open: Mutex::default() });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                // Cut: the connection is accepted and closed at once, as a reset would.
                if accepting.cut.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(upstream) = TcpStream::connect(target) else { continue };
                accepting.forward(client, upstream);
            }
        });
        Proxy { url, shared }
    }

    /// Severs every open connection and refuses new ones until `restore`.
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        for stream in self.shared.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Forwards again.
    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }
}

impl Shared {
    fn forward(&self, client: TcpStream, upstream: TcpStream) {
        let mut open = self.open.lock().unwrap();
        open.retain(|s| s.peer_addr().is_ok());
        for (from, to) in [(&client, &upstream), (&upstream, &client)] {
            let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n @ 1..) = from.read(&mut buf) {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to.shutdown(Shutdown::Write);
            });
        }
        open.extend([client, upstream]);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so that it sees `stopped` and ends.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}
