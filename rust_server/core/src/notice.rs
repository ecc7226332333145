//! The relay's own lines: `Warning: <sentence>` LF, never JSON (spec/relay.md §2.7).

use bytes::Bytes;

/// A notice the relay writes to one client. Texts are fixed so clients can match them exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notice {
    /// N1: a line was dropped by the rate limiter; the connection is kept.
    RateLimited,
    /// N2: the idle limit expired; the connection closes.
    Idle,
    /// N3: shutdown started; queued lines drain, then the connection closes.
    ShuttingDown,
    /// N4: the relay closes this connection after an internal failure.
    Internal,
    /// N5: a line over the cap, or an envelope over the ceiling, was not relayed.
    TooLong,
    /// N6: a line that is not valid UTF-8 was not relayed.
    InvalidUtf8,
    /// N7: `max_connections` was reached at accept.
    ServerFull,
    /// N8: `max_connections_per_ip` was reached.
    TooManyFromAddress,
    /// N9: this recipient is shedding: some lines were not delivered to it.
    Shedding,
    /// N10: slow-consumer disconnect or write timeout.
    SlowConsumer,
    /// N11: missing or wrong token, or handshake timeout.
    AuthFailed,
    /// N12: the client's IP is quarantined.
    Quarantined,
    /// N13: a started line did not end within `line_timeout_secs`.
    LineTimeout,
}

impl Notice {
    /// Every notice, in id order (N1 first).
    pub const ALL: [Notice; 13] = [
        Notice::RateLimited,
        Notice::Idle,
        Notice::ShuttingDown,
        Notice::Internal,
        Notice::TooLong,
        Notice::InvalidUtf8,
        Notice::ServerFull,
        Notice::TooManyFromAddress,
        Notice::Shedding,
        Notice::SlowConsumer,
        Notice::AuthFailed,
        Notice::Quarantined,
        Notice::LineTimeout,
    ];

    /// The exact line, LF included.
    pub const fn text(self) -> &'static str {
        match self {
            Notice::RateLimited => {
                "Warning: You are sending messages too quickly. Please slow down.\n"
            }
            Notice::Idle => "Warning: You have been disconnected due to inactivity.\n",
            Notice::ShuttingDown => "Warning: Server is shutting down.\n",
            Notice::Internal => "Warning: Server disconnected.\n",
            Notice::TooLong => "Warning: Message too long. It was not relayed.\n",
            Notice::InvalidUtf8 => "Warning: Message is not valid UTF-8. It was not relayed.\n",
            Notice::ServerFull => "Warning: Server is full. Please try again later.\n",
            Notice::TooManyFromAddress => {
                "Warning: Too many connections from your address. Please try again later.\n"
            }
            Notice::Shedding => {
                "Warning: Some messages were not delivered to you because you are not reading fast enough.\n"
            }
            Notice::SlowConsumer => {
                "Warning: You have been disconnected because you are not reading messages fast enough.\n"
            }
            Notice::AuthFailed => "Warning: Authentication failed.\n",
            Notice::Quarantined => {
                "Warning: Your address is temporarily blocked. Please try again later.\n"
            }
            Notice::LineTimeout => {
                "Warning: You have been disconnected because a message took too long to arrive.\n"
            }
        }
    }

    /// The line as a shared buffer, ready for a queue.
    pub fn line(self) -> Bytes {
        Bytes::from_static(self.text().as_bytes())
    }

    /// The metric label: `n1` to `n13`.
    pub const fn kind(self) -> &'static str {
        match self {
            Notice::RateLimited => "n1",
            Notice::Idle => "n2",
            Notice::ShuttingDown => "n3",
            Notice::Internal => "n4",
            Notice::TooLong => "n5",
            Notice::InvalidUtf8 => "n6",
            Notice::ServerFull => "n7",
            Notice::TooManyFromAddress => "n8",
            Notice::Shedding => "n9",
            Notice::SlowConsumer => "n10",
            Notice::AuthFailed => "n11",
            Notice::Quarantined => "n12",
            Notice::LineTimeout => "n13",
        }
    }

    /// Position in [`Notice::ALL`], for per-kind counters kept in arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Notices that keep the connection open and so are sent at most once per interval.
    pub const fn is_rate_limited(self) -> bool {
        matches!(
            self,
            Notice::RateLimited | Notice::TooLong | Notice::InvalidUtf8 | Notice::Shedding
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_has_the_required_shape() {
        for (position, notice) in Notice::ALL.iter().enumerate() {
            let text = notice.text();
            assert!(text.starts_with("Warning: "), "{text}");
            assert!(
                text.ends_with('\n') && text.matches('\n').count() == 1,
                "{text}"
            );
            assert!(text.len() <= 200, "{text}");
            assert!(text.is_ascii(), "{text}");
            assert_eq!(notice.index(), position);
            assert_eq!(notice.kind(), format!("n{}", position + 1));
        }
    }

    #[test]
    fn keeps_the_originals_texts_word_for_word() {
        assert_eq!(
            Notice::RateLimited.text(),
            "Warning: You are sending messages too quickly. Please slow down.\n"
        );
        assert_eq!(
            Notice::Idle.text(),
            "Warning: You have been disconnected due to inactivity.\n"
        );
        assert_eq!(
            Notice::ShuttingDown.text(),
            "Warning: Server is shutting down.\n"
        );
        assert_eq!(Notice::Internal.text(), "Warning: Server disconnected.\n");
    }
}
