//! Generated benchmark inputs for the filter: SMS-like messages (raw short_message bytes
//! with their data_coding) and rule packs of a chosen size, all from a fixed seed so every
//! run measures the same work. Nothing here comes from a real corpus: the messages are
//! templates filled with invented names, numbers and links.

#![allow(dead_code)] // each bench binary uses a different part

/// A small deterministic PRNG (xorshift64*), enough for shuffling benchmark inputs.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub(crate) fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }

    pub(crate) fn alnum(&mut self, n: usize) -> String {
        const A: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
        (0..n).map(|_| char::from(A[self.below(A.len())])).collect()
    }
}

/// One message as the proxy receives it.
pub(crate) struct Message {
    pub(crate) data_coding: u8,
    pub(crate) short_message: Vec<u8>,
    /// Whether the template is a scam (for sanity checks, not scored).
    pub(crate) scam: bool,
}

fn ucs2(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// GSM 7-bit, one septet per octet: ASCII letters, digits and most punctuation share
/// their code; the few that differ are mapped, anything else becomes `?`.
fn gsm7(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '@' => 0x00,
            '$' => 0x02,
            '_' => 0x11,
            c if c.is_ascii()
                && !matches!(c, '`' | '[' | ']' | '{' | '}' | '\\' | '^' | '|' | '~') =>
            {
                c as u8
            }
            _ => b'?',
        })
        .collect()
}

const BANKS: &[&str] = &[
    "星辰銀行",
    "海港商銀",
    "北方信託",
    "青松銀行",
    "Orbit Bank",
    "Harbor Bank",
];
const SHOPS: &[&str] = &[
    "拾光百貨",
    "好日子超市",
    "Nova Mart",
    "Pinecone Books",
    "晨曦藥局",
];
const STORES: &[&str] = &["中山門市", "信義門市", "板橋門市", "竹北門市"];
const BRANDS: &[&str] = &["novapay", "pinebox", "quickship", "cloudnote", "harborpay"];
const SHORT: &[&str] = &["bit.ly", "reurl.cc", "tinyurl.com", "t.co", "lihi.cc"];
const ODD_TLDS: &[&str] = &["xyz", "top", "icu", "vip", "shop"];

/// A message from one of the benign templates.
fn benign(r: &mut Rng) -> Message {
    let zh = |s: String| Message {
        data_coding: 8,
        short_message: ucs2(&s),
        scam: false,
    };
    let en = |s: String| Message {
        data_coding: 0,
        short_message: gsm7(&s),
        scam: false,
    };
    match r.below(10) {
        0 => zh(format!(
            "【{}】親愛的客戶您好，您的信用卡{}月帳單金額NT${}，繳款截止日為{}/{}，如已繳款請忽略本通知。",
            r.pick(BANKS),
            1 + r.below(12),
            r.digits(4),
            1 + r.below(12),
            1 + r.below(28)
        )),
        1 => zh(format!(
            "【{}】您的驗證碼為{}，請於5分鐘內輸入。請勿將驗證碼告知他人，本行不會以電話索取。",
            r.pick(BANKS),
            r.digits(6)
        )),
        2 => zh(format!(
            "您訂購的商品已送達{}，取件編號{}，請於{}/{}前攜帶證件取件，謝謝。",
            r.pick(STORES),
            r.digits(8),
            1 + r.below(12),
            1 + r.below(28)
        )),
        3 => zh(format!(
            "{}週年慶全館8折起，會員再享滿千送百，活動至{}/{}止，詳情請見官網 https://www.{}.com.tw/sale{}",
            r.pick(SHOPS),
            1 + r.below(12),
            1 + r.below(28),
            r.pick(BRANDS),
            if r.below(4) == 0 {
                ""
            } else {
                " 拒收請回覆N"
            }
        )),
        4 => zh(format!(
            "提醒您：您預約的門診時間為{}/{} {}:{}0，請提早十分鐘報到，如需取消請來電。",
            1 + r.below(12),
            1 + r.below(28),
            8 + r.below(10),
            r.below(6)
        )),
        5 => en(format!(
            "Your {} verification code is {}. It expires in 10 minutes. Do not share this code with anyone.",
            r.pick(BRANDS),
            r.digits(6)
        )),
        6 => en(format!(
            "{}: your parcel {} is out for delivery today between {} and {}. Track it at https://{}.com/t/{}",
            r.pick(BRANDS),
            r.alnum(10).to_uppercase(),
            9 + r.below(4),
            13 + r.below(5),
            r.pick(BRANDS),
            r.alnum(8)
        )),
        7 => en(format!(
            "Reminder: your appointment at {} Clinic is on {}/{} at {}:30. Reply C to cancel.",
            r.pick(&["Maple", "Cedar", "Willow"]),
            1 + r.below(12),
            1 + r.below(28),
            8 + r.below(9)
        )),
        8 => en(format!(
            "Hi, this is {} support. Your statement for this month is ready in the app. Questions? Call 0800{}.",
            r.pick(BANKS),
            r.digits(6)
        )),
        _ => zh(format!(
            "【{}】您本月消費累積{}點，可至APP兌換好禮，點數將於年底到期。",
            r.pick(SHOPS),
            r.digits(3)
        )),
    }
}

/// A message from one of the scam templates, some with simple disguises.
fn scam(r: &mut Rng) -> Message {
    let zh = |s: String| Message {
        data_coding: 8,
        short_message: ucs2(&s),
        scam: true,
    };
    let en = |s: String| Message {
        data_coding: 0,
        short_message: gsm7(&s),
        scam: true,
    };
    match r.below(8) {
        0 => zh(format!(
            "【{}】恭喜您的信用卡已獲提額資格，額度提升至{}萬，請加LINE ID:{} 由專員為您辦理",
            r.pick(BANKS),
            10 + r.below(90),
            r.alnum(7)
        )),
        1 => zh(format!(
            "信 用 卡 提 額 專案，免審核最快當日核准，詳洽 09{}{}",
            r.digits(2),
            r.digits(6)
        )),
        2 => zh(format!(
            "急用錢？小額貸款免審核當天放款，無抵押低利率，洽詢09{}，{}",
            r.digits(8),
            r.pick(&["秒批", "免保人", "快速撥款"])
        )),
        3 => zh(format!(
            "【地檢署】您的帳戶涉及洗錢案件，須將存款轉入監管帳戶配合調查，案號{}，請勿告知他人",
            r.digits(9)
        )),
        4 => en(format!(
            "{} ALERT: your account has been suspended. Verify your details at http://{}.{}.{}.{}/login",
            r.pick(BANKS),
            10 + r.below(200),
            r.below(255),
            r.below(255),
            1 + r.below(254)
        )),
        5 => en(format!(
            "{}: your package is on hold due to an unpaid customs fee. Pay at https://{}/{}",
            r.pick(&["USPS", "DHL", "Post"]),
            r.pick(SHORT),
            r.alnum(6)
        )),
        6 => en(format!(
            "Congratulations! You have been selected to receive a $1000 gift card. Claim now: https://{}-{}.{}/c",
            r.pick(BRANDS),
            r.alnum(4),
            r.pick(ODD_TLDS)
        )),
        _ => zh(format!(
            "【客服中心】您的訂單重複扣款，須解除分期設定，請加賴 {} 依指示操作ATM",
            r.alnum(8)
        )),
    }
}

/// `n` messages, about one in nine a scam.
pub(crate) fn messages(n: usize, seed: u64) -> Vec<Message> {
    let mut r = Rng::new(seed);
    (0..n)
        .map(|_| {
            if r.below(9) == 0 {
                scam(&mut r)
            } else {
                benign(&mut r)
            }
        })
        .collect()
}

/// A realistic pack of about 60 rules, written for the benchmark, in the spirit of a
/// default fraud pack: literals and regexes over the normalized text, a shortener list,
/// conditions that combine signals, allow and monitor rules.
pub(crate) const BENCH_PACK: &str = include_str!("bench_pack.toml");

// === generated packs ===

/// Simplified Chinese characters common in SMS, so generated literals sometimes match.
const ZH_POOL: &[char] = &[
    '您', '的', '信', '用', '卡', '额', '度', '提', '升', '贷', '款', '银', '行', '账', '户', '验',
    '证', '码', '请', '于', '前', '取', '件', '客', '服', '专', '员', '办', '理', '审', '核', '当',
    '天', '放', '利', '率', '洽', '询', '优', '惠', '活', '动', '会', '员', '点', '数', '兑', '换',
    '好', '礼', '通', '知', '缴', '费', '金', '额', '截', '止', '日', '期', '包', '裹', '送', '达',
    '门', '市', '编', '号', '预', '约', '诊', '时', '间', '消', '费', '累', '积', '年', '底', '到',
    '恭', '喜', '获', '得', '资', '格', '加', '由', '为', '免', '急', '钱', '小', '低', '抵', '押',
    '监', '管', '转', '入', '调', '查', '案', '件', '订', '单', '重', '复', '扣', '除', '分', '设',
    '定', '操', '作', '指', '示', '中', '心', '官', '网', '详', '情', '见', '全', '馆',
];

const EN_POOL: &[&str] = &[
    "account",
    "verify",
    "suspended",
    "locked",
    "package",
    "delivery",
    "customs",
    "fee",
    "prize",
    "gift",
    "card",
    "winner",
    "claim",
    "reward",
    "bonus",
    "loan",
    "credit",
    "limit",
    "increase",
    "refund",
    "tax",
    "invest",
    "profit",
    "crypto",
    "wallet",
    "login",
    "password",
    "update",
    "confirm",
    "secure",
    "urgent",
    "final",
    "notice",
    "payment",
    "overdue",
    "invoice",
    "parcel",
    "tracking",
    "support",
    "service",
    "offer",
    "free",
    "cash",
    "approved",
    "instant",
    "guaranteed",
    "click",
    "link",
    "expire",
    "today",
];

/// One expression of a generated pack, with what a regex-crate translation needs.
pub(crate) struct GenExpr {
    /// The expression as written in the pack (a literal is unescaped).
    pub(crate) source: String,
    pub(crate) literal: bool,
    pub(crate) caseless: bool,
}

/// A generated pack: TOML text and the expressions of each rule (rule `g{i}` is true when
/// any of `rules[i]` matches the normalized text).
pub(crate) struct GenPack {
    pub(crate) toml: String,
    pub(crate) rules: Vec<Vec<GenExpr>>,
}

impl GenPack {
    pub(crate) fn expressions(&self) -> usize {
        self.rules.iter().map(Vec::len).sum()
    }
}

fn zh_word(r: &mut Rng, len: usize) -> String {
    (0..len).map(|_| *r.pick(ZH_POOL)).collect()
}

/// A pack of `n` expressions in rules of 10, tuned so that roughly one message in ten
/// matches at 10k: 45% Chinese literals of 3 to 5 characters, 15% English literals,
/// 10% `\b` words, 10% gap regexes, 10% phone regexes, 10% URL regexes. Every expression
/// is distinct and already in match-text form (Simplified, lower case).
pub(crate) fn generated_pack(n: usize, seed: u64) -> GenPack {
    let mut r = Rng::new(seed);
    let mut seen = std::collections::HashSet::new();
    let mut rules: Vec<Vec<GenExpr>> = Vec::new();
    let mut i = 0usize;
    while rules.iter().map(Vec::len).sum::<usize>() < n {
        let kind = i % 20;
        i += 1;
        let (source, literal, caseless) = match kind {
            // 9 of 20: Chinese literals of 2 to 4 characters.
            0..=8 => {
                let len = 3 + r.below(3);
                (zh_word(&mut r, len), true, false)
            }
            // 3 of 20: English literals, one or two words with a variant suffix.
            9..=11 => {
                let w = r.pick(EN_POOL).to_string();
                let s = match r.below(2) {
                    0 => format!("{w} {}", r.pick(EN_POOL)),
                    _ => format!("{w}{}", r.alnum(2)),
                };
                (s, true, true)
            }
            // 2 of 20: whole words.
            12 | 13 => (
                format!(r"\b{}{}\b", r.pick(EN_POOL), r.alnum(1)),
                false,
                true,
            ),
            // 2 of 20: two Chinese words with a gap.
            14 | 15 => (
                format!("{}.{{0,20}}{}", zh_word(&mut r, 2), zh_word(&mut r, 2)),
                false,
                false,
            ),
            // 2 of 20: phone numbers with a distinct prefix.
            16 | 17 => (
                format!(r"(?:\+?886|0)9{}[- ]?[0-9]{{4}}", r.digits(4)),
                false,
                false,
            ),
            // 2 of 20: URLs naming a word.
            _ => (
                format!(
                    r"https?://[a-z0-9.-]*{}{}[a-z0-9.-]*\.(?:com|net|xyz|top)",
                    r.pick(EN_POOL),
                    r.alnum(2)
                ),
                false,
                true,
            ),
        };
        if !seen.insert(source.clone()) {
            continue;
        }
        if rules.last().is_none_or(|l| l.len() == 10) {
            rules.push(Vec::new());
        }
        if let Some(rule) = rules.last_mut() {
            rule.push(GenExpr {
                source,
                literal,
                caseless,
            });
        }
    }

    let mut toml = String::from("format = 1\n\n[pack]\nname = \"generated\"\nversion = \"1\"\n");
    for (ri, exprs) in rules.iter().enumerate() {
        toml.push_str(&format!(
            "\n[[rule]]\nid = \"g{ri}\"\ndescription = \"generated\"\ncategory = \"spam\"\naction = \"tag\"\n"
        ));
        let lits: Vec<&GenExpr> = exprs.iter().filter(|e| e.literal).collect();
        let res: Vec<&GenExpr> = exprs.iter().filter(|e| !e.literal).collect();
        for (name, group) in [("lit", &lits), ("re", &res)] {
            for (caseless, tag) in [(false, "c"), (true, "i")] {
                let items: Vec<String> = group
                    .iter()
                    .filter(|e| e.caseless == caseless)
                    .map(|e| format!("'{}'", e.source))
                    .collect();
                if items.is_empty() {
                    continue;
                }
                let key = if name == "lit" { "literal" } else { "regex" };
                toml.push_str(&format!(
                    "patterns.{name}_{tag} = {{ {key} = [{}], caseless = {caseless} }}\n",
                    items.join(", ")
                ));
            }
        }
    }
    GenPack { toml, rules }
}

/// The regex-crate form of a generated expression: the same matches on the match text
/// (ASCII word boundaries as in Hyperscan without UCP).
pub(crate) fn regex_syntax(e: &GenExpr) -> String {
    let body = if e.literal {
        regex::escape(&e.source)
    } else {
        e.source.replace(r"\b", r"(?-u:\b)")
    };
    if e.caseless {
        format!("(?i){body}")
    } else {
        body
    }
}

/// A `regex::RegexSet` over a generated pack's expressions (in their regex-crate form), and
/// expression → rule: the baseline the engine is compared with.
pub(crate) struct Baseline {
    set: regex::RegexSet,
    rule_of: Vec<usize>,
}

impl Baseline {
    pub(crate) fn new(pack: &GenPack) -> (Self, std::time::Duration) {
        let started = std::time::Instant::now();
        let mut patterns = Vec::new();
        let mut rule_of = Vec::new();
        for (ri, exprs) in pack.rules.iter().enumerate() {
            for e in exprs {
                patterns.push(regex_syntax(e));
                rule_of.push(ri);
            }
        }
        // Its best configuration: limits high enough that the lazy DFA never gives up.
        let set = regex::RegexSetBuilder::new(&patterns)
            .size_limit(1 << 30)
            .dfa_size_limit(1 << 30)
            .build()
            .unwrap();
        (Self { set, rule_of }, started.elapsed())
    }

    /// The matched rules, as the engine would list them.
    pub(crate) fn rules(&self, text: &str, out: &mut Vec<usize>) {
        out.clear();
        for p in self.set.matches(text).iter() {
            out.push(self.rule_of[p]);
        }
        out.dedup();
    }
}

/// The decoded text and the match text of every message, with `normalizer`.
pub(crate) fn decoded_and_matched(
    msgs: &[Message],
    normalizer: &smppguard_text::Normalizer,
) -> (Vec<String>, Vec<smppguard_text::MatchText>) {
    msgs.iter()
        .map(|m| {
            let part = smppguard_text::PartInput {
                data_coding: m.data_coding,
                short_message: &m.short_message,
                ..smppguard_text::PartInput::default()
            };
            let d = smppguard_text::decode_part(&part, &smppguard_text::DecodeOptions::default());
            let mt = normalizer.normalize(&d.text);
            (d.text, mt)
        })
        .unzip()
}
