"""The Frame Relay `protocol:` section and the `switch:` section that only FR has.

Limits follow Linux hdlc_fr.c (fr_ioctl) where it has one, and the messages
name its rule so that an engineer who knows sethdlc recognises them:
t391 >= 1, t392 >= 2, n391 >= 1, n392 >= 1, n393 >= n392, n393 <= 32, and user
DLCIs 16..1007 (0 and 1023 carry LMI, the rest are reserved by Q.922).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

from firmware_emu.fr.config import DlciConfig, Encapsulation, FrameRelayConfig, Signalling, Station
from wand.config.fields import Section, Sink, as_int, as_section, as_str, item
from wand.config.model import SwitchConfig
from wand.config.yamlpos import Node, Scalar

FR_KEYS = ("type", "station", "signalling", "encapsulation", "t391", "t392", "n391", "n392", "n393", "dlcis")
DLCI_KEYS = ("dlci", "cir", "bc", "be", "inarp")
SWITCH_KEYS = ("dlci", "to")

STATIONS = ("cpe", "node")
# What other vendors call them: sethdlc says dte/dce, Cisco "frame-relay switching" says dce.
STATION_ALIASES = {"dte": "cpe", "dce": "node", "switch": "node"}
# Cisco's "lmi-type" names, as an engineer might type them from a router config.
SIGNALLING_ALIASES = {"annexd": "ansi", "annex-d": "ansi", "ccitt": "q933", "annexa": "q933", "lmi": "cisco"}
SIGNALLINGS = ("ansi", "q933", "cisco", "none")
ENCAPSULATIONS = ("ietf", "cisco")

DLCI_MIN = 16
DLCI_MAX = 1007

# The kernel counts T391 in whole seconds and refuses less than 1. We accept
# fractions down to 0.1 s because the test suite runs the LMI with compressed
# timers (a link that takes 6 x 10 s to show full status would make every
# integration test a minute long); production configs should stay >= 1.
T391_MIN = 0.1
N391_MAX = 255  # the full-status polling counter is one octet on the wire
N39X_MAX = 32  # kernel: n393 <= 32, and n392 <= n393

_SWITCH_TARGET = re.compile(r"^wanpipe(\d+):(\d+)$")
DEVICE_MAX = 16


@dataclass(frozen=True)
class FrameRelayResult:
    config: FrameRelayConfig | None  # None when anything in the section was wrong
    station: str | None  # known even when config is None, for the switch rules
    # Every DLCI number written under dlcis, valid or not: an interface on a
    # DLCI that was declared out of range must not get a second "not declared"
    # error on top of the range error already reported.
    declared: frozenset[int]


def read_dlci(sink: Sink, node: Node, path: str) -> int | None:
    number = as_int(sink, node, path)
    if number is not None and not DLCI_MIN <= number <= DLCI_MAX:
        sink.add(node.mark, path, f"DLCI {number} is reserved: user DLCIs are {DLCI_MIN}..{DLCI_MAX}")
        return None
    return number


def read_frame_relay(section: Section) -> FrameRelayResult:
    sink = section.sink
    station = section.choice("station", STATIONS, "cpe", aliases=STATION_ALIASES)
    signalling = section.choice("signalling", SIGNALLINGS, "ansi", aliases=SIGNALLING_ALIASES)
    encapsulation = section.choice("encapsulation", ENCAPSULATIONS, "ietf")
    t391, t392 = _timers(section)
    n391, n392, n393 = _counters(section)
    dlcis, declared = _dlcis(sink, section)
    values = (station, signalling, encapsulation, t391, t392, n391, n392, n393, dlcis)
    if any(value is None for value in values):
        return FrameRelayResult(None, station, declared)
    assert t391 is not None and t392 is not None and n391 is not None and n392 is not None
    assert n393 is not None and dlcis is not None
    config = FrameRelayConfig(
        station=cast(Station, station),  # narrowed by choice()
        signalling=cast(Signalling, signalling),
        encapsulation=cast(Encapsulation, encapsulation),
        t391=t391,
        t392=t392,
        n391=n391,
        n392=n392,
        n393=n393,
        dlcis=dlcis,
    )
    return FrameRelayResult(config, station, declared)


def _timers(section: Section) -> tuple[float | None, float | None]:
    sink = section.sink
    t391 = section.number("t391", 10.0)
    if t391 is not None and t391 < T391_MIN:
        sink.add(
            section.where("t391"),
            section.key("t391"),
            f"t391 {t391:g} s is too short: kernel rule t391 >= 1 s ({T391_MIN:g} s allowed for test timers)",
        )
        t391 = None
    t392 = section.number("t392", 15.0)
    if t391 is not None and t392 is not None and not t392 > t391:
        # Blame whichever of the two the operator actually wrote.
        blame = "t392" if section.has("t392") or not section.has("t391") else "t391"
        sink.add(
            section.where(blame),
            section.key(blame),
            f"t392 ({t392:g} s) must be greater than t391 ({t391:g} s): the switch must allow "
            "a full polling interval before counting a missed poll",
        )
        t392 = None
    return t391, t392


def _counters(section: Section) -> tuple[int | None, int | None, int | None]:
    sink = section.sink
    n391 = _counter(section, "n391", 6, N391_MAX, "kernel rule n391 >= 1; one octet on the wire")
    n392 = _counter(section, "n392", 3, N39X_MAX, "kernel rule n392 >= 1")
    n393 = _counter(section, "n393", 4, N39X_MAX, "kernel rule n393 <= 32")
    if n392 is not None and n393 is not None and n392 > n393:
        blame = "n392" if section.has("n392") or not section.has("n393") else "n393"
        sink.add(
            section.where(blame),
            section.key(blame),
            f"n392 ({n392}) must not exceed n393 ({n393}): kernel rule n393 >= n392 "
            "(errors are counted within the last n393 events)",
        )
        return n391, None, None
    return n391, n392, n393


def _counter(section: Section, key: str, default: int, high: int, rule: str) -> int | None:
    value = section.integer(key, default)
    if value is not None and not 1 <= value <= high:
        section.sink.add(
            section.where(key), section.key(key), f"{key} {value} is out of range 1..{high} ({rule})"
        )
        return None
    return value


def _dlcis(sink: Sink, section: Section) -> tuple[tuple[DlciConfig, ...] | None, frozenset[int]]:
    path = section.key("dlcis")
    configs: list[DlciConfig] = []
    declared: set[int] = set()
    first_line: dict[int, int] = {}
    ok = True
    for index, node in enumerate(section.items("dlcis")):
        entry_path = item(path, index)
        # `- 16` is shorthand for `- {dlci: 16}`: most PVCs need nothing else.
        if isinstance(node, Scalar):
            number_node: Node | None = node
            dlci_path = entry_path
            entry = None
        else:
            entry = as_section(sink, node, entry_path, DLCI_KEYS)
            if entry is None:
                ok = False
                continue
            number_node = entry.require("dlci")
            dlci_path = entry.key("dlci")
        if number_node is None:
            ok = False
            continue
        written = number_node.value if isinstance(number_node, Scalar) else None
        if isinstance(written, int) and not isinstance(written, bool):
            declared.add(written)
        number = read_dlci(sink, number_node, dlci_path)
        if number is not None and number in first_line:
            sink.add(
                number_node.mark, dlci_path, f"DLCI {number} is already declared at line {first_line[number]}"
            )
            number = None
        elif number is not None:
            first_line[number] = number_node.mark.line
        config = _dlci_options(entry, number)
        if config is None:
            ok = False
        else:
            configs.append(config)
    return (tuple(configs) if ok else None), frozenset(declared)


def _dlci_options(entry: Section | None, number: int | None) -> DlciConfig | None:
    if entry is None:
        return None if number is None else DlciConfig(dlci=number)
    # Rates in bits/s and bursts in bits, as on the carrier's PVC order.
    cir = entry.integer("cir", lo=0)
    bc = entry.integer("bc", lo=0)
    be = entry.integer("be", lo=0)
    inarp = entry.boolean("inarp", False)
    bad = any(entry.has(key) and value is None for key, value in (("cir", cir), ("bc", bc), ("be", be)))
    if number is None or inarp is None or bad:
        return None
    return DlciConfig(dlci=number, cir=cir, bc=bc, be=be, inarp=inarp)


# --- switch: -------------------------------------------------------------------


def read_switch(
    top: Section, device: str | None, station: str | None, declared: frozenset[int] | None
) -> tuple[tuple[SwitchConfig, ...] | None, dict[int, str]]:
    """The switch entries, and for each switched DLCI the path of its entry.

    Targets on other devices are checked by load_configs, which sees them all.

    `declared` is None when the protocol section was unusable: membership is
    then unknown, and guessing would only add noise.
    """
    sink = top.sink
    nodes = top.items("switch")
    if nodes and station == "cpe":
        sink.add(
            top.key_mark("switch"),
            "switch",
            "switching needs station: node (a carrier port); this port is station: cpe",
        )
    entries: list[SwitchConfig] = []
    used: dict[int, str] = {}
    ok = not (nodes and station == "cpe")
    for index, node in enumerate(nodes):
        path = item("switch", index)
        entry = as_section(sink, node, path, SWITCH_KEYS)
        if entry is None:
            ok = False
            continue
        dlci = _switched_dlci(entry, declared, used, path)
        target = _target(entry)
        if target is not None and target == (device, dlci):
            entry.sink.add(entry.where("to"), entry.key("to"), f"DLCI {dlci} is switched to itself")
            target = None
        if dlci is None or target is None:
            ok = False
            continue
        entries.append(SwitchConfig(dlci, *target))
    return (tuple(entries) if ok else None), used


def _switched_dlci(
    entry: Section, declared: frozenset[int] | None, used: dict[int, str], path: str
) -> int | None:
    node = entry.require("dlci")
    if node is None:
        return None
    dlci = read_dlci(entry.sink, node, entry.key("dlci"))
    if dlci is None:
        return None
    if declared is not None and dlci not in declared:
        entry.sink.add(node.mark, entry.key("dlci"), f"DLCI {dlci} is not declared in protocol.dlcis")
        return None
    if dlci in used:
        entry.sink.add(node.mark, entry.key("dlci"), f"DLCI {dlci} is already switched by {used[dlci]}")
        return None
    used[dlci] = path
    return dlci


def _target(entry: Section) -> tuple[str, int] | None:
    node = entry.require("to", "wanpipeN:DLCI")
    if node is None:
        return None
    key = entry.key("to")
    text = as_str(entry.sink, node, key)
    if text is None:
        return None
    match = _SWITCH_TARGET.match(text)
    if match is None:
        entry.sink.add(node.mark, key, f"'{text}' is not a switch target like 'wanpipe2:17' (wanpipeN:DLCI)")
        return None
    number, dlci = int(match.group(1)), int(match.group(2))
    if not 1 <= number <= DEVICE_MAX:
        entry.sink.add(
            node.mark, key, f"wanpipe{number} does not exist: devices are wanpipe1..wanpipe{DEVICE_MAX}"
        )
        return None
    if not DLCI_MIN <= dlci <= DLCI_MAX:
        entry.sink.add(node.mark, key, f"DLCI {dlci} is reserved: user DLCIs are {DLCI_MIN}..{DLCI_MAX}")
        return None
    return f"wanpipe{number}", dlci
