//! Error types of the simulator, the ESME client and the message builders.

use std::{io, net::SocketAddr};

use smppguard_codec::{CommandId, DecodeError, FieldError, FrameError};

/// Why the SMSC simulator could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// A socket operation on the listener failed.
    #[error("listener socket error")]
    Io(#[from] io::Error),
    /// `restart` was called while the simulator was listening.
    #[error("the simulator is already listening")]
    AlreadyRunning,
    /// The simulator was shut down; it accepts no more work.
    #[error("the simulator has been shut down")]
    Stopped,
    /// An injected message could not be encoded.
    #[error("invalid message")]
    Build(#[from] BuildError),
}

/// Why an ESME client operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EsmeError {
    /// Connecting or a socket operation failed.
    #[error("smpp connection i/o error")]
    Io(#[from] io::Error),
    /// The connection is closed (by the peer, after an unbind, or after an error); the
    /// request was not answered.
    #[error("smpp connection closed before the response arrived")]
    Closed,
    /// No response arrived within the configured response timeout.
    #[error("no response within {0:?}")]
    Timeout(std::time::Duration),
    /// The peer's byte stream cannot be framed; the connection was closed.
    #[error("peer stream cannot be framed")]
    Frame(#[from] FrameError),
    /// The response to this request could not be decoded.
    #[error("undecodable response")]
    Decode(#[from] DecodeError),
    /// The response does not answer the request that was sent.
    #[error("request {request} answered with {response}")]
    UnexpectedResponse {
        /// The request's command_id.
        request: CommandId,
        /// The response's command_id.
        response: CommandId,
    },
    /// A frame given to [`Request::from_frame`](crate::esme::Request::from_frame) is
    /// shorter than the 16-byte header or disagrees with its `command_length`.
    #[error("request frame of {len} bytes is not one whole pdu")]
    InvalidFrame {
        /// The frame's length.
        len: usize,
    },
    /// A request could not be built.
    #[error("invalid request")]
    Build(#[from] BuildError),
}

/// Why a test message could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A value does not fit its SMPP field (address too long, NUL in a C-string, ...).
    #[error("field {field}: {source}")]
    Field {
        /// The spec name of the field.
        field: &'static str,
        /// What was wrong.
        #[source]
        source: FieldError,
    },
    /// The character at `position` (in characters) has no GSM 03.38 encoding.
    #[error("character {ch:?} at position {position} is not in the gsm 03.38 alphabet")]
    NotGsm7 {
        /// The character.
        ch: char,
        /// Its index in the text, in characters.
        position: usize,
    },
    /// The character at `position` has no ISO-8859-1 encoding.
    #[error("character {ch:?} at position {position} is not in iso-8859-1")]
    NotLatin1 {
        /// The character.
        ch: char,
        /// Its index in the text, in characters.
        position: usize,
    },
    /// A part's user data would not fit the field that carries it.
    #[error("user data of {len} bytes exceeds the {max}-byte limit")]
    TooLong {
        /// Encoded length, user data header included.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A concatenated message must have between 1 and 255 parts.
    #[error("{0} parts requested; a concatenated message has 1 to 255")]
    PartCount(usize),
    /// Split points must be strictly increasing, inside the text, and leave no empty
    /// part.
    #[error("split point {0} is out of order or outside the text")]
    SplitPoint(usize),
}

impl BuildError {
    /// Wraps a codec field error with the field it came from.
    pub(crate) fn field(field: &'static str) -> impl FnOnce(FieldError) -> BuildError {
        move |source| BuildError::Field { field, source }
    }
}
