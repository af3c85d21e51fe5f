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

#[test]
fn brandless_lures_are_blocked_and_caught_by_their_rule() {
    for (text, rule) in [
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
    ] {
        let v = verdict(text);
        assert!(v.is_blocking(), "not blocked: {text}\n{v:#?}");
        // The rule fires (an older rule may decide first, with the same action).
        assert!(
            v.matches.iter().any(|m| &*m.id == rule),
            "{rule}: {text}\n{v:#?}"
        );
    }
}

#[test]
fn messages_that_share_their_words_pass() {
    for text in [
        "Check out my new photos from the trip here: https://photos.example.com/album/42",
        "Let's meet for coffee at 10, the place is https://maps.example.com/cafe",
        "You have a new voicemail from 5551234567. Call 123 to listen.",
        "Join our investment club meeting on Tuesday at 7pm in room 4",
        "Part-time job at the bakery: apply at https://jobs.example.com/bakery",
        "My phone number has changed, the new one is 0912345678",
        "Your refund of $42.10 has been issued by the IRS and will arrive in 5 days",
        "Hi mom, running late, I'll call you from the station",
        "Your order has shipped. Track it at https://shop.example.com/t/123",
    ] {
        let v = verdict(text);
        assert!(!v.is_blocking(), "blocked: {text}\n{v:#?}");
    }
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
