//! `roost seed` and `roost bench`: the load generator. Both drive a running server through
//! its public HTTP API only, so that what is measured is what clients get.
//!
//! `seed` registers a social graph's users, their posts and follows, and saves what it made
//! to a state file. `bench` seeds (or reuses a state file), waits for the server's job
//! queue to drain (`backlog`), measures `/healthz` at the chosen concurrency for a short
//! phase, then runs the workload and reports per-operation throughput and latency
//! percentiles, as a table, JSON, and optionally an SVG plot; with a moderator's token,
//! also the run's DynamoDB cost per route (`cost`); and always the cache round trips per
//! request of each route, from the server's metrics (`round_trips`).
//! Answers that shed a request (429, 503) are counted apart from errors; `--probe-healthz`
//! and `--server-pid` show how an overloaded server holds up (docs/reliability.md, "Overload").

mod args;
mod backlog;
mod client;
mod cost;
mod delivery;
mod direct;
mod fanout;
mod graph;
mod histogram;
mod memory;
mod plot;
mod report;
mod round_trips;
mod seed;
mod sse;

/// A progress bar, shared with `backup`.
pub(crate) use seed::progress;
mod state;
mod stats;
mod stream;
mod workload;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map};

pub use args::{BenchArgs, SeedArgs};
use args::{GraphArgs, Workload};
use client::Target;
use graph::Graph;
use report::Report;
use seed::Via;
use state::State;
use workload::Mix;

/// Users generated when neither `--graph` nor `--generate` is given.
const DEFAULT_USERS: usize = 1_000;
/// The audience of the account whose create-post latency `post1k` measures.
const POST1K_FOLLOWERS: usize = 1_000;

/// The graph the flags describe (read or generated, celebrities added).
fn build_graph(args: &GraphArgs, rng: &mut ChaCha8Rng) -> anyhow::Result<Graph> {
    let mut graph = match &args.graph {
        Some(path) => Graph::load(path)?,
        None => graph::barabasi_albert(args.generate.unwrap_or(DEFAULT_USERS), args.attach, rng),
    };
    if graph.nodes() < 2 {
        bail!("the graph needs at least two users");
    }
    let celebrities = args.celebrities.unwrap_or(if args.graph.is_some() { 0 } else { 3 });
    graph.add_celebrities(celebrities, args.celebrity_followers, rng);
    Ok(graph)
}

/// Fails early, with a helpful message, when nothing answers at the target.
async fn check_up(target: &Arc<Target>) -> anyhow::Result<()> {
    let answer = target.connect().get("/healthz", None).await;
    match answer {
        Ok(answer) if answer.is_success() => Ok(()),
        Ok(answer) => bail!("{}/healthz answered {}", target.url, answer.describe()),
        Err(err) => Err(err.context(format!("is `roost serve` running at {}?", target.url))),
    }
}

/// Seeds what the flags describe on `target`, continuing `resume` (an interrupted seeding
/// of the same plan) when given, and saving progress to `save_to` as it goes.
async fn seed_from_flags(
    via: &Via,
    graph_args: &GraphArgs,
    seeding: &args::SeedingArgs,
    rng: &mut ChaCha8Rng,
    resume: Option<State>,
    save_to: Option<&Path>,
) -> anyhow::Result<State> {
    let graph = build_graph(graph_args, rng)?;
    eprintln!(
        "seeding {}: {} users, {} follows (most followed: {}), {} posts",
        via.label(),
        graph.nodes(),
        graph.follows().len(),
        graph.follower_counts().into_iter().max().unwrap_or(0),
        graph.nodes() * seeding.posts_per_user
    );
    let plan = seed_plan(via, graph_args, seeding);
    let state = match resume {
        Some(state) => {
            eprintln!(
                "resuming: {} users, {} posts and {} follows were already made",
                state.users.len(),
                state.posts.len(),
                state.follows
            );
            state
        }
        None => State::new(via.label()),
    };
    let state = State { unfinished: Some(plan), ..state };
    seed::seed_graph(via, &graph, seeding, rng, state, save_to).await
}

/// What a seeding was asked to do, as `State::unfinished` records it: a rerun continues an
/// unfinished state file only if it is asked for the very same.
fn seed_plan(via: &Via, graph_args: &GraphArgs, seeding: &args::SeedingArgs) -> String {
    format!("{} {graph_args:?} posts_per_user={}", via.label(), seeding.posts_per_user)
}

/// `roost seed`. An existing state file of an unfinished seeding with the same flags is
/// continued; one of a finished seeding is left alone. With `--direct` the engines are
/// opened here and written through the service (`direct`), no server involved.
pub async fn run_seed(args: SeedArgs) -> anyhow::Result<()> {
    let via = match &args.target.target {
        Some(url) if !args.direct => {
            let target = Target::resolve(url, args.target.allow_remote, args.target.timeout).await?;
            check_up(&target).await?;
            Via::Api(target)
        }
        _ => Via::Direct(Arc::new(direct::Direct::open(&args.engines).await?)),
    };
    let mut rng = graph::rng(args.graph.rng_seed);
    let resume = match args.state.exists() {
        true => Some(State::load_any(&args.state)?),
        false => None,
    };
    let plan = seed_plan(&via, &args.graph, &args.seeding);
    match resume.as_ref().map(|state| state.unfinished.as_deref()) {
        Some(None) => bail!("{} holds a finished seeding: remove it to seed again", args.state.display()),
        Some(Some(other)) if other != plan => bail!(
            "{} holds an unfinished seeding of something else ({other}): remove it, or rerun that",
            args.state.display()
        ),
        _ => {}
    }
    let state =
        seed_from_flags(&via, &args.graph, &args.seeding, &mut rng, resume, Some(&args.state)).await?;
    if let Via::Direct(direct) = via {
        eprintln!("waiting for the fan-out jobs to finish");
        let direct = Arc::into_inner(direct).context("a seeding worker outlived its pool")?;
        direct.finish().await?;
    }
    state.save(&args.state)?;
    eprintln!("seeded; accounts and tokens are in {}", args.state.display());
    Ok(())
}

/// What the timed phase runs.
enum Plan {
    Loop(Mix),
    Fanout(state::FanoutAccount),
    Stream,
}

/// `roost bench`.
pub async fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    let url = args.target.target.as_deref().context("--target is required")?;
    let target = Target::resolve(url, args.target.allow_remote, args.target.timeout).await?;
    check_up(&target).await?;
    let via = Via::Api(target.clone());
    let mut rng = graph::rng(args.graph.rng_seed);
    let mut state = match &args.state {
        Some(path) if path.exists() => {
            let state = State::load(path)?;
            if state.target != target.url {
                eprintln!("note: {} was seeded against {}, not {}", path.display(), state.target, target.url);
            }
            state
        }
        _ => seed_from_flags(&via, &args.graph, &args.seeding, &mut rng, None, None).await?,
    };
    let known_accounts = state.fanout.len();
    let mut extra = Map::new();
    if let Some(rate) = args.rate {
        extra.insert("rate_per_s".into(), json!(rate));
    }
    let plan = match args.workload {
        Workload::Feed => Plan::Loop(Mix::Feed),
        Workload::Mixed => Plan::Loop(Mix::Mixed),
        Workload::Write => Plan::Loop(Mix::Write),
        Workload::Comment | Workload::Search if state.posts.is_empty() => {
            bail!(
                "the state has no seeded posts to comment on or search: seed with --posts-per-user 1 or more"
            )
        }
        Workload::Comment => Plan::Loop(Mix::Comment),
        Workload::Search => Plan::Loop(Mix::Search),
        Workload::Stream => Plan::Stream,
        Workload::Get => Plan::Loop(Mix::Get(args.path.clone())),
        Workload::Post1k => {
            let account =
                seed::ensure_fanout_account(&via, &mut state, POST1K_FOLLOWERS, args.seeding.concurrency)
                    .await?;
            extra.insert("author_followers".into(), json!(account.followers));
            Plan::Loop(Mix::PostAs(account.author))
        }
        Workload::Fanout => {
            let account =
                seed::ensure_fanout_account(&via, &mut state, args.followers, args.seeding.concurrency)
                    .await?;
            let sampled = fanout::sample_positions(account.followers, args.fanout_sample).len();
            extra.insert(
                "fanout".into(),
                json!({"followers": account.followers, "sampled_followers": sampled}),
            );
            Plan::Fanout(account)
        }
    };
    if let Some(path) = &args.state {
        if !path.exists() || state.fanout.len() != known_accounts {
            state.save(path)?;
        }
    }
    let state = Arc::new(state);
    backlog::drain(&target).await?;

    let healthz_duration = args
        .healthz_duration
        .unwrap_or((args.duration / 6).clamp(Duration::from_secs(1), Duration::from_secs(5)));
    eprintln!("healthz: {healthz_duration:?} at {} connections", args.connections);
    let seed = args.graph.rng_seed;
    let cost_before = match &args.cost_token {
        Some(token) => Some(cost::read(&target, token).await?),
        None => None,
    };
    let healthz =
        workload::run(&target, &state, Mix::Healthz, args.connections, healthz_duration, None, seed).await?;
    let trips_before = round_trips::read(&target).await?;
    eprintln!("{}: {:?} at {} connections", args.workload.name(), args.duration, args.connections);
    let memory_before = args.server_pid.map(memory::read).transpose()?;
    let probe = args.probe_healthz.map(|every| {
        let deadline = std::time::Instant::now() + args.duration;
        tokio::spawn(workload::probe_healthz(Arc::clone(&target), every, deadline))
    });
    let mut run = match plan {
        Plan::Loop(mix) => {
            workload::run(&target, &state, mix, args.connections, args.duration, args.rate, seed).await?
        }
        Plan::Fanout(account) => {
            let options = fanout::Options {
                connections: args.connections,
                duration: args.duration,
                max_posts: args.fanout_posts,
                sample: args.fanout_sample,
            };
            fanout::run(&target, &state, &account, options, &mut rng).await?
        }
        Plan::Stream => {
            let options = stream::Options {
                streams: args.streams,
                writers: args.connections,
                duration: args.duration,
                seed,
            };
            let (phase, summary) = stream::run(&target, &state, options).await?;
            extra.insert("stream".into(), summary);
            phase
        }
    };

    if let Some(probe) = probe {
        run.recorder.merge(&probe.await?);
    }
    if let (Some(before), Some(pid)) = (memory_before, args.server_pid) {
        extra.insert("server_memory_mib".into(), memory::to_json(before, memory::read(pid)?));
    }

    let cost_after = match &args.cost_token {
        Some(token) => Some(cost::read(&target, token).await?),
        None => None,
    };
    let trips_after = round_trips::read(&target).await?;
    let costs = cost_before.zip(cost_after);
    if args.json {
        extra.insert("cache_round_trips".into(), round_trips::to_json(&trips_before, &trips_after));
    }
    if let (Some((before, after)), true) = (&costs, args.json) {
        extra.insert("cost".into(), cost::to_json(before, after));
    }
    let report = Report {
        target: target.url.clone(),
        workload: args.workload.name(),
        connections: args.connections,
        duration: args.duration,
        healthz,
        run,
        extra,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        print!("{}", report.to_text());
        print!("{}", round_trips::table(&trips_before, &trips_after));
        match &costs {
            Some((before, after)) => print!("{}", cost::table(before, after)),
            None => eprintln!("{}", cost::HOW),
        }
    }
    if let Some(path) = &args.plot {
        let mut series: Vec<(&str, &histogram::Histogram)> = Vec::new();
        if let Some(stats) = report.healthz.recorder.ops.get("healthz") {
            series.push(("healthz", &stats.latency));
        }
        series.extend(report.run.recorder.ops.iter().map(|(name, stats)| (*name, &stats.latency)));
        let title = format!(
            "roost bench {}: latency by percentile, {} connections",
            report.workload, report.connections
        );
        std::fs::write(path, plot::percentile_svg(&title, &series))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
