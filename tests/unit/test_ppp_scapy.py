"""Cross-checks with scapy's PPP layers: what we send parses there, what scapy builds parses here."""

from __future__ import annotations

import random
from typing import Any

from scapy.layers.ppp import (
    HDLC,
    PPP,
    PPP_CHAP,
    PPP_IPCP,
    PPP_CHAP_ChallengeResponse,
    PPP_IPCP_Option_IPAddress,
    PPP_LCP_ACCM_Option,
    PPP_LCP_Auth_Protocol_Option,
    PPP_LCP_Configure,
    PPP_LCP_Echo,
    PPP_LCP_Magic_Number_Option,
    PPP_LCP_MRU_Option,
    PPP_LCP_Option,
    PPP_LCP_Protocol_Reject,
    PPP_LCP_Terminate,
    PPP_PAP_Request,
    PPP_PAP_Response,
)

from firmware_emu.ppp import PppConfig, PppEngine
from firmware_emu.ppp.auth import chap_md5

LCP = 0xC021


def engine(**kw: object) -> PppEngine:
    e = PppEngine(PppConfig(echo_interval=0, **kw), 0.0, rng=random.Random(11))  # type: ignore[arg-type]
    e.start(0.0)
    return e


def lcp(options: list[Any], code: int = 1, ident: int = 0x33) -> bytes:
    return bytes(HDLC() / PPP(proto=LCP) / PPP_LCP_Configure(code=code, id=ident, options=options))


def open_lcp(e: PppEngine, peer_options: list[Any]) -> list[bytes]:
    """Play scapy's side of LCP: ack the engine's request, send ours; returns what the engine answered."""
    (request,) = e.frames_to_send()
    conf = PPP(request)[PPP_LCP_Configure]
    e.receive_frame(lcp(conf.options, code=2, ident=conf.id), 0.0)
    e.receive_frame(lcp(peer_options), 0.0)
    return e.frames_to_send()


def test_our_configure_request_parses_in_scapy() -> None:
    e = engine(
        mru=1400, pfc=True, acfc=True, framing="async", accm=0x000A0000, require="chap", secrets=(("x", "y"),)
    )
    (frame,) = e.frames_to_send()
    pkt = PPP(frame)
    assert pkt[HDLC].address == 0xFF and pkt[HDLC].control == 0x03 and pkt[PPP].proto == LCP
    conf = pkt[PPP_LCP_Configure]
    assert conf.code == 1 and conf.len == len(frame) - 4
    by_type = {o.type: o for o in conf.options}
    assert by_type[1].max_recv_unit == 1400
    assert by_type[2].accm == 0x000A0000
    assert by_type[3].auth_protocol == 0xC223 and by_type[3].algorithm == 5
    assert by_type[5].magic_number == e.lcp.want.magic
    assert by_type[7].len == 2 and by_type[8].len == 2


def test_scapy_request_is_acked_verbatim_and_unknown_options_rejected() -> None:
    e = engine(username="branch", password="pw")
    options = [
        PPP_LCP_MRU_Option(max_recv_unit=1400),
        PPP_LCP_ACCM_Option(accm=0),
        PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC223, algorithm=5),
        PPP_LCP_Magic_Number_Option(magic_number=0xDEADBEEF),
        PPP_LCP_Option(type=7),
        PPP_LCP_Option(type=8),
    ]
    (ack,) = open_lcp(e, options)[:1]
    reply = PPP(ack)[PPP_LCP_Configure]
    assert reply.code == 2 and reply.id == 0x33
    assert b"".join(bytes(o) for o in reply.options) == b"".join(bytes(o) for o in options)
    his = e.lcp.his
    assert (his.mru, his.accm, his.auth, his.magic, his.pfc, his.acfc) == (
        1400,
        0,
        0xC223,
        0xDEADBEEF,
        True,
        True,
    )
    e.receive_frame(
        lcp([PPP_LCP_Option(type=42, data=b"xy"), PPP_LCP_MRU_Option(max_recv_unit=1400)], ident=7), 0.0
    )
    renegotiate, reject = e.frames_to_send()  # a request in Opened: RCR- gives tld, scr, scn
    assert PPP(renegotiate)[PPP_LCP_Configure].code == 1
    rej = PPP(reject)[PPP_LCP_Configure]
    assert (
        rej.code == 4 and rej.id == 7 and [(o.type, bytes(o)) for o in rej.options] == [(42, b"\x2a\x04xy")]
    )


def test_pap_both_ways() -> None:
    authenticator = engine(require="pap", secrets=(("branch", "s3cret"),))
    open_lcp(authenticator, [PPP_LCP_Magic_Number_Option(magic_number=1)])
    request = HDLC() / PPP() / PPP_PAP_Request(id=3, username=b"branch", password=b"s3cret")
    authenticator.receive_frame(bytes(request), 0.0)
    (ack,) = authenticator.frames_to_send()[:1]
    response = PPP(ack)[PPP_PAP_Response]
    assert response.code == 2 and response.id == 3 and response.message == b"Login ok"
    assert authenticator.link_up

    peer = engine(username="branch", password="s3cret")
    frames = open_lcp(peer, [PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC023)])
    req = PPP(frames[-1])[PPP_PAP_Request]
    assert (req.username, req.password) == (b"branch", b"s3cret")
    peer.receive_frame(bytes(HDLC() / PPP() / PPP_PAP_Response(code=2, id=req.id, message=b"hi")), 0.0)
    assert peer.link_up


def test_chap_both_ways() -> None:
    peer = engine(username="branch", password="s3cret")
    open_lcp(peer, [PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC223, algorithm=5)])
    challenge = b"0123456789abcdef"
    sent = HDLC() / PPP() / PPP_CHAP_ChallengeResponse(code=1, id=9, value=challenge, optional_name=b"hub")
    peer.receive_frame(bytes(sent), 0.0)
    (frame,) = peer.frames_to_send()
    response = PPP(frame)[PPP_CHAP_ChallengeResponse]
    assert response.code == 2 and response.id == 9 and response.optional_name == b"branch"
    assert response.value == chap_md5(9, b"s3cret", challenge)

    authenticator = engine(require="chap", secrets=(("branch", "s3cret"),), username="hub", password="x")
    (frame,) = open_lcp(authenticator, [])[1:]
    ours = PPP(frame)[PPP_CHAP_ChallengeResponse]
    assert ours.code == 1 and ours.value_size == 16 and ours.optional_name == b"hub"
    answer = chap_md5(ours.id, b"s3cret", ours.value)
    reply = (
        HDLC() / PPP() / PPP_CHAP_ChallengeResponse(code=2, id=ours.id, value=answer, optional_name=b"branch")
    )
    authenticator.receive_frame(bytes(reply), 0.0)
    success = PPP(authenticator.frames_to_send()[0])[PPP_CHAP]
    assert (success.code, success.id) == (3, ours.id)
    assert authenticator.link_up


def test_ipcp_nak_carries_the_assigned_address() -> None:
    e = engine(local_address="10.1.0.1", peer_address="10.1.0.2")
    _, ipcp_request = open_lcp(e, [])  # the Configure-Ack, then IPCP starts
    assert PPP(ipcp_request)[PPP_IPCP].options[0].data == "10.1.0.1"
    ask = HDLC() / PPP() / PPP_IPCP(code=1, id=4, options=[PPP_IPCP_Option_IPAddress(data="0.0.0.0")])
    e.receive_frame(bytes(ask), 0.0)
    (nak,) = e.frames_to_send()
    reply = PPP(nak)[PPP_IPCP]
    assert reply.code == 3 and reply.id == 4 and reply.options[0].data == "10.1.0.2"


def test_echo_terminate_and_protocol_reject_parse() -> None:
    e = engine()
    open_lcp(e, [PPP_LCP_Magic_Number_Option(magic_number=0xDEADBEEF)])
    e.frames_to_send()
    e.receive_frame(
        bytes(HDLC() / PPP() / PPP_LCP_Echo(code=9, id=5, magic_number=0xDEADBEEF, data=b"hi")), 0.0
    )
    (echo,) = e.frames_to_send()
    reply = PPP(echo)[PPP_LCP_Echo]
    assert (reply.code, reply.id, reply.magic_number, reply.data) == (10, 5, e.lcp.ours.magic, b"hi")
    e.receive_frame(b"\xff\x03\x80\x2b\x01\x01\x00\x04", 0.0)  # IPXCP: not ours
    (reject,) = e.frames_to_send()
    rej = PPP(reject)[PPP_LCP_Protocol_Reject]
    assert rej.code == 8 and rej.rejected_protocol == 0x802B
    e.stop(1.0)
    (terminate,) = e.frames_to_send()
    term = PPP(terminate)[PPP_LCP_Terminate]
    assert term.code == 5 and term.data == b"stopped"
