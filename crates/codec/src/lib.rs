//! Sans-IO SMPP 3.4 / 5.0 PDU codec.
#![forbid(unsafe_code)]
