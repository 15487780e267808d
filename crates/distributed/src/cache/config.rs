//! How to reach Redis: the URL, the topology, and the budgets (connections, timeouts) that
//! every client of one `RedisCache` shares.

use std::path::PathBuf;
use std::time::Duration;

use fred::prelude::{Builder, Config, ReconnectPolicy, ServerConfig, TcpConfig};
use fred::types::config::{ClusterDiscoveryPolicy, TlsHostMapping};
use roost_engines::{EngineError, EngineResult};

use super::tls;

/// Where the Redis cache lives and how hard to try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://[user:password@]host[:port][/db]`, or `rediss://…` for TLS. AUTH comes from
    /// the URL's user and password.
    pub url: String,
    /// Redis Cluster: the URL names any one node and the rest is discovered. A
    /// `redis-cluster://` or `rediss-cluster://` URL means the same without this flag.
    pub cluster: bool,
    /// Connections (per node, in a cluster) for ordinary commands. Commands are pipelined
    /// on each, so a handful carries a whole instance.
    pub pool_size: usize,
    /// Connections reserved for blocking queue reads (`XREADGROUP … BLOCK`), one per
    /// concurrent reader; a reader beyond that waits for one to come free.
    pub blocking_connections: usize,
    /// Budget of one command (or pipeline) from send to answer, including time spent
    /// waiting for a reconnect. A blocking read gets its `block` on top.
    pub command_timeout: Duration,
    /// Budget of connecting (TCP, TLS, AUTH) at start-up.
    pub connect_timeout: Duration,
    /// For `rediss://` to a server whose certificate comes from a private CA: a PEM file of
    /// root certificates to trust besides the system's.
    pub tls_ca_file: Option<PathBuf>,
}

impl RedisConfig {
    /// Defaults for a single Redis server at `url` (`redis://` or `rediss://`).
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            cluster: false,
            pool_size: 4,
            blocking_connections: 8,
            command_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(5),
            tls_ca_file: None,
        }
    }

    /// Same, for Redis Cluster.
    pub fn cluster(url: impl Into<String>) -> Self {
        RedisConfig { cluster: true, ..RedisConfig::new(url) }
    }

    /// A fred builder carrying everything above. The pools and the subscriber are all
    /// built from it, so they agree on servers, credentials, TLS and timeouts.
    pub(super) fn builder(&self) -> EngineResult<Builder> {
        let invalid = |err: fred::error::Error| {
            // The URL may carry a password; fred's parse errors never echo it, and we do
            // not either.
            EngineError::Invalid(format!("redis url: {err}"))
        };
        let cluster_scheme =
            self.url.split_once("://").is_some_and(|(scheme, _)| scheme.ends_with("-cluster"));
        let mut config = if self.cluster || cluster_scheme {
            Config::from_url_clustered(&self.url).map_err(invalid)?
        } else {
            Config::from_url_centralized(&self.url).map_err(invalid)?
        };
        if let ServerConfig::Clustered { policy, .. } = &mut config.server {
            // Managed clusters sit behind a configuration endpoint whose node list changes
            // under us; ask it again rather than trusting a stale routing table.
            *policy = ClusterDiscoveryPolicy::ConfigEndpoint;
        }
        if config.tls.is_some() {
            // fred's own default would take whatever rustls crypto provider the process
            // happens to install; build ours with the one object_store and the AWS SDK use.
            let mut tls_config: fred::prelude::TlsConfig =
                tls::client_config(self.tls_ca_file.as_deref())?.into();
            if config.server.is_clustered() {
                // Cluster nodes announce themselves by IP; verify their certificates against
                // the host name we were given (a managed cluster's wildcard certificate).
                tls_config.hostnames = TlsHostMapping::DefaultHost;
            }
            config.tls = Some(tls_config);
        }
        // A failed first connection is a configuration error to report at start-up, not
        // something to retry in the background while the service pretends to be up.
        config.fail_fast = true;

        let mut builder = Builder::from_config(config);
        builder
            .with_performance_config(|perf| {
                perf.default_command_timeout = self.command_timeout;
                // Pub/sub messages fan out from one dispatcher; give it room for bursts.
                perf.broadcast_channel_capacity = 1024;
            })
            .with_connection_config(|conn| {
                conn.connection_timeout = self.connect_timeout;
                conn.internal_command_timeout = self.command_timeout;
                conn.tcp = TcpConfig { nodelay: Some(true), ..TcpConfig::default() };
            })
            // Reconnect forever with capped backoff: while Redis is away, each command still
            // fails within its own timeout, and the clients come back by themselves.
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2));
        Ok(builder)
    }
}
