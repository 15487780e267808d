//! The flags of `roost seed` and `roost bench` (docs/architecture.md, "Command line"). Both talk to a
//! running server at `--target`; the groups they share are flattened into each.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, ValueEnum};

use crate::cli::ServeArgs;

/// Where requests go.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// Base URL of a running `roost serve`, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub target: Option<String>,
    /// Allow a target that is not a loopback address.
    #[arg(long)]
    pub allow_remote: bool,
    /// Longest wait for one answer; a request that takes longer counts as an error.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// Which social graph to seed.
#[derive(Args, Debug, Clone)]
pub struct GraphArgs {
    /// An edge list (`u v` a line, e.g. socfb-Reed98.edges); every edge is followed both ways.
    #[arg(long, conflicts_with = "generate")]
    pub graph: Option<PathBuf>,
    /// Generate a preferential-attachment (Barabási–Albert) graph of N users instead.
    #[arg(long, value_name = "N")]
    pub generate: Option<usize>,
    /// Friendships each generated user makes on joining (half the mean degree).
    #[arg(long, default_value_t = 5)]
    pub attach: usize,
    /// Extra accounts followed one-way by `--celebrity-followers` users each
    /// [default: 3 with --generate, 0 with --graph].
    #[arg(long)]
    pub celebrities: Option<usize>,
    /// Followers of each celebrity (at most every user).
    #[arg(long, default_value_t = 10_000)]
    pub celebrity_followers: usize,
    /// Seed of every random choice (graph, post texts, who does what), for repeatable runs.
    #[arg(long, default_value_t = 42)]
    pub rng_seed: u64,
}

/// How seeding writes.
#[derive(Args, Debug, Clone)]
pub struct SeedingArgs {
    /// Synthetic posts written by each user.
    #[arg(long, default_value_t = 5)]
    pub posts_per_user: usize,
    /// Concurrent requests while seeding.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("destination").required(true).args(["target", "direct"])))]
pub struct SeedArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Write through the service in this process, on the engines `roost serve` would open
    /// with the same flags, instead of through a server's API: the bulk path. No server may
    /// run on an embedded data directory meanwhile.
    #[arg(long, conflicts_with = "target")]
    pub direct: bool,
    #[command(flatten)]
    pub graph: GraphArgs,
    #[command(flatten)]
    pub seeding: SeedingArgs,
    /// Where to write the accounts, tokens and post ids created, for `bench --state`.
    #[arg(long, default_value = "bench-state.json")]
    pub state: PathBuf,
    /// With --direct: the engines, as `roost serve` takes them.
    #[command(flatten, next_help_heading = "Engines (with --direct)")]
    pub engines: ServeArgs,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Home feeds (GET /api/feed?limit=20) of random users.
    Feed,
    /// DeathStarBench's mix: 60% home feed, 30% a user's posts, 10% create post.
    Mixed,
    /// Writes only: create post, like, follow.
    Write,
    /// Time until an account's new post heads every (sampled) follower's feed.
    Fanout,
    /// Create-post latency of an account with 1,000 followers.
    Post1k,
    /// Comments on seeded posts by random users, some of them replies.
    Comment,
    /// Post search for words (and prefixes) of the seeded texts.
    Search,
    /// Events pushed to `--streams` open event streams while writers like and post.
    Stream,
    /// GET `--path` without a session, say a web app asset as large as a feed page: the
    /// server's floor for an answer of that many bytes.
    Get,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Feed => "feed",
            Workload::Mixed => "mixed",
            Workload::Write => "write",
            Workload::Fanout => "fanout",
            Workload::Post1k => "post1k",
            Workload::Comment => "comment",
            Workload::Search => "search",
            Workload::Stream => "stream",
            Workload::Get => "get",
        }
    }
}

#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("destination").required(true).args(["target"])))]
pub struct BenchArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(long, value_enum, default_value = "mixed")]
    pub workload: Workload,
    /// Virtual users, each with one keep-alive connection, each sending its next request
    /// when the previous one is answered (closed loop).
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// How long the workload runs.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Send this many requests a second in all, on a fixed schedule (open loop, as wrk2's
    /// -R), instead of each virtual user's next request as soon as the last is answered.
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// How long the /healthz phase before the workload runs [default: a sixth of
    /// --duration, between 1 s and 5 s].
    #[arg(long, value_parser = parse_duration)]
    pub healthz_duration: Option<Duration>,
    /// A state file from `roost seed`: reuse its accounts instead of seeding. If the file
    /// does not exist, the run seeds and writes it.
    #[arg(long)]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub graph: GraphArgs,
    #[command(flatten)]
    pub seeding: SeedingArgs,
    /// get: the path to request.
    #[arg(long, default_value = "/healthz")]
    pub path: String,
    /// fanout: followers of the posting account (created if the state has none).
    #[arg(long, default_value_t = 10_000)]
    pub followers: usize,
    /// fanout: the most posts to time (fewer if --duration runs out first).
    #[arg(long, default_value_t = 10)]
    pub fanout_posts: usize,
    /// fanout: followers whose feeds are polled (spread evenly, plus the newest).
    #[arg(long, default_value_t = 100)]
    pub fanout_sample: usize,
    /// stream: event streams (`GET /api/stream`) held open, each on its own connection, as
    /// the seeded users in turn. Each is a file descriptor here and on the server: mind
    /// `ulimit -n` on both sides.
    #[arg(long, default_value_t = 1_000)]
    pub streams: usize,
    /// While the workload runs, also `GET /healthz` on a connection of its own every this
    /// long, as an orchestrator's probe would (reported as `healthz_probe`): with
    /// `--connections` far past the server's `max_in_flight`, it shows an overloaded
    /// server stays alive.
    #[arg(long, value_name = "INTERVAL", value_parser = parse_duration)]
    pub probe_healthz: Option<Duration>,
    /// The server's process id, when it runs on this machine: its resident memory before
    /// and after the workload, and its peak, are reported (from /proc).
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
    /// A moderator's session token: the run's DynamoDB cost per route is read from
    /// `GET /api/admin/cost` before and after it and printed (embedded servers estimate it).
    #[arg(long, value_name = "TOKEN")]
    pub cost_token: Option<String>,
    /// Write the latency distribution as an SVG plot.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err("must be a number of requests a second above zero".into()),
    }
}

/// `30s`, `2m`, `1h 30m`, `500ms`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_rate("20"), Ok(20.0));
        assert!(parse_rate("0").is_err() && parse_rate("fast").is_err());
    }
}
