//! `bind_receiver` / `bind_transmitter` / `bind_transceiver` and their responses
//! (SMPP 3.4 §4.1), and `outbind` (§4.1.7).

use bytes::{BufMut, Bytes, BytesMut};

use super::BodyCodec;
use crate::{
    COctetString, CommandStatus as S, Tlvs,
    parse::{PResult, cstr, int8, tlvs},
    tlv::TlvTag,
    types::Backing,
};

/// Body of the three bind requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct Bind<B: AsRef<[u8]> = Bytes> {
    /// Account name (max 16).
    pub system_id: COctetString<16, B>,
    /// Account password (max 9).
    pub password: COctetString<9, B>,
    /// Kind of ESME, free-form (max 13).
    pub system_type: COctetString<13, B>,
    /// SMPP version the ESME speaks: 0x33 and below for 3.3, 0x34, 0x50.
    pub interface_version: u8,
    /// Type of number of `address_range`.
    pub addr_ton: u8,
    /// Numbering plan of `address_range`.
    pub addr_npi: u8,
    /// Addresses the ESME serves, as a regular expression (max 41).
    pub address_range: COctetString<41, B>,
}

impl<B: AsRef<[u8]>> BodyCodec<B> for Bind<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, system_id) = cstr(frame, i, "system_id", S::ESME_RINVSYSID)?;
        let (i, password) = cstr(frame, i, "password", S::ESME_RINVPASWD)?;
        let (i, system_type) = cstr(frame, i, "system_type", S::ESME_RINVSYSTYP)?;
        let (i, interface_version) = int8(i, "interface_version")?;
        let (i, addr_ton) = int8(i, "addr_ton")?;
        let (i, addr_npi) = int8(i, "addr_npi")?;
        let (i, address_range) = cstr(frame, i, "address_range", S::ESME_RINVCMDLEN)?;
        Ok((
            i,
            Bind {
                system_id,
                password,
                system_type,
                interface_version,
                addr_ton,
                addr_npi,
                address_range,
            },
        ))
    }

    fn wire_len(&self) -> usize {
        self.system_id.wire_len()
            + self.password.wire_len()
            + self.system_type.wire_len()
            + 3
            + self.address_range.wire_len()
    }

    fn encode(&self, dst: &mut BytesMut) {
        self.system_id.encode(dst);
        self.password.encode(dst);
        self.system_type.encode(dst);
        dst.put_slice(&[self.interface_version, self.addr_ton, self.addr_npi]);
        self.address_range.encode(dst);
    }
}

/// Body of the three bind responses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct BindResp<B: AsRef<[u8]> = Bytes> {
    /// The MC's name (max 16).
    pub system_id: COctetString<16, B>,
    /// Optional parameters; `sc_interface_version` tells the ESME it may send TLVs.
    pub tlvs: Tlvs<B>,
}

impl BindResp {
    /// A response naming the MC `system_id`, advertising `sc_interface_version`
    /// (0x34 or 0x50) when given.
    pub fn new(system_id: COctetString<16>, sc_interface_version: Option<u8>) -> Self {
        let tlvs = match sc_interface_version {
            // ok: a 1-byte value is the length this tag requires and it is the first TLV.
            Some(v) => Tlvs::new()
                .with(TlvTag::SC_INTERFACE_VERSION, &[v])
                .unwrap_or_default(),
            None => Tlvs::new(),
        };
        Self { system_id, tlvs }
    }
}

impl<B: AsRef<[u8]>> BodyCodec<B> for BindResp<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, system_id) = cstr(frame, i, "system_id", S::ESME_RINVSYSID)?;
        let (i, tlvs) = tlvs(frame, i)?;
        Ok((i, BindResp { system_id, tlvs }))
    }

    fn wire_len(&self) -> usize {
        self.system_id.wire_len() + self.tlvs.wire_len()
    }

    fn encode(&self, dst: &mut BytesMut) {
        self.system_id.encode(dst);
        self.tlvs.encode(dst);
    }
}

/// Body of `outbind`: the MC asks the ESME to bind as a receiver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct Outbind<B: AsRef<[u8]> = Bytes> {
    /// The MC's name (max 16).
    pub system_id: COctetString<16, B>,
    /// Password the ESME checks (max 9).
    pub password: COctetString<9, B>,
}

impl<B: AsRef<[u8]>> BodyCodec<B> for Outbind<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, system_id) = cstr(frame, i, "system_id", S::ESME_RINVSYSID)?;
        let (i, password) = cstr(frame, i, "password", S::ESME_RINVPASWD)?;
        Ok((
            i,
            Outbind {
                system_id,
                password,
            },
        ))
    }

    fn wire_len(&self) -> usize {
        self.system_id.wire_len() + self.password.wire_len()
    }

    fn encode(&self, dst: &mut BytesMut) {
        self.system_id.encode(dst);
        self.password.encode(dst);
    }
}
