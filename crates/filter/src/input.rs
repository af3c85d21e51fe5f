//! What the engine scans: the envelope of a message and its prepared text fields.
//!
//! The engine does not decode or normalize; the text layer does, and hands the results
//! over in a [`Prepared`]. Everything is borrowed so a scan allocates nothing for a
//! message that matches no rule.

use std::ops::Range;

use smppguard_text::{Extracted, MatchText};

/// The non-text facts about a message that rules match and scope on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Envelope<'a> {
    /// The sending account (the bound system_id).
    pub account: &'a str,
    /// Groups the proxy's configuration puts the account in; rule scopes match them
    /// besides the groups the pack defines.
    pub groups: &'a [String],
    /// source_addr of the PDU.
    pub source_addr: &'a str,
    /// destination_addr of the PDU.
    pub destination_addr: &'a str,
    /// service_type of the PDU.
    pub service_type: &'a str,
    /// data_coding of the (first part of the) message.
    pub data_coding: u8,
    /// esm_class of the (first part of the) message.
    pub esm_class: u8,
}

impl<'a> Envelope<'a> {
    /// An envelope for `account` with every other field empty.
    pub fn new(account: &'a str) -> Self {
        Self {
            account,
            ..Self::default()
        }
    }
}

/// Maps a byte range of the normalized text back to the decoded text, so a match in the
/// match view can be quoted as the sender wrote it.
pub trait OffsetMap {
    /// The range of the decoded text that produced `normalized` (a range of the
    /// normalized text). Out-of-range input must give a clamped range, not a panic.
    fn original_range(&self, normalized: Range<usize>) -> Range<usize>;
}

/// The text fields of one message, prepared by the text layer.
#[derive(Clone, Copy)]
pub struct Prepared<'a> {
    /// The normalized match view (field `text`).
    pub text: &'a str,
    /// The decoded text as the sender wrote it (field `decoded`).
    pub decoded: &'a str,
    /// URLs and host names found in the text (fields `url` and `domain`); their
    /// `range` is a byte range of `decoded`.
    pub urls: &'a [Extracted],
    /// Phone numbers found in the text (field `phone`); `range` as for `urls`.
    pub phones: &'a [Extracted],
    /// The raw bytes of a binary message (field `binary`), if it is one.
    pub binary: Option<&'a [u8]>,
    /// Maps normalized ranges to decoded ones; `None` when `text` and `decoded` are the
    /// same string.
    pub offsets: Option<&'a dyn OffsetMap>,
}

impl<'a> Prepared<'a> {
    /// A message whose match view is its decoded text, with nothing extracted.
    pub fn plain(text: &'a str) -> Self {
        Self {
            text,
            decoded: text,
            urls: &[],
            phones: &[],
            binary: None,
            offsets: None,
        }
    }

    /// The fields of a match text made by the text layer from `decoded`.
    pub fn from_match_text(decoded: &'a str, m: &'a MatchText) -> Self {
        Self {
            text: m.as_str(),
            decoded,
            urls: m.urls(),
            phones: m.phones(),
            binary: None,
            offsets: Some(m),
        }
    }

    /// Maps a range of `text` to a range of `decoded`.
    pub(crate) fn map_to_decoded(&self, r: Range<usize>) -> Range<usize> {
        match self.offsets {
            Some(m) => m.original_range(r),
            None => r,
        }
    }
}

impl OffsetMap for MatchText {
    fn original_range(&self, normalized: Range<usize>) -> Range<usize> {
        MatchText::original_range(self, normalized)
    }
}

impl std::fmt::Debug for Prepared<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("text", &self.text)
            .field("decoded", &self.decoded)
            .field("urls", &self.urls)
            .field("phones", &self.phones)
            .field("binary", &self.binary.map(<[u8]>::len))
            .finish_non_exhaustive()
    }
}

/// The host of a URL: after the scheme and any user info, before the port, path, query
/// or fragment; an IPv6 literal keeps its brackets.
pub(crate) fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.starts_with('[') {
        return host_port
            .find(']')
            .and_then(|i| host_port.get(..=i))
            .unwrap_or(host_port);
    }
    match host_port.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host_port,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(host_of("https://bit.ly/abc"), "bit.ly");
        assert_eq!(host_of("http://user:pw@Evil.com:8080/x?y#z"), "Evil.com");
        assert_eq!(host_of("evil.com/path"), "evil.com");
        assert_eq!(host_of("evil.com"), "evil.com");
        assert_eq!(host_of("http://[::1]:80/"), "[::1]");
        assert_eq!(host_of("http://1.2.3.4"), "1.2.3.4");
        assert_eq!(host_of("http://a.com\\@b.com"), "a.com");
        assert_eq!(host_of(""), "");
        assert_eq!(host_of("://"), "");
    }
}
