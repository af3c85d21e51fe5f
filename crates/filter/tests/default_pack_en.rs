//! The English lures of the default pack (`rules/default`) that need no brand, and the
//! legitimate messages that share their words. Every message is made up for the test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::OnceLock;

use smppguard_filter::{Engine, Envelope, Scratch, Verdict};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/default"))
            .unwrap_or_else(|e| panic!("the default pack loads: {e}"))
    })
}

fn verdict(text: &str) -> Verdict {
    engine().evaluate(&Envelope::new("test"), text, &mut Scratch::new())
}

/// Each message is blocked, and its rule is among the matches (an older rule may decide
/// first, with the same action).
fn assert_caught(cases: &[(&str, &str)]) {
    for &(text, rule) in cases {
        let v = verdict(text);
        assert!(v.is_blocking(), "not blocked: {text}\n{v:#?}");
        assert!(
            v.matches.iter().any(|m| &*m.id == rule),
            "{rule}: {text}\n{v:#?}"
        );
    }
}

/// No message is blocked.
fn assert_pass(texts: &[&str]) {
    for text in texts {
        let v = verdict(text);
        assert!(!v.is_blocking(), "blocked: {text}\n{v:#?}");
    }
}

#[test]
fn brandless_lures_are_blocked_and_caught_by_their_rule() {
    assert_caught(&[
        (
            "Limited offer just for you, tap here: https://best-offer.xyz/p",
            "en-abused-tld-lure",
        ),
        (
            "Your mailbox is almost full, log in to keep it: https://mail-keep.000webhostapp.com/login",
            "en-free-hosting-lure",
        ),
        (
            "You got a new message from Jenna22! Tap to read:http://jenna-chat.example/m/77",
            "en-message-waiting-lure",
        ),
        (
            "Hi mum, I broke my phone, this is my new number, text me on whatsapp",
            "en-family-new-number",
        ),
        (
            "Y.our in.voice for la.st m.onth was paid. here is a small gift: gift-box.example/q1",
            "en-dotted-words-link",
        ),
        (
            "Like 10 videos on TikTok and get paid, commission every day. WhatsApp us",
            "en-task-job",
        ),
        (
            "Welcome to our stock trading group: daily signals and 30% profit, join https://t.me/+abc",
            "en-investment-group",
        ),
        (
            "You are the beneficiary of an unclaimed bequest of 4.5 million. Write to j.smith.law@yahoo.com",
            "en-advance-fee",
        ),
        (
            "The government has issued a relief payment to all residents. Tap to apply: relief-pay.example/form",
            "en-government-payment",
        ),
        (
            "WARNING: your phone is infected with 4 viruses. Clean it now: cleaner.example/scan",
            "en-device-scare",
        ),
        ("IRS_TAX_REFUND_ID_88Q2X7.pdf", "en-tax-refund-document"),
    ]);
}

#[test]
fn lapsed_subscriptions_adult_lures_and_brand_hosts_are_caught_by_their_rule() {
    assert_caught(&[
        (
            "Your streaming subscr1pt1on is on h0ld, renew your bill now: https://renew-bill.example/x",
            "en-subscription-lapse",
        ),
        (
            "Sandy22 shared her private gallery with you, open it here: http://gallery-x.example/s9",
            "en-adult-media-link",
        ),
        (
            "hey its Jo, wanna meet up? text me here http://date-chat.example/jo",
            "en-stranger-invite-link",
        ),
        (
            "Melt 20 lbs in 3 weeks with one cup before bed: http://slim-cup.example/a",
            "en-miracle-product",
        ),
        (
            "Your parcel is waiting: https://usps-redelivery-help.example/track",
            "en-brand-in-host",
        ),
        ("https://bit.ly/3xYzAbc", "en-bare-link"),
        (
            "Y0UR FED3RAL RETURN WAS_BANNED, fix it here: https://tax-fix.example/r",
            "en-tax-return-blocked",
        ),
        (
            "look who died in a crash, so sad https://news-clip.example/v",
            "en-shock-bait",
        ),
        (
            "FRM:Rewards Desk MSG: a gift valued at $90 is waiting for you",
            "en-email-gateway-lure",
        ),
        (
            "Did you attempt a $310.44 purchase at Gadget Hub? Not you? Cancel at https://card-desk.example/c",
            "en-not-you-alert",
        ),
        (
            "Our courier tried to deliver your package but it was not delivered. Pick a new delivery date: https://post-slot.example/d",
            "en-delivery-fee",
        ),
        (
            "We may owe you $512.30: you were overcharged on your auto policy. Claim it here: https://refund-now.example/q",
            "en-refund-lure",
        ),
        (
            "Mystery shoppers wanted, $300 per assignment, apply: https://shop-jobs.example/a",
            "en-task-job",
        ),
        (
            "Your debit card is blocked due to unusual activity, reactivate at http//:card-help.example",
            "en-account-locked",
        ),
        (
            "Dear user, your WALLETKYC has expired and will be blocked, call 9876543210 to verify",
            "en-kyc-update",
        ),
        (
            "You came in contact with someone who tested positive. Order a test kit: https://kit-order.example/k",
            "en-exposure-alert-link",
        ),
    ]);
}

#[test]
fn renewals_purchase_checks_and_plain_links_pass() {
    assert_pass(&[
        "Your library membership expires next month; renew online at https://library.example/renew",
        "Did you attempt a $52.10 purchase at Corner Cafe? Reply YES or NO",
        "Here are the photos from Sunday: https://photos.example.com/album/7",
        "Are you free tonight? We could meet at 8 near the station",
        "Your UPS package 1Z999 is out for delivery: https://www.ups.com/track?tracknum=1Z999",
        "Your order has shipped: https://www.amazon.de/gp/your-account/order-details",
        "https://www.example.com/docs/manual",
        "Our nutrition class starts Monday, details at https://clinic.example/class",
        "I'd like to send you the video of the hotel, what's your WhatsApp?",
        "Don't lose 50 pounds on fees, switch in 2 days",
    ]);
}

#[test]
fn messages_that_share_their_words_pass() {
    assert_pass(&[
        "Check out my new photos from the trip here: https://photos.example.com/album/42",
        "Let's meet for coffee at 10, the place is https://maps.example.com/cafe",
        "You have a new voicemail from 5551234567. Call 123 to listen.",
        "Join our investment club meeting on Tuesday at 7pm in room 4",
        "Part-time job at the bakery: apply at https://jobs.example.com/bakery",
        "My phone number has changed, the new one is 0912345678",
        "Your refund of $42.10 has been issued by the IRS and will arrive in 5 days",
        "Hi mom, running late, I'll call you from the station",
        "Your order has shipped. Track it at https://shop.example.com/t/123",
    ]);
}

#[test]
fn a_prize_survey_and_a_cheap_domain_are_held_for_review_not_rejected() {
    for text in [
        "Rate your delivery in 3 questions for a chance to win a $100 gift card: https://feedback.example.com/s",
        "Your order is ready, check it here: https://corner-shop.online/o/5",
    ] {
        let v = verdict(text);
        assert_eq!(
            v.action.kind(),
            smppguard_filter::ActionKind::Quarantine,
            "{text}\n{v:#?}"
        );
    }
}

#[test]
fn dotted_words_are_caught_across_line_breaks_tabs_and_no_break_spaces() {
    // The dotted words stand between white space and a space or punctuation mark, and
    // that white space may be any ASCII white space or a no-break space folded by NFKC.
    assert_caught(&[
        (
            "pay.ment\nfai.lure\u{a0}acc.ount: fix it at fix-it.example/p",
            "en-dotted-words-link",
        ),
        (
            "pay.ment\tfai.lure\r\nacc.ount! fix it at fix-it.example/p",
            "en-dotted-words-link",
        ),
    ]);
}

#[test]
fn three_dotted_words_with_a_link_are_caught_abbreviations_pass() {
    assert_caught(&[
        (
            "Yo.ur acc.ount wa.s lock.ed, unlock it at fix-it.example/u",
            "en-dotted-words-link",
        ),
        (
            "Dear cus.tomer, yo.ur refu.nd is ready: refund-desk.example/r",
            "en-dotted-words-link",
        ),
    ]);
    assert_pass(&[
        "Meeting at 9 a.m. with Dr. Lee in the U.K. office, notes at docs.example.com/m",
        "See the spec at docs.example.com/v2, section 4.2.1 and the fix in lib.rs",
    ]);
}

#[test]
fn garbled_and_glued_links_count_as_links() {
    assert_caught(&[
        (
            "Your debit card is locked due to unusual activity, unlock it at http : // card-desk.example/u",
            "en-account-locked",
        ),
        (
            "Your debit card is locked due to unusual activity, unlock it at http:/card-desk.example",
            "en-account-locked",
        ),
        (
            "Your debit card is locked due to unusual activity, unlock it at http:card-desk.example",
            "en-account-locked",
        ),
        (
            "Your overdue toll invoice is on hold, pay the balance, details:pay-toll.example/k2",
            "en-toll-invoice",
        ),
        (
            "Your subscr1pt1on has expired today, renew your bill //@renew-now.example/q8",
            "en-subscription-lapse",
        ),
        (
            "Shocking news about the TV doctor Dr Oz:health-clip.example/v1",
            "en-celebrity-bait",
        ),
        (
            "look who died in a crash, so sad, the video: news-clip.example/v before it is taken down",
            "en-shock-bait",
        ),
    ]);
}

#[test]
fn the_link_only_rules_need_a_link_that_is_plainly_one() {
    // A bare host name (no scheme, `www.` or path) is not enough for the rules whose other
    // words are everyday ones; with a path it is.
    assert_pass(&[
        "hey its Jo, wanna meet up? I'm at cafe.example tonight",
        "Is this you in the photo? Ask at desk.example",
    ]);
    assert_caught(&[
        (
            "hey its Jo, wanna meet up? text me here date-chat.example/jo",
            "en-stranger-invite-link",
        ),
        (
            "hey its Jo, wanna meet up? text me here http:/date-chat.example",
            "en-stranger-invite-link",
        ),
    ]);
}

#[test]
fn prize_claims_spelled_the_usual_ways_are_caught() {
    assert_caught(&[
        (
            "You've won a 500 pound voucher! Claim it at prize-desk.example/c",
            "en-prize-claim",
        ),
        (
            "You have just won a free cruise, text CLAIM to 80082",
            "en-prize-claim",
        ),
        (
            "You are eligible for a cash prize, call 09061701461 now to claim",
            "en-prize-claim",
        ),
        (
            "Congratulations, you will win big: claim at lucky-spin.example/w",
            "en-prize-claim",
        ),
    ]);
    assert_pass(&["You won't believe the queue at the post office, call me later"]);
}

#[test]
fn raw_ip_links_are_found_in_the_extracted_links_even_inside_another_link() {
    // The raw-IP test reads the links the text layer extracted, not the whole text: a
    // plain one, a defanged one, and one glued behind a garbled link whose own host is a word.
    assert_caught(&[
        (
            "Your reward is ready, claim it at http://203.0.113.9/r.php",
            "en-raw-ip-lure",
        ),
        (
            "Confirm your payment at hxxp://198.51.100.7/pay",
            "en-raw-ip-lure",
        ),
        (
            "Your gift is here https:/GO::http://192.0.2.44///r.php",
            "en-raw-ip-lure",
        ),
    ]);
    assert_pass(&["Server 10.1.2.3 is back online, thank you for waiting"]);
}

#[test]
fn dotted_words_with_plain_words_between_them_are_caught() {
    // Up to three plain words may stand between two dotted ones.
    assert_caught(&[(
        "Yo.ur bill for l.ast month is r.eceived, here is a gift: gift-box.example/q",
        "en-dotted-words-link",
    )]);
}

#[test]
fn a_pet_name_and_a_selfie_far_apart_are_a_romance_lure() {
    // The pet name and the selfie are two patterns ANDed, not a gap of 80 characters, so
    // they count anywhere in the message.
    assert_caught(&[(
        "hey babe, so bored tonight, nothing on tv and the rain keeps going and going and going... want my selfies? https://cute-chat.example/me",
        "en-romance-lure",
    )]);
}
