//! Reads pcap/pcapng captures and reassembles the TCP byte streams of one port.
//!
//! Only what `inspect` needs: Ethernet, Linux cooked (SLL), BSD loopback and raw-IP link
//! types, IPv4 and IPv6, TCP segments ordered by sequence number (out-of-order segments held,
//! retransmitted bytes dropped). Each direction of each connection is one stream; SMPP framing
//! happens above.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};

use anyhow::{Context, Result, anyhow, bail};
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_parser::{LegacyPcapSlice, Linktype, PcapBlockOwned, PcapNGSlice, pcapng::Block};

/// Out-of-order bytes held per stream before the gap is declared lost and skipped.
const MAX_PENDING_BYTES: usize = 4 * 1024 * 1024;

/// One direction of one TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Flow {
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
}

/// A run of in-order stream bytes, stamped with the capture time of the segment carrying them.
#[derive(Debug)]
pub(crate) struct Chunk {
    pub(crate) flow: Flow,
    /// Seconds since the Unix epoch.
    pub(crate) ts: f64,
    pub(crate) data: Vec<u8>,
    /// Bytes were lost before this chunk (a gap the capture never filled).
    pub(crate) gap_before: bool,
}

/// A captured frame: time and link-layer bytes.
struct Frame<'a> {
    ts: f64,
    linktype: Linktype,
    data: &'a [u8],
}

/// Reads every packet of a pcap or pcapng file held in memory.
fn frames(file: &[u8]) -> Result<Vec<Frame<'_>>> {
    let mut out = Vec::new();
    if let Ok(slice) = PcapNGSlice::from_slice(file) {
        // Interface descriptions give each packet's link type and time resolution.
        let mut ifaces: Vec<(Linktype, u64, i64)> = Vec::new();
        for block in slice {
            let block = block.map_err(|e| anyhow!("malformed pcapng block: {e:?}"))?;
            let PcapBlockOwned::NG(block) = block else {
                continue;
            };
            match block {
                Block::SectionHeader(_) => ifaces.clear(),
                Block::InterfaceDescription(idb) => {
                    let res = idb.ts_resolution().unwrap_or(1_000_000);
                    ifaces.push((idb.linktype, res, idb.ts_offset()));
                }
                Block::EnhancedPacket(epb) => {
                    let Some(&(linktype, res, offset)) =
                        usize::try_from(epb.if_id).ok().and_then(|i| ifaces.get(i))
                    else {
                        bail!("pcapng packet names unknown interface {}", epb.if_id);
                    };
                    let ts = epb.decode_ts_f64(u64::try_from(offset).unwrap_or(0), res);
                    let caplen = usize::try_from(epb.caplen).unwrap_or(usize::MAX);
                    let data = epb.data.get(..caplen).unwrap_or(epb.data);
                    out.push(Frame { ts, linktype, data });
                }
                Block::SimplePacket(spb) => {
                    let Some(&(linktype, _, _)) = ifaces.first() else {
                        bail!("pcapng simple packet before any interface description");
                    };
                    out.push(Frame {
                        ts: 0.0,
                        linktype,
                        data: spb.data,
                    });
                }
                _ => {}
            }
        }
        return Ok(out);
    }
    let slice = LegacyPcapSlice::from_slice(file)
        .map_err(|e| anyhow!("not a pcap or pcapng file: {e:?}"))?;
    let linktype = slice.header.network;
    let frac = if slice.header.is_nanosecond_precision() {
        1e-9
    } else {
        1e-6
    };
    for block in slice {
        let block = block.map_err(|e| anyhow!("malformed pcap record: {e:?}"))?;
        if let PcapBlockOwned::Legacy(b) = block {
            let ts = f64::from(b.ts_sec) + f64::from(b.ts_usec) * frac;
            let caplen = usize::try_from(b.caplen).unwrap_or(usize::MAX);
            let data = b.data.get(..caplen).unwrap_or(b.data);
            out.push(Frame { ts, linktype, data });
        }
    }
    Ok(out)
}

/// A TCP segment lifted out of a frame.
struct Segment<'a> {
    flow: Flow,
    seq: u32,
    syn: bool,
    payload: &'a [u8],
}

fn segment<'a>(frame: &Frame<'a>) -> Option<Segment<'a>> {
    let sliced = match frame.linktype {
        Linktype::ETHERNET => SlicedPacket::from_ethernet(frame.data).ok()?,
        Linktype::LINUX_SLL => SlicedPacket::from_linux_sll(frame.data).ok()?,
        Linktype::RAW | Linktype::IPV4 | Linktype::IPV6 => {
            SlicedPacket::from_ip(frame.data).ok()?
        }
        // BSD loopback: a 4-byte address family, then the IP packet.
        Linktype::NULL | Linktype::LOOP => SlicedPacket::from_ip(frame.data.get(4..)?).ok()?,
        _ => return None,
    };
    let (src_ip, dst_ip) = match sliced.net? {
        NetSlice::Ipv4(ip) => (
            IpAddr::V4(ip.header().source_addr()),
            IpAddr::V4(ip.header().destination_addr()),
        ),
        NetSlice::Ipv6(ip) => (
            IpAddr::V6(ip.header().source_addr()),
            IpAddr::V6(ip.header().destination_addr()),
        ),
        NetSlice::Arp(_) => return None,
    };
    let TransportSlice::Tcp(tcp) = sliced.transport? else {
        return None;
    };
    Some(Segment {
        flow: Flow {
            src: SocketAddr::new(src_ip, tcp.source_port()),
            dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        },
        seq: tcp.sequence_number(),
        syn: tcp.syn(),
        payload: tcp.payload(),
    })
}

/// Reassembly state of one direction.
#[derive(Default)]
struct Stream {
    /// Sequence number of the next byte expected; unknown until the first segment.
    next: Option<u32>,
    /// Segments ahead of `next`, keyed by their first sequence number.
    pending: BTreeMap<u32, (f64, Vec<u8>)>,
    pending_bytes: usize,
}

/// Distance from `a` forward to `b` in sequence space, when `b` is not behind `a`.
fn ahead(a: u32, b: u32) -> Option<u32> {
    let d = b.wrapping_sub(a);
    (d < 0x8000_0000).then_some(d)
}

fn seq_len(data: &[u8]) -> u32 {
    u32::try_from(data.len()).unwrap_or(u32::MAX)
}

impl Stream {
    /// Accepts one segment; returns the in-order chunks it releases.
    fn push(&mut self, flow: Flow, ts: f64, seg_seq: u32, syn: bool, payload: &[u8]) -> Vec<Chunk> {
        let mut out = Vec::new();
        let data_seq = if syn {
            seg_seq.wrapping_add(1)
        } else {
            seg_seq
        };
        let next = *self.next.get_or_insert(data_seq);
        if payload.is_empty() {
            return out;
        }
        match ahead(next, data_seq) {
            // Starts before `next`: keep only the new tail of a retransmission.
            None => {
                let overlap = usize::try_from(next.wrapping_sub(data_seq)).unwrap_or(usize::MAX);
                if let Some(tail) = payload.get(overlap..).filter(|t| !t.is_empty()) {
                    self.deliver(flow, ts, tail, false, &mut out);
                }
            }
            Some(0) => self.deliver(flow, ts, payload, false, &mut out),
            Some(_) => {
                self.pending_bytes += payload.len();
                self.pending.insert(data_seq, (ts, payload.to_vec()));
                if self.pending_bytes > MAX_PENDING_BYTES {
                    // The gap is not coming: skip to the earliest held segment.
                    let first = self
                        .pending
                        .keys()
                        .copied()
                        .min_by_key(|s| s.wrapping_sub(next));
                    if let Some(first) = first {
                        self.next = Some(first);
                        self.drain(flow, ts, true, &mut out);
                    }
                }
            }
        }
        out
    }

    fn deliver(&mut self, flow: Flow, ts: f64, data: &[u8], gap: bool, out: &mut Vec<Chunk>) {
        self.next = self.next.map(|n| n.wrapping_add(seq_len(data)));
        out.push(Chunk {
            flow,
            ts,
            data: data.to_vec(),
            gap_before: gap,
        });
        self.drain(flow, ts, false, out);
    }

    /// Releases held segments that have become contiguous. Their bytes became readable at
    /// `now`, the time of the segment that closed the gap.
    fn drain(&mut self, flow: Flow, now: f64, mut gap: bool, out: &mut Vec<Chunk>) {
        while let Some(next) = self.next {
            let Some(key) = self
                .pending
                .keys()
                .copied()
                .find(|&s| ahead(s, next).is_some())
            else {
                return;
            };
            let Some((ts, data)) = self.pending.remove(&key) else {
                return;
            };
            self.pending_bytes = self.pending_bytes.saturating_sub(data.len());
            let overlap = usize::try_from(next.wrapping_sub(key)).unwrap_or(usize::MAX);
            if let Some(tail) = data.get(overlap..).filter(|t| !t.is_empty()) {
                self.next = Some(next.wrapping_add(seq_len(tail)));
                out.push(Chunk {
                    flow,
                    ts: ts.max(now),
                    data: tail.to_vec(),
                    gap_before: gap,
                });
                gap = false;
            }
        }
    }
}

/// Reassembles the TCP streams to or from `port` in a capture, in capture order.
pub(crate) fn streams(file: &[u8], port: u16) -> Result<Vec<Chunk>> {
    let frames = frames(file).context("reading capture")?;
    let mut state: HashMap<Flow, Stream> = HashMap::new();
    let mut out = Vec::new();
    for frame in &frames {
        let Some(seg) = segment(frame) else {
            continue;
        };
        if seg.flow.src.port() != port && seg.flow.dst.port() != port {
            continue;
        }
        let stream = state.entry(seg.flow).or_default();
        out.extend(stream.push(seg.flow, frame.ts, seg.seq, seg.syn, seg.payload));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> Flow {
        Flow {
            src: "10.0.0.1:40000".parse().unwrap(),
            dst: "10.0.0.2:2775".parse().unwrap(),
        }
    }

    fn collect(chunks: Vec<Chunk>) -> Vec<u8> {
        chunks.into_iter().flat_map(|c| c.data).collect()
    }

    #[test]
    fn in_order_out_of_order_and_retransmitted_segments_give_one_stream() {
        let mut s = Stream::default();
        let f = flow();
        let mut bytes = collect(s.push(f, 0.0, 999, true, b""));
        bytes.extend(collect(s.push(f, 0.1, 1000, false, b"abc")));
        // "ghi" arrives before "def".
        bytes.extend(collect(s.push(f, 0.2, 1006, false, b"ghi")));
        bytes.extend(collect(s.push(f, 0.3, 1003, false, b"def")));
        // A retransmission overlapping delivered data adds only its new tail.
        bytes.extend(collect(s.push(f, 0.4, 1007, false, b"hijk")));
        assert_eq!(bytes, b"abcdefghijk");
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut s = Stream::default();
        let f = flow();
        let mut bytes = collect(s.push(f, 0.0, u32::MAX - 1, false, b"ab"));
        bytes.extend(collect(s.push(f, 0.1, 0, false, b"cd")));
        assert_eq!(bytes, b"abcd");
    }

    #[test]
    fn a_gap_that_never_fills_is_skipped_and_flagged() {
        let mut s = Stream::default();
        let f = flow();
        assert_eq!(collect(s.push(f, 0.0, 0, false, b"ab")), b"ab");
        // Bytes 2..4 are never captured; the held data grows past the bound.
        let big = vec![7u8; MAX_PENDING_BYTES + 1];
        let chunks = s.push(f, 0.1, 4, false, &big);
        assert_eq!(chunks.len(), 1);
        assert!(chunks[0].gap_before);
        assert_eq!(chunks[0].data.len(), big.len());
    }
}
