"""Client side of the X.25 commands (wand.mgmt.x25_commands): the text, and the ``--lcn`` option.

Laid out like the other monitors (wand.mgmt.render): a banner, ``label: value``
rows, and a received/transmitted table for counters that come in pairs.
"""

from __future__ import annotations

import argparse
from typing import Any, Final

from wand.mgmt.registry import renderer
from wand.mgmt.render import banner, rows

RESTART_STATES: Final = {
    "r1": "R1 (packet level ready)",
    "r2": "R2 (DTE restart request)",
    "r3": "R3 (DCE restart indication)",
    "down": "down (the link is not up)",
}
CALL_STATES: Final = {
    "p1": "P1 ready",
    "p2": "P2 DTE waiting",
    "p3": "P3 DCE waiting",
    "p4": "P4 data transfer",
    "p5": "P5 call collision",
    "p6": "P6 DTE clear request",
    "p7": "P7 DCE clear indication",
}
RESET_STATES: Final = {
    "d1": "D1 flow control ready",
    "d2": "D2 DTE reset request",
    "d3": "D3 DCE reset indication",
}
# Counter pairs (received, transmitted) by base name, in the order shown; unknown ones follow.
LAPB_PAIRS: Final = {
    "iframes": "I frames",
    "rr": "RR",
    "rnr": "RNR",
    "rej": "REJ",
    "sabm": "SABM/SABME",
    "ua": "UA",
    "disc": "DISC",
    "dm": "DM",
    "frmr": "FRMR",
    "bytes": "information octets",
}
PLP_PAIRS: Final = {
    "restarts": "Restarts",
    "clears": "Clears",
    "resets": "Resets",
    "data_packets": "Data packets",
    "data_bytes": "Data octets",
    "messages": "Messages (M-bit sequences)",
    "rr": "RR",
    "rnr": "RNR",
    "interrupts": "Interrupts",
    "diagnostics": "Diagnostics",
}
LAPB_LABELS: Final = {
    "retransmissions": "I frames retransmitted",
    "t1_timeouts": "T1 timeouts",
    "polls": "Polls sent at T1 expiry",
    "n2_exhausted": "N2 retries exhausted",
    "link_resets": "Link resets",
    "malformed": "Frames rejected (malformed, FRMR conditions)",
    "bad_address": "Frames with an address neither A nor B",
    "out_of_sequence": "I frames out of sequence",
    "rx_while_busy": "I frames discarded while busy",
    "mode_mismatch": "SABM/SABME of the wrong modulo",
    "ignored": "Frames ignored in their state",
}
PLP_LABELS: Final = {
    "calls_out": "Calls placed",
    "calls_in": "Calls offered (incoming)",
    "calls_accepted": "Calls connected",
    "calls_refused": "Calls that ended before data transfer",
    "call_collisions": "Call collisions",
    "timeouts": "Timeouts (T20-T23)",
    "lost_messages": "Messages lost to resets, clears, restarts",
}
PLP_ERROR_LABELS: Final = {
    "unassigned_lcn": "Packets on an unassigned LCN",
    "bad_ps": "Invalid P(S)",
    "bad_pr": "Invalid P(R)",
    "oversize": "Data packets too long",
    "invalid_in_state": "Packets invalid in their state",
    "malformed": "Malformed packets",
    "unknown_type": "Unknown packet types",
    "unknown_facility": "Unknown facilities",
    "rej_rx": "REJ received (not subscribed)",
    "discarded": "Packets discarded while waiting",
    "link_not_up": "Packets refused while the link was down",
}
IP_LABELS: Final = {
    "ip_calls_placed": "IP calls placed",
    "ip_calls_accepted": "IP calls accepted",
    "ip_idle_clears": "IP calls cleared when idle",
    "ip_queue_drops": "IP packets dropped (queue full)",
    "ip_not_ipv4": "Data on IP calls that was not IPv4",
    "calls_refused": "Incoming calls nobody takes (cleared)",
    "data_no_owner": "Data on calls nobody owns",
}


def _words(key: str) -> str:
    return key.replace("_", " ")


def _split_pairs(counters: dict[str, Any]) -> tuple[dict[str, tuple[int, int]], dict[str, Any]]:
    """({base: (received, transmitted)}, the other counters): tx_x/rx_x and x_tx/x_rx pair up."""
    pairs: dict[str, tuple[int, int]] = {}
    rest = dict(counters)
    for key in counters:
        for rx, tx, base in (
            (key, f"tx_{key[3:]}", key[3:]) if key.startswith("rx_") else (None, None, None),
            (key, f"{key[:-3]}_tx", key[:-3]) if key.endswith("_rx") else (None, None, None),
        ):
            if rx is not None and tx in counters and base:
                pairs[base] = (counters[rx], counters[tx])
                rest.pop(rx, None)
                rest.pop(tx, None)
    return pairs, rest


def _pair_table(pairs: dict[str, tuple[int, int]], names: dict[str, str]) -> list[str]:
    if not pairs:
        return []
    order = [b for b in names if b in pairs] + sorted(b for b in pairs if b not in names)
    labels = {b: names.get(b, _words(b)) for b in order}
    width = max(len(label) for label in labels.values())
    out = [f"  {'':{width}}  {'received':>10}  {'transmitted':>11}"]
    out += [f"  {labels[b]:{width}}  {pairs[b][0]:>10}  {pairs[b][1]:>11}" for b in order]
    return out


def _labelled(counters: dict[str, Any], labels: dict[str, str]) -> list[tuple[str, Any]]:
    return [(label, counters.get(key, 0)) for key, label in labels.items() if key in counters]


def _restart(state: Any) -> str:
    return RESTART_STATES.get(str(state), str(state))


def _flag(value: Any) -> str:
    return "yes" if value else "no"


# -- status --------------------------------------------------------------------------


@renderer("xh")
def render_link(data: dict[str, Any], args: argparse.Namespace) -> str:
    out = banner(data, "X.25 LINK STATUS")
    plp = data.get("packet_layer") or {}
    lapb = data.get("lapb")
    pairs: list[tuple[str, Any]] = [
        ("Channel status", "OPERATIVE" if data.get("operative") else "INOPERATIVE")
    ]
    if lapb is None:
        pairs.append(("Link", "XOT (X.25 over TCP, RFC 1613): no LAPB"))
    else:
        pairs += [
            ("Link", f"LAPB, {str(lapb.get('role', '?')).upper()}, modulo {lapb.get('modulo')}"),
            ("LAPB state", lapb.get("state")),
            ("V(S) / V(R) / V(A)", f"{lapb.get('vs')} / {lapb.get('vr')} / {lapb.get('va')}"),
            ("I frames outstanding", f"{lapb.get('outstanding', 0)} of k={lapb.get('k')}"),
            ("I frames queued", lapb.get("queued", 0)),
            ("Remote busy (RNR received)", _flag(lapb.get("remote_busy"))),
            ("Local busy (RNR sent)", _flag(lapb.get("local_busy"))),
            ("REJ sent, awaiting retransmission", _flag(lapb.get("reject"))),
            ("Poll sent, awaiting a final", _flag(lapb.get("polling"))),
            ("N1 / N2", f"{lapb.get('n1')} octets / {lapb.get('n2')} retries"),
            ("T1 / T2", f"{lapb.get('t1')} s / {lapb.get('t2')} s"),
        ]
    pairs += [
        ("Packet layer", f"{str(plp.get('role', '?')).upper()}, modulo {plp.get('modulo')}"),
        ("Restart state", _restart(plp.get("restart_state"))),
        ("Circuits in use", plp.get("circuits", 0)),
    ]
    out += rows(pairs)
    channels = data.get("ip_channels") or []
    if channels:
        out += ["", "IP channels:"]
        for ch in channels:
            where = f"PVC {ch['pvc']}" if ch.get("pvc") else f"SVC to {ch.get('remote') or '-'}"
            state = f"LCN {ch['lcn']}" if ch.get("lcn") is not None else "no call"
            state += ", connected" if ch.get("connected") else (", calling" if ch.get("lcn") else "")
            out.append(
                f"  {ch.get('interface') or ch.get('channel')}: {where}: {state}, {ch.get('queued', 0)} queued"
            )
    return "\n".join(out)


# -- statistics ------------------------------------------------------------------------


@renderer("sh")
def render_lapb_stats(data: dict[str, Any], args: argparse.Namespace) -> str:
    out = banner(data, "HDLC (LAPB) STATISTICS")
    role = str(data.get("role", "?")).upper()
    out += rows([("LAPB state", f"{data.get('state')} ({role}, modulo {data.get('modulo')})")])
    pairs, rest = _split_pairs(data.get("counters") or {})
    out += ["", *_pair_table(pairs, LAPB_PAIRS), ""]
    labelled = _labelled(rest, LAPB_LABELS)
    labelled += [(_words(k), v) for k, v in rest.items() if k not in LAPB_LABELS]
    out += rows(labelled)
    return "\n".join(out)


@renderer("sx")
def render_packet_layer_stats(data: dict[str, Any], args: argparse.Namespace) -> str:
    out = banner(data, "X.25 STATISTICS")
    role = str(data.get("role", "?")).upper()
    out += rows([("Restart state", f"{_restart(data.get('restart_state'))}, {role}")])
    pairs, rest = _split_pairs(data.get("counters") or {})
    out += ["", *_pair_table(pairs, PLP_PAIRS), ""]
    out += rows([("Restarts completed", rest.pop("restarts", 0)), *_labelled(rest, PLP_LABELS)])
    known = set(PLP_LABELS) | set(PLP_ERROR_LABELS)
    errors = _labelled(rest, PLP_ERROR_LABELS) + [(_words(k), v) for k, v in rest.items() if k not in known]
    if errors:
        out += ["", "Errors:", *rows(errors)]
    ip = data.get("ip") or {}
    if ip:
        ip_rows = _labelled(ip, IP_LABELS) + [(_words(k), v) for k, v in ip.items() if k not in IP_LABELS]
        out += ["", "IP over X.25 (RFC 1356) and unclaimed calls:", *rows(ip_rows)]
    return "\n".join(out)


@renderer("sl")
def render_lcn_stats(data: dict[str, Any], args: argparse.Namespace) -> str:
    out = banner(data, "LOGICAL CHANNEL STATISTICS")
    circuits = data.get("circuits") or []
    if not circuits:
        return "\n".join([*out, f"No circuits in use ({data.get('chosen', 'every circuit')})."])
    for c in circuits:
        owner = f" ({c['interface']})" if c.get("interface") else ""
        state = c.get("state")  # a PVC's is "pvc" while the packet layer is ready, "down" otherwise
        state = f"PVC, {'up' if state == 'pvc' else state}" if c.get("pvc") else f"SVC, {state}"
        out += ["", f"LCN {c.get('lcn')}{owner}: {state}"]
        size, window = c.get("packet_size") or {}, c.get("window") or {}
        out += rows(
            [
                ("Call state", CALL_STATES.get(str(c.get("p")), c.get("p"))),
                ("Reset state", RESET_STATES.get(str(c.get("d")), c.get("d"))),
                ("Packet size tx / rx", f"{size.get('tx')} / {size.get('rx')} octets"),
                ("Window tx / rx", f"{window.get('tx')} / {window.get('rx')} packets"),
                ("V(S) / V(R) / V(A)", f"{c.get('vs')} / {c.get('vr')} / {c.get('va')}"),
                ("Unacknowledged / queued", f"{c.get('unacked', 0)} / {c.get('queued', 0)}"),
                ("Peer busy (RNR received)", _flag(c.get("peer_busy"))),
                ("Local busy (RNR sent)", _flag(c.get("local_busy"))),
                ("Interrupt outstanding", _flag(c.get("interrupt_outstanding"))),
            ]
        )
        pairs, rest = _split_pairs(c.get("counters") or {})
        out += _pair_table(pairs, PLP_PAIRS)
        if rest:
            out += rows(
                [
                    ("Resets" if k == "resets" else "Messages lost" if k == "lost_messages" else _words(k), v)
                    for k, v in rest.items()
                ]
            )
    return "\n".join(out)


def _render_flush(data: dict[str, Any], args: argparse.Namespace) -> str:
    who = data.get("device", "?") + (f" ({data['interface']})" if data.get("interface") else "")
    return f"{who}: {data.get('flushed', 'statistics')} flushed ({data.get('counters', 0)} counters)"


for _code in ("fh", "fx", "fl"):
    renderer(_code)(_render_flush)


# -- options ----------------------------------------------------------------------------


class _LcnOption(argparse.Action):
    """``--lcn N``: the same as ``-p lcn=N`` (wanpipemon sends -p parameters with every request)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        namespace.params = [*(getattr(namespace, "params", None) or []), f"lcn={values}"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """wanpipemon's X.25 options (it calls this for the optional command modules)."""
    parser.add_argument(
        "-l", "--lcn", action=_LcnOption, type=int, metavar="LCN", help="X.25 logical channel (sl, fl)"
    )
