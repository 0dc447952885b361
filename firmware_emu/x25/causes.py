"""X.25 cause and diagnostic codes (ITU-T X.25 clause 5 and Annex E).

A clear, reset or restart packet carries a cause octet and (since 1984) a
diagnostic octet. The cause tables are per packet kind, and a DTE may only
send cause 0 ("DTE originated") or a cause with bit 8 set (the DCE passes
those through unchanged); every other cause is the network's.
The diagnostic codes of Annex E are shared by all packets, the diagnostic
packet included. Wireshark's packet-x25.c carries the same tables.
"""

from __future__ import annotations

import enum
from typing import Final


class ClearCause(enum.IntEnum):
    """Clearing causes (X.25 Table 5-7)."""

    DTE_ORIGINATED = 0x00
    NUMBER_BUSY = 0x01
    INVALID_FACILITY_REQUEST = 0x03
    NETWORK_CONGESTION = 0x05
    OUT_OF_ORDER = 0x09
    ACCESS_BARRED = 0x0B
    NOT_OBTAINABLE = 0x0D
    REMOTE_PROCEDURE_ERROR = 0x11
    LOCAL_PROCEDURE_ERROR = 0x13
    RPOA_OUT_OF_ORDER = 0x15
    REVERSE_CHARGING_NOT_SUBSCRIBED = 0x19
    INCOMPATIBLE_DESTINATION = 0x21
    FAST_SELECT_NOT_SUBSCRIBED = 0x29
    SHIP_ABSENT = 0x39
    GATEWAY_PROCEDURE_ERROR = 0xC1
    GATEWAY_CONGESTION = 0xC3


class ResetCause(enum.IntEnum):
    """Resetting causes (X.25 Table 5-8)."""

    DTE_ORIGINATED = 0x00
    OUT_OF_ORDER = 0x01  # PVC only: the remote DTE is out of order
    REMOTE_PROCEDURE_ERROR = 0x03
    LOCAL_PROCEDURE_ERROR = 0x05
    NETWORK_CONGESTION = 0x07
    REMOTE_DTE_OPERATIONAL = 0x09  # PVC only
    NETWORK_OPERATIONAL = 0x0F  # PVC only
    INCOMPATIBLE_DESTINATION = 0x11
    NETWORK_OUT_OF_ORDER = 0x1D  # PVC only
    GATEWAY_PROCEDURE_ERROR = 0xC1
    GATEWAY_CONGESTION = 0xC3
    GATEWAY_OPERATIONAL = 0xC7


class RestartCause(enum.IntEnum):
    """Restarting causes (X.25 Table 5-9)."""

    DTE_ORIGINATED = 0x00
    LOCAL_PROCEDURE_ERROR = 0x01
    NETWORK_CONGESTION = 0x03
    NETWORK_OPERATIONAL = 0x07
    REGISTRATION_CONFIRMED = 0x7F


class Diagnostic(enum.IntEnum):
    """Diagnostic codes (X.25 Annex E, Table E-1), the ones this layer names."""

    NONE = 0
    INVALID_PS = 1
    INVALID_PR = 2
    PACKET_TYPE_INVALID = 16
    INVALID_R1 = 17
    INVALID_R2 = 18
    INVALID_R3 = 19
    INVALID_P1 = 20
    INVALID_P2 = 21
    INVALID_P3 = 22
    INVALID_P4 = 23
    INVALID_P5 = 24
    INVALID_P6 = 25
    INVALID_P7 = 26
    INVALID_D1 = 27
    INVALID_D2 = 28
    INVALID_D3 = 29
    PACKET_NOT_ALLOWED = 32
    UNIDENTIFIABLE_PACKET = 33
    CALL_ON_ONE_WAY_CHANNEL = 34
    INVALID_PACKET_ON_PVC = 35
    UNASSIGNED_LCN = 36
    REJECT_NOT_SUBSCRIBED = 37
    PACKET_TOO_SHORT = 38
    PACKET_TOO_LONG = 39
    INVALID_GFI = 40
    RESTART_NONZERO_LCN = 41  # restart or registration packet with a nonzero LCN
    NOT_COMPATIBLE_WITH_FACILITY = 42
    UNAUTHORIZED_INTERRUPT_CONFIRMATION = 43
    UNAUTHORIZED_INTERRUPT = 44
    UNAUTHORIZED_REJECT = 45
    TIME_EXPIRED = 48
    TIME_EXPIRED_CALL = 49  # incoming call (DCE T11), call request (DTE T21)
    TIME_EXPIRED_CLEAR = 50  # clear indication (T13), clear request (T23)
    TIME_EXPIRED_RESET = 51  # reset indication (T12), reset request (T22)
    TIME_EXPIRED_RESTART = 52  # restart indication (T10), restart request (T20)
    CALL_SETUP_PROBLEM = 64
    FACILITY_CODE_NOT_ALLOWED = 65
    FACILITY_PARAMETER_NOT_ALLOWED = 66
    INVALID_CALLED_ADDRESS = 67
    INVALID_CALLING_ADDRESS = 68
    INVALID_FACILITY_LENGTH = 69
    INCOMING_CALL_BARRED = 70
    NO_LOGICAL_CHANNEL = 71
    CALL_COLLISION = 72
    DUPLICATE_FACILITY = 73
    NONZERO_ADDRESS_LENGTH = 74
    NONZERO_FACILITY_LENGTH = 75
    FACILITY_NOT_PROVIDED = 76
    INVALID_DTE_FACILITY = 77
    MISCELLANEOUS = 80
    IMPROPER_CAUSE = 81
    NON_ALIGNED_OCTET = 82
    INCONSISTENT_Q_BIT = 83
    DTE_SPECIFIC = 160
    DTE_OPERATIONAL = 161
    DTE_NOT_OPERATIONAL = 162
    DTE_RESOURCE_CONSTRAINT = 163
    FAST_SELECT_NOT_SUBSCRIBED = 164
    INVALID_PARTIALLY_FULL_DATA = 165
    D_BIT_NOT_SUPPORTED = 166


# Annex E codes that are not members above, so that every code the standard
# defines still gets a name in logs and status.
_OTHER_DIAGNOSTICS: Final[dict[int, str]] = {
    53: "time expired for call deflection",
    78: "maximum number of call redirections or deflections exceeded",
    84: "NUI problem",
    85: "ICRD problem",
    96: "not assigned",
    112: "international problem",
    113: "remote network problem",
    114: "international protocol problem",
    115: "international link out of order",
    116: "international link busy",
    117: "transit network facility problem",
    118: "remote network facility problem",
    119: "international routing problem",
    120: "temporary routing problem",
    121: "unknown called DNIC",
    122: "maintenance action",
    144: "timer expired or retransmission count surpassed",
    145: "timer expired or retransmission count surpassed for interrupt",
    146: "timer expired or retransmission count surpassed for data",
    147: "timer expired or retransmission count surpassed for reject",
    167: "registration/cancellation confirmed",
    224: "OSI network service problem",
    225: "disconnection (transient condition)",
    226: "disconnection (permanent condition)",
    227: "connection rejection, reason unspecified (transient condition)",
    228: "connection rejection, reason unspecified (permanent condition)",
    229: "connection rejection, QOS not available (transient condition)",
    230: "connection rejection, QOS not available (permanent condition)",
    231: "connection rejection, NSAP unreachable (transient condition)",
    232: "connection rejection, NSAP unreachable (permanent condition)",
    233: "reset, reason unspecified",
    234: "reset, congestion",
    235: "connection rejection, NSAP address unknown (permanent condition)",
    240: "higher layer initiated",
    241: "disconnection, normal",
    242: "disconnection, abnormal",
    243: "disconnection, incompatible information in user data",
    244: "connection rejection, reason unspecified (transient condition)",
    245: "connection rejection, reason unspecified (permanent condition)",
    246: "connection rejection, QOS not available (transient condition)",
    247: "connection rejection, QOS not available (permanent condition)",
    248: "connection rejection, incompatible information in user data",
    249: "connection rejection, unrecognizable protocol identifier in user data",
    250: "reset, user resynchronization",
}


def dte_may_send(cause: int) -> bool:
    """Whether a DTE may put this cause in a clear, reset or restart request (cause 0 or bit 8 set)."""
    return cause == 0 or cause & 0x80 != 0


def _name(table: type[enum.IntEnum], code: int) -> str:
    if code == 0 or code & 0x80 and code not in table._value2member_map_:
        return "DTE originated" if code == 0 else f"DTE originated ({code:#04x})"
    try:
        return table(code).name.lower().replace("_", " ")
    except ValueError:
        return f"unknown ({code:#04x})"


def clear_cause_name(code: int) -> str:
    return _name(ClearCause, code)


def reset_cause_name(code: int) -> str:
    return _name(ResetCause, code)


def restart_cause_name(code: int) -> str:
    return _name(RestartCause, code)


def diagnostic_name(code: int) -> str:
    if code in _OTHER_DIAGNOSTICS:
        return _OTHER_DIAGNOSTICS[code]
    try:
        return Diagnostic(code).name.lower().replace("_", " ")
    except ValueError:
        return f"diagnostic {code}"
