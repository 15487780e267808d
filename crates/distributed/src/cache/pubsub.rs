//! Pub/sub over one dedicated subscriber connection per `RedisCache`.
//!
//! A connection in subscribed mode can do nothing but (un)subscribe, so it cannot be one of
//! the pooled ones; and a connection per `subscribe` call would cost one socket per open
//! SSE stream. Instead one fred `SubscriberClient` holds the subscriptions of the whole
//! instance, fred re-issues them after a reconnect (`manage_subscriptions`), and a
//! dispatcher task hands each message to the local subscribers of its channel.
//!
//! A channel is subscribed on Redis while at least one local `Subscription` for it is
//! alive; dropping the last one unsubscribes. Delivery is Redis's: at most once, to whoever
//! is subscribed when the message is published. A subscriber that falls more than
//! `BUFFER` messages behind loses the oldest ones rather than stalling the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use fred::clients::SubscriberClient;
use fred::prelude::{Builder, ClientLike, EventInterface, PubsubInterface, Value};
use fred::types::{ClusterHash, CustomCommand};
use fred::util::redis_keyslot;
use roost_engines::{EngineError, EngineResult, Subscription};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use super::error::{bounded, unavailable};

/// Messages buffered per local subscriber before it starts losing the oldest.
const BUFFER: usize = 256;

pub(super) struct PubSub {
    client: SubscriberClient,
    registry: Arc<Registry>,
    tasks: Vec<JoinHandle<()>>,
}

struct Registry {
    channels: Mutex<HashMap<String, Channel>>,
    /// Serialises SUBSCRIBE and UNSUBSCRIBE, so that an unsubscribe decided on by the last
    /// subscriber leaving cannot overtake the subscribe of one arriving just after.
    commands: tokio::sync::Mutex<()>,
}

struct Channel {
    sender: broadcast::Sender<Bytes>,
    subscribers: usize,
}

impl Registry {
    fn channels(&self) -> MutexGuard<'_, HashMap<String, Channel>> {
        // The map is consistent after every statement that touches it; a panic elsewhere
        // while it was held leaves nothing half-done.
        self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl PubSub {
    pub(super) async fn connect(builder: &Builder, connect_timeout: Duration) -> EngineResult<Self> {
        let client = builder
            .build_subscriber_client()
            .map_err(|err| EngineError::Invalid(format!("redis subscriber: {err}")))?;
        bounded(connect_timeout, async { client.init().await.map(drop).map_err(unavailable) }).await?;
        let registry =
            Arc::new(Registry { channels: Mutex::new(HashMap::new()), commands: Default::default() });
        let dispatcher = tokio::spawn(dispatch(client.message_rx(), registry.clone()));
        let resubscriber = client.manage_subscriptions();
        Ok(PubSub { client, registry, tasks: vec![dispatcher, resubscriber] })
    }

    pub(super) async fn subscribe(&self, channel: &str) -> EngineResult<Subscription> {
        let _serial = self.registry.commands.lock().await;
        let (receiver, first) = {
            let mut channels = self.registry.channels();
            let entry = channels
                .entry(channel.to_string())
                .or_insert_with(|| Channel { sender: broadcast::channel(BUFFER).0, subscribers: 0 });
            entry.subscribers += 1;
            (entry.sender.subscribe(), entry.subscribers == 1)
        };
        // From here on, dropping `membership` (also on the error path below) undoes the count.
        let membership = Membership {
            channel: channel.to_string(),
            registry: self.registry.clone(),
            client: self.client.clone(),
        };
        if first {
            // The receiver exists before SUBSCRIBE is sent, so every message published after
            // Redis confirms the subscription reaches it.
            self.client.subscribe(channel).await.map_err(unavailable)?;
            self.confirmed().await?;
        }
        Ok(Box::pin(futures::stream::unfold((receiver, membership), next_message)))
    }

    /// Returns once Redis has processed every (un)subscribe sent before it. fred answers
    /// SUBSCRIBE as soon as it is written (Redis's confirmation arrives out of band and is
    /// dropped), so without this a message published just after `subscribe` returned could
    /// go to nobody. Redis answers commands on one connection in order: the reply to a PING
    /// sent where fred sends SUBSCRIBE (the node of the client id's slot, in a cluster)
    /// comes after the subscription is in place.
    async fn confirmed(&self) -> EngineResult<()> {
        let node = ClusterHash::Custom(redis_keyslot(self.client.id().as_bytes()));
        let ping = CustomCommand::new_static("PING", node, false);
        self.client.custom::<Value, _>(ping, Vec::<Value>::new()).await.map(drop).map_err(unavailable)
    }
}

/// The next message for one local subscriber; `None` once the cache is gone.
async fn next_message(
    (mut receiver, membership): (broadcast::Receiver<Bytes>, Membership),
) -> Option<(Bytes, (broadcast::Receiver<Bytes>, Membership))> {
    loop {
        match receiver.recv().await {
            Ok(message) => return Some((message, (receiver, membership))),
            Err(RecvError::Lagged(lost)) => {
                tracing::warn!(channel = %membership.channel, lost, "pub/sub subscriber fell behind");
            }
            Err(RecvError::Closed) => return None,
        }
    }
}

impl Drop for PubSub {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        // Dropping the senders ends every open `Subscription` stream.
        self.registry.channels().clear();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let client = self.client.clone();
            runtime.spawn(async move {
                let _ = client.quit().await;
            });
        }
    }
}

/// Routes each message from the subscriber connection to its channel's local subscribers.
async fn dispatch(mut messages: broadcast::Receiver<fred::types::Message>, registry: Arc<Registry>) {
    loop {
        match messages.recv().await {
            Ok(message) => {
                let Some(payload) = message.value.into_bytes() else { continue };
                let sender = registry.channels().get(&*message.channel).map(|c| c.sender.clone());
                if let Some(sender) = sender {
                    // No receiver left means the last subscriber is leaving; nothing to do.
                    let _ = sender.send(payload);
                }
            }
            Err(RecvError::Lagged(lost)) => {
                tracing::warn!(lost, "pub/sub dispatcher fell behind the subscriber connection");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// One local subscriber's share in a channel's Redis subscription.
struct Membership {
    channel: String,
    registry: Arc<Registry>,
    client: SubscriberClient,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let last = {
            let mut channels = self.registry.channels();
            let remaining = channels.get_mut(&self.channel).map(|entry| {
                entry.subscribers = entry.subscribers.saturating_sub(1);
                entry.subscribers
            });
            remaining == Some(0) && channels.remove(&self.channel).is_some()
        };
        if !last {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let channel = std::mem::take(&mut self.channel);
        let registry = self.registry.clone();
        let client = self.client.clone();
        runtime.spawn(async move {
            let _serial = registry.commands.lock().await;
            // Someone may have subscribed again while we waited; then the subscription stays.
            if registry.channels().contains_key(&channel) {
                return;
            }
            if let Err(err) = client.unsubscribe(channel.as_str()).await {
                tracing::warn!(%channel, "pub/sub: UNSUBSCRIBE failed: {err}");
            }
        });
    }
}
