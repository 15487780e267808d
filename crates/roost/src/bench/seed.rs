//! Seeding a running server through its public API, as any client would: registration,
//! follows and posts are the same requests the app makes, so a seeded server holds exactly
//! what real use would have written (caches, counters, feeds included).
//!
//! Registration pays argon2's cost by design; on a server with the production settings
//! that is most of the seeding time (tests lower it with `ROOST_ARGON2_*`).
//!
//! With `--direct` the same use cases run in this process instead (`direct`): no server,
//! no HTTP, the bulk path for large data sets.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde_json::json;

use super::args::SeedingArgs;
use super::client::{Conn, Target};
use super::direct::Direct;
use super::graph::Graph;
use super::state::{Account, FanoutAccount, State};

/// Every seeded account's password.
pub const PASSWORD: &str = "roost-bench-password";
/// Attempts per seeding request: a busy server may time out or refuse one now and then.
const ATTEMPTS: u32 = 3;
/// How often a seeding writes down how far it got (an interrupted one loses at most this
/// much work, redone when it is resumed).
const SAVE_EVERY: Duration = Duration::from_secs(2);

/// Writes down the work done so far: the results of a pool's jobs, in job order, `None`
/// for those not (yet) done.
pub type SaveProgress<'a, T> = &'a dyn Fn(&[Option<T>]) -> anyhow::Result<()>;

const WORDS: &[&str] = &[
    "the", "a", "coffee", "morning", "run", "city", "rain", "sun", "music", "new", "old", "friend", "today",
    "tonight", "weekend", "train", "book", "reading", "code", "rust", "garden", "bread", "walk", "river",
    "photo", "great", "quiet", "long", "day", "week", "finally", "again", "with", "and", "at", "in", "on",
    "my", "our", "love", "this", "that", "so", "very", "just", "back", "home", "work", "lunch", "tea",
    "mountain", "sea", "bike", "#roost", "#weekend", "#music", "lol", "wow", "thanks", "everyone",
];

/// A synthetic post text of 3 to 40 words.
pub fn random_text(rng: &mut ChaCha8Rng) -> String {
    let words = rng.gen_range(3..=40);
    let mut text = String::new();
    for i in 0..words {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
    }
    text
}

/// The words of the synthetic texts as post search indexes them: letters only (a hashtag
/// is its word), two characters or more.
pub fn search_words() -> Vec<&'static str> {
    let mut words: Vec<&'static str> =
        WORDS.iter().map(|w| w.trim_start_matches('#')).filter(|w| w.len() >= 2).collect();
    words.sort_unstable();
    words.dedup();
    words
}

pub fn username(label: u64) -> String {
    format!("user_{label}")
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Ends a seeding phase's bar, and says how long the phase took: where a seeding's time
/// goes, in its log.
fn finish(bar: &ProgressBar, made: usize) {
    bar.finish();
    let took = bar.elapsed();
    eprintln!(
        "{}: {made} in {took:.1?} ({:.0}/s)",
        bar.message(),
        made as f64 / took.as_secs_f64().max(1e-3)
    );
}

/// Runs `work` on every job with `concurrency` connections and returns the results in job
/// order. A job is tried up to `ATTEMPTS` times; one that still fails stops the pool.
/// `save`, if given, is handed the results so far every `SAVE_EVERY` and when the pool
/// stops, done or failed.
pub async fn pool<J, T>(
    via: &Via,
    concurrency: usize,
    jobs: Vec<J>,
    bar: &ProgressBar,
    save: Option<SaveProgress<'_, T>>,
    work: impl AsyncFn(&mut Writer, &J) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let total = jobs.len();
    let queue = RefCell::new(jobs.into_iter().enumerate());
    let results: RefCell<Vec<Option<T>>> = RefCell::new((0..total).map(|_| None).collect());
    let failure: RefCell<Option<anyhow::Error>> = RefCell::new(None);
    let saved_at = Cell::new(Instant::now());
    let save_now = || save.map_or(Ok(()), |save| save(&results.borrow()));
    // The workers share one task: they only wait on sockets, and plain RefCells beat locks.
    let worker = async |mut conn: Writer| loop {
        if failure.borrow().is_some() {
            return;
        }
        let Some((index, job)) = queue.borrow_mut().next() else { return };
        let mut attempt = 1;
        let outcome = loop {
            match work(&mut conn, &job).await {
                Ok(value) => break Ok(value),
                Err(err) if attempt >= ATTEMPTS => break Err(err),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                    attempt += 1;
                }
            }
        };
        match outcome {
            Ok(value) => results.borrow_mut()[index] = Some(value),
            Err(err) => {
                failure.borrow_mut().get_or_insert(err);
                return;
            }
        }
        bar.inc(1);
        if saved_at.get().elapsed() >= SAVE_EVERY {
            saved_at.set(Instant::now());
            if let Err(err) = save_now() {
                failure.borrow_mut().get_or_insert(err);
            }
        }
    };
    let workers = concurrency.clamp(1, total.max(1));
    futures::future::join_all((0..workers).map(|_| worker(via.writer()))).await;
    let saved = save_now();
    if let Some(err) = failure.into_inner() {
        return Err(err);
    }
    saved?;
    results.into_inner().into_iter().map(|r| r.context("a seeding job did not run")).collect()
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Deserialize)]
struct SignedIn {
    user: IdOnly,
    token: String,
}

/// Where a seeding writes: a running server's API, or the service in this process.
pub enum Via {
    /// Requests to a server, as a client makes them.
    Api(Arc<Target>),
    /// The use cases called in-process (`--direct`).
    Direct(Arc<Direct>),
}

impl Via {
    /// One worker's way in: a connection of its own, or the shared service.
    fn writer(&self) -> Writer {
        match self {
            Via::Api(target) => Writer::Api(target.connect()),
            Via::Direct(direct) => Writer::Direct(direct.clone()),
        }
    }

    /// What the state file records as the seeding's target.
    pub fn label(&self) -> &str {
        match self {
            Via::Api(target) => &target.url,
            Via::Direct(direct) => &direct.label,
        }
    }
}

/// One pool worker's handle on what `Via` names.
pub enum Writer {
    /// A keep-alive connection to the server.
    Api(Conn),
    /// The in-process service.
    Direct(Arc<Direct>),
}

impl Writer {
    /// Registers `name`, or signs in if it exists (a target seeded before, state file lost).
    async fn register(&mut self, name: &str) -> anyhow::Result<Account> {
        match self {
            Writer::Api(conn) => register(conn, name).await,
            Writer::Direct(direct) => direct.register(name).await,
        }
    }

    async fn follow(&mut self, token: &str, followee_id: &str) -> anyhow::Result<()> {
        match self {
            Writer::Api(conn) => follow(conn, token, followee_id).await,
            Writer::Direct(direct) => direct.follow(token, followee_id).await,
        }
    }

    async fn create_post(&mut self, token: &str, text: &str) -> anyhow::Result<String> {
        match self {
            Writer::Api(conn) => create_post(conn, token, text).await,
            Writer::Direct(direct) => direct.create_post(token, text).await,
        }
    }
}

/// Registers `name`, or signs in if it exists (a server seeded before, state file lost).
async fn register(conn: &mut Conn, name: &str) -> anyhow::Result<Account> {
    let body = json!({"username": name, "password": PASSWORD});
    let mut answer = conn.post("/api/auth/register", None, &body).await?;
    if answer.status == 409 {
        answer = conn.post("/api/auth/login", None, &body).await?;
    }
    if !answer.is_success() {
        bail!("registering {name}: {}", answer.describe());
    }
    let signed_in: SignedIn = answer.json()?;
    Ok(Account { id: signed_in.user.id, username: name.to_string(), token: signed_in.token })
}

async fn follow(conn: &mut Conn, token: &str, followee_id: &str) -> anyhow::Result<()> {
    let answer = conn.post(&format!("/api/users/{followee_id}/follow"), Some(token), &json!({})).await?;
    if !answer.is_success() {
        bail!("following {followee_id}: {}", answer.describe());
    }
    Ok(())
}

/// Creates a post and returns its id.
pub async fn create_post(conn: &mut Conn, token: &str, text: &str) -> anyhow::Result<String> {
    let answer = conn.post("/api/posts", Some(token), &json!({"text": text})).await?;
    if !answer.is_success() {
        bail!("creating a post: {}", answer.describe());
    }
    Ok(answer.json::<IdOnly>()?.id)
}

/// The leading results of `done` that are there, in order: what a resumed seeding can skip.
fn done_prefix<T: Clone>(done: &[Option<T>]) -> impl Iterator<Item = T> + '_ {
    done.iter().map_while(Clone::clone)
}

/// Seeds `graph`: registers its users, has each write `posts_per_user` posts, then makes
/// every follow. Posts come before follows so that no fan-out work is still queued when a
/// benchmark starts: each follow copies the followee's recent posts into the follower's
/// feed as it is made.
///
/// `state` holds what an earlier, interrupted run of the same plan did (or nothing): each
/// phase skips the part of it already done, and with `save_to` the progress is written
/// there as it goes (`State::unfinished` saying so). The jobs of a phase are the same on
/// every run (the texts come from `rng` in the same order), so the part done is a prefix
/// of them. What was in flight at the interruption is redone: registering and following
/// again are harmless, and at most a few posts are written twice.
pub async fn seed_graph(
    via: &Via,
    graph: &Graph,
    seeding: &SeedingArgs,
    rng: &mut ChaCha8Rng,
    mut state: State,
    save_to: Option<&Path>,
) -> anyhow::Result<State> {
    let concurrency = seeding.concurrency;
    let save = |state: &State| save_to.map_or(Ok(()), |path| state.save(path));

    let names: Vec<String> = graph.labels.iter().map(|&l| username(l)).collect();
    let left: Vec<String> = names.get(state.users.len()..).unwrap_or_default().to_vec();
    let bar = progress(names.len(), "registering");
    bar.set_position(state.users.len() as u64);
    let saving_users = |done: &[Option<Account>]| {
        let mut now = state.clone();
        now.users.extend(done_prefix(done));
        save(&now)
    };
    let added = pool(via, concurrency, left, &bar, Some(&saving_users), async |writer, name| {
        writer.register(name).await
    })
    .await?;
    finish(&bar, added.len());
    state.users.extend(added);
    state.graph_users = state.users.len();
    state.next_label = graph.labels.iter().max().map_or(0, |m| m + 1);

    let jobs: Vec<(usize, String)> = (0..state.users.len())
        .flat_map(|u| std::iter::repeat_n(u, seeding.posts_per_user))
        .map(|u| (u, random_text(rng)))
        .collect();
    let bar = progress(jobs.len(), "posting");
    bar.set_position(state.posts.len() as u64);
    let left = jobs.get(state.posts.len()..).unwrap_or_default().to_vec();
    let saving_posts = |done: &[Option<String>]| {
        let mut now = state.clone();
        now.posts.extend(done_prefix(done));
        save(&now)
    };
    let users = &state.users;
    let added = pool(via, concurrency, left, &bar, Some(&saving_posts), async |writer, (u, text)| {
        writer.create_post(&users[*u].token, text).await
    })
    .await?;
    finish(&bar, added.len());
    state.posts.extend(added);

    let follows = graph.follows();
    let bar = progress(follows.len(), "following");
    let done = usize::try_from(state.follows).unwrap_or(usize::MAX).min(follows.len());
    bar.set_position(done as u64);
    let saving_follows = |made: &[Option<()>]| {
        let mut now = state.clone();
        now.follows += done_prefix(made).count() as u64;
        save(&now)
    };
    let users = &state.users;
    pool(via, concurrency, follows[done..].to_vec(), &bar, Some(&saving_follows), async |writer, &(a, b)| {
        writer.follow(&users[a as usize].token, &users[b as usize].id).await
    })
    .await?;
    finish(&bar, follows.len() - done);
    state.follows = follows.len() as u64;
    state.unfinished = None;
    Ok(state)
}

/// The account `fanout_<N>` followed by `users[..N]`, made (with any users missing) unless
/// the state already has it. The last follower follows alone, after all the others, so
/// that "the newest follower" is well defined.
pub async fn ensure_fanout_account(
    via: &Via,
    state: &mut State,
    followers: usize,
    concurrency: usize,
) -> anyhow::Result<FanoutAccount> {
    if followers == 0 {
        bail!("--followers must be at least 1");
    }
    if let Some(account) = state.fanout.iter().find(|a| a.followers == followers) {
        return Ok(account.clone());
    }
    if state.users.len() < followers {
        let missing = followers - state.users.len();
        let names: Vec<String> = (state.next_label..).take(missing).map(username).collect();
        let bar = progress(missing, "registering");
        let added =
            pool(via, concurrency, names, &bar, None, async |writer, name| writer.register(name).await)
                .await?;
        bar.finish();
        state.users.extend(added);
        state.next_label += missing as u64;
    }
    let mut writer = via.writer();
    let author = writer.register(&format!("fanout_{followers}")).await?;
    let audience = &state.users[..followers];
    let bar = progress(followers, "following");
    let (rest, last) = audience.split_at(followers - 1);
    pool(via, concurrency, rest.to_vec(), &bar, None, async |writer, user| {
        writer.follow(&user.token, &author.id).await
    })
    .await?;
    for user in last {
        writer.follow(&user.token, &author.id).await?;
        bar.inc(1);
    }
    bar.finish();
    state.follows += followers as u64;
    let account = FanoutAccount { followers, author };
    state.fanout.push(account.clone());
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::graph::rng;

    #[test]
    fn post_texts_are_valid_and_repeatable() {
        let (mut a, mut b) = (rng(3), rng(3));
        for _ in 0..200 {
            let text = random_text(&mut a);
            assert_eq!(text, random_text(&mut b));
            assert!(!text.is_empty() && text.chars().count() <= 500, "{text}");
        }
        assert_eq!(username(17), "user_17");
        let words = search_words();
        assert!(words.contains(&"roost") && words.contains(&"coffee") && !words.contains(&"a"));
        assert!(words.iter().all(|w| w.len() >= 2 && w.chars().all(|c| c.is_ascii_lowercase())));
    }
}
