//! What the simulator does: accounts, receipts, MO traffic, latency and error
//! injection, and how much it records.

use std::time::Duration;

use smppguard_codec::{CommandStatus, DEFAULT_MAX_COMMAND_LENGTH};

/// Settings of one simulated SMSC. Every field has a default (see [`Default`]), so
/// tests set only what they vary:
///
/// ```
/// use std::time::Duration;
/// use smppguard_sim::SimConfig;
///
/// let config = SimConfig {
///     accounts: vec![("esme01".into(), "s3cr3t".into())],
///     dlr: true,
///     latency: Duration::from_millis(5),
///     seed: 7,
///     ..SimConfig::default()
/// };
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// `(system_id, password)` pairs that may bind. Empty: any system_id and password
    /// bind. Default: empty.
    pub accounts: Vec<(String, String)>,
    /// The simulator's own `system_id` in bind responses (at most 15 characters).
    /// Default: `smppguard-sim`.
    pub system_id: String,
    /// Send a delivery receipt for every accepted `submit_sm` / `data_sm` whose
    /// `registered_delivery` asks for one (bits 1-0 = 01). Default: false.
    pub dlr: bool,
    /// Time between a submit's response and its receipt. Default: 0.
    pub dlr_delay: Duration,
    /// Delay added to every response of a message operation (submits, query, cancel,
    /// replace). Responses are delayed concurrently: the session keeps reading and
    /// answering while earlier responses wait. Default: 0.
    pub latency: Duration,
    /// Fraction (0.0 to 1.0) of well-formed submits answered with
    /// [`error_status`](Self::error_status) instead of a message id, drawn from a
    /// generator seeded with [`seed`](Self::seed). Default: 0.
    pub error_rate: f64,
    /// The status of injected errors. Default: `ESME_RSYSERR` (0x08).
    pub error_status: CommandStatus,
    /// Periodic mobile-originated messages; `None` sends none. Default: `None`.
    pub mo: Option<MoConfig>,
    /// Outbound window: at most this many `deliver_sm` per session await their
    /// `deliver_sm_resp`; further receipts and MO wait. Default: 64.
    pub window: usize,
    /// Seeds error injection and the message id range, so a run is repeatable and two
    /// simulators with different seeds issue different ids. Default: random.
    pub seed: u64,
    /// Decode every request fully and answer malformed ones with the codec's error
    /// response (the `_resp` with e.g. `ESME_RINVMSGLEN`, or `generic_nack`). When
    /// false, submits are checked by header only, which is faster; binds, message
    /// operations and submits that need a receipt or are recorded are still decoded.
    /// Default: true.
    pub validate: bool,
    /// Keep the last this many submit-like PDUs for
    /// [`SmscHandle::received`](crate::SmscHandle::received); `None` records nothing
    /// (for load tests). Default: 100 000.
    pub record: Option<usize>,
    /// Largest PDU accepted, in bytes; longer ones close the connection after a
    /// `generic_nack`. Default: 8192.
    pub max_pdu_len: u32,
    /// How many times a receipt or MO message is offered before it is dropped (each
    /// refusal by `deliver_sm_resp` with an error status counts). Default: 3.
    pub delivery_attempts: u32,
    /// Wait before offering a refused receipt or MO message again. Default: 1 s.
    pub delivery_retry_delay: Duration,
    /// Receipts and MO messages held for accounts with no receiver bound (and waiting
    /// for a retry) before new ones are dropped. Default: 100 000.
    pub max_queued_deliveries: usize,
    /// What the simulator answers; see [`Answer`]. Default: [`Answer::All`].
    pub answer: Answer,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            accounts: Vec::new(),
            system_id: "smppguard-sim".to_owned(),
            dlr: false,
            dlr_delay: Duration::ZERO,
            latency: Duration::ZERO,
            error_rate: 0.0,
            error_status: CommandStatus::ESME_RSYSERR,
            mo: None,
            window: 64,
            seed: fastrand::u64(..),
            validate: true,
            record: Some(100_000),
            max_pdu_len: DEFAULT_MAX_COMMAND_LENGTH,
            delivery_attempts: 3,
            delivery_retry_delay: Duration::from_secs(1),
            max_queued_deliveries: 100_000,
            answer: Answer::All,
        }
    }
}

/// Periodic mobile-originated messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoConfig {
    /// Time between two rounds; each round sends one MO message to every target.
    pub interval: Duration,
    /// The account that receives them; `None` sends one to every account that has a
    /// receiver bound.
    pub system_id: Option<String>,
    /// The sending handset, international.
    pub source_addr: String,
    /// The short code or number it was sent to, international.
    pub destination_addr: String,
    /// The text; a round counter is appended (`"<text> 17"`). GSM 7-bit when the
    /// alphabet has every character, UCS-2 otherwise.
    pub text: String,
}

impl Default for MoConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            system_id: None,
            source_addr: "447700900002".to_owned(),
            destination_addr: "447700900001".to_owned(),
            text: "MO".to_owned(),
        }
    }
}

/// What the simulator answers, for tests of an SMSC that hangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Answer {
    /// Normal operation.
    #[default]
    All,
    /// Submits are read, counted and recorded but never answered; binds,
    /// `enquire_link` and everything else are answered as usual (an SMSC whose
    /// message store is stuck).
    NoSubmits,
    /// Everything is read and ignored, `enquire_link` included (a hung process).
    Nothing,
}

impl Answer {
    pub(crate) fn to_u8(self) -> u8 {
        match self {
            Answer::All => 0,
            Answer::NoSubmits => 1,
            Answer::Nothing => 2,
        }
    }

    pub(crate) fn from_u8(v: u8) -> Answer {
        match v {
            1 => Answer::NoSubmits,
            2 => Answer::Nothing,
            _ => Answer::All,
        }
    }
}
