//! Pub/sub: one tokio broadcast channel per Redis channel, created by the first subscriber
//! and dropped with the last, so channels nobody listens to cost nothing.
//!
//! Like Redis, publishing never waits for subscribers: a subscriber that falls more than
//! `CAPACITY` messages behind skips the ones it missed (Redis would disconnect it).

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use parking_lot::Mutex;
use roost_engines::Subscription;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

/// Messages a subscriber may lag behind before it skips some.
const CAPACITY: usize = 1024;

#[derive(Default)]
pub(super) struct PubSub {
    /// Channels that have at least one subscriber.
    channels: Mutex<HashMap<String, broadcast::Sender<Bytes>>>,
}

impl PubSub {
    pub fn publish(&self, channel: &str, message: Bytes) {
        if let Some(sender) = self.channels.lock().get(channel) {
            // Fails only without receivers, and a subscriber's drop removes those channels.
            let _ = sender.send(message);
        }
    }

    pub fn subscribe(self: &Arc<Self>, channel: &str) -> Subscription {
        let receiver = self
            .channels
            .lock()
            .entry(channel.to_owned())
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe();
        let subscriber = Subscriber { receiver, channel: channel.to_owned(), pubsub: Arc::downgrade(self) };
        Box::pin(futures::stream::unfold(subscriber, |mut subscriber| async move {
            let message = subscriber.next().await?;
            Some((message, subscriber))
        }))
    }
}

/// One subscription's receiving end; dropping it drops the channel if it was the last.
struct Subscriber {
    receiver: broadcast::Receiver<Bytes>,
    channel: String,
    /// Weak, so that live subscriptions do not keep a dropped cache's channels alive: the
    /// senders go with the cache and the subscriptions end.
    pubsub: Weak<PubSub>,
}

impl Subscriber {
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            match self.receiver.recv().await {
                Ok(message) => return Some(message),
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(channel = %self.channel, skipped, "slow subscriber skipped messages");
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let Some(pubsub) = self.pubsub.upgrade() else { return };
        let mut channels = pubsub.channels.lock();
        // Subscribing happens under this lock too, so the count cannot grow meanwhile; 1 is us.
        if channels.get(&self.channel).is_some_and(|sender| sender.receiver_count() == 1) {
            channels.remove(&self.channel);
        }
    }
}
