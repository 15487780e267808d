//! The closed-loop workloads: each virtual user owns one connection and sends its next
//! request as soon as the previous one is answered, until the phase's time is up.
//!
//! Closed loop (as wrk and DeathStarBench's `wrk2` without a rate) measures the throughput
//! the server sustains at a given concurrency; latencies are those of a saturated server.
//! With a rate (`--rate`, as wrk2's `-R`) each virtual user sends on a fixed schedule
//! instead, and a request's latency counts from when it was *due*, so a stall also counts
//! against the requests it delayed (no coordinated omission).

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hyper::Method;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde_json::json;

use super::client::{Conn, Target};
use super::seed::{random_text, search_words};
use super::state::{Account, State};
use super::stats::Recorder;

/// After a transport failure (server down, connection refused) a virtual user waits this
/// long before trying again, so that a dead target does not turn the loop into a spin.
const ERROR_PAUSE: Duration = Duration::from_millis(10);

/// After a shed answer (429, 503) a virtual user waits this long, as the server's
/// `Retry-After: 1` asks and as a well-behaved client does; without it, shed answers come
/// back at once and the loop turns into a retry storm that measures only the shedding.
const SHED_PAUSE: Duration = Duration::from_secs(1);

/// The words `search` queries: those of the seeded texts (computed once).
static SEARCH_WORDS: OnceLock<Vec<&'static str>> = OnceLock::new();

/// What the virtual users of a phase do.
#[derive(Clone, Debug)]
pub enum Mix {
    /// GET /healthz: the server's ceiling for the cheapest request, to compare against.
    Healthz,
    /// GET /api/feed?limit=20 as random users.
    Feed,
    /// 60% home feed, 30% a user's posts, 10% create post (DeathStarBench's mix).
    Mixed,
    /// 50% create post, 30% like a seeded post, 20% follow a random user.
    Write,
    /// Create post, always as this account (which has 1,000 followers).
    PostAs(Account),
    /// Comments by random users on random seeded posts; `REPLY_SHARE`% reply to a comment
    /// this virtual user made earlier.
    Comment,
    /// Post search: one word of the seeded texts' vocabulary, two words (the second a
    /// prefix), or a lone prefix, in equal shares.
    Search,
    /// GET this path, no session.
    Get(String),
}

/// The share of `comment`'s requests that reply to an earlier comment (once there is one).
const REPLY_SHARE: u32 = 30;
/// Comments a virtual user remembers as reply targets.
const REMEMBERED_COMMENTS: usize = 64;

/// What a virtual user remembers between requests: the comments it made (post, comment).
#[derive(Default)]
struct Memory {
    comments: VecDeque<(String, String)>,
}

impl Memory {
    /// Keeps the comment a successful `comment` or `reply` created.
    fn note(&mut self, op: &str, body: &[u8]) {
        #[derive(Deserialize)]
        struct Created {
            id: String,
            post_id: String,
        }
        if op != "comment" && op != "reply" {
            return;
        }
        if let Ok(created) = serde_json::from_slice::<Created>(body) {
            if self.comments.len() == REMEMBERED_COMMENTS {
                self.comments.pop_front();
            }
            self.comments.push_back((created.post_id, created.id));
        }
    }
}

/// A search query from `words`: a whole word, a word and a prefix, or a prefix alone.
fn search_query(words: &[&str], rng: &mut ChaCha8Rng) -> (&'static str, String) {
    let word = |rng: &mut ChaCha8Rng| words[rng.gen_range(0..words.len())];
    // A prefix of two characters or more, as the index requires, and at most four.
    let prefix = |rng: &mut ChaCha8Rng| {
        let w = word(rng);
        let end = rng.gen_range(2..=w.len().min(4));
        w[..end].to_string()
    };
    match rng.gen_range(0..3) {
        0 => ("search_word", word(rng).to_string()),
        1 => ("search_two_words", format!("{}%20{}", word(rng), prefix(rng))),
        _ => ("search_prefix", prefix(rng)),
    }
}

/// One request a virtual user is about to make.
struct Planned<'a> {
    op: &'static str,
    method: Method,
    path: String,
    token: Option<&'a str>,
    body: Option<Vec<u8>>,
}

impl Planned<'_> {
    fn get<'a>(op: &'static str, path: String, token: Option<&'a str>) -> Planned<'a> {
        Planned { op, method: Method::GET, path, token, body: None }
    }

    fn post<'a>(op: &'static str, path: String, token: &'a str, body: Option<Vec<u8>>) -> Planned<'a> {
        Planned { op, method: Method::POST, path, token: Some(token), body }
    }
}

fn new_post_body(rng: &mut ChaCha8Rng) -> Option<Vec<u8>> {
    serde_json::to_vec(&json!({"text": random_text(rng)})).ok()
}

impl Mix {
    fn next<'a>(&'a self, state: &'a State, memory: &Memory, rng: &mut ChaCha8Rng) -> Planned<'a> {
        let users = state.graph_users();
        let pick = |rng: &mut ChaCha8Rng| &users[rng.gen_range(0..users.len())];
        match self {
            Mix::Healthz => Planned::get("healthz", "/healthz".into(), None),
            Mix::Get(path) => Planned::get("get", path.clone(), None),
            Mix::Feed => Planned::get("home_feed", "/api/feed?limit=20".into(), Some(&pick(rng).token)),
            Mix::Mixed => {
                let reader = pick(rng);
                let roll = rng.gen_range(0..100);
                if roll < 60 {
                    Planned::get("home_feed", "/api/feed?limit=20".into(), Some(&reader.token))
                } else if roll < 90 {
                    let author = pick(rng);
                    Planned::get(
                        "user_posts",
                        format!("/api/users/{}/posts?limit=20", author.id),
                        Some(&reader.token),
                    )
                } else {
                    Planned::post("create_post", "/api/posts".into(), &reader.token, new_post_body(rng))
                }
            }
            Mix::Write => {
                let writer = pick(rng);
                let roll = rng.gen_range(0..100);
                if roll < 30 && !state.posts.is_empty() {
                    let post = &state.posts[rng.gen_range(0..state.posts.len())];
                    Planned::post("like", format!("/api/posts/{post}/like"), &writer.token, None)
                } else if roll < 50 && users.len() > 1 {
                    // Never oneself: a self-follow is a 422, not a write.
                    let mut followee = pick(rng);
                    while followee.id == writer.id {
                        followee = pick(rng);
                    }
                    Planned::post("follow", format!("/api/users/{}/follow", followee.id), &writer.token, None)
                } else {
                    Planned::post("create_post", "/api/posts".into(), &writer.token, new_post_body(rng))
                }
            }
            Mix::PostAs(author) => {
                Planned::post("create_post_1k", "/api/posts".into(), &author.token, new_post_body(rng))
            }
            Mix::Comment => {
                let writer = pick(rng);
                let (op, post, parent) = match memory.comments.len() {
                    n if n > 0 && rng.gen_range(0..100) < REPLY_SHARE => {
                        let (post, parent) = &memory.comments[rng.gen_range(0..n)];
                        ("reply", post.clone(), Some(parent.clone()))
                    }
                    _ => ("comment", state.posts[rng.gen_range(0..state.posts.len())].clone(), None),
                };
                let body = serde_json::to_vec(&json!({"text": random_text(rng), "parent_id": parent})).ok();
                Planned::post(op, format!("/api/posts/{post}/comments"), &writer.token, body)
            }
            Mix::Search => {
                let (op, query) = search_query(SEARCH_WORDS.get_or_init(search_words), rng);
                Planned::get(op, format!("/api/search/posts?q={query}&limit=20"), Some(&pick(rng).token))
            }
        }
    }
}

/// The results of one timed phase.
#[derive(Debug, Default)]
pub struct Phase {
    pub recorder: Recorder,
    /// From the first request sent to the last answer received.
    pub elapsed: Duration,
}

async fn virtual_user(
    mut conn: Conn,
    mix: Arc<Mix>,
    state: Arc<State>,
    mut rng: ChaCha8Rng,
    deadline: Instant,
    every: Option<Duration>,
) -> Recorder {
    let mut recorder = Recorder::new();
    let mut memory = Memory::default();
    let mut due = Instant::now();
    while Instant::now() < deadline {
        let planned = mix.next(&state, &memory, &mut rng);
        let started = match every {
            Some(every) => {
                tokio::time::sleep_until(due.into()).await;
                due += every;
                due - every
            }
            None => Instant::now(),
        };
        match conn.send(planned.method, &planned.path, planned.token, planned.body).await {
            Ok(answer) if answer.is_success() => {
                recorder.success(planned.op, started.elapsed());
                memory.note(planned.op, &answer.body);
            }
            Ok(answer) if answer.is_shed() => {
                recorder.shed(planned.op, || answer.describe());
                tokio::time::sleep(SHED_PAUSE).await;
            }
            Ok(answer) => recorder.error(planned.op, || answer.describe()),
            Err(err) => {
                recorder.error(planned.op, || format!("{err:#}"));
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
    recorder
}

/// Runs `mix` with `connections` virtual users for `duration`: closed loop, or at `rate`
/// requests a second in all.
pub async fn run(
    target: &Arc<Target>,
    state: &Arc<State>,
    mix: Mix,
    connections: usize,
    duration: Duration,
    rate: Option<f64>,
    seed: u64,
) -> anyhow::Result<Phase> {
    let connections = connections.max(1);
    let every = rate.map(|r| Duration::from_secs_f64(connections as f64 / r));
    let mix = Arc::new(mix);
    let started = Instant::now();
    let deadline = started + duration;
    // One task per virtual user: they spread over the runtime's threads like clients would.
    let tasks: Vec<_> = (0..connections)
        .map(|vu| {
            let rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(vu as u64 + 1));
            let user = virtual_user(target.connect(), mix.clone(), state.clone(), rng, deadline, every);
            tokio::spawn(user)
        })
        .collect();
    let mut phase = Phase::default();
    for task in tasks {
        phase.recorder.merge(&task.await?);
    }
    phase.elapsed = started.elapsed();
    Ok(phase)
}

/// `GET /healthz` every `every` on a connection of its own until `deadline`, as the
/// orchestrator's probe would while the workload runs: recorded as `healthz_probe`.
pub async fn probe_healthz(target: Arc<Target>, every: Duration, deadline: Instant) -> Recorder {
    let mut recorder = Recorder::new();
    let mut conn = target.connect();
    while Instant::now() < deadline {
        let started = Instant::now();
        match conn.get("/healthz", None).await {
            Ok(answer) if answer.is_success() => recorder.success("healthz_probe", started.elapsed()),
            Ok(answer) => recorder.error("healthz_probe", || answer.describe()),
            Err(err) => recorder.error("healthz_probe", || format!("{err:#}")),
        }
        tokio::time::sleep(every.saturating_sub(started.elapsed())).await;
    }
    recorder
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        let mut state = State::new("http://127.0.0.1:1");
        for i in 0..10 {
            state.users.push(Account {
                id: format!("id{i}"),
                username: format!("user_{i}"),
                token: format!("t{i}"),
            });
        }
        state.graph_users = 10;
        state.posts = vec!["p1".into(), "p2".into()];
        state
    }

    fn shares(mix: Mix) -> std::collections::BTreeMap<&'static str, usize> {
        let state = state();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut counts = std::collections::BTreeMap::new();
        for _ in 0..10_000 {
            let planned = mix.next(&state, &Memory::default(), &mut rng);
            assert!(planned.token.is_some() || planned.op == "healthz");
            *counts.entry(planned.op).or_insert(0) += 1;
        }
        counts
    }

    #[test]
    fn mixed_is_the_deathstarbench_mix() {
        let counts = shares(Mix::Mixed);
        let near = |op: &str, expected: usize| counts[op].abs_diff(expected) < 300;
        assert!(
            near("home_feed", 6_000) && near("user_posts", 3_000) && near("create_post", 1_000),
            "{counts:?}"
        );
    }

    #[test]
    fn write_mixes_posts_likes_and_follows() {
        let counts = shares(Mix::Write);
        assert_eq!(counts.len(), 3, "{counts:?}");
        assert!(counts["create_post"] > counts["like"] && counts["like"] > counts["follow"], "{counts:?}");
    }

    #[test]
    fn comments_reply_to_remembered_comments_only() {
        let state = state();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut memory = Memory::default();
        for _ in 0..100 {
            let planned = Mix::Comment.next(&state, &memory, &mut rng);
            assert_eq!(planned.op, "comment", "nothing to reply to yet");
            assert!(planned.path == "/api/posts/p1/comments" || planned.path == "/api/posts/p2/comments");
        }
        memory.note("comment", br#"{"id":"c1","post_id":"p2","text":"hi"}"#);
        memory.note("home_feed", br#"{"id":"x","post_id":"p1"}"#);
        let mut replies: u32 = 0;
        for _ in 0..1_000 {
            let planned = Mix::Comment.next(&state, &memory, &mut rng);
            let body: serde_json::Value = serde_json::from_slice(&planned.body.unwrap()).unwrap();
            if planned.op == "reply" {
                replies += 1;
                assert_eq!(
                    (planned.path.as_str(), &body["parent_id"]),
                    ("/api/posts/p2/comments", &json!("c1"))
                );
            } else {
                assert!(body["parent_id"].is_null());
            }
        }
        assert!(replies.abs_diff(300) < 60, "{replies} replies in 1,000");
    }

    #[test]
    fn search_queries_use_seeded_words_and_prefixes() {
        let words = search_words();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..1_000 {
            let (op, query) = search_query(&words, &mut rng);
            kinds.insert(op);
            let parts: Vec<&str> = query.split("%20").collect();
            let (last, whole) = parts.split_last().unwrap();
            assert!(whole.iter().all(|w| words.contains(w)), "{query}");
            assert!(last.len() >= 2 && words.iter().any(|w| w.starts_with(last)), "{query}");
        }
        assert_eq!(kinds.len(), 3, "{kinds:?}");
    }
}
