//! Reading Server-Sent Events off a response body that arrives in chunks split anywhere
//! (mid-line, mid-character): lines are cut only once their end has arrived, and an event
//! is complete at its blank line, as the SSE specification reads them.

/// One complete event: its `event:` name (`message` when none) and its `data:` lines joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// The parser of one stream.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of a line whose end has not arrived yet.
    partial: Vec<u8>,
    event: Option<String>,
    data: Option<String>,
    /// The previous chunk ended in `\r`: a `\n` opening the next one belongs to it.
    after_cr: bool,
}

impl SseParser {
    /// Takes the next chunk; returns the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        let mut chunk = chunk;
        if self.after_cr && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        self.after_cr = false;
        let mut start = 0;
        let mut i = 0;
        while i < chunk.len() {
            let byte = chunk[i];
            if byte == b'\n' || byte == b'\r' {
                self.partial.extend_from_slice(&chunk[start..i]);
                let line = std::mem::take(&mut self.partial);
                self.line(&String::from_utf8_lossy(&line), &mut events);
                if byte == b'\r' {
                    match chunk.get(i + 1) {
                        Some(b'\n') => i += 1,
                        None => self.after_cr = true,
                        Some(_) => {}
                    }
                }
                start = i + 1;
            }
            i += 1;
        }
        self.partial.extend_from_slice(&chunk[start..]);
        events
    }

    fn line(&mut self, line: &str, events: &mut Vec<SseEvent>) {
        if line.is_empty() {
            let event = self.event.take();
            if let Some(data) = self.data.take() {
                events.push(SseEvent { event: event.unwrap_or_else(|| "message".into()), data });
            }
            return;
        }
        // A line starting with a colon is a comment (the server's keep-alives).
        let (field, value) = match line.find(':') {
            Some(0) => return,
            Some(at) => (&line[..at], line[at + 1..].strip_prefix(' ').unwrap_or(&line[at + 1..])),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = ": keep-alive\n\nevent: post\nid: 7\ndata: {\"id\":\"p1\",\"text\":\"café\"}\n\n\
                          event: engagement\r\ndata: {\"post_id\":\"p1\"}\r\n\r\n\
                          data: line one\ndata: line two\n\n";

    fn expected() -> Vec<SseEvent> {
        let event = |e: &str, d: &str| SseEvent { event: e.into(), data: d.into() };
        vec![
            event("post", r#"{"id":"p1","text":"café"}"#),
            event("engagement", r#"{"post_id":"p1"}"#),
            event("message", "line one\nline two"),
        ]
    }

    #[test]
    fn a_whole_stream_at_once() {
        assert_eq!(SseParser::default().feed(STREAM.as_bytes()), expected());
    }

    #[test]
    fn chunks_split_anywhere_give_the_same_events() {
        let bytes = STREAM.as_bytes();
        // Every split into two, and byte by byte (through the middle of `é` and of `\r\n`).
        for cut in 0..=bytes.len() {
            let mut parser = SseParser::default();
            let mut events = parser.feed(&bytes[..cut]);
            events.extend(parser.feed(&bytes[cut..]));
            assert_eq!(events, expected(), "split at {cut}");
        }
        let mut parser = SseParser::default();
        let events: Vec<SseEvent> = bytes.iter().flat_map(|b| parser.feed(std::slice::from_ref(b))).collect();
        assert_eq!(events, expected());
    }

    #[test]
    fn an_unfinished_event_is_not_an_event() {
        let mut parser = SseParser::default();
        assert!(parser.feed(b"event: post\ndata: {}\n").is_empty());
        assert_eq!(parser.feed(b"\n").len(), 1);
    }
}
