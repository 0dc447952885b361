"""Client side: the text wanpipemon prints for each command's data.

Each renderer takes the `data` of an OK reply (what the daemon-side handler in
stats_commands returned) and gives the lines a network engineer reads, laid
out after WANPIPE's monitors: a banner, then `label: value` rows with the
labels right-aligned. `wanpipemon --json` skips all of this and prints the data.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from wand.mgmt.registry import renderer

WIDTH = 60


def banner(data: dict[str, Any], title: str) -> list[str]:
    who = data.get("device", "?")
    if data.get("interface"):
        who = f"{who} ({data['interface']})"
    text = f"{who}: {title}"
    rule = "-" * max(WIDTH, len(text) + 4)
    return [rule, text.center(len(rule)).rstrip(), rule]


def rows(pairs: Iterable[tuple[str, Any]]) -> list[str]:
    pairs = list(pairs)
    width = max((len(label) for label, _ in pairs), default=0)
    return [f"{label:>{width}}: {_text(value)}" for label, value in pairs]


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value) or "-"
    return str(value)


def _join(*parts: list[str]) -> str:
    return "\n".join(line for part in parts for line in part)


def _words(key: str) -> str:
    return key.replace("_", " ")


def uptime_text(seconds: float) -> str:
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days} day(s) {clock}" if days else clock


def _rate(bits: int | None) -> str:
    if bits is None:
        return "unpaced (no line rate)"
    return f"{bits} bit/s"


# -- card status --------------------------------------------------------------------


@renderer("xm")
def render_modem(data: dict[str, Any], args: argparse.Namespace) -> str:
    line = data.get("line", {})
    pairs: list[tuple[str, Any]] = [
        ("Line type", str(line.get("type", "?")).upper()),
        ("Line rate", _rate(line.get("bit_rate"))),
        ("Clocking", "Internal (master)" if line.get("clock") == "master" else "External (normal)"),
    ]
    if line.get("type") == "serial":
        pairs.append(("Clock rate", line.get("clock_rate") or "unlimited"))
    else:
        pairs += [
            ("Framing", str(line.get("framing", "?")).upper()),
            ("Coding", str(line.get("coding", "?")).upper()),
            ("Timeslots", line.get("timeslots") or "all"),
        ]
    pairs += [
        ("HDLC framing", line.get("hdlc", "sync")),
        ("Tx queue", f"{line.get('tx_queue', 0)}/{line.get('tx_queue_len', '?')} frames"),
        ("Cable", data.get("cable")),
        ("DCD", "HIGH" if data.get("dcd") else "LOW"),
        ("CTS", "HIGH" if data.get("cts") else "LOW"),
    ]
    return _join(banner(data, "MODEM STATUS"), rows(pairs))


@renderer("xl")
def render_link(data: dict[str, Any], args: argparse.Namespace) -> str:
    pairs: list[tuple[str, Any]] = [
        ("Channel status", "OPERATIVE" if data.get("operative") else "INOPERATIVE"),
        ("Protocol state", data.get("state")),
    ]
    if data.get("station"):
        pairs.append(("Station", data["station"]))
    for name, usable in sorted(data.get("channels", {}).items()):
        pairs.append((f"Interface {name}", "up" if usable else "down (no carrier)"))
    return _join(banner(data, "LINK STATUS"), rows(pairs))


@renderer("xru")
def render_uptime(data: dict[str, Any], args: argparse.Namespace) -> str:
    seconds = float(data.get("uptime", 0))
    return _join(
        banner(data, "ROUTER UP TIME"), rows([("Router UP Time", f"{uptime_text(seconds)} ({seconds:g} s)")])
    )


@renderer("xcv")
def render_version(data: dict[str, Any], args: argparse.Namespace) -> str:
    pairs = [
        ("Firmware", data.get("firmware")),
        ("Firmware version", data.get("firmware_version")),
        ("wand version", data.get("wand")),
    ]
    return _join(banner(data, "CODE VERSION"), rows(pairs))


# -- statistics: every protocol ---------------------------------------------------------


@renderer("sc")
def render_comm_errors(data: dict[str, Any], args: argparse.Namespace) -> str:
    pairs = [
        ("Number of receiver overrun errors", data.get("overruns", 0)),
        ("Number of receiver CRC errors", data.get("crc_errors", 0)),
        ("Number of abort frames received", data.get("aborts", 0)),
        ("Number of frames received too short", data.get("too_short", 0)),
        ("Number of frames received too long", data.get("too_long", 0)),
        ("Number of frames received while stopped", data.get("rx_while_stopped", 0)),
    ]
    return _join(banner(data, "COMMUNICATION ERROR STATISTICS"), rows(pairs))


@renderer("dg")
def render_driver(data: dict[str, Any], args: argparse.Namespace) -> str:
    out = banner(data, "DRIVER STATISTICS")
    port = data.get("port", {})
    out += rows([(_words(k), v) for k, v in port.items()] + [("frames in tx queue", data.get("tx_queue"))])
    for name, channel in sorted(data.get("channels", {}).items()):
        out += ["", f"Interface {name} (channel {channel.get('channel')}):"]
        out += rows([(_words(k), v) for k, v in channel.items() if k not in ("channel",)])
    out += ["", "Cable:"]
    out += rows([(_words(k), v) for k, v in data.get("cable", {}).items()])
    out += rows(
        [("switch drops", data.get("switch_drops", 0)), ("rx no interface", data.get("rx_no_interface", 0))]
    )
    mgmt = data.get("mgmt") or {}
    if mgmt:
        out += ["", "Management (UDP monitor) requests:"]
        out += rows([(_words(k), v) for k, v in mgmt.items()])
    return "\n".join(out)


def _render_flush(data: dict[str, Any], args: argparse.Namespace) -> str:
    who = data.get("device", "?") + (f" ({data['interface']})" if data.get("interface") else "")
    return f"{who}: {data.get('flushed', 'statistics')} flushed ({data.get('counters', 0)} counters)"


for _code in ("fs", "fc", "fd", "fg", "fe", "fi", "fo"):
    renderer(_code)(_render_flush)


# -- Frame Relay ---------------------------------------------------------------------------


def _dlci_table(dlcis: list[dict[str, Any]], extra: str | None = None) -> list[str]:
    if not dlcis:
        return ["", "  No DLCIs."]
    head = f"  {'DLCI':>5}  {'STATUS':10} {'USABLE':7} {extra or '':10}".rstrip()
    out = ["", head]
    for d in dlcis:
        state = str(d.get("state") or "?").capitalize()
        usable = "-" if d.get("configured") is False else ("yes" if d.get("usable") else "no")
        tail = ""
        if extra == "INTERFACE":
            tail = d.get("interface") or "-"
        elif extra == "CONFIGURED":
            tail = "no" if d.get("configured") is False else "yes"
        out.append(f"  {d.get('dlci'):>5}  {state:10} {usable:7} {tail}".rstrip())
    return out


@renderer("cl")
def render_dlcis(data: dict[str, Any], args: argparse.Namespace) -> str:
    head = rows([("Channel status", "OPERATIVE" if data.get("operative") else "INOPERATIVE")])
    return _join(banner(data, "LIST OF DLCIs"), head, _dlci_table(data.get("dlcis", []), "INTERFACE"))


@renderer("clr")
def render_reported_dlcis(data: dict[str, Any], args: argparse.Namespace) -> str:
    head = rows(
        [
            ("Channel status", "OPERATIVE" if data.get("operative") else "INOPERATIVE"),
            ("Signalling", data.get("signalling")),
        ]
    )
    return _join(banner(data, "GLOBAL DLCI STATUS"), head, _dlci_table(data.get("dlcis", []), "CONFIGURED"))


@renderer("sg")
def render_global(data: dict[str, Any], args: argparse.Namespace) -> str:
    if "lcp" in data:
        return _render_ppp_global(data)
    node = data.get("role") == "dce"
    station = "NODE" if node else "CPE"
    if node:
        pairs: list[tuple[str, Any]] = [
            ("Status Enquiry messages received", data.get("enquiries_received", 0)),
            ("Status messages sent", data.get("status_sent", 0)),
            ("Full Status messages sent", data.get("full_status_sent", 0)),
        ]
    else:
        pairs = [
            ("Status Enquiry messages sent", data.get("enquiries_sent", 0)),
            ("Status messages received", data.get("status_received", 0)),
            ("Full Status messages received", data.get("full_status_received", 0)),
        ]
    window = data.get("error_window") or []
    pairs += [
        ("LMI state", data.get("state")),
        ("Signalling", data.get("signalling")),
        ("Current Send Sequence Number", data.get("ssn")),
        ("Current Receive Sequence Number", data.get("rsn")),
        ("N392 (error threshold)", data.get("n392")),
        ("N393 (monitored events)", data.get("n393")),
        ("Errors in the N393 window", f"{data.get('errors_in_window', 0)} of {len(window)}"),
        ("Link down events", data.get("link_down_events", 0)),
    ]
    return _join(banner(data, f"GLOBAL STATISTICS: {station}"), rows(pairs))


@renderer("se")
def render_errors(data: dict[str, Any], args: argparse.Namespace) -> str:
    pairs: list[tuple[str, Any]] = [
        ("discarded frames with unconfigured DLCI", data.get("unknown_dlci", 0)),
        ("discarded frames on inactive DLCI", data.get("inactive_dlci", 0)),
        ("discarded frames due to a format error", data.get("malformed", 0)),
        ("discarded frames with unknown encapsulation", data.get("unknown_protocol", 0)),
        ("discarded LMI frames (format or sequence error)", data.get("lmi_errors", 0)),
        ("LMI sequence errors", data.get("sequence_errors", 0)),
    ]
    if data.get("role") == "dce":
        pairs.append(("timeouts on the T392 timer", data.get("t392_timeouts", 0)))
    else:
        pairs.append(("timeouts on the T391 timer", data.get("t391_timeouts", 0)))
    pairs.append(("times the N392 error threshold was reached", data.get("n392_threshold_reached", 0)))
    return _join(banner(data, "ERROR STATISTICS"), rows(pairs))


@renderer("sd")
def render_dlci_stats(data: dict[str, Any], args: argparse.Namespace) -> str:
    out = banner(data, "DLCI STATISTICS")
    for d in data.get("dlcis", []):
        out += ["", f"DLCI {d.get('dlci')}: {str(d.get('state', '?')).capitalize()}"]
        out += rows(
            [
                ("Frames received", d.get("rx_frames", 0)),
                ("Bytes received", d.get("rx_bytes", 0)),
                ("Frames transmitted", d.get("tx_frames", 0)),
                ("Bytes transmitted", d.get("tx_bytes", 0)),
                ("Frames received with DE set", d.get("rx_de", 0)),
                ("Frames received with FECN set", d.get("rx_fecn", 0)),
                ("Frames received with BECN set", d.get("rx_becn", 0)),
                ("Inverse ARP requests sent", d.get("inarp_requests_sent", 0)),
                ("Inverse ARP replies sent", d.get("inarp_replies_sent", 0)),
                ("Inverse ARP packets received", d.get("inarp_received", 0)),
                ("Peer address", d.get("peer_address")),
            ]
        )
    if not data.get("dlcis"):
        out.append("No DLCIs.")
    return "\n".join(out)


# -- Cisco HDLC ---------------------------------------------------------------------------


@renderer("ss")
def render_slarp(data: dict[str, Any], args: argparse.Namespace) -> str:
    ka = data.get("keepalive", {})
    sl = data.get("slarp", {})
    out = banner(data, "SLARP AND KEEPALIVE STATISTICS")
    out += rows(
        [
            ("Line protocol", data.get("state")),
            ("Keepalive interval", f"{data.get('interval')} s"),
            ("Error margin (misses before down)", data.get("error_margin")),
            ("My sequence number", data.get("my_seq")),
            ("Your sequence number", data.get("your_seq")),
            ("Missed in a row", data.get("misses_in_a_row")),
        ]
    )
    out += ["", "SLARP keepalive packets:"]
    out += rows(
        [
            ("transmitted", ka.get("keepalives_sent", 0)),
            ("received", ka.get("keepalives_received", 0)),
            ("missed", ka.get("keepalives_missed", 0)),
            ("sequence errors", ka.get("sequence_errors", 0)),
            ("looped (our own)", ka.get("looped_keepalives", 0)),
            ("loops detected", ka.get("loop_detections", 0)),
            ("link down events", ka.get("link_down_events", 0)),
        ]
    )
    out += ["", "SLARP address packets:"]
    out += rows(
        [
            ("requests transmitted", sl.get("requests_sent", 0)),
            ("requests received", sl.get("requests_received", 0)),
            ("replies transmitted", sl.get("replies_sent", 0)),
            ("replies received", sl.get("replies_received", 0)),
            ("unanswered requests", sl.get("unanswered_requests", 0)),
            ("unexpected replies", sl.get("unexpected_replies", 0)),
            ("unusable replies", sl.get("unusable_replies", 0)),
            ("our address", f"{data.get('address')}/{data.get('prefix')}" if data.get("address") else None),
            ("learned from the peer", data.get("learn_address")),
        ]
    )
    return "\n".join(out)


@renderer("so")
def render_operational(data: dict[str, Any], args: argparse.Namespace) -> str:
    counters = data.get("counters", {})
    pairs = [("Link", "OPERATIVE" if data.get("operative") else "INOPERATIVE")]
    pairs += [(_words(k), v) for k, v in counters.items()]
    return _join(banner(data, "OPERATIONAL STATISTICS"), rows(pairs))


# -- PPP -------------------------------------------------------------------------------------


def _packets(title: str, sent: dict[str, int], received: dict[str, int]) -> list[str]:
    codes = sorted(set(sent) | set(received))
    if not codes:
        return [f"{title}: no packets"]
    width = max(len(c) for c in codes)
    out = [f"{title}:", f"  {'':{width}}  {'received':>9}  {'transmitted':>11}"]
    out += [f"  {c.replace('_', '-'):{width}}  {received.get(c, 0):>9}  {sent.get(c, 0):>11}" for c in codes]
    return out


def _render_ppp_global(data: dict[str, Any]) -> str:
    lcp = data.get("lcp", {})
    out = banner(data, "PPP GLOBAL STATISTICS")
    out += rows([("Phase", data.get("phase"))])
    out += [
        "",
        *_packets("LCP packets", data.get("lcp_packets_sent", {}), data.get("lcp_packets_received", {})),
    ]
    out += rows(
        [
            ("LCP timeouts", lcp.get("timeouts", 0)),
            ("LCP packets discarded", lcp.get("discarded", 0)),
            ("Echo-Requests sent", lcp.get("echo_requests_sent", 0)),
            ("Echo-Requests received", lcp.get("echo_requests_received", 0)),
            ("Echo-Replies sent", lcp.get("echo_replies_sent", 0)),
            ("Echo-Replies received", lcp.get("echo_replies_received", 0)),
            ("Echo failures (link dropped)", data.get("echo_failures", 0)),
            ("Looped Configure-Requests", lcp.get("loops", 0)),
            ("Looped echoes", lcp.get("echo_loops", 0)),
            ("Echoes with a wrong magic", lcp.get("echo_bad_magic", 0)),
            ("Discard-Requests received", lcp.get("discard_requests_received", 0)),
            ("Protocol-Rejects received", lcp.get("protocol_rejects_received", 0)),
        ]
    )
    for name, ncp in data.get("ncp", {}).items():
        out += ["", f"{name.upper()}: {ncp.get('state')}"]
        out += _packets(
            f"{name.upper()} packets", ncp.get("packets_sent", {}), ncp.get("packets_received", {})
        )
        out += rows([("timeouts", ncp.get("timeouts", 0)), ("discarded", ncp.get("discarded", 0))])
    return "\n".join(out)


@renderer("xs")
def render_ppp_state(data: dict[str, Any], args: argparse.Namespace) -> str:
    auth = data.get("auth", {})
    pairs: list[tuple[str, Any]] = [
        ("Phase", data.get("phase")),
        ("Framing", data.get("framing")),
        ("Link up", data.get("link_up")),
        ("Network usable", data.get("usable")),
        ("Looped", data.get("looped")),
        ("LCP", data.get("lcp")),
        ("Authentication required", auth.get("require")),
        ("Authentication result", auth.get("result") or "-"),
    ]
    for role in auth.get("roles", []):
        label = f"{str(role.get('protocol', '')).upper()} as {role.get('role')}"
        detail = role.get("state")
        if role.get("peer_name"):
            detail = f"{detail} (peer {role['peer_name']})"
        if role.get("reason"):
            detail = f"{detail}: {role['reason']}"
        pairs.append((label, detail))
    pairs += [("IPCP", data.get("ipcp")), ("IPV6CP", data.get("ipv6cp") or "not configured")]
    return _join(banner(data, "PPP STATE"), rows(pairs))


@renderer("xn")
def render_ppp_negotiation(data: dict[str, Any], args: argparse.Namespace) -> str:
    local, peer = data.get("local", {}), data.get("peer", {})
    out = banner(data, "PPP NEGOTIATED OPTIONS")
    out += rows([("LCP", data.get("lcp_state"))])
    keys = ("mru", "accm", "magic", "auth", "pfc", "acfc")
    width = max(len(k) for k in keys)
    out += ["", f"  {'':{width}}  {'local (we receive)':>20}  {'peer (it receives)':>20}"]
    out += [f"  {k.upper():{width}}  {_text(local.get(k)):>20}  {_text(peer.get(k)):>20}" for k in keys]
    echo = data.get("echo", {})
    ipcp = data.get("ipcp", {})
    out.append("")
    out += rows(
        [
            ("Echo keepalive", f"every {echo.get('interval')} s" if echo.get("enabled") else "off"),
            ("IPCP", ipcp.get("state")),
            ("Local address", ipcp.get("local_address")),
            ("Peer address", ipcp.get("peer_address")),
            ("Address assigned by the peer", ipcp.get("assigned_by_peer")),
        ]
    )
    ipv6 = data.get("ipv6cp")
    if ipv6:
        out += rows([(f"IPV6CP {_words(k)}", v) for k, v in ipv6.items()])
    return "\n".join(out)


@renderer("sa")
def render_ppp_auth(data: dict[str, Any], args: argparse.Namespace) -> str:
    out = banner(data, "PPP AUTHENTICATION STATISTICS")
    out += rows(
        [
            ("Required of the peer", data.get("require")),
            ("We authenticate to the peer", data.get("authenticate_to_peer")),
            ("Result", data.get("result") or "-"),
            ("Failures", data.get("failures", 0)),
        ]
    )
    for role in data.get("roles", []):
        out += ["", f"{str(role.get('protocol', '')).upper()} as {role.get('role')}: {role.get('state')}"]
        out += rows(
            [
                ("peer name", role.get("peer_name") or "-"),
                ("reason", role.get("reason") or "-"),
                ("packets sent", role.get("sent", 0)),
                ("packets received", role.get("received", 0)),
                ("retransmissions", role.get("retransmissions", 0)),
                ("ignored", role.get("ignored", 0)),
            ]
        )
    return "\n".join(out)
