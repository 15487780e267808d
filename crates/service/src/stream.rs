//! `GET /api/stream`, the receiving side: this instance's hub of open event streams.
//!
//! The hub subscribes once per channel of `events` (lazily, when the first stream opens)
//! and holds `user id -> connections`; each message is routed to the local streams it
//! concerns, so a write on any instance reaches streams on every instance:
//! - `post` (a new post entering the caller's home feed): to connected users who follow
//!   the author (one store `batch_get` of their following edges per post, then one cache
//!   `MGET` of their hidden sets, which leaves out those who mute the author) and to the
//!   author's own streams. Data: the Post as the feed shows it, presented once for all
//!   recipients (`liked_by_me` is false: the post is new).
//! - `engagement` `{post_id, like_count, comment_count}`: to streams whose user "loaded the
//!   post recently": the author's own posts, and the posts this instance presented to that
//!   user (any list or post read, or a `post` event) in the last `SEEN_FOR` while the user
//!   had a stream open here. Users with no open stream cost nothing: nothing is recorded.
//! - `notification`: to the recipient's streams; the event id is the notification id, and
//!   a stream opened with `Last-Event-ID` first replays the newer stored notifications.
//!
//! Each connection is a bounded channel (`BUFFER` events); the hub only ever `try_send`s,
//! and a connection whose buffer is full is dropped (its stream ends; EventSource
//! reconnects with `Last-Event-ID`), so a slow reader never holds up the others nor buffers
//! without bound. A connection is unregistered when its stream is dropped (the client went
//! away), and a user's entry, interests included, goes with their last connection. A ticker
//! refreshes the presence of connected users, so an open stream keeps its user online.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use roost_engines::Subscription;
use serde::Serialize;
use tokio::sync::{mpsc, OnceCell};

use crate::error::{ServiceError, ServiceResult};
use crate::events::{self, EngagementMessage, NewPostMessage, NotificationMessage};
use crate::model::{Caller, StoredPost};
use crate::{ids, keys, time, Service};

/// Events buffered per connection; a connection that falls further behind is dropped.
pub const BUFFER: usize = 256;
/// How long a post presented to a user counts as "loaded recently".
const SEEN_FOR: Duration = Duration::from_secs(10 * 60);
/// Posts remembered per connected user; beyond it the oldest half is forgotten.
const SEEN_CAP: usize = 2000;
/// How often connected users' presence is refreshed (well inside the online window).
const TICK: Duration = Duration::from_secs(60);
/// At most this many notifications are replayed on resumption.
const REPLAY_MAX: usize = BUFFER;

/// One server-sent event: its `event:` name, optional `id:`, and JSON `data:`.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamEvent {
    /// The `event:` name clients dispatch on.
    pub event: &'static str,
    /// The `id:` a client sends back as `Last-Event-ID` to resume; `None` for events not replayed.
    pub id: Option<String>,
    /// Shared by every connection the event goes to.
    pub data: Arc<str>,
}

impl StreamEvent {
    fn new<T: Serialize>(event: &'static str, id: Option<String>, data: &T) -> StreamEvent {
        // Our event types serialise infallibly (no maps with non-string keys).
        let data = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
        StreamEvent { event, id, data: data.into() }
    }
}

/// The open streams of this instance.
#[derive(Default)]
pub struct Hub {
    state: Mutex<HubState>,
    /// Mirrors the number of connections, so that the hot path (`note_presented`) can skip
    /// the lock while no stream is open.
    connections: AtomicUsize,
    started: OnceCell<()>,
}

#[derive(Default)]
struct HubState {
    next_id: u64,
    users: HashMap<String, Listener>,
    /// Set at shutdown: every stream has ended and new ones end at once.
    closed: bool,
}

/// One connected user: their connections and the posts recently shown to them.
#[derive(Default)]
struct Listener {
    connections: HashMap<u64, mpsc::Sender<StreamEvent>>,
    seen: HashMap<String, u64>,
}

impl Listener {
    /// Forgets posts seen longer ago than `SEEN_FOR`, then the oldest half if still too many.
    fn forget_seen(&mut self, now: u64) {
        self.seen.retain(|_, at| now < *at + SEEN_FOR.as_millis() as u64);
        if self.seen.len() > SEEN_CAP {
            let mut times: Vec<u64> = self.seen.values().copied().collect();
            let (_, &mut median, _) = times.select_nth_unstable(SEEN_CAP / 2);
            self.seen.retain(|_, at| *at > median);
        }
    }
}

impl Hub {
    fn state(&self) -> MutexGuard<'_, HubState> {
        // Every statement leaves the maps consistent; a panic elsewhere leaves nothing half-done.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a connection of `uid`; dropping the registration unregisters it.
    fn connect(self: &Arc<Self>, uid: &str) -> (mpsc::Receiver<StreamEvent>, Registration) {
        let (sender, receiver) = mpsc::channel(BUFFER);
        let mut state = self.state();
        state.next_id += 1;
        let id = state.next_id;
        // Closed: the sender is dropped here, so the stream ends after its replay.
        if !state.closed {
            state.users.entry(uid.to_string()).or_default().connections.insert(id, sender);
            self.connections.fetch_add(1, Ordering::Relaxed);
        }
        (receiver, Registration { hub: self.clone(), uid: uid.to_string(), id })
    }

    /// Ends every open stream (their senders are dropped) and every later one at once.
    fn close(&self) {
        let mut state = self.state();
        state.closed = true;
        state.users.clear();
        self.connections.store(0, Ordering::Relaxed);
    }

    fn disconnect(&self, uid: &str, id: u64) {
        let mut state = self.state();
        self.remove(&mut state, uid, id);
    }

    fn remove(&self, state: &mut HubState, uid: &str, id: u64) {
        let Some(listener) = state.users.get_mut(uid) else { return };
        if listener.connections.remove(&id).is_some() {
            self.connections.fetch_sub(1, Ordering::Relaxed);
        }
        if listener.connections.is_empty() {
            state.users.remove(uid);
        }
    }

    /// Open connections on this instance.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    fn connected_users(&self) -> Vec<String> {
        self.state().users.keys().cloned().collect()
    }

    /// Hands `event` to every connection of `uids`; one that cannot take it (buffer full,
    /// or its reader gone) is dropped.
    fn send(&self, uids: &[String], event: &StreamEvent) {
        let mut state = self.state();
        let mut dropped = Vec::new();
        for uid in uids {
            let Some(listener) = state.users.get(uid) else { continue };
            for (id, sender) in &listener.connections {
                if sender.try_send(event.clone()).is_err() {
                    dropped.push((uid, *id));
                }
            }
        }
        for (uid, id) in dropped {
            tracing::info!(uid, "event stream fell behind; dropping it");
            self.remove(&mut state, uid, id);
        }
    }

    /// Notes that `pids` were shown to `uid`, if `uid` has a stream open here.
    fn note_seen<'a>(&self, uid: &str, pids: impl IntoIterator<Item = &'a str>, now: u64) {
        if self.connection_count() == 0 {
            return;
        }
        let mut state = self.state();
        let Some(listener) = state.users.get_mut(uid) else { return };
        for pid in pids {
            listener.seen.insert(pid.to_string(), now);
        }
        if listener.seen.len() > SEEN_CAP {
            listener.forget_seen(now);
        }
    }

    /// Connected users interested in `pid`'s engagement: its author, and whoever was shown
    /// it in the last `SEEN_FOR`.
    fn interested(&self, pid: &str, author: &str, now: u64) -> Vec<String> {
        let fresh = |at: &u64| now < at + SEEN_FOR.as_millis() as u64;
        let state = self.state();
        state
            .users
            .iter()
            .filter(|(uid, listener)| *uid == author || listener.seen.get(pid).is_some_and(fresh))
            .map(|(uid, _)| uid.clone())
            .collect()
    }

    fn deliver_engagement(&self, message: &EngagementMessage, now: u64) {
        let recipients = self.interested(&message.engagement.post_id, &message.author_id, now);
        if !recipients.is_empty() {
            self.send(&recipients, &StreamEvent::new("engagement", None, &message.engagement));
        }
    }

    fn deliver_notification(&self, message: &NotificationMessage) {
        let event = StreamEvent::new("notification", message.id().map(str::to_string), &message.notification);
        self.send(std::slice::from_ref(&message.recipient), &event);
    }

    /// Forgets what connected users saw too long ago.
    fn sweep(&self, now: u64) {
        for listener in self.state().users.values_mut() {
            listener.forget_seen(now);
        }
    }
}

/// A connection's place in the hub; dropping it (the stream went away) unregisters it.
struct Registration {
    hub: Arc<Hub>,
    uid: String,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.disconnect(&self.uid, self.id);
    }
}

/// One open stream: replayed notifications first, then live events. Ends when the hub
/// drops the connection.
pub struct EventStream {
    backlog: VecDeque<StreamEvent>,
    /// The newest replayed notification: live copies of replayed ones are skipped.
    replayed_up_to: Option<String>,
    receiver: mpsc::Receiver<StreamEvent>,
    _registration: Registration,
}

impl EventStream {
    fn replayed(&self, event: &StreamEvent) -> bool {
        match (&self.replayed_up_to, &event.id) {
            (Some(up_to), Some(id)) => event.event == "notification" && id <= up_to,
            _ => false,
        }
    }
}

impl Stream for EventStream {
    type Item = StreamEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<StreamEvent>> {
        if let Some(event) = self.backlog.pop_front() {
            return Poll::Ready(Some(event));
        }
        loop {
            match self.receiver.poll_recv(cx) {
                Poll::Ready(Some(event)) if self.replayed(&event) => continue,
                other => return other,
            }
        }
    }
}

impl Service {
    /// Opens an event stream for the caller. `last_event_id` (the `Last-Event-ID` header)
    /// is the last notification the client saw: newer ones are replayed first.
    pub async fn open_stream(
        &self,
        caller: &Caller,
        last_event_id: Option<&str>,
    ) -> ServiceResult<EventStream> {
        if last_event_id.is_some_and(|id| !ids::looks_like_id(id)) {
            return Err(ServiceError::validation("Last-Event-ID", "expected the id of a notification"));
        }
        self.start_hub().await?;
        // Registered before the replay is read, so nothing published meanwhile is missed.
        let (receiver, registration) = self.hub.connect(&caller.user_id);
        let backlog = match last_event_id {
            Some(after) => self.replay_notifications(&caller.user_id, after).await?,
            None => VecDeque::new(),
        };
        let replayed_up_to = backlog.back().and_then(|e| e.id.clone());
        Ok(EventStream { backlog, replayed_up_to, receiver, _registration: registration })
    }

    /// Ends this instance's event streams, and any opened later, at once: at shutdown, so
    /// that streams (which never end by themselves) do not hold the drain of requests
    /// under way until its deadline. Clients reconnect to another instance with
    /// `Last-Event-ID`.
    pub fn close_streams(&self) {
        self.hub.close();
    }

    /// Open event streams on this instance (for metrics and tests).
    pub fn open_streams(&self) -> usize {
        self.hub.connection_count()
    }

    /// The caller's notifications newer than `after`, oldest first, as events.
    async fn replay_notifications(&self, uid: &str, after: &str) -> ServiceResult<VecDeque<StreamEvent>> {
        tracing::debug!(uid, after, limit = REPLAY_MAX, "resuming notifications");
        let newer = self.notifications_after(uid, after, REPLAY_MAX).await?;
        Ok(newer
            .into_iter()
            .map(|n| {
                let id = Some(n.id.clone());
                StreamEvent::new("notification", id, &n)
            })
            .collect())
    }

    /// Notes the posts a read presented to the caller, for `engagement` events; a map
    /// lookup, and nothing at all while no stream is open on this instance.
    pub(crate) fn note_presented(&self, caller: Option<&Caller>, posts: &[StoredPost]) {
        if let Some(caller) = caller {
            self.hub.note_seen(&caller.user_id, posts.iter().map(|p| p.id.as_str()), time::now_millis());
        }
    }

    /// Subscribes to the event channels and starts the hub's tasks, once per instance.
    async fn start_hub(&self) -> ServiceResult<()> {
        self.hub
            .started
            .get_or_try_init(|| async {
                let posts = self.cache.subscribe(&self.ck.events(events::POSTS)).await?;
                let engagement = self.cache.subscribe(&self.ck.events(events::ENGAGEMENT)).await?;
                let notifications = self.cache.subscribe(&self.ck.events(events::NOTIFICATIONS)).await?;
                self.spawn_pump(events::POSTS, posts, |s, m| async move { s.on_new_post(&m).await });
                self.spawn_pump(events::ENGAGEMENT, engagement, |s, m| async move {
                    match serde_json::from_slice::<EngagementMessage>(&m) {
                        Ok(message) => s.hub.deliver_engagement(&message, time::now_millis()),
                        Err(err) => tracing::warn!(%err, "unreadable engagement event"),
                    }
                });
                self.spawn_pump(events::NOTIFICATIONS, notifications, |s, m| async move {
                    match serde_json::from_slice::<NotificationMessage>(&m) {
                        Ok(message) => s.hub.deliver_notification(&message),
                        Err(err) => tracing::warn!(%err, "unreadable notification event"),
                    }
                });
                self.spawn_ticker();
                Ok::<_, ServiceError>(())
            })
            .await?;
        Ok(())
    }

    /// Hands each message of one subscription to `handle`, in order, for the life of the
    /// process (the cache's subscriber re-subscribes after a reconnect by itself).
    fn spawn_pump<F, Fut>(&self, channel: &'static str, mut subscription: Subscription, handle: F)
    where
        F: Fn(Service, Bytes) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let service = self.clone();
        tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                handle(service.clone(), message).await;
            }
            tracing::warn!(channel, "event subscription ended; open streams get no more of these");
        });
    }

    /// Keeps connected users online and forgets stale interests.
    fn spawn_ticker(&self) {
        let service = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(TICK);
            loop {
                ticks.tick().await;
                let now = time::now_millis();
                service.write_presence(&service.hub.connected_users(), now).await;
                service.hub.sweep(now);
            }
        });
    }

    async fn on_new_post(&self, message: &[u8]) {
        match serde_json::from_slice::<NewPostMessage>(message) {
            Ok(message) => {
                if let Err(err) = self.deliver_post(&message).await {
                    tracing::warn!(%err, post = message.post_id, "post event not delivered");
                }
            }
            Err(err) => tracing::warn!(%err, "unreadable post event"),
        }
    }

    /// Sends a new post to the connected users whose home feed it enters.
    async fn deliver_post(&self, message: &NewPostMessage) -> ServiceResult<()> {
        let connected = self.hub.connected_users();
        if connected.is_empty() {
            return Ok(());
        }
        let author = message.author_id.as_str();
        let edges =
            connected.iter().filter(|u| *u != author).map(|u| keys::following_edge(u, author)).collect();
        let recipients: Vec<String> = self
            .store
            .batch_get(edges)
            .await?
            .into_iter()
            .filter_map(|edge| edge.pk.strip_prefix("USER#").map(str::to_string))
            .collect();
        // Followers who muted the author (or a block made as the post went out) see it not.
        let hidden = self.hidden_many(&recipients).await?;
        let mut recipients: Vec<String> =
            recipients.into_iter().zip(hidden).filter(|(_, h)| !h.hides(author)).map(|(u, _)| u).collect();
        if connected.iter().any(|u| u == author) {
            recipients.push(message.author_id.clone());
        }
        if recipients.is_empty() {
            return Ok(());
        }
        let Some(post) = self.load_post(&message.post_id).await? else { return Ok(()) };
        let Some(shown) = self.present_posts(None, vec![post]).await?.pop() else { return Ok(()) };
        let now = time::now_millis();
        for uid in &recipients {
            self.hub.note_seen(uid, [shown.id.as_str()], now);
        }
        self.hub.send(&recipients, &StreamEvent::new("post", None, &shown));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Engagement;

    fn event(n: usize) -> StreamEvent {
        StreamEvent::new("post", None, &serde_json::json!({ "id": n }))
    }

    #[test]
    fn closed_streams_leave_nothing_behind() {
        let hub = Arc::new(Hub::default());
        let streams: Vec<_> = (0..50).map(|i| hub.connect(&format!("u{}", i % 7))).collect();
        assert_eq!(hub.connection_count(), 50);
        hub.note_seen("u1", ["p"], 0);
        drop(streams);
        assert_eq!(hub.connection_count(), 0);
        assert!(hub.state().users.is_empty());
    }

    #[tokio::test]
    async fn a_full_buffer_drops_the_connection_not_the_others() {
        let hub = Arc::new(Hub::default());
        let (mut slow, _slow_registration) = hub.connect("slow");
        let (mut quick, _quick_registration) = hub.connect("quick");
        let both = ["slow".to_string(), "quick".to_string()];
        for n in 0..=BUFFER {
            hub.send(&both, &event(n));
            assert_eq!(quick.recv().await, Some(event(n)));
        }
        assert_eq!(hub.connection_count(), 1);
        for n in 0..BUFFER {
            assert_eq!(slow.recv().await, Some(event(n)));
        }
        assert_eq!(slow.recv().await, None, "the dropped stream ends after its buffer");
    }

    #[tokio::test]
    async fn engagement_reaches_the_author_and_recent_viewers_only() {
        let hub = Arc::new(Hub::default());
        let connect = |uid: &str| hub.connect(uid);
        let (mut author, _a) = connect("author");
        let (mut viewer, _v) = connect("viewer");
        let (mut stale, _s) = connect("stale");
        let (mut other, _o) = connect("other");
        let now = 1_000_000_000;
        hub.note_seen("viewer", ["p1"], now);
        hub.note_seen("stale", ["p1"], now - SEEN_FOR.as_millis() as u64);
        hub.note_seen("nobody-connected", ["p1"], now);
        let engagement = Engagement { post_id: "p1".into(), like_count: 3, comment_count: 0 };
        hub.deliver_engagement(&EngagementMessage { author_id: "author".into(), engagement }, now);
        let expected = StreamEvent {
            event: "engagement",
            id: None,
            data: r#"{"post_id":"p1","like_count":3,"comment_count":0}"#.into(),
        };
        assert_eq!(author.try_recv().ok(), Some(expected.clone()));
        assert_eq!(viewer.try_recv().ok(), Some(expected));
        assert!(stale.try_recv().is_err());
        assert!(other.try_recv().is_err());
        assert!(!hub.state().users.contains_key("nobody-connected"));
    }

    #[test]
    fn remembers_a_bounded_number_of_posts() {
        let hub = Arc::new(Hub::default());
        let _stream = hub.connect("u");
        for n in 0..3 * SEEN_CAP as u64 {
            hub.note_seen("u", [format!("p{n}").as_str()], n);
        }
        let state = hub.state();
        let seen = &state.users["u"].seen;
        assert!(seen.len() <= SEEN_CAP, "{}", seen.len());
        assert!(seen.contains_key(&format!("p{}", 3 * SEEN_CAP - 1)), "the newest stays");
    }

    #[tokio::test]
    async fn notifications_go_to_their_recipient_with_their_id() {
        let hub = Arc::new(Hub::default());
        let (mut recipient, _r) = hub.connect("r");
        let (mut other, _o) = hub.connect("o");
        // As `publish_notification` sends it, through the channel's bytes.
        let notification = serde_json::json!({"id": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "kind": "follow"});
        let published = NotificationMessage { recipient: "r".into(), notification: notification.clone() };
        let bytes = serde_json::to_vec(&published).unwrap();
        hub.deliver_notification(&serde_json::from_slice(&bytes).unwrap());
        let got = recipient.recv().await.unwrap();
        assert_eq!(got.event, "notification");
        assert_eq!(got.id.as_deref(), Some("01HZZZZZZZZZZZZZZZZZZZZZZZ"));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&got.data).unwrap(), notification);
        assert!(other.try_recv().is_err());
    }

    #[tokio::test]
    async fn replayed_notifications_come_first_and_once() {
        let hub = Arc::new(Hub::default());
        let (receiver, registration) = hub.connect("r");
        let note = |id: &str| StreamEvent::new("notification", Some(id.to_string()), &id);
        let backlog: VecDeque<_> = [note("A1"), note("A2")].into();
        let mut stream =
            EventStream { backlog, replayed_up_to: Some("A2".into()), receiver, _registration: registration };
        // Published while the replay was read: A2 arrives live too, A3 is new.
        let recipient = ["r".to_string()];
        for event in [note("A2"), event(1), note("A3")] {
            hub.send(&recipient, &event);
        }
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(stream.next().await.unwrap());
        }
        assert_eq!(got, vec![note("A1"), note("A2"), event(1), note("A3")]);
        drop(stream);
        assert_eq!(hub.connection_count(), 0);
    }
}
