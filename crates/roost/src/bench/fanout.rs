//! The fan-out workload: an account with N followers posts, and we time how long until the
//! post heads the home feed of every follower — the end-to-end latency of docs/architecture.md's
//! "Create post" flow, queue and worker included, as a reader experiences it.
//!
//! Polling all N feeds would itself be the load; a sample is polled instead: followers
//! spread evenly over the audience plus the newest one (fan-out walks followers in some
//! order, so both ends and the middle are covered). Posts are timed one after another.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::client::{Conn, Target};
use super::seed::{create_post, random_text};
use super::state::{Account, FanoutAccount, State};
use super::stats::Recorder;
use super::workload::Phase;

/// A follower whose feed did not show the post is asked again after this pause, so that
/// pollers do not hammer the server that is busy fanning out.
const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// A post that has not reached every sampled feed by then is counted as an error.
const POST_TIMEOUT: Duration = Duration::from_secs(60);

/// `sample` positions spread evenly over `0..followers`, plus the last one.
pub fn sample_positions(followers: usize, sample: usize) -> Vec<usize> {
    if followers == 0 {
        return Vec::new();
    }
    let sample = sample.clamp(1, followers);
    let mut positions: Vec<usize> = (0..sample).map(|i| i * followers / sample).collect();
    positions.push(followers - 1);
    positions.dedup();
    positions
}

#[derive(Deserialize)]
struct FeedPage {
    items: Vec<FeedItem>,
}

#[derive(Deserialize)]
struct FeedItem {
    id: String,
}

struct Pending {
    follower: usize,
    not_before: Instant,
}

/// Polls the feeds in `queue` until each shows `post` first (or time runs out).
async fn poller(
    conn: &mut Conn,
    users: &[Account],
    queue: &RefCell<VecDeque<Pending>>,
    post: &str,
    posted_at: Instant,
    recorder: &RefCell<Recorder>,
    slowest: &RefCell<Duration>,
) {
    loop {
        let Some(item) = queue.borrow_mut().pop_front() else { return };
        let now = Instant::now();
        if item.not_before > now {
            tokio::time::sleep(item.not_before - now).await;
        }
        let started = Instant::now();
        let answer = conn.get("/api/feed?limit=1", Some(&users[item.follower].token)).await;
        let first = match answer {
            Ok(answer) if answer.is_success() => {
                recorder.borrow_mut().success("feed_poll", started.elapsed());
                answer.json::<FeedPage>().ok().and_then(|page| page.items.into_iter().next()).map(|i| i.id)
            }
            Ok(answer) => {
                recorder.borrow_mut().error("feed_poll", || answer.describe());
                None
            }
            Err(err) => {
                recorder.borrow_mut().error("feed_poll", || format!("{err:#}"));
                None
            }
        };
        let seen_after = posted_at.elapsed();
        if first.as_deref() == Some(post) {
            recorder.borrow_mut().success("fanout_visible", seen_after);
            let mut slowest = slowest.borrow_mut();
            *slowest = (*slowest).max(seen_after);
        } else if seen_after > POST_TIMEOUT {
            let name = &users[item.follower].username;
            recorder.borrow_mut().error("fanout_visible", || {
                format!("{name}: post {post} not first in the feed after {POST_TIMEOUT:?}")
            });
        } else {
            queue
                .borrow_mut()
                .push_back(Pending { follower: item.follower, not_before: Instant::now() + POLL_INTERVAL });
        }
    }
}

/// How a fan-out run goes.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Connections polling the sampled feeds.
    pub connections: usize,
    /// No new post is made after this.
    pub duration: Duration,
    pub max_posts: usize,
    /// Followers polled per post (plus the newest).
    pub sample: usize,
}

/// Posts as `account` (at most `max_posts` times, stopping when `duration` is up) and times
/// each post's arrival in the sampled followers' feeds.
pub async fn run(
    target: &Arc<Target>,
    state: &State,
    account: &FanoutAccount,
    options: Options,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> anyhow::Result<Phase> {
    let Options { connections, duration, max_posts, sample } = options;
    let positions = sample_positions(account.followers.min(state.users.len()), sample);
    let mut author = target.connect();
    let mut pollers: Vec<Conn> =
        (0..connections.clamp(1, positions.len().max(1))).map(|_| target.connect()).collect();
    let recorder = RefCell::new(Recorder::new());
    let started = Instant::now();
    for round in 0..max_posts.max(1) {
        if round > 0 && started.elapsed() >= duration {
            break;
        }
        let posted_at = Instant::now();
        let post = match create_post(&mut author, &account.author.token, &random_text(rng)).await {
            Ok(id) => {
                recorder.borrow_mut().success("create_post", posted_at.elapsed());
                id
            }
            Err(err) => {
                recorder.borrow_mut().error("create_post", || format!("{err:#}"));
                continue;
            }
        };
        let queue = RefCell::new(
            positions
                .iter()
                .map(|&follower| Pending { follower, not_before: posted_at })
                .collect::<VecDeque<_>>(),
        );
        let slowest = RefCell::new(Duration::ZERO);
        let errors_before = recorder.borrow().ops.get("fanout_visible").map_or(0, |s| s.errors);
        // The pollers share one task and the queue: they only wait on sockets and timers.
        futures::future::join_all(
            pollers
                .iter_mut()
                .map(|conn| poller(conn, &state.users, &queue, &post, posted_at, &recorder, &slowest)),
        )
        .await;
        let missed = recorder.borrow().ops.get("fanout_visible").map_or(0, |s| s.errors) - errors_before;
        if missed == 0 {
            recorder.borrow_mut().success("fanout_complete", slowest.into_inner());
        } else {
            recorder.borrow_mut().error("fanout_complete", || {
                format!("post {post}: {missed} sampled followers never saw it first")
            });
        }
    }
    Ok(Phase { recorder: recorder.into_inner(), elapsed: started.elapsed() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_spread_evenly_and_include_the_newest() {
        let s = sample_positions(10_000, 100);
        assert_eq!(s.len(), 101);
        assert_eq!(s[0], 0);
        assert_eq!(s[1], 100);
        assert_eq!(*s.last().unwrap(), 9_999);
        assert_eq!(sample_positions(50, 100), (0..50).collect::<Vec<_>>());
        assert_eq!(sample_positions(1, 100), vec![0]);
        assert!(sample_positions(0, 100).is_empty());
    }
}
