//! A tokio SMPP client (ESME) for tests, interop checks and load generation.
//!
//! [`Esme::connect`] spawns one task that owns the socket. Requests are pipelined:
//! many may be outstanding at once, up to [`EsmeConfig::window`]; the task assigns
//! sequence numbers, batches writes, matches responses and answers the peer's
//! `enquire_link`, `unbind`, `deliver_sm` and `data_sm` itself. Received messages
//! (receipts and MO) come out of [`Esme::next_delivery`]; frames that answer nothing
//! outstanding (for instance the response to a [`send_raw`](Esme::send_raw) frame)
//! come out of [`Esme::recv_raw`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use smppguard_sim::{BindType, esme::Esme, message::Sms};
//!
//! let esme = Esme::connect("127.0.0.1:2775").await?;
//! let bound = esme.bind(BindType::Transceiver, "esme01", "s3cr3t").await?;
//! assert!(bound.status.is_ok());
//! let resp = esme.submit(Sms::gsm7("Hello")?.registered_delivery(1).submit_sm()?).await?;
//! println!("accepted as {}", resp.message_id);
//! if let Some(receipt) = esme.next_delivery().await.and_then(|d| d.receipt()) {
//!     println!("{} is {}", receipt.id, receipt.stat);
//! }
//! esme.unbind().await?;
//! # Ok(()) }
//! ```

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use bytes::Bytes;
use smppguard_codec::{
    Bind, Body, COctetString, CommandId, CommandStatus, DEFAULT_MAX_COMMAND_LENGTH, DataSm,
    DeliverSm, MessageState, Pdu, SubmitMulti, SubmitSm, peek_header,
};
use tokio::{
    net::{TcpStream, ToSocketAddrs},
    sync::{Mutex, mpsc, oneshot},
    task::JoinHandle,
};

use crate::{BindType, BuildError, EsmeError, receipt::Receipt};

mod conn;
mod pending;

use conn::{Cmd, Conn};

/// Capacity of the channel from the handle to the connection task.
const CMD_QUEUE: usize = 1024;
/// Capacity of the channel of unmatched frames.
const RAW_QUEUE: usize = 1024;

/// Client settings.
#[derive(Debug, Clone)]
pub struct EsmeConfig {
    /// Most requests outstanding at once; more wait in the task. Default: 256.
    pub window: usize,
    /// How long a request waits for its response before failing with
    /// [`EsmeError::Timeout`]; `None` waits for ever. Default: 30 s.
    pub response_timeout: Option<Duration>,
    /// The status `deliver_sm` and `data_sm` from the peer are answered with.
    /// Default: `ESME_ROK`. Changeable later with [`Esme::set_deliver_status`].
    pub deliver_status: CommandStatus,
    /// Received messages held for [`Esme::next_delivery`]; when full, further ones
    /// are answered `ESME_RX_T_APPN` (0x64, "try later") and not held.
    /// Default: 10 000.
    pub delivery_queue: usize,
    /// Largest PDU accepted from the peer. Default: 8192.
    pub max_pdu_len: u32,
}

impl Default for EsmeConfig {
    fn default() -> Self {
        Self {
            window: 256,
            response_timeout: Some(Duration::from_secs(30)),
            deliver_status: CommandStatus::ESME_ROK,
            delivery_queue: 10_000,
            max_pdu_len: DEFAULT_MAX_COMMAND_LENGTH,
        }
    }
}

/// A request ready to send: one encoded PDU whose sequence number the connection
/// overwrites. Build it from a body, a [`Pdu`] or a prepared frame; a prepared frame
/// is sent without re-encoding, which is what load generators want.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    frame: Bytes,
    command_id: CommandId,
}

// === impl Request ===

impl Request {
    /// The request for `body`.
    pub fn new(body: Body) -> Request {
        Request::from(Pdu::new(body, CommandStatus::ESME_ROK, 0))
    }

    /// A prepared frame, sent byte for byte except for its sequence number. Fails
    /// when `frame` is not one whole PDU (shorter than a header, or its
    /// `command_length` disagrees with its length).
    pub fn from_frame(frame: Bytes) -> Result<Request, EsmeError> {
        match peek_header(&frame) {
            Some(h) if usize::try_from(h.command_length).ok() == Some(frame.len()) => Ok(Request {
                command_id: h.command_id,
                frame,
            }),
            _ => Err(EsmeError::InvalidFrame { len: frame.len() }),
        }
    }

    /// The request's `command_id`.
    pub fn command_id(&self) -> CommandId {
        self.command_id
    }

    /// The encoded frame (sequence number as built, normally 0).
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }
}

impl From<Pdu> for Request {
    fn from(pdu: Pdu) -> Self {
        Request {
            command_id: pdu.command_id(),
            frame: pdu.to_bytes(),
        }
    }
}

impl From<&Pdu> for Request {
    fn from(pdu: &Pdu) -> Self {
        Request {
            command_id: pdu.command_id(),
            frame: pdu.to_bytes(),
        }
    }
}

impl From<Body> for Request {
    fn from(body: Body) -> Self {
        Request::new(body)
    }
}

/// A `submit_sm` (a [`DeliverSm`] value, which has the same type, is sent as
/// `submit_sm` too).
impl From<SubmitSm> for Request {
    fn from(sm: SubmitSm) -> Self {
        Request::new(Body::SubmitSm(sm))
    }
}

impl From<DataSm> for Request {
    fn from(sm: DataSm) -> Self {
        Request::new(Body::DataSm(sm))
    }
}

impl From<SubmitMulti> for Request {
    fn from(sm: SubmitMulti) -> Self {
        Request::new(Body::SubmitMulti(sm))
    }
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The response PDU (possibly a `generic_nack`).
    pub pdu: Pdu,
    /// Time from writing the request to reading the response.
    pub latency: Duration,
}

impl Response {
    /// The response's `command_status`.
    pub fn status(&self) -> CommandStatus {
        self.pdu.command_status()
    }
}

/// The answer to a `submit_sm`, `data_sm` or `submit_multi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitResponse {
    /// The response's `command_id`: the request's `_resp`, or `generic_nack`.
    pub command_id: CommandId,
    /// Its `command_status`.
    pub status: CommandStatus,
    /// The MC's message id; empty when the response has none (errors).
    pub message_id: String,
    /// Time from writing the request to reading the response.
    pub latency: Duration,
}

impl SubmitResponse {
    /// The fields of a response PDU that answered after `latency`.
    pub(crate) fn new(pdu: &Pdu, latency: Duration) -> SubmitResponse {
        let message_id = match &pdu.body {
            Body::SubmitSmResp(Some(b)) | Body::DataSmResp(Some(b)) => {
                lossy(b.message_id.as_bytes())
            }
            Body::SubmitMultiResp(Some(b)) => lossy(b.message_id.as_bytes()),
            _ => String::new(),
        };
        SubmitResponse {
            command_id: pdu.command_id(),
            status: pdu.command_status(),
            message_id,
            latency,
        }
    }
}

impl From<Response> for SubmitResponse {
    fn from(r: Response) -> Self {
        SubmitResponse::new(&r.pdu, r.latency)
    }
}

/// The answer to a bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindResp {
    /// `ESME_ROK`, or why the bind was refused (`ESME_RINVPASWD`, `ESME_RINVSYSID`,
    /// `ESME_RALYBND`, ...).
    pub status: CommandStatus,
    /// The MC's `system_id`; empty when the response has no body.
    pub system_id: String,
    /// The `sc_interface_version` TLV, when sent.
    pub sc_interface_version: Option<u8>,
    /// The response PDU.
    pub pdu: Pdu,
}

/// A `deliver_sm` or `data_sm` received from the peer (a receipt or an MO message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The decoded PDU.
    pub pdu: Pdu,
    /// The status it was answered with.
    pub answered: CommandStatus,
}

// === impl Delivery ===

impl Delivery {
    /// The body when it is a `deliver_sm`.
    pub fn deliver_sm(&self) -> Option<&DeliverSm> {
        match &self.pdu.body {
            Body::DeliverSm(sm) => Some(sm),
            _ => None,
        }
    }

    /// Whether `esm_class` marks an MC delivery receipt (bits 5-2 = 0001).
    pub fn is_receipt(&self) -> bool {
        let esm = match &self.pdu.body {
            Body::DeliverSm(sm) => sm.esm_class,
            Body::DataSm(sm) => sm.esm_class,
            _ => return false,
        };
        esm & 0x3C == 0x04
    }

    /// The receipt fields of a receipt: the text form parsed, with `id` and `stat`
    /// taken from the `receipted_message_id` and `message_state` TLVs when the text
    /// lacks them. `None` for MO messages.
    pub fn receipt(&self) -> Option<Receipt> {
        if !self.is_receipt() {
            return None;
        }
        let content = self.pdu.body.content()?;
        let text = content
            .short_message
            .filter(|sm| !sm.is_empty())
            .map(|sm| sm.as_bytes())
            .or(content.tlvs.message_payload())
            .unwrap_or_default();
        let mut receipt = Receipt::parse(text).unwrap_or_default();
        if receipt.id.is_empty()
            && let Some(id) = content.tlvs.receipted_message_id()
        {
            receipt.id = lossy(id);
        }
        if receipt.stat.is_empty()
            && let Some(state) = content.tlvs.message_state()
        {
            receipt.stat = crate::receipt::stat_for_state(state).to_owned();
        }
        (!receipt.id.is_empty()).then_some(receipt)
    }

    /// The `message_state` TLV.
    pub fn message_state(&self) -> Option<MessageState> {
        self.pdu.body.content()?.tlvs.message_state()
    }

    /// The `receipted_message_id` TLV, without its NUL.
    pub fn receipted_message_id(&self) -> Option<String> {
        self.pdu
            .body
            .content()?
            .tlvs
            .receipted_message_id()
            .map(lossy)
    }
}

/// Declares [`EsmeStats`] and its atomic counterpart from one field list.
macro_rules! esme_counters {
    ( $( $(#[$meta:meta])* $name:ident, )* ) => {
        /// What the connection has seen.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct EsmeStats {
            $( $(#[$meta])* pub $name: u64, )*
        }

        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $( pub(crate) $name: AtomicU64, )*
        }

        impl Counters {
            fn snapshot(&self) -> EsmeStats {
                EsmeStats { $( $name: self.$name.load(Relaxed), )* }
            }
        }
    };
}

esme_counters! {
    /// Requests written.
    requests,
    /// Responses matched to a request.
    responses,
    /// Requests that timed out.
    timeouts,
    /// `deliver_sm` / `data_sm` received.
    deliveries,
    /// Received messages answered `ESME_RX_T_APPN` because the delivery queue was full.
    deliveries_refused,
    /// `enquire_link` requests from the peer, answered.
    enquire_links,
    /// `unbind` requests from the peer, answered.
    unbinds,
    /// Frames that answered nothing outstanding (sent to [`Esme::recv_raw`]).
    unmatched,
    /// Unmatched frames dropped because nobody read them.
    unmatched_dropped,
}

/// State shared by the handle and the connection task.
#[derive(Debug)]
pub(crate) struct EsmeShared {
    deliver_status: AtomicU32,
    pub(crate) counters: Counters,
}

impl EsmeShared {
    pub(crate) fn deliver_status(&self) -> CommandStatus {
        CommandStatus(self.deliver_status.load(Relaxed))
    }
}

/// A connected SMPP client; see the module documentation. Methods take `&self`, so
/// one client can be shared (e.g. in an `Arc`) by concurrent tasks.
#[derive(Debug)]
pub struct Esme {
    cmd: mpsc::Sender<Cmd>,
    shared: Arc<EsmeShared>,
    deliveries: Mutex<mpsc::Receiver<Delivery>>,
    raw: Mutex<mpsc::Receiver<Bytes>>,
    local_addr: SocketAddr,
    peer_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Esme {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// === impl Esme ===

impl Esme {
    /// Connects with the default [`EsmeConfig`].
    pub async fn connect(addr: impl ToSocketAddrs) -> Result<Esme, EsmeError> {
        Esme::connect_with(addr, EsmeConfig::default()).await
    }

    /// Connects with `config`.
    pub async fn connect_with(
        addr: impl ToSocketAddrs,
        config: EsmeConfig,
    ) -> Result<Esme, EsmeError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let local_addr = stream.local_addr()?;
        let peer_addr = stream.peer_addr()?;
        let (cmd_tx, cmd_rx) = mpsc::channel(CMD_QUEUE);
        let (delivery_tx, delivery_rx) = mpsc::channel(config.delivery_queue.max(1));
        let (raw_tx, raw_rx) = mpsc::channel(RAW_QUEUE);
        let shared = Arc::new(EsmeShared {
            deliver_status: AtomicU32::new(config.deliver_status.0),
            counters: Counters::default(),
        });
        let conn = Conn::new(
            stream,
            &config,
            cmd_rx,
            delivery_tx,
            raw_tx,
            Arc::clone(&shared),
        );
        let task = tokio::spawn(conn.run());
        Ok(Esme {
            cmd: cmd_tx,
            shared,
            deliveries: Mutex::new(delivery_rx),
            raw: Mutex::new(raw_rx),
            local_addr,
            peer_addr,
            task,
        })
    }

    /// The local socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The peer's socket address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// Binds as `bind_type` with SMPP 3.4, no system_type and an empty address
    /// range. A refused bind is not an error: the status says why.
    pub async fn bind(
        &self,
        bind_type: BindType,
        system_id: &str,
        password: &str,
    ) -> Result<BindResp, EsmeError> {
        let body = Bind {
            system_id: COctetString::new(Bytes::copy_from_slice(system_id.as_bytes()))
                .map_err(BuildError::field("system_id"))?,
            password: COctetString::new(Bytes::copy_from_slice(password.as_bytes()))
                .map_err(BuildError::field("password"))?,
            interface_version: 0x34,
            ..Bind::default()
        };
        self.bind_with(bind_type, body).await
    }

    /// Binds with every field of the bind body given.
    pub async fn bind_with(&self, bind_type: BindType, body: Bind) -> Result<BindResp, EsmeError> {
        let body = match bind_type {
            BindType::Transmitter => Body::BindTransmitter(body),
            BindType::Receiver => Body::BindReceiver(body),
            BindType::Transceiver => Body::BindTransceiver(body),
        };
        let resp = self.request(body).await?;
        let (system_id, sc_interface_version) = match &resp.pdu.body {
            Body::BindTransmitterResp(Some(b))
            | Body::BindReceiverResp(Some(b))
            | Body::BindTransceiverResp(Some(b)) => {
                (lossy(b.system_id.as_bytes()), b.tlvs.sc_interface_version())
            }
            _ => (String::new(), None),
        };
        Ok(BindResp {
            status: resp.status(),
            system_id,
            sc_interface_version,
            pdu: resp.pdu,
        })
    }

    /// Submits a `submit_sm`, `data_sm` or `submit_multi` and waits for its answer.
    pub async fn submit(&self, request: impl Into<Request>) -> Result<SubmitResponse, EsmeError> {
        self.request(request).await.map(SubmitResponse::from)
    }

    /// Submits every request, pipelined up to the window, and returns the answers in
    /// the same order. One command crosses to the connection task for the whole
    /// batch, which keeps per-message overhead low for load generation.
    pub async fn submit_many<I>(
        &self,
        requests: I,
    ) -> Result<Vec<Result<SubmitResponse, EsmeError>>, EsmeError>
    where
        I: IntoIterator,
        I::Item: Into<Request>,
    {
        let frames: Vec<Request> = requests.into_iter().map(Into::into).collect();
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Cmd::Batch {
                requests: frames,
                reply: tx,
            })
            .await
            .map_err(|_| EsmeError::Closed)?;
        rx.await.map_err(|_| EsmeError::Closed)
    }

    /// Sends any request and waits for its response (which may be a `generic_nack`).
    pub async fn request(&self, request: impl Into<Request>) -> Result<Response, EsmeError> {
        let request = request.into();
        let expected = request.command_id.response_id();
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Cmd::Request { request, reply: tx })
            .await
            .map_err(|_| EsmeError::Closed)?;
        let resp = rx.await.map_err(|_| EsmeError::Closed)??;
        let got = resp.pdu.command_id();
        match expected {
            Some(id) if id != got && got != CommandId::GENERIC_NACK => {
                Err(EsmeError::UnexpectedResponse {
                    request: id,
                    response: got,
                })
            }
            _ => Ok(resp),
        }
    }

    /// Sends `enquire_link` and returns the answer's status.
    pub async fn enquire_link(&self) -> Result<CommandStatus, EsmeError> {
        Ok(self.request(Body::EnquireLink).await?.status())
    }

    /// Sends `unbind`, waits for `unbind_resp` and closes the connection. Returns the
    /// answer's status.
    pub async fn unbind(&self) -> Result<CommandStatus, EsmeError> {
        let status = self.request(Body::Unbind).await?.status();
        let _ = self.cmd.send(Cmd::Close).await;
        Ok(status)
    }

    /// Writes `bytes` exactly as given: nothing is framed, checked or renumbered, and
    /// whatever answers it arrives through [`recv_raw`](Self::recv_raw). Use sequence
    /// numbers from `0x4000_0000` up so they cannot collide with the client's own
    /// (which count up from 1).
    pub async fn send_raw(&self, bytes: impl Into<Bytes>) -> Result<(), EsmeError> {
        self.cmd
            .send(Cmd::Raw(bytes.into()))
            .await
            .map_err(|_| EsmeError::Closed)
    }

    /// The next frame from the peer that answered nothing outstanding, or that the
    /// client does not handle itself (`alert_notification`, `outbind`, ...); `None`
    /// once the connection is closed and all were read.
    pub async fn recv_raw(&self) -> Option<Bytes> {
        self.raw.lock().await.recv().await
    }

    /// Like [`recv_raw`](Self::recv_raw), giving up after `timeout`.
    pub async fn recv_raw_timeout(&self, timeout: Duration) -> Option<Bytes> {
        tokio::time::timeout(timeout, self.recv_raw())
            .await
            .ok()
            .flatten()
    }

    /// The next received `deliver_sm` / `data_sm`; `None` once the connection is
    /// closed and all were read.
    pub async fn next_delivery(&self) -> Option<Delivery> {
        self.deliveries.lock().await.recv().await
    }

    /// Like [`next_delivery`](Self::next_delivery), giving up after `timeout`.
    pub async fn next_delivery_timeout(&self, timeout: Duration) -> Option<Delivery> {
        tokio::time::timeout(timeout, self.next_delivery())
            .await
            .ok()
            .flatten()
    }

    /// Changes the status received messages are answered with (for example
    /// `ESME_RX_T_APPN` to make the SMSC retry).
    pub fn set_deliver_status(&self, status: CommandStatus) {
        self.shared.deliver_status.store(status.0, Relaxed);
    }

    /// The counters.
    pub fn stats(&self) -> EsmeStats {
        self.shared.counters.snapshot()
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits until the connection ends (peer closed, unbind completed, or error).
    pub async fn closed(&self) {
        self.cmd.closed().await;
    }

    /// Closes the connection at once, without `unbind`; outstanding requests fail
    /// with [`EsmeError::Closed`].
    pub async fn close(self) {
        let _ = self.cmd.send(Cmd::Close).await;
        self.closed().await;
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
