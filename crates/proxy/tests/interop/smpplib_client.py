"""Drives the proxy with python-smpplib, an SMPP client written outside this project.

Usage: smpplib_client.py HOST PORT SYSTEM_ID PASSWORD
Binds as a transceiver, submits a GSM 7-bit and a UCS-2 message, sends enquire_link,
unbinds, and prints one line per response: "<command> <status> <message_id>".
"""
import sys

import smpplib.client
import smpplib.consts

host, port, system_id, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
out = []


def on_sent(pdu):
    out.append(f"{pdu.command} {pdu.status} {pdu.message_id.decode() if pdu.message_id else ''}")


client = smpplib.client.Client(host, port, timeout=10)
client.set_message_sent_handler(on_sent)
client.connect()
bind = client.bind_transceiver(system_id=system_id, password=password)
out.append(f"bind_transceiver_resp {bind.status} ")
for text, coding in ((b"Hello from smpplib", smpplib.consts.SMPP_ENCODING_DEFAULT),
                     ("你好，這是測試".encode("utf-16-be"), smpplib.consts.SMPP_ENCODING_ISO10646)):
    client.send_message(
        source_addr_ton=1, source_addr_npi=1, source_addr="447700900001",
        dest_addr_ton=1, dest_addr_npi=1, destination_addr="447700900002",
        short_message=text, data_coding=coding, registered_delivery=0,
    )
    client.read_once()
client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client))
resp = client.read_pdu()
out.append(f"{resp.command} {resp.status} ")
client.unbind()
client.disconnect()
print("\n".join(out))
