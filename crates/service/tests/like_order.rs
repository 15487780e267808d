//! Like jobs in any order: the jobs of a like and an unlike, run the other way round (a
//! like that failed and is retried after the unlike, or two instances racing), leave the
//! store with the last acknowledged state and an exact counter. Run over the embedded
//! engines; the order is forced by taking the jobs from the queue and running them by hand
//! (no workers run here).

use std::sync::Arc;
use std::time::Duration;

use roost_embedded::cache::MemoryCache;
use roost_embedded::media::local_media;
use roost_embedded::store::SqliteStore;
use roost_engines::Cache;
use roost_service::accounts::RegisterInput;
use roost_service::jobs::Job;
use roost_service::keys::CacheKeys;
use roost_service::model::{Caller, Post};
use roost_service::posts::NewPost;
use roost_service::{Engines, Service, ServiceConfig};

/// A service over a fresh embedded deployment, and a second service on the same store with
/// an empty cache of its own: what the second one reads comes from the store alone.
struct Deployment {
    dir: std::path::PathBuf,
    store: Arc<SqliteStore>,
}

impl Deployment {
    fn new(name: &str) -> Deployment {
        let dir = std::env::temp_dir().join(format!("roost-{name}-{:016x}", rand_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Arc::new(SqliteStore::open(&dir.join("roost.db")).unwrap());
        Deployment { dir, store }
    }

    async fn service(&self, cache_name: &str) -> Service {
        self.service_on(self.cache(cache_name)).await
    }

    /// An empty cache of its own (its queue in file `name`).
    fn cache(&self, name: &str) -> Arc<MemoryCache> {
        Arc::new(MemoryCache::open(&self.dir.join(name), 16 << 20).unwrap())
    }

    async fn service_on(&self, cache: Arc<MemoryCache>) -> Service {
        let config = ServiceConfig {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            rate_limits: false,
            ..Default::default()
        };
        let engines = Engines {
            store: self.store.clone(),
            cache,
            media: Arc::new(local_media(&self.dir.join("media")).unwrap()),
        };
        Service::new(engines, config).await.unwrap()
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand_id() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

async fn user(service: &Service, name: &str) -> Caller {
    let input = RegisterInput { username: name.into(), password: "password123".into(), display_name: None };
    let signed_in = service.register(input, "127.0.0.1").await.unwrap();
    Caller::new(signed_in.user.id, String::new())
}

/// The queued like jobs, in queue order (acknowledged, so no worker would run them again).
async fn take_like_jobs(service: &Service) -> Vec<Job> {
    service.prepare_job_queue().await.unwrap();
    let messages = service.next_jobs("test", 100, Duration::ZERO).await.unwrap();
    let mut jobs = Vec::new();
    for message in messages {
        service.ack_job(&message.id).await.unwrap();
        let job = Job::decode(&message.payload).unwrap();
        if matches!(job, Job::SyncLike { .. }) {
            jobs.push(job);
        }
    }
    jobs
}

/// A post by `author`, the jobs queued so far taken off the queue.
async fn post_by(service: &Service, author: &Caller) -> Post {
    let new = NewPost { text: "hello".into(), media_ids: vec![], reply_to: None };
    let post = service.create_post(author, new).await.unwrap();
    take_like_jobs(service).await;
    post
}

/// `(like_count, liked_by_me)` of the post as a reader on an empty cache sees it: the store's.
async fn stored_state(deployment: &Deployment, cache_name: &str, reader: &Caller, pid: &str) -> (i64, bool) {
    let fresh = deployment.service(cache_name).await;
    let post = fresh.post(Some(reader), pid).await.unwrap();
    (post.like_count, post.liked_by_me)
}

#[tokio::test]
async fn an_unlike_wins_over_its_like_run_after_it() {
    let deployment = Deployment::new("like-order");
    let service = deployment.service("queue.db").await;
    let (alice, bob) = (user(&service, "alice").await, user(&service, "bob").await);
    let post = post_by(&service, &bob).await;

    service.set_like(&alice, &post.id, true).await.unwrap();
    service.set_like(&alice, &post.id, false).await.unwrap();
    let jobs = take_like_jobs(&service).await;
    assert_eq!(jobs.len(), 2);
    // The like's job failed the first time; the unlike's ran; the like's retry runs last.
    service.run_job(jobs[1].clone()).await.unwrap();
    service.run_job(jobs[0].clone()).await.unwrap();
    assert_eq!(stored_state(&deployment, "fresh1.db", &alice, &post.id).await, (0, false));
    assert_eq!(service.post(Some(&alice), &post.id).await.unwrap().like_count, 0);

    // Like again: a newer version beats the unlike's tombstone, and the counter follows.
    service.set_like(&alice, &post.id, true).await.unwrap();
    let again = take_like_jobs(&service).await;
    service.run_job(again[0].clone()).await.unwrap();
    assert_eq!(stored_state(&deployment, "fresh2.db", &alice, &post.id).await, (1, true));

    // Every job again, in any order: nothing moves (the counter counts once).
    for job in jobs.iter().chain(&again).rev() {
        service.run_job(job.clone()).await.unwrap();
    }
    assert_eq!(stored_state(&deployment, "fresh3.db", &alice, &post.id).await, (1, true));
}

#[tokio::test]
async fn the_last_acknowledged_of_many_wins_and_counts_stay_exact() {
    let deployment = Deployment::new("like-order2");
    let service = deployment.service("queue.db").await;
    let bob = user(&service, "bob").await;
    let post = post_by(&service, &bob).await;
    let mut likers = Vec::new();
    for name in ["carol", "dave", "erin"] {
        likers.push(user(&service, name).await);
    }

    // Each liker acknowledged a sequence of likes and unlikes; the jobs run newest first.
    let sequences: [&[bool]; 3] = [&[true, false, true], &[true, false], &[false, true, false, true]];
    for (liker, sequence) in likers.iter().zip(sequences) {
        for &liked in sequence {
            service.set_like(liker, &post.id, liked).await.unwrap();
        }
    }
    let jobs = take_like_jobs(&service).await;
    assert_eq!(jobs.len(), 9);
    for job in jobs.into_iter().rev() {
        service.run_job(job).await.unwrap();
    }
    for (i, liker) in likers.iter().enumerate() {
        let state = stored_state(&deployment, &format!("fresh{i}.db"), liker, &post.id).await;
        assert_eq!(state, (2, i != 1), "liker {i}");
    }
}

#[tokio::test]
async fn only_the_last_acknowledged_like_or_unlike_mirrors_its_job_into_the_cache() {
    let deployment = Deployment::new("like-mirror");
    let cache = deployment.cache("queue.db");
    let service = deployment.service_on(cache.clone()).await;
    let (alice, bob) = (user(&service, "alice").await, user(&service, "bob").await);
    let post = post_by(&service, &bob).await;
    let seen = || async {
        let shown = service.post(Some(&alice), &post.id).await.unwrap();
        (shown.like_count, shown.liked_by_me)
    };

    // Alice likes, then unlikes; the like's job runs and the unlike's has not yet (a crash
    // came between them, say). The cache keeps answering with the unlike.
    service.set_like(&alice, &post.id, true).await.unwrap();
    service.set_like(&alice, &post.id, false).await.unwrap();
    let jobs = take_like_jobs(&service).await;
    assert_eq!(jobs.len(), 2);
    service.run_job(jobs[0].clone()).await.unwrap();
    assert_eq!(seen().await, (0, false), "the like's job undid the acknowledged unlike in the cache");

    // The like set evicted and loaded again from the store, which has only the like: the
    // unlike's job, the last acknowledged, puts the cache right when it runs.
    cache.del(&[CacheKeys::new(&ServiceConfig::default().cache_namespace).likes(&post.id)]).await.unwrap();
    assert_eq!(seen().await, (1, true), "loaded from the store before the unlike's job");
    service.run_job(jobs[1].clone()).await.unwrap();
    assert_eq!(seen().await, (0, false), "the unlike's job mirrored into the reloaded set");
}

#[test]
fn a_like_job_queued_before_versions_still_decodes() {
    let old = br#"{"kind":"sync_like","post_id":"P","user_id":"U","liked":true}"#;
    let job = Job::decode(old).unwrap();
    assert_eq!(job, Job::SyncLike { post_id: "P".into(), user_id: "U".into(), liked: true, version: 0 });
}
