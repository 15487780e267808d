//! Reading `GET /api/stream` as a client does: server-sent events parsed one by one, each
//! expected within a second of the write that causes it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::Client;

/// How soon an event must arrive after the write that caused it.
pub const WITHIN: Duration = Duration::from_secs(1);

/// One parsed server-sent event.
#[derive(Debug)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: Value,
}

/// An open stream, read event by event.
pub struct EventReader {
    response: reqwest::Response,
    buffer: String,
}

impl EventReader {
    pub async fn open(client: &Client) -> EventReader {
        let response = client.request(reqwest::Method::GET, "/api/stream").send().await.unwrap();
        EventReader::from_response(response)
    }

    pub fn from_response(response: reqwest::Response) -> EventReader {
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        EventReader { response, buffer: String::new() }
    }

    /// Reads (and drops) whatever comes until the server ends the stream.
    pub async fn until_end(&mut self) {
        while let Ok(Some(_)) = self.response.chunk().await {}
    }

    /// The next event (comment-only blocks, the keep-alives, are skipped).
    pub async fn next(&mut self) -> SseEvent {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return event;
                }
                continue;
            }
            let chunk = self.response.chunk().await.unwrap().expect("the stream ended");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next event of kind `kind`, which must come within `WITHIN`.
    pub async fn expect(&mut self, kind: &str) -> SseEvent {
        tokio::time::timeout(WITHIN, async {
            loop {
                let event = self.next().await;
                if event.event == kind {
                    return event;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {kind} event within {WITHIN:?}"))
    }
}

impl EventReader {
    /// The first event of each of `kinds`, in any order, all within `WITHIN` (events of
    /// other kinds are skipped).
    pub async fn expect_each<const N: usize>(&mut self, kinds: [&str; N]) -> [SseEvent; N] {
        let mut found: [Option<SseEvent>; N] = std::array::from_fn(|_| None);
        tokio::time::timeout(WITHIN, async {
            while found.iter().any(Option::is_none) {
                let event = self.next().await;
                if let Some(i) = kinds.iter().position(|k| *k == event.event) {
                    found[i].get_or_insert(event);
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("not every one of {kinds:?} within {WITHIN:?}: {found:?}"));
        found.map(Option::unwrap)
    }
}

fn parse(block: &str) -> Option<SseEvent> {
    let (mut event, mut id, mut data) = (None, None, Vec::new());
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_string()),
            "id" => id = Some(value.to_string()),
            "data" => data.push(value),
            _ => {}
        }
    }
    let event = event?;
    Some(SseEvent { event, id, data: serde_json::from_str(&data.join("\n")).expect("data is JSON") })
}
