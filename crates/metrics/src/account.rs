//! Per-account handles, resolved when an account is configured (start and reload) and
//! kept by its sessions, so counting a request is an atomic add.

use std::sync::{Arc, OnceLock};

use prometheus::IntCounter;

use crate::families::Families;
use crate::handle::{Counter, Gauge};
use crate::labels::{BindType, DeliverKind, Outcome};

/// The series of one configured account (`account` = its system_id).
///
/// Series that most accounts never see (rare outcomes, rule categories) are created on
/// first use, once per account and label value; everything else exists from the moment
/// the account is configured.
pub struct AccountMetrics {
    account: Arc<str>,
    fams: Arc<Families>,
    /// Submit-type requests received.
    pub received: Counter,
    /// Bytes of those requests.
    pub received_bytes: Counter,
    /// Requests sent to an SMSC.
    pub forwarded: Counter,
    /// Whole messages inspected.
    pub messages: Counter,
    /// Parts of those messages.
    pub message_parts: Counter,
    delivers: [Counter; DeliverKind::COUNT],
    sessions: [Gauge; BindType::COUNT],
    /// Requests outstanding over all the account's sessions.
    pub window_in_use: Gauge,
    /// Configured window per session.
    pub window_limit: Gauge,
    /// 1 while suspended.
    pub suspended: Gauge,
    outcomes: [OnceLock<IntCounter>; Outcome::COUNT],
    global_outcomes: Arc<[Counter; Outcome::COUNT]>,
    unanswered: Counter,
    categories: Box<[OnceLock<IntCounter>]>,
    category_labels: Arc<[&'static str]>,
}

impl std::fmt::Debug for AccountMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountMetrics")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl AccountMetrics {
    pub(crate) fn new(
        account: Arc<str>,
        fams: Arc<Families>,
        global_outcomes: Arc<[Counter; Outcome::COUNT]>,
        unanswered: Counter,
        category_labels: Arc<[&'static str]>,
    ) -> AccountMetrics {
        let a: &str = &account;
        let c = |v: &prometheus::IntCounterVec| Counter(v.with_label_values(&[a]));
        let g = |v: &prometheus::IntGaugeVec| Gauge(v.with_label_values(&[a]));
        AccountMetrics {
            received: c(&fams.account_received),
            received_bytes: c(&fams.account_bytes),
            forwarded: c(&fams.account_forwarded),
            messages: c(&fams.account_messages),
            message_parts: c(&fams.account_parts),
            delivers: DeliverKind::table(|k| {
                Counter(fams.account_delivers.with_label_values(&[a, k.as_str()]))
            }),
            sessions: BindType::table(|b| {
                Gauge(fams.account_sessions.with_label_values(&[a, b.as_str()]))
            }),
            window_in_use: g(&fams.account_window_in_use),
            window_limit: g(&fams.account_window_limit),
            suspended: g(&fams.account_suspended),
            outcomes: std::array::from_fn(|_| OnceLock::new()),
            global_outcomes,
            unanswered,
            categories: category_labels.iter().map(|_| OnceLock::new()).collect(),
            category_labels,
            fams,
            account,
        }
    }

    /// The account's system_id.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Counts one request's final outcome, here and in the global family.
    #[inline]
    pub fn outcome(&self, outcome: Outcome) {
        self.outcome_n(outcome, 1);
    }

    /// Counts `n` requests (the parts of one message) with the same outcome.
    #[inline]
    pub fn outcome_n(&self, outcome: Outcome, n: u64) {
        let i = outcome.index();
        if let Some(g) = self.global_outcomes.get(i) {
            g.inc_by(n);
        }
        if let Some(cell) = self.outcomes.get(i) {
            cell.get_or_init(|| {
                self.fams
                    .account_requests
                    .with_label_values(&[&*self.account, outcome.as_str()])
            })
            .inc_by(n);
        }
        if outcome == Outcome::Unanswered {
            self.unanswered.inc_by(n);
        }
    }

    /// Requests of this account with `outcome` so far (0 before the first).
    pub fn outcome_count(&self, outcome: Outcome) -> u64 {
        self.outcomes
            .get(outcome.index())
            .and_then(OnceLock::get)
            .map_or(0, IntCounter::get)
    }

    /// Counts one rule match of the category at `category` (an index into the
    /// category labels the metrics were created with; others are ignored).
    #[inline]
    pub fn filter_match(&self, category: usize) {
        let (Some(cell), Some(label)) = (
            self.categories.get(category),
            self.category_labels.get(category),
        ) else {
            return;
        };
        cell.get_or_init(|| {
            self.fams
                .account_matches
                .with_label_values(&[&*self.account, label])
        })
        .inc();
    }

    /// Counts one receipt or MO message relayed to the account.
    #[inline]
    pub fn delivered(&self, kind: DeliverKind) {
        if let Some(c) = self.delivers.get(kind.index()) {
            c.inc();
        }
    }

    /// The bound-sessions gauge of one bind type.
    pub fn sessions(&self, bind_type: BindType) -> &Gauge {
        // ok: `sessions` has one entry per BindType, in index order.
        #[allow(clippy::indexing_slicing)]
        &self.sessions[bind_type.index()]
    }

    /// Removes every series of this account from the families (the account was removed
    /// from the configuration).
    pub(crate) fn remove_series(&self) {
        let a: &str = &self.account;
        let f = &self.fams;
        for v in [
            &f.account_received,
            &f.account_bytes,
            &f.account_forwarded,
            &f.account_messages,
            &f.account_parts,
        ] {
            let _ = v.remove_label_values(&[a]);
        }
        for v in [
            &f.account_window_in_use,
            &f.account_window_limit,
            &f.account_suspended,
        ] {
            let _ = v.remove_label_values(&[a]);
        }
        for k in DeliverKind::ALL {
            let _ = f.account_delivers.remove_label_values(&[a, k.as_str()]);
        }
        for b in BindType::ALL {
            let _ = f.account_sessions.remove_label_values(&[a, b.as_str()]);
        }
        for o in Outcome::ALL {
            let _ = f.account_requests.remove_label_values(&[a, o.as_str()]);
        }
        for c in self.category_labels.iter() {
            let _ = f.account_matches.remove_label_values(&[a, c]);
        }
    }
}
