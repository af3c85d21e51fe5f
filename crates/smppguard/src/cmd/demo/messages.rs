//! The demo's example traffic: accounts and the messages each one sends. Every text
//! here was written for the demo; names, numbers and links are made up (`.example`
//! domains, unallocated-looking numbers).

/// How a message is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// GSM 7-bit default alphabet.
    Gsm7,
    /// UCS-2.
    Ucs2,
}

/// What the message is, as its author meant it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Legitimate traffic: must reach the SMSC.
    Legit,
    /// Fraud: must be blocked.
    Scam,
}

/// One example message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Example {
    /// Short name shown in the summary.
    pub(crate) name: &'static str,
    /// The sending account.
    pub(crate) account: &'static str,
    /// Legitimate or fraud.
    pub(crate) kind: Kind,
    /// Encoding on the wire.
    pub(crate) coding: Coding,
    /// What makes it interesting.
    pub(crate) note: &'static str,
    /// The text; each `|` is a part boundary (the message is sent concatenated,
    /// one part per piece) and is not part of the text.
    pub(crate) text: &'static str,
}

impl Example {
    /// The text without part boundaries.
    pub(crate) fn plain(&self) -> String {
        self.text.replace('|', "")
    }

    /// Character indexes where a new part starts (empty: one part).
    pub(crate) fn split_points(&self) -> Vec<usize> {
        let mut points = Vec::new();
        let mut chars = 0;
        for c in self.text.chars() {
            if c == '|' {
                points.push(chars);
            } else {
                chars += 1;
            }
        }
        points
    }
}

/// An account of the demo.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Account {
    /// system_id.
    pub(crate) system_id: &'static str,
    /// Password (at most 8 bytes).
    pub(crate) password: &'static str,
    /// Who it stands for.
    pub(crate) about: &'static str,
    /// Requests in flight the proxy allows per session.
    pub(crate) window: u32,
    /// Sends in bursts far beyond its window.
    pub(crate) floods: bool,
}

/// The accounts, in display order.
pub(crate) const ACCOUNTS: &[Account] = &[
    Account {
        system_id: "bank",
        password: "bank-pw",
        about: "a bank: one-time codes and card notices",
        window: 32,
        floods: false,
    },
    Account {
        system_id: "shop",
        password: "shop-pw",
        about: "a retailer: order and delivery notices",
        window: 32,
        floods: false,
    },
    Account {
        system_id: "chat",
        password: "chat-pw",
        about: "person-to-person messages via an app gateway",
        window: 32,
        floods: false,
    },
    Account {
        system_id: "bulk-agg",
        password: "agg-pw",
        about: "an aggregator whose customers include fraudsters",
        window: 32,
        floods: false,
    },
    Account {
        system_id: "promo-blast",
        password: "blast-pw",
        about: "a marketer flooding far beyond its window of 4",
        window: 4,
        floods: true,
    },
];

/// Every example message.
pub(crate) const EXAMPLES: &[Example] = &[
    Example {
        name: "otp-en",
        account: "bank",
        kind: Kind::Legit,
        coding: Coding::Gsm7,
        note: "one-time code",
        text: "Your one-time code is 739204. It expires in 5 minutes. Never share it with anyone.",
    },
    Example {
        name: "card-bill-zh-hant",
        account: "bank",
        kind: Kind::Legit,
        coding: Coding::Ucs2,
        note: "a real card notice names the card but offers nothing",
        text: "【合作銀行】您的信用卡本期帳單金額為3,580元，繳款截止日為12月15日，如已繳納請忽略本通知。",
    },
    Example {
        name: "otp-zh-hans",
        account: "bank",
        kind: Kind::Legit,
        coding: Coding::Ucs2,
        note: "one-time code in Simplified Chinese",
        text: "验证码 551032，用于登录手机银行，5分钟内有效。",
    },
    Example {
        name: "shipped-en",
        account: "shop",
        kind: Kind::Legit,
        coding: Coding::Gsm7,
        note: "order notice",
        text: "Your order 55120 has shipped and will arrive on Thursday. Track it in the app.",
    },
    Example {
        name: "pickup-zh-hant",
        account: "shop",
        kind: Kind::Legit,
        coding: Coding::Ucs2,
        note: "parcel pickup notice",
        text: "您訂購的商品已送達門市，請於七日內憑取貨碼 8841 至櫃台領取。",
    },
    Example {
        name: "dinner-zh-hant",
        account: "chat",
        kind: Kind::Legit,
        coding: Coding::Ucs2,
        note: "conversation",
        text: "晚上七點老地方吃飯，記得帶傘，今天會下雨喔！",
    },
    Example {
        name: "late-en",
        account: "chat",
        kind: Kind::Legit,
        coding: Coding::Gsm7,
        note: "conversation",
        text: "Running 10 min late, save me a seat please!",
    },
    Example {
        name: "long-chat-zh-hans",
        account: "chat",
        kind: Kind::Legit,
        coding: Coding::Ucs2,
        note: "a long conversation in two parts",
        text: "周末我们先去爬山，中午在山脚那家面馆吃饭，下午如果天气好就去湖边走走，|晚上回来再一起看电影。你问问小王要不要一起来，人多热闹一点。",
    },
    Example {
        name: "cc-limit-zh-hant",
        account: "bulk-agg",
        kind: Kind::Scam,
        coding: Coding::Ucs2,
        note: "credit-card limit increase, Traditional Chinese, WeChat contact",
        text: "【銀行通知】您的信用卡符合提額資格，額度最高可調至30萬，請加微信：vip8899 立即辦理。",
    },
    Example {
        name: "cc-limit-zh-hans",
        account: "bulk-agg",
        kind: Kind::Scam,
        coding: Coding::Ucs2,
        note: "credit-card limit increase, Simplified Chinese, phone contact",
        text: "尊敬的用户：您的信用卡已获提额资格，请致电 0912345678 办理，逾期作废。",
    },
    Example {
        name: "cc-limit-split",
        account: "bulk-agg",
        kind: Kind::Scam,
        coding: Coding::Ucs2,
        note: "split in three parts inside the words 信用|卡 and 提|額",
        text: "親愛的客戶您好，您的信用|卡可申請臨時提|額，專員協助辦理請撥 0987654321 洽詢。",
    },
    Example {
        name: "cc-limit-fullwidth",
        account: "bulk-agg",
        kind: Kind::Scam,
        coding: Coding::Ucs2,
        note: "full-width letters and digits",
        text: "ｖｉｐ專員：您的信用卡可享提額至２０萬，請撥專線 ０９１２３４５６７８ 立即辦理。",
    },
    Example {
        name: "cc-limit-zero-width",
        account: "bulk-agg",
        kind: Kind::Scam,
        coding: Coding::Ucs2,
        note: "zero-width spaces between the characters",
        text: "信\u{200b}用\u{200b}卡\u{200b}提\u{200b}額，專人辦理請洽 0911223344。",
    },
    Example {
        name: "loan-fee-zh-hans",
        account: "bulk-agg",
        kind: Kind::Scam,
        coding: Coding::Ucs2,
        note: "loan with an upfront fee",
        text: "无抵押贷款，当天放款，无需征信，先交500元手续费即可下款，详情加微信 dk8899。",
    },
    Example {
        name: "loan-fee-zh-hant",
        account: "bulk-agg",
        kind: Kind::Scam,
        coding: Coding::Ucs2,
        note: "loan with a deposit, Traditional Chinese",
        text: "免審核小額貸款，最快30分鐘撥款，先付保證金即可放款，詳洽LINE：money777。",
    },
    Example {
        name: "phish-account-en",
        account: "bulk-agg",
        kind: Kind::Scam,
        coding: Coding::Gsm7,
        note: "account-suspended phishing link",
        text: "Your bank account has been suspended. Verify your details now at http://secure-login-verify.example.com to restore access.",
    },
    Example {
        name: "phish-parcel-en",
        account: "bulk-agg",
        kind: Kind::Scam,
        coding: Coding::Gsm7,
        note: "parcel redelivery-fee phishing link",
        text: "Your parcel could not be delivered due to an unpaid fee. Pay now at https://parcel-redelivery.example.net",
    },
    Example {
        name: "promo-en",
        account: "promo-blast",
        kind: Kind::Legit,
        coding: Coding::Gsm7,
        note: "lawful advertising, sent far too fast",
        text: "Weekend sale: 20% off all shoes in our stores until Sunday.",
    },
];

/// The examples explained at the end of the demo, by name.
pub(crate) const EXPLAINED: &[&str] = &[
    "cc-limit-split",
    "cc-limit-zero-width",
    "cc-limit-fullwidth",
    "loan-fee-zh-hans",
    "phish-account-en",
    "card-bill-zh-hant",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_has_a_known_account_and_sane_parts() {
        for e in EXAMPLES {
            assert!(
                ACCOUNTS.iter().any(|a| a.system_id == e.account),
                "{}",
                e.name
            );
            let plain = e.plain();
            let points = e.split_points();
            assert!(points.len() <= 2, "{}", e.name);
            for p in &points {
                assert!(*p > 0 && *p < plain.chars().count(), "{}", e.name);
            }
        }
        for name in EXPLAINED {
            assert!(EXAMPLES.iter().any(|e| e.name == *name), "{name}");
        }
        for a in ACCOUNTS {
            assert!(a.system_id.len() <= 15 && a.password.len() <= 8);
        }
    }

    #[test]
    fn split_points_count_characters_not_bytes() {
        let e = Example {
            name: "t",
            account: "chat",
            kind: Kind::Legit,
            coding: Coding::Ucs2,
            note: "",
            text: "信用|卡提|額",
        };
        assert_eq!(e.plain(), "信用卡提額");
        assert_eq!(e.split_points(), [2, 4]);
    }
}
