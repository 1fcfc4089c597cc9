//! HTTP requests and replies as plain values. The endpoint handlers build replies and the
//! server writes them, so both sides share these types from the model rather than the
//! handlers importing the server.

/// What to do with a reply on the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyAction {
    /// Send it.
    Normal,
    /// Send the headers and half the body, then close.
    DropMidReply,
    /// Close without sending anything.
    Reset,
    /// A chunk that claims 2^64-1 bytes, then filler until the server's cap or the client leaves.
    OversizedChunk,
    /// The body chunked, then trailer lines until the server's cap or the client leaves.
    EndlessTrailers,
    /// Everything one byte at a time, `ms` milliseconds apart.
    Drip {
        /// Milliseconds between bytes.
        ms: u64,
    },
}

/// A reply to write.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// HTTP status code.
    pub code: u16,
    /// Content-Type.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
    /// Socket behaviour.
    pub action: ReplyAction,
}

impl HttpReply {
    /// A JSON reply.
    pub fn json(code: u16, body: String) -> HttpReply {
        HttpReply {
            code,
            content_type: "application/json; charset=utf-8",
            body: body.into_bytes(),
            action: ReplyAction::Normal,
        }
    }

    /// An HTML page (the web console).
    pub fn html(code: u16, body: String) -> HttpReply {
        HttpReply {
            code,
            content_type: "text/html; charset=utf-8",
            body: body.into_bytes(),
            action: ReplyAction::Normal,
        }
    }

    /// A plain-text reply.
    pub fn text(code: u16, body: &str) -> HttpReply {
        HttpReply {
            code,
            content_type: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
            action: ReplyAction::Normal,
        }
    }
}

/// A parsed request.
pub struct Request {
    /// GET, POST, …
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// The query string after `?` (raw, still percent-encoded; empty if none).
    pub query: String,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Whether the client keeps the connection open afterwards.
    pub keep_alive: bool,
}
