//! The simulator's counters. Sessions count into a local [`Stats`] and add it to the
//! shared atomics once per read batch, so cores do not contend per message.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Declares [`Stats`] (a plain snapshot) and `Counters` (the shared atomics) from one
/// field list.
macro_rules! counters {
    ( $( $(#[$meta:meta])* $name:ident, )* ) => {
        /// A snapshot of the simulator's counters since it started (restarts included).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct Stats {
            $( $(#[$meta])* pub $name: u64, )*
        }

        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $( $name: AtomicU64, )*
        }

        impl Counters {
            pub(crate) fn snapshot(&self) -> Stats {
                Stats { $( $name: self.$name.load(Relaxed), )* }
            }

            /// Adds `delta` and resets it.
            pub(crate) fn drain(&self, delta: &mut Stats) {
                $(
                    if delta.$name != 0 {
                        self.$name.fetch_add(delta.$name, Relaxed);
                    }
                )*
                *delta = Stats::default();
            }
        }
    };
}

counters! {
    /// TCP connections accepted.
    connections,
    /// Successful binds.
    binds,
    /// Binds refused (bad password, unknown system_id, already bound, malformed).
    bind_failures,
    /// `unbind` requests received from ESMEs.
    unbinds,
    /// `enquire_link` requests received.
    enquire_links,
    /// Well-formed `submit_sm`, `data_sm` and `submit_multi` on a transmitting bind.
    submits,
    /// Submits answered with a message id.
    submits_ok,
    /// Submits answered with the configured error status.
    errors_injected,
    /// Submits deliberately left unanswered ([`Answer`](crate::Answer)).
    unanswered,
    /// PDUs read and ignored under [`Answer::Nothing`](crate::Answer::Nothing).
    ignored,
    /// `query_sm`, `cancel_sm` and `replace_sm` requests answered.
    message_ops,
    /// Response PDUs sent, of every kind.
    responses,
    /// Requests answered with an error because they were malformed or not allowed in
    /// the bind state (injected errors excluded).
    rejected,
    /// `generic_nack` PDUs sent.
    generic_nacks,
    /// Connections closed because the byte stream could not be framed.
    framing_errors,
    /// Receipts (`deliver_sm`, `esm_class` 0x04) sent, retries included.
    dlrs_sent,
    /// Receipts acknowledged with `ESME_ROK`.
    dlrs_acked,
    /// Receipts refused (`deliver_sm_resp` with an error status or `generic_nack`).
    dlrs_failed,
    /// MO `deliver_sm` sent, retries included.
    mo_sent,
    /// MO messages acknowledged with `ESME_ROK`.
    mo_acked,
    /// MO messages refused.
    mo_failed,
    /// Receipts and MO messages given up (attempts exhausted or queue full).
    deliveries_dropped,
    /// Responses that matched no outstanding request.
    unexpected_responses,
}
