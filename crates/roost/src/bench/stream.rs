//! The stream workload: how many live events one instance pushes to many open event
//! streams, and how soon after the write they arrive.
//!
//! `--streams` streams (`GET /api/stream`) are opened as the seeded users in turn, each on
//! its own connection, and held open. Then `--connections` writers, closed loop, for
//! `--duration`: half their writes like a seeded post written by a stream owner (an
//! `engagement` event to the author's streams, and later a `notification` for a first
//! like), half create a post as a stream owner (a `post` event to the author's and every
//! streaming follower's streams). Every event is counted on arrival and its latency taken
//! from its write's acknowledgement (`delivery`). A stream that ends before the run does
//! was dropped by the server (its buffer overflowed) or failed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch, Semaphore};

use super::client::Target;
use super::delivery::Matcher;
use super::seed::random_text;
use super::sse::{SseEvent, SseParser};
use super::state::State;
use super::stats::Recorder;
use super::workload::Phase;

/// Streams being opened at once: a burst of a thousand connects would overflow the
/// server's accept backlog.
const OPENING: usize = 32;
/// After the writers stop, streams keep reading this long for events still on their way.
const GRACE: Duration = Duration::from_secs(1);
/// Percent of the writes that are likes (the others create posts).
const LIKE_SHARE: u32 = 50;

/// How a stream run goes.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub streams: usize,
    pub writers: usize,
    pub duration: Duration,
    pub seed: u64,
}

type Shared = Arc<Mutex<Matcher>>;

fn lock(matcher: &Mutex<Matcher>) -> MutexGuard<'_, Matcher> {
    // The matcher's methods leave it consistent at every step: a panic elsewhere harms nothing.
    matcher.lock().unwrap_or_else(|e| e.into_inner())
}

/// The operation an event kind's latency is recorded under.
fn delivery_op(kind: &str) -> Option<&'static str> {
    match kind {
        "post" => Some("deliver_post"),
        "engagement" => Some("deliver_engagement"),
        "notification" => Some("deliver_notification"),
        _ => None,
    }
}

/// The post an event is about: a `post` event's `id`, the others' `post_id`.
fn post_of(event: &SseEvent) -> Option<String> {
    let data: Value = serde_json::from_str(&event.data).ok()?;
    let field = if event.event == "post" { "id" } else { "post_id" };
    data.get(field)?.as_str().map(str::to_string)
}

/// What one stream saw.
#[derive(Default)]
struct Seen {
    recorder: Recorder,
    /// Events received by kind, matched to a write or not.
    events: BTreeMap<String, u64>,
    opened: bool,
    dropped: bool,
}

/// Opens one stream, then reads it until `stop`.
async fn reader(
    target: Arc<Target>,
    token: String,
    opening: Arc<Semaphore>,
    opened: mpsc::Sender<()>,
    matcher: Shared,
    mut stop: watch::Receiver<bool>,
) -> Seen {
    let mut seen = Seen::default();
    let permit = opening.acquire().await;
    let started = Instant::now();
    let answer = target.open("/api/stream", &token).await;
    drop(permit);
    let _ = opened.send(()).await;
    let mut body: Incoming = match answer {
        Ok((200, body)) => body,
        Ok((status, _)) => {
            seen.recorder.error("stream_open", || format!("HTTP {status}"));
            return seen;
        }
        Err(err) => {
            seen.recorder.error("stream_open", || format!("{err:#}"));
            return seen;
        }
    };
    seen.recorder.success("stream_open", started.elapsed());
    seen.opened = true;
    let mut parser = SseParser::default();
    loop {
        let frame = tokio::select! {
            frame = body.frame() => frame,
            _ = stop.wait_for(|stop| *stop) => return seen,
        };
        let data = match frame {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
            Some(Err(_)) | None => {
                seen.dropped = true;
                return seen;
            }
        };
        let arrived = Instant::now();
        for event in parser.feed(&data) {
            *seen.events.entry(event.event.clone()).or_default() += 1;
            let (Some(op), Some(post)) = (delivery_op(&event.event), post_of(&event)) else { continue };
            if let Some(latency) = lock(&matcher).received(op, &post, arrived) {
                seen.recorder.success(op, latency);
            }
        }
    }
}

/// One closed-loop writer: likes on its own share of the owners' posts (so that no two
/// writes on one post are ever in flight together), and new posts as random owners.
async fn writer(
    target: Arc<Target>,
    state: Arc<State>,
    owners: usize,
    posts: Vec<String>,
    matcher: Shared,
    mut rng: ChaCha8Rng,
    deadline: Instant,
) -> Recorder {
    let mut recorder = Recorder::new();
    let mut conn = target.connect();
    let users = state.graph_users();
    while Instant::now() < deadline {
        let like = !posts.is_empty() && rng.gen_range(0..100) < LIKE_SHARE;
        let started = Instant::now();
        let (op, post, answer) = if like {
            let post = &posts[rng.gen_range(0..posts.len())];
            lock(&matcher).sent(post);
            let liker = &users[rng.gen_range(0..users.len())];
            let answer = conn.post(&format!("/api/posts/{post}/like"), Some(&liker.token), &json!({})).await;
            ("like", Some(post.clone()), answer)
        } else {
            let author = &users[rng.gen_range(0..owners)];
            let body = json!({"text": random_text(&mut rng)});
            ("create_post", None, conn.post("/api/posts", Some(&author.token), &body).await)
        };
        let acked = Instant::now();
        match answer {
            Ok(answer) if answer.is_success() => {
                recorder.success(op, acked - started);
                let post =
                    post.or_else(|| answer.json::<Value>().ok()?.get("id")?.as_str().map(str::to_string));
                if let Some(post) = post {
                    for early in lock(&matcher).acked(&post, acked) {
                        recorder.success(early, Duration::ZERO);
                    }
                }
            }
            Ok(answer) => recorder.error(op, || answer.describe()),
            Err(err) => recorder.error(op, || format!("{err:#}")),
        }
    }
    recorder
}

/// The seeded posts written by `users[..owners]`: seeding wrote the same number of posts
/// for every user, in user order.
fn owners_posts(state: &State, owners: usize) -> Vec<String> {
    let per_user = state.posts.len() / state.graph_users.max(1);
    state.posts.iter().take(per_user * owners).cloned().collect()
}

/// Opens the streams, runs the writers, and reports deliveries; the JSON is the report's
/// `stream` entry.
pub async fn run(
    target: &Arc<Target>,
    state: &Arc<State>,
    options: Options,
) -> anyhow::Result<(Phase, Value)> {
    let Options { streams, writers, duration, seed } = options;
    let owners = streams.clamp(1, state.graph_users().len());
    let matcher: Shared = Arc::default();
    let (stop, stopped) = watch::channel(false);
    let opening = Arc::new(Semaphore::new(OPENING));
    let (opened, mut all_opened) = mpsc::channel(streams.max(1));
    let readers: Vec<_> = (0..streams)
        .map(|i| {
            let token = state.users[i % owners].token.clone();
            let reader = reader(
                target.clone(),
                token,
                opening.clone(),
                opened.clone(),
                matcher.clone(),
                stopped.clone(),
            );
            tokio::spawn(reader)
        })
        .collect();
    // Writing starts once every stream is open (or failed to open).
    for _ in 0..streams {
        all_opened.recv().await;
    }
    let posts = owners_posts(state, owners);
    let writers = writers.max(1);
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let share = posts.iter().skip(w).step_by(writers).cloned().collect();
            let rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(w as u64 + 1));
            tokio::spawn(writer(target.clone(), state.clone(), owners, share, matcher.clone(), rng, deadline))
        })
        .collect();
    let mut phase = Phase::default();
    for task in tasks {
        phase.recorder.merge(&task.await?);
    }
    phase.elapsed = started.elapsed();
    tokio::time::sleep(GRACE).await;
    let _ = stop.send(true);
    let (mut opened, mut dropped) = (0, 0);
    let mut events: BTreeMap<String, u64> = BTreeMap::new();
    for task in readers {
        let seen = task.await?;
        phase.recorder.merge(&seen.recorder);
        opened += usize::from(seen.opened);
        dropped += usize::from(seen.dropped);
        for (kind, count) in seen.events {
            *events.entry(kind).or_default() += count;
        }
    }
    let total: u64 = events.values().sum();
    let summary = json!({
        "streams": streams,
        "users_streaming": owners,
        "opened": opened,
        "dropped": dropped,
        "writers": writers,
        "events": total,
        "events_per_s": total as f64 / phase.elapsed.as_secs_f64(),
        "events_by_kind": events,
        "unmatched_events": lock(&matcher).unmatched(),
    });
    Ok((phase, summary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::state::Account;

    #[test]
    fn events_name_their_post() {
        let event = |e: &str, d: &str| SseEvent { event: e.into(), data: d.into() };
        assert_eq!(post_of(&event("post", r#"{"id":"p1","author":{"id":"u"}}"#)).as_deref(), Some("p1"));
        assert_eq!(
            post_of(&event("engagement", r#"{"post_id":"p2","like_count":1}"#)).as_deref(),
            Some("p2")
        );
        assert_eq!(post_of(&event("notification", r#"{"id":"n1","post_id":null}"#)), None);
        assert_eq!(post_of(&event("post", "not json")), None);
        assert_eq!(delivery_op("engagement"), Some("deliver_engagement"));
        assert_eq!(delivery_op("presence"), None);
    }

    #[test]
    fn owners_posts_are_those_seeded_by_the_first_users() {
        let mut state = State::new("http://127.0.0.1:1");
        for i in 0..4 {
            state.users.push(Account {
                id: format!("u{i}"),
                username: format!("user_{i}"),
                token: "t".into(),
            });
        }
        state.graph_users = 4;
        state.posts = (0..8).map(|i| format!("p{i}")).collect();
        assert_eq!(owners_posts(&state, 2), ["p0", "p1", "p2", "p3"]);
        assert_eq!(owners_posts(&state, 4).len(), 8);
    }
}
