//! Delivery latency of live events, matched by post id: an event's latency runs from the
//! acknowledgement of the write on its post (the answer to the like or the create) to its
//! arrival on a stream. Nothing is embedded in the events: the server's own ids match them.
//!
//! The server publishes before it answers, so an event can arrive before its write is
//! acknowledged (or, for a new post, before its id is even known here). Such an event waits
//! for the acknowledgement and counts as delivered with zero latency. The stream workload
//! never has two writes on one post in flight at once, so "the latest write on the post"
//! is the write an event belongs to.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug)]
enum Write {
    /// Sent, not yet answered: events for it wait.
    InFlight,
    Acked(Instant),
}

/// The writes of a run and the events that arrived before their acknowledgement.
#[derive(Debug, Default)]
pub struct Matcher {
    writes: HashMap<String, Write>,
    /// Event kinds received for a post whose write is not acknowledged (or not known) yet.
    early: HashMap<String, Vec<&'static str>>,
}

impl Matcher {
    /// A write on `post` is about to be sent: its events are not the previous write's.
    pub fn sent(&mut self, post: &str) {
        self.writes.insert(post.to_string(), Write::InFlight);
    }

    /// The write on `post` was acknowledged at `at`; returns the kinds of the events that
    /// arrived before (each delivered with zero latency).
    pub fn acked(&mut self, post: &str, at: Instant) -> Vec<&'static str> {
        self.writes.insert(post.to_string(), Write::Acked(at));
        self.early.remove(post).unwrap_or_default()
    }

    /// An event of `kind` about `post` arrived at `at`: its latency, or none yet if its write
    /// is not acknowledged (it is then held until it is).
    pub fn received(&mut self, kind: &'static str, post: &str, at: Instant) -> Option<Duration> {
        match self.writes.get(post) {
            Some(Write::Acked(acked)) => Some(at.saturating_duration_since(*acked)),
            Some(Write::InFlight) | None => {
                self.early.entry(post.to_string()).or_default().push(kind);
                None
            }
        }
    }

    /// Events still held: their writes were never acknowledged (failed, or still in flight
    /// when the run ended), or they were not caused by this run's writes.
    pub fn unmatched(&self) -> usize {
        self.early.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_runs_from_the_acknowledgement_of_the_latest_write() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut m = Matcher::default();
        m.sent("p1");
        assert!(m.acked("p1", ms(10)).is_empty());
        assert_eq!(m.received("engagement", "p1", ms(13)), Some(Duration::from_millis(3)));
        // A second write on the post: its events measure from its own acknowledgement.
        m.sent("p1");
        assert_eq!(m.acked("p1", ms(100)), Vec::<&str>::new());
        assert_eq!(m.received("engagement", "p1", ms(101)), Some(Duration::from_millis(1)));
        assert_eq!(m.unmatched(), 0);
    }

    #[test]
    fn events_before_the_acknowledgement_wait_for_it() {
        let t0 = Instant::now();
        let mut m = Matcher::default();
        m.sent("p1");
        assert_eq!(m.received("engagement", "p1", t0), None);
        // A new post's event can come before its id is known here at all.
        assert_eq!(m.received("post", "p2", t0), None);
        assert_eq!(m.received("post", "p2", t0), None);
        assert_eq!(m.unmatched(), 3);
        assert_eq!(m.acked("p1", t0), vec!["engagement"]);
        assert_eq!(m.acked("p2", t0), vec!["post", "post"]);
        assert_eq!(m.unmatched(), 0);
        // A clock read before the acknowledgement's is no negative latency.
        assert_eq!(m.received("post", "p2", t0 - Duration::from_millis(1)), Some(Duration::ZERO));
    }

    #[test]
    fn events_of_unknown_writes_stay_unmatched() {
        let mut m = Matcher::default();
        assert_eq!(m.received("notification", "elsewhere", Instant::now()), None);
        assert_eq!(m.unmatched(), 1);
    }
}
