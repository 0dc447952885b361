"""Daemon side of wanpipemon's X.25 commands: LAPB, the packet layer, and each logical channel.

Named after WANPIPE's X.25 monitor where it had one (``sh`` HDLC statistics,
``sx`` X.25 statistics, ``fh`` flush HDLC statistics); the rest follow the
same letters (x = status, s = statistics, f = flush):

====  ============================================================================
xh    X.25 link status: LAPB state, role, modulo, V(S)/V(R)/V(A), busy conditions,
      and the packet layer's restart state; the IP channels' calls
sh    HDLC (LAPB) statistics: frames of each type both ways, retransmissions, T1
      timeouts, errors
sx    X.25 statistics: restarts, calls, clears, resets, interrupts, diagnostics,
      errors; IP-over-X.25 calls
sl    logical channel statistics (``-p lcn=N``, ``--lcn N``; default: the named
      interface's circuit, else every circuit): state, windows, sequence numbers
fh    flush HDLC statistics          fx  flush X.25 statistics
fl    flush logical channel statistics (same choice of LCN as sl)
====  ============================================================================

The shared commands (``xm``, ``xl``, ``xru``, ``xcv``, ``sc``, ``dg`` and the
flushes ``fs``/``fc``/``fd``) work on X.25 lines too. Every reply reads the
line's status (``X25Engine.status()`` under ``"protocol"``) through
stats_commands.line_view, so flushed counters show since the flush.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from wand.mgmt.protocol import RC
from wand.mgmt.registry import MgmtContext, MgmtError, mgmt_command
from wand.mgmt.stats_commands import CounterPath, flush, line_view

X25: Final = ("x25",)
LCN_MIN, LCN_MAX = 1, 4095  # LCN 0 carries restarts and diagnostics, never a circuit
LAPB_STATE_KEYS: Final = (
    "state",
    "role",
    "modulo",
    "k",
    "n1",
    "n2",
    "t1",
    "t2",
    "vs",
    "vr",
    "va",
    "remote_busy",
    "local_busy",
    "reject",
    "polling",
    "outstanding",
    "queued",
)
CIRCUIT_KEYS: Final = (
    "state",
    "pvc",
    "p",
    "d",
    "packet_size",
    "window",
    "vs",
    "va",
    "vr",
    "unacked",
    "peer_busy",
    "local_busy",
    "queued",
    "interrupt_outstanding",
)


def _head(ctx: MgmtContext) -> dict[str, Any]:
    return {"device": ctx.line.name, "protocol": ctx.line.cfg.protocol_name, "interface": ctx.ifname}


def _protocol(ctx: MgmtContext) -> dict[str, Any]:
    view = line_view(ctx.line)
    proto = view.get("protocol")
    if not isinstance(proto, dict):
        raise MgmtError(f"{ctx.line.name} is not running", RC.NOT_RUNNING)
    return proto


def _plp(proto: dict[str, Any]) -> dict[str, Any]:
    plp = proto.get("packet_layer")
    return plp if isinstance(plp, dict) else {}


def _lapb(proto: dict[str, Any]) -> dict[str, Any] | None:
    """LAPB's status, None on an XOT line (packets over TCP: no link layer of ours)."""
    link = proto.get("link")
    if isinstance(link, dict) and link.get("type") != "xot":
        return link
    return None


def _circuits(proto: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The circuits that are not idle, by LCN (the keys are strings once the status went through JSON)."""
    out = {}
    for lcn, circuit in (_plp(proto).get("circuits") or {}).items():
        if isinstance(circuit, dict) and str(lcn).isdigit():
            out[int(lcn)] = circuit
    return out


def _ip_channels(ctx: MgmtContext, proto: dict[str, Any]) -> list[dict[str, Any]]:
    names = {ch.number: ch.name for ch in ctx.line.channels.values()}
    rows = []
    for channel, ip in (proto.get("ip_channels") or {}).items():
        number = int(channel) if str(channel).isdigit() else channel
        rows.append({"interface": names.get(number), "channel": number, **ip})
    return sorted(rows, key=lambda r: str(r["interface"]))


def _lcn_param(ctx: MgmtContext, params: dict[str, Any], proto: dict[str, Any]) -> tuple[int | None, str]:
    """(LCN or None for every circuit, what was chosen): -p lcn=N, else the named interface's circuit."""
    lcn = params.get("lcn")
    if lcn is not None:
        if isinstance(lcn, str) and lcn.isdigit():
            lcn = int(lcn)
        if not isinstance(lcn, int) or isinstance(lcn, bool) or not LCN_MIN <= lcn <= LCN_MAX:
            raise MgmtError(f"lcn must be a number {LCN_MIN}..{LCN_MAX}, not {lcn!r}", RC.BAD_REQUEST)
        return lcn, f"LCN {lcn}"
    if ctx.channel is not None:
        for row in _ip_channels(ctx, proto):
            if row["channel"] == ctx.channel.number:
                if row.get("lcn") is None:
                    raise MgmtError(
                        f"{ctx.channel.name} has no call up (remote {row.get('remote')})",
                        RC.ERROR,
                    )
                return int(row["lcn"]), f"LCN {row['lcn']} ({ctx.channel.name})"
    return None, "every circuit"


def _flushed(ctx: MgmtContext, what: str, count: int) -> dict[str, Any]:
    return {**_head(ctx), "flushed": what, "counters": count}


# -- status ---------------------------------------------------------------------------


@mgmt_command(
    "xh",
    "X.25 link status: LAPB state, V(S)/V(R)/V(A), busy conditions; packet layer restart state; IP calls",
    protocols=X25,
)
def x25_link_status(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    proto = _protocol(ctx)
    plp = _plp(proto)
    lapb = _lapb(proto)
    return {
        **_head(ctx),
        "link": "lapb" if lapb is not None else "xot",
        "operative": bool(plp.get("ready")),
        "lapb": {key: lapb.get(key) for key in LAPB_STATE_KEYS} if lapb is not None else None,
        "packet_layer": {
            "role": plp.get("role"),
            "modulo": plp.get("modulo"),
            "link_up": plp.get("link_up"),
            "ready": plp.get("ready"),
            "restart_state": plp.get("restart_state"),
            "circuits": len(_circuits(proto)),
        },
        "ip_channels": _ip_channels(ctx, proto),
    }


# -- statistics -----------------------------------------------------------------------


@mgmt_command(
    "sh",
    "HDLC (LAPB) statistics: I/RR/RNR/REJ/SABM/UA/DISC/DM/FRMR each way, retransmissions, T1 timeouts",
    protocols=X25,
)
def lapb_stats(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    lapb = _lapb(_protocol(ctx))
    if lapb is None:
        raise MgmtError(f"{ctx.line.name} carries X.25 over TCP (XOT): it has no LAPB link", RC.ERROR)
    return {
        **_head(ctx),
        "state": lapb.get("state"),
        "role": lapb.get("role"),
        "modulo": lapb.get("modulo"),
        "counters": dict(lapb.get("counters") or {}),
    }


@mgmt_command(
    "sx",
    "X.25 statistics: restarts, calls, clears, resets, interrupts, diagnostics, errors; IP calls",
    protocols=X25,
)
def packet_layer_stats(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    proto = _protocol(ctx)
    plp = _plp(proto)
    return {
        **_head(ctx),
        "role": plp.get("role"),
        "restart_state": plp.get("restart_state"),
        "counters": dict(plp.get("counters") or {}),
        "ip": dict(proto.get("counters") or {}),
    }


@mgmt_command(
    "sl",
    "Logical channel statistics (--lcn N; default the interface's circuit, else all): state, windows, counters",
    protocols=X25,
)
def lcn_stats(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    proto = _protocol(ctx)
    wanted, chosen = _lcn_param(ctx, params, proto)
    owners = {row["lcn"]: row["interface"] for row in _ip_channels(ctx, proto) if row.get("lcn") is not None}
    rows = [
        {
            "lcn": lcn,
            "interface": owners.get(lcn),
            **{key: circuit.get(key) for key in CIRCUIT_KEYS},
            "counters": dict(circuit.get("counters") or {}),
        }
        for lcn, circuit in sorted(_circuits(proto).items())
        if wanted is None or lcn == wanted
    ]
    if wanted is not None and not rows:
        active = ", ".join(str(lcn) for lcn in sorted(_circuits(proto))) or "none"
        raise MgmtError(f"{ctx.line.name} has no circuit on LCN {wanted} (in use: {active})", RC.ERROR)
    return {**_head(ctx), "chosen": chosen, "circuits": rows}


# -- flushes (host side only) -----------------------------------------------------------------


def _in_lapb(path: CounterPath) -> bool:
    return path[:3] == ("protocol", "link", "counters")


def _in_packet_layer(path: CounterPath) -> bool:
    return path[:3] == ("protocol", "packet_layer", "counters") or path[:2] == ("protocol", "counters")


def _in_circuit(lcn: int | None) -> Callable[[CounterPath], bool]:
    def match(path: CounterPath) -> bool:
        if path[:3] != ("protocol", "packet_layer", "circuits"):
            return False
        return lcn is None or str(path[3]) == str(lcn)

    return match


@mgmt_command("fh", "Flush HDLC (LAPB) statistics", writes=True, protocols=X25)
def flush_lapb(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    if _lapb(_protocol(ctx)) is None:
        raise MgmtError(f"{ctx.line.name} carries X.25 over TCP (XOT): it has no LAPB link", RC.ERROR)
    return _flushed(ctx, "HDLC (LAPB) statistics", flush(ctx.line, _in_lapb))


@mgmt_command("fx", "Flush X.25 (packet layer and IP call) statistics", writes=True, protocols=X25)
def flush_packet_layer(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    return _flushed(ctx, "X.25 statistics", flush(ctx.line, _in_packet_layer))


@mgmt_command(
    "fl",
    "Flush logical channel statistics (--lcn N, the named interface's circuit, or all)",
    writes=True,
    protocols=X25,
)
def flush_lcn(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    lcn, chosen = _lcn_param(ctx, params, _protocol(ctx))
    return _flushed(ctx, f"logical channel statistics of {chosen}", flush(ctx.line, _in_circuit(lcn)))
