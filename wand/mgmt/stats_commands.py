"""Daemon side of wanpipemon's status, statistics and flush commands.

Every handler reads the line's status (the port's, through LineDriver.status)
and returns a small JSON-able dict named after what WANPIPE's monitors showed;
wand.mgmt.render turns it into text on the client.

Flushing
--------
Firmware counters are monotonic: nothing on the card resets them, and the
status files and SNMP-like readers must keep seeing them grow. So a flush
(`fs`, `fc`, `fe`, `fg`, `fi`, `fd`, `fo`) records a *baseline* of the
counters it covers, and every reply shows counter - baseline. Baselines
belong to the port object: a restarted line has a new port with fresh
counters and no baseline. A counter found below its baseline was reset
underneath us (a DLCI removed and re-added, a firmware swap): its baseline is
dropped and the raw value shown.
"""

from __future__ import annotations

import copy
import dataclasses
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from firmware_emu.chdlc.keepalive import KeepaliveCounters
from firmware_emu.chdlc.slarp import SlarpCounters
from firmware_emu.fr.lmi import LmiCounters
from firmware_emu.ppp.auth import AuthCounters
from firmware_emu.ppp.lcp import LcpCounters
from wand import __version__
from wand.mgmt.protocol import RC
from wand.mgmt.registry import MgmtContext, MgmtError, mgmt_command

if TYPE_CHECKING:
    from wand.line import LineDriver

FR = ("frame_relay",)
CHDLC = ("chdlc",)
PPP = ("ppp",)
DLCI_MIN, DLCI_MAX = 16, 1007

CounterPath = tuple[str | int, ...]


def _names(counters: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(counters))


# Which keys of the engines' semi-state dicts are counters (the rest are state:
# sequence numbers, timers, restart counts...). Taken from the firmware's own
# counter dataclasses, so a counter added there is flushable here at once.
LMI_COUNTERS = _names(LmiCounters)
LMI_ERROR_COUNTERS = frozenset(
    {"lmi_errors", "sequence_errors", "t391_timeouts", "t392_timeouts", "link_down_events"}
)
KEEPALIVE_COUNTERS = _names(KeepaliveCounters)
SLARP_COUNTERS = _names(SlarpCounters)
LCP_COUNTERS = _names(LcpCounters) | {"timeouts", "discarded"}
NCP_COUNTERS = frozenset({"timeouts", "discarded"})
AUTH_COUNTERS = _names(AuthCounters)
COMM_PORT_COUNTERS = frozenset({"rx_crc_errors", "rx_overruns"})


def _ints(
    prefix: CounterPath, box: Any, only: frozenset[str] | None = None
) -> Iterator[tuple[CounterPath, dict, str]]:
    """The int leaves of one dict (bools are not counters), optionally only `only`."""
    if not isinstance(box, dict):
        return
    for key, value in box.items():
        if isinstance(value, int) and not isinstance(value, bool) and (only is None or key in only):
            yield (*prefix, key), box, key


def counter_leaves(view: dict[str, Any]) -> Iterator[tuple[CounterPath, dict, str]]:
    """(stable path, containing dict, key) of every counter in a line view.

    Paths name DLCIs and auth roles by identity, not list position, so a
    baseline survives a DLCI being added in front of another.
    """
    yield from _ints(("counters",), view.get("counters"))
    yield from _ints(("line", "async"), (view.get("line") or {}).get("async"))
    for name, channel in (view.get("channels") or {}).items():
        yield from _ints(("channels", name), channel, frozenset({"rx_write_errors", "tx_not_ip"}))
    yield from _ints((), view, frozenset({"switch_drops", "rx_no_interface"}))
    yield from _ints(("cable",), view.get("cable"))
    proto = view.get("protocol") or {}
    yield from _ints(("protocol", "counters"), proto.get("counters"))
    yield from _ints(("protocol", "lmi"), proto.get("lmi"), LMI_COUNTERS)
    for dlci in proto.get("dlcis") or ():
        yield from _ints(("protocol", "dlcis", dlci.get("dlci", -1), "counters"), dlci.get("counters"))
    yield from _ints(("protocol", "keepalive"), proto.get("keepalive"), KEEPALIVE_COUNTERS)
    yield from _ints(("protocol", "slarp"), proto.get("slarp"), SLARP_COUNTERS)
    for ncp, names in (("lcp", LCP_COUNTERS), ("ipcp", NCP_COUNTERS), ("ipv6cp", NCP_COUNTERS)):
        box = proto.get(ncp)
        if isinstance(box, dict):
            yield from _ints(("protocol", ncp), box, names)
            yield from _ints(("protocol", ncp, "packets_sent"), box.get("packets_sent"))
            yield from _ints(("protocol", ncp, "packets_received"), box.get("packets_received"))
    for role in (proto.get("auth") or {}).get("roles") or ():
        ident = f"{role.get('role')}/{role.get('protocol')}"
        yield from _ints(("protocol", "auth", "roles", ident), role, AUTH_COUNTERS)
    # X.25: LAPB's counters, the packet layer's, and each circuit's (by LCN)
    link = proto.get("link")
    if isinstance(link, dict):
        yield from _ints(("protocol", "link", "counters"), link.get("counters"))
    plp = proto.get("packet_layer") or {}
    yield from _ints(("protocol", "packet_layer", "counters"), plp.get("counters"))
    for lcn, circuit in (plp.get("circuits") or {}).items():
        yield from _ints(("protocol", "packet_layer", "circuits", lcn, "counters"), circuit.get("counters"))


# -- flush categories: which counters each flush command resets -----------------


def _in_comm(path: CounterPath) -> bool:
    return (path[0] == "counters" and path[1] in COMM_PORT_COUNTERS) or path[:2] == ("line", "async")


def _in_driver(path: CounterPath) -> bool:
    return (path[0] == "counters" and not _in_comm(path)) or path[0] in (
        "channels",
        "cable",
        "switch_drops",
        "rx_no_interface",
    )


def _in_global(path: CounterPath) -> bool:
    return path[0] == "protocol" and path[1] in ("lmi", "keepalive", "slarp", "lcp", "ipcp", "ipv6cp", "auth")


def _in_errors(path: CounterPath) -> bool:
    return path[:2] == ("protocol", "counters") or (
        path[:2] == ("protocol", "lmi") and path[2] in LMI_ERROR_COUNTERS
    )


def _in_operational(path: CounterPath) -> bool:
    return path[:2] == ("protocol", "counters")


def _in_dlci(dlci: int | None) -> Callable[[CounterPath], bool]:
    def match(path: CounterPath) -> bool:
        return path[:2] == ("protocol", "dlcis") and (dlci is None or path[2] == dlci)

    return match


def _everything(path: CounterPath) -> bool:
    return True


# -- baselines -------------------------------------------------------------------

# port object -> {counter path: value at the last flush}. Weak: a stopped
# line's port goes away with its baselines.
_BASELINES: weakref.WeakKeyDictionary[Any, dict[CounterPath, int]] = weakref.WeakKeyDictionary()


def line_view(line: LineDriver) -> dict[str, Any]:
    """The line's status plus its cable counters, with every flushed counter rebased."""
    view = copy.deepcopy(line.status())
    if line.transport is not None:
        view["cable"] = dict(vars(line.transport.counters))
    port = line.port
    baseline = _BASELINES.get(port) if port is not None else None
    if baseline:
        for path, box, key in counter_leaves(view):
            base = baseline.get(path)
            if base is None:
                continue
            if box[key] >= base:
                box[key] -= base
            else:  # reset underneath us: the raw value is already "since the reset"
                del baseline[path]
    return view


def flush(line: LineDriver, match: Callable[[CounterPath], bool]) -> int:
    """Set the baseline of every counter `match` selects to its present value; how many."""
    port = line.port
    if port is None:
        raise MgmtError(f"{line.name} is not running", RC.NOT_RUNNING)
    raw = copy.deepcopy(line.status())
    if line.transport is not None:
        raw["cable"] = dict(vars(line.transport.counters))
    baseline = _BASELINES.setdefault(port, {})
    flushed = 0
    for path, box, key in counter_leaves(raw):
        if match(path):
            baseline[path] = box[key]
            flushed += 1
    return flushed


# -- helpers -----------------------------------------------------------------------


def _view(ctx: MgmtContext) -> dict[str, Any]:
    view = line_view(ctx.line)
    if "protocol" not in view:
        raise MgmtError(f"{ctx.line.name} is not running", RC.NOT_RUNNING)
    return view


def _head(ctx: MgmtContext) -> dict[str, Any]:
    return {"device": ctx.line.name, "protocol": ctx.line.cfg.protocol_name, "interface": ctx.ifname}


def _dlci_param(ctx: MgmtContext, params: dict[str, Any]) -> int | None:
    """-d DLCI, else the DLCI of the interface the request named, else None (all)."""
    dlci = params.get("dlci")
    if dlci is None:
        return ctx.channel.number if ctx.channel is not None else None
    if isinstance(dlci, str) and dlci.isdigit():
        dlci = int(dlci)
    if not isinstance(dlci, int) or isinstance(dlci, bool) or not DLCI_MIN <= dlci <= DLCI_MAX:
        raise MgmtError(f"dlci must be a number {DLCI_MIN}..{DLCI_MAX}, not {dlci!r}", RC.BAD_REQUEST)
    return dlci


def _carrier(line: LineDriver) -> bool:
    """DCD: is the far end of the cable attached? (unix: connected; tty: not hung up)."""
    transport = line.transport
    if transport is None:
        return False
    connected = getattr(transport, "connected", None)
    if isinstance(connected, bool):
        return connected
    return "absent" not in transport.describe() and "closed" not in transport.describe()


def _flushed(ctx: MgmtContext, what: str, count: int) -> dict[str, Any]:
    return {**_head(ctx), "flushed": what, "counters": count}


# -- card status: every protocol -------------------------------------------------


@mgmt_command("xm", "Modem status: line type, rate, clocking, framing/coding, cable carrier (DCD/CTS)")
def modem_status(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    line = ctx.line
    cfg = line.cfg.line
    view = _view(ctx)
    port_line = view.get("line", {})
    carrier = _carrier(line)
    return {
        **_head(ctx),
        "line": {
            "type": cfg.kind,
            "bit_rate": cfg.bit_rate,
            "clock": cfg.clock,
            "clock_rate": cfg.clock_rate,
            "framing": cfg.framing if cfg.kind != "serial" else None,
            "coding": cfg.coding if cfg.kind != "serial" else None,
            "timeslots": list(cfg.timeslots) if cfg.timeslots is not None else None,
            "hdlc": port_line.get("framing", "sync"),
            "tx_queue": port_line.get("tx_queue"),
            "tx_queue_len": port_line.get("tx_queue_len"),
        },
        "cable": view.get("transport"),
        "dcd": carrier,  # the far end is attached
        "cts": carrier and bool(view.get("running")) and not line.tx_paused,  # we may send now
    }


@mgmt_command("xl", "Link status: operative or not, and the protocol state")
def link_status(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    view = _view(ctx)
    proto = view["protocol"]
    state = proto.get("link") or proto.get("phase") or "?"
    operative = bool(proto.get("link_up"))
    station = proto.get("station") or (proto.get("lmi") or {}).get("role")
    if isinstance(state, dict):  # X.25: LAPB's status (or XOT's); usable once the packet layer is
        plp = proto.get("packet_layer") or {}
        operative = bool(plp.get("ready"))
        station = state.get("role") or plp.get("role")
        state = f"{state.get('state') or state.get('type')}, packet layer {plp.get('restart_state', '?')}"
    return {
        **_head(ctx),
        "operative": operative,
        "state": state,
        "station": station,
        "channels": {name: ch.get("usable", False) for name, ch in view.get("channels", {}).items()},
    }


@mgmt_command("xru", "Router up time: how long the daemon has run")
def router_up_time(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    return {**_head(ctx), "uptime": round(ctx.daemon.uptime(), 1)}


@mgmt_command("xcv", "Code version: the port's firmware and wand's version")
def code_version(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    port = ctx.line.port
    if port is None:
        raise MgmtError(f"{ctx.line.name} is not running", RC.NOT_RUNNING)
    version = getattr(port, "firmware_version", None)
    if version in (None, "?"):
        from firmware_emu.adapter.firmware import FIRMWARE

        version = FIRMWARE.get(port.firmware, (None, "?"))[1]
    return {**_head(ctx), "firmware": port.firmware, "firmware_version": version, "wand": __version__}


@mgmt_command("sc", "Communication error statistics: CRC, abort, overrun, too short/long")
def comm_errors(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    view = _view(ctx)
    counters = view.get("counters", {})
    deframer = view.get("line", {}).get("async") or {}
    return {
        **_head(ctx),
        "hdlc": view.get("line", {}).get("framing", "sync"),
        "crc_errors": counters.get("rx_crc_errors", 0) if not deframer else deframer.get("crc_errors", 0),
        "overruns": counters.get("rx_overruns", 0),
        "aborts": deframer.get("aborts", 0),
        "too_short": deframer.get("too_short", 0),
        # sync: the cable carries whole frames; one larger than any frame is refused there
        "too_long": deframer.get("too_long", 0) + view.get("cable", {}).get("rx_errors", 0),
        "rx_while_stopped": counters.get("rx_while_stopped", 0),
    }


@mgmt_command("dg", "Driver statistics: port, interfaces, cable and management counters")
def driver_stats(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    view = _view(ctx)
    mgmt = getattr(ctx.daemon, "mgmt", None)
    return {
        **_head(ctx),
        "port": view.get("counters", {}),
        "tx_queue": view.get("line", {}).get("tx_queue"),
        "channels": view.get("channels", {}),
        "switch_drops": view.get("switch_drops", 0),
        "rx_no_interface": view.get("rx_no_interface", 0),
        "cable": view.get("cable", {}),
        "mgmt": mgmt.counters() if mgmt is not None else {},
    }


# -- flush: every protocol (writes: host side only) ----------------------------------


@mgmt_command("fs", "Flush all statistics of the device", writes=True)
def flush_all(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    return _flushed(ctx, "all statistics", flush(ctx.line, _everything))


@mgmt_command("fc", "Flush communication error statistics", writes=True)
def flush_comm(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    return _flushed(ctx, "communication error statistics", flush(ctx.line, _in_comm))


@mgmt_command("fd", "Flush driver statistics", writes=True)
def flush_driver(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    return _flushed(ctx, "driver statistics", flush(ctx.line, _in_driver))


@mgmt_command(
    "fg", "Flush global statistics (FR: LMI; CHDLC: SLARP/keepalive; PPP: LCP/auth/NCP)", writes=True
)
def flush_global(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    return _flushed(ctx, "global statistics", flush(ctx.line, _in_global))


# -- Frame Relay ------------------------------------------------------------------------


def _dlci_row(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "dlci": d.get("dlci"),
        "state": d.get("state"),
        "usable": d.get("usable"),
        "mode": d.get("mode"),
        "address": d.get("address"),
        "peer_address": d.get("peer_address"),
    }


@mgmt_command(
    "cl", "List DLCIs: configured PVCs and their state (active, inactive, new, deleted)", protocols=FR
)
def list_dlcis(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    proto = _view(ctx)["protocol"]
    channels = {ch.number: ch.name for ch in ctx.line.channels.values()}
    rows = [{**_dlci_row(d), "interface": channels.get(d.get("dlci"))} for d in proto.get("dlcis", [])]
    return {**_head(ctx), "operative": bool(proto.get("link_up")), "dlcis": rows}


@mgmt_command(
    "clr", "List all reported DLCIs: as the LMI sees them, unconfigured ones included", protocols=FR
)
def list_reported_dlcis(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    proto = _view(ctx)["protocol"]
    rows = [_dlci_row(d) for d in proto.get("dlcis", [])]
    unconfigured = (proto.get("lmi") or {}).get("unconfigured_pvcs") or []
    rows += [{"dlci": dlci, "state": "active", "configured": False} for dlci in unconfigured]
    return {
        **_head(ctx),
        "operative": bool(proto.get("link_up")),
        "signalling": proto.get("signalling"),
        "dlcis": sorted(rows, key=lambda r: r["dlci"]),
    }


@mgmt_command(
    "sg", "Global statistics (FR: LMI enquiries and status; PPP: LCP, echo, NCPs)", protocols=FR + PPP
)
def global_stats(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    proto = _view(ctx)["protocol"]
    if ctx.line.cfg.protocol_name == "ppp":
        return {**_head(ctx), **_ppp_global(proto)}
    lmi = proto.get("lmi") or {}
    return {
        **_head(ctx),
        "station": proto.get("station"),
        "signalling": proto.get("signalling"),
        "role": lmi.get("role"),
        "state": lmi.get("state"),
        **{key: lmi.get(key, 0) for key in sorted(LMI_COUNTERS)},
        "ssn": lmi.get("tx_seq"),  # current send sequence number
        "rsn": lmi.get("rx_seq"),  # current receive sequence number
        "n392": lmi.get("n392"),
        "n393": lmi.get("n393"),
        "errors_in_window": lmi.get("errors_in_window", 0),
        "error_window": lmi.get("error_window", []),
    }


@mgmt_command(
    "se", "Error statistics: unknown DLCI, malformed, T391/T392 timeouts, N392 threshold", protocols=FR
)
def error_stats(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    proto = _view(ctx)["protocol"]
    counters = proto.get("counters") or {}
    lmi = proto.get("lmi") or {}
    return {
        **_head(ctx),
        "role": lmi.get("role"),
        "unknown_dlci": counters.get("unknown_dlci", 0),
        "inactive_dlci": counters.get("inactive_dlci", 0),
        "malformed": counters.get("malformed", 0),
        "unknown_protocol": counters.get("unknown_protocol", 0),
        "lmi_errors": counters.get("lmi_errors", 0),
        "sequence_errors": lmi.get("sequence_errors", 0),
        "t391_timeouts": counters.get("t391_timeouts", 0),
        "t392_timeouts": counters.get("t392_timeouts", 0),
        # the link goes down when N392 of the last N393 events were errors
        "n392_threshold_reached": counters.get("link_down_events", 0),
    }


@mgmt_command("sd", "DLCI statistics (-d DLCI): frames and bytes, DE/FECN/BECN, Inverse ARP", protocols=FR)
def dlci_stats(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    wanted = _dlci_param(ctx, params)
    proto = _view(ctx)["protocol"]
    rows = [
        {**_dlci_row(d), **(d.get("counters") or {})}
        for d in proto.get("dlcis", [])
        if wanted is None or d.get("dlci") == wanted
    ]
    if wanted is not None and not rows:
        known = ", ".join(str(d.get("dlci")) for d in proto.get("dlcis", [])) or "none"
        raise MgmtError(f"{ctx.line.name} has no DLCI {wanted} (configured: {known})", RC.ERROR)
    return {**_head(ctx), "dlcis": rows}


@mgmt_command("fe", "Flush error statistics", writes=True, protocols=FR)
def flush_errors(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    return _flushed(ctx, "error statistics", flush(ctx.line, _in_errors))


@mgmt_command(
    "fi",
    "Flush DLCI statistics (-d DLCI, else the named interface's, else every DLCI)",
    writes=True,
    protocols=FR,
)
def flush_dlci(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    dlci = _dlci_param(ctx, params)
    what = "DLCI statistics" if dlci is None else f"DLCI {dlci} statistics"
    return _flushed(ctx, what, flush(ctx.line, _in_dlci(dlci)))


# -- Cisco HDLC ------------------------------------------------------------------------


@mgmt_command(
    "ss", "SLARP and keepalive statistics: sent/received/missed, my/your seq, loops", protocols=CHDLC
)
def slarp_stats(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    proto = _view(ctx)["protocol"]
    keepalive = proto.get("keepalive") or {}
    slarp = proto.get("slarp") or {}
    return {
        **_head(ctx),
        "state": keepalive.get("state"),
        "interval": keepalive.get("interval"),
        "error_margin": keepalive.get("error_margin"),
        "my_seq": keepalive.get("my_seq"),
        "your_seq": keepalive.get("your_seq"),
        "misses_in_a_row": keepalive.get("misses_in_a_row"),
        "keepalive": {key: keepalive.get(key, 0) for key in sorted(KEEPALIVE_COUNTERS)},
        "slarp": {key: slarp.get(key, 0) for key in sorted(SLARP_COUNTERS)},
        "address": slarp.get("address"),
        "prefix": slarp.get("prefix"),
        "peer_address": slarp.get("peer_address"),
        "learn_address": slarp.get("learn_address"),
    }


@mgmt_command("so", "Operational statistics: frames and bytes each way, drops", protocols=CHDLC + PPP)
def operational_stats(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    view = _view(ctx)
    return {
        **_head(ctx),
        "operative": bool(view["protocol"].get("link_up")),
        "counters": view["protocol"].get("counters") or {},
    }


@mgmt_command("fo", "Flush operational statistics", writes=True, protocols=CHDLC + PPP)
def flush_operational(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    return _flushed(ctx, "operational statistics", flush(ctx.line, _in_operational))


# -- PPP -------------------------------------------------------------------------------


def _ppp_global(proto: dict[str, Any]) -> dict[str, Any]:
    lcp = proto.get("lcp") or {}
    return {
        "phase": proto.get("phase"),
        "lcp": {key: lcp.get(key, 0) for key in sorted(LCP_COUNTERS)},
        "lcp_packets_sent": lcp.get("packets_sent", {}),
        "lcp_packets_received": lcp.get("packets_received", {}),
        "echo_failures": (proto.get("counters") or {}).get("echo_timeouts", 0),
        "ncp": {
            name: {
                "state": box.get("state"),
                "packets_sent": box.get("packets_sent", {}),
                "packets_received": box.get("packets_received", {}),
                "timeouts": box.get("timeouts", 0),
                "discarded": box.get("discarded", 0),
            }
            for name in ("ipcp", "ipv6cp")
            if isinstance(box := proto.get(name), dict)
        },
    }


@mgmt_command("xs", "PPP state: phase, LCP/auth/IPCP/IPV6CP states", protocols=PPP)
def ppp_state(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    proto = _view(ctx)["protocol"]
    auth = proto.get("auth") or {}
    ipv6 = proto.get("ipv6cp")
    return {
        **_head(ctx),
        "phase": proto.get("phase"),
        "framing": proto.get("framing"),
        "link_up": proto.get("link_up"),
        "usable": proto.get("usable"),
        "looped": proto.get("looped"),
        "lcp": (proto.get("lcp") or {}).get("state"),
        "auth": {
            "require": auth.get("require"),
            "result": auth.get("result"),
            "roles": [
                {k: role.get(k) for k in ("role", "protocol", "state", "peer_name", "reason")}
                for role in auth.get("roles", [])
            ],
        },
        "ipcp": (proto.get("ipcp") or {}).get("state"),
        "ipv6cp": ipv6.get("state") if isinstance(ipv6, dict) else None,
    }


@mgmt_command("xn", "PPP negotiated options: MRU, ACCM, magic, PFC/ACFC, auth, addresses", protocols=PPP)
def ppp_negotiation(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    proto = _view(ctx)["protocol"]
    lcp = proto.get("lcp") or {}
    ipcp = proto.get("ipcp") or {}
    ipv6 = proto.get("ipv6cp")
    return {
        **_head(ctx),
        "lcp_state": lcp.get("state"),
        "local": lcp.get("local", {}),
        "peer": lcp.get("peer", {}),
        "echo": lcp.get("echo", {}),
        "ipcp": {
            key: ipcp.get(key)
            for key in ("state", "local_address", "peer_address", "requesting", "assigned_by_peer")
        },
        "ipv6cp": {k: v for k, v in ipv6.items() if not isinstance(v, dict)}
        if isinstance(ipv6, dict)
        else None,
    }


@mgmt_command("sa", "PPP authentication statistics: PAP/CHAP roles, results, packets", protocols=PPP)
def ppp_auth_stats(ctx: MgmtContext, params: dict[str, Any]) -> dict[str, Any]:
    proto = _view(ctx)["protocol"]
    auth = proto.get("auth") or {}
    return {
        **_head(ctx),
        "require": auth.get("require"),
        "authenticate_to_peer": auth.get("authenticate_to_peer"),
        "result": auth.get("result"),
        "failures": (proto.get("counters") or {}).get("auth_failures", 0),
        "roles": auth.get("roles", []),
    }
