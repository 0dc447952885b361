"""Zero-bit stuffing, the bit-exact encoder and the deframer.

Everything is checked against a deliberately naive bit-by-bit model of an HDLC
transmitter (the ``ref_*`` helpers), written as literally as the standard reads.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_emu.errors import LocalProtocolError
from firmware_emu.hdlc.fcs import append_fcs16, append_fcs32
from firmware_emu.hdlc.framing import HdlcBitEncoder, HdlcDeframer, line_bits, stuffed_bits

FLAG = "01111110"
SHARED_FLAG = "1111110"  # a flag whose opening 0 is the previous flag's closing 0

# --- reference model -------------------------------------------------------


def ref_bits(data: bytes) -> list[int]:
    return [(byte >> i) & 1 for byte in data for i in range(8)]


def ref_stuff(bits: list[int]) -> list[int]:
    out: list[int] = []
    ones = 0
    for bit in bits:
        out.append(bit)
        ones = ones + 1 if bit else 0
        if ones == 5:
            out.append(0)
            ones = 0
    return out


def ref_stuffed_count(data: bytes) -> int:
    bits = ref_bits(data)
    return len(ref_stuff(bits)) - len(bits)


def ref_stream(frames: list[bytes]) -> str:
    """Flag, frame, flag, frame, flag: what the encoder must send before padding."""
    parts = [FLAG]
    for frame in frames:
        parts.append("".join(map(str, ref_stuff(ref_bits(frame)))))
        parts.append(FLAG)
    return "".join(parts)


def to_bits(data: bytes) -> str:
    return "".join(map(str, ref_bits(data)))


def pack(bits: str) -> bytes:
    """Pack a hand-built stream that ends after a flag, padding with shared-zero flags."""
    bits += SHARED_FLAG * (len(bits) % 8)
    return bytes(int(bits[i : i + 8][::-1], 2) for i in range(0, len(bits), 8))


def stuffed(frame: bytes) -> str:
    return "".join(map(str, ref_stuff(ref_bits(frame))))


def feed_bytewise(deframer: HdlcDeframer, data: bytes) -> list[bytes]:
    return [frame for i in range(len(data)) for frame in deframer.feed(data[i : i + 1])]


bodies = st.binary(min_size=2, max_size=80)
frame_lists = st.lists(bodies, max_size=8)

# --- stuffing --------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 0),
        (b"\x00" * 100, 0),
        (b"\x1f", 1),  # exactly five 1s: a 0 goes in even at the end
        (b"\x0f", 0),
        (b"\xff", 1),
        (b"\xff\xff", 3),  # a run of 16 ones
        (b"\x7e", 1),  # a flag octet inside data must be broken up
        (b"\x7e\x7e", 2),
        (b"\xe0\x03", 1),  # a run of five split across octets: 3 + 2
        (b"\xf0\x01", 1),  # 4 + 1
        (b"\xf0\x00", 0),
        (b"\x55" * 50, 0),
    ],
)
def test_stuffed_bits_vectors(data: bytes, expected: int) -> None:
    assert ref_stuffed_count(data) == expected
    assert stuffed_bits(data) == expected


@given(st.binary(max_size=600))
def test_stuffed_bits_matches_reference(data: bytes) -> None:
    assert stuffed_bits(data) == ref_stuffed_count(data)


@given(st.binary(max_size=64), st.integers(0, 40))
def test_stuffed_bits_on_long_runs(data: bytes, n: int) -> None:
    data = b"\xff" * n + data + b"\xff" * n
    assert stuffed_bits(data) == ref_stuffed_count(data)


def test_line_bits() -> None:
    assert line_bits(b"\x00" * 10) == 8 + 80
    assert line_bits(b"\xff" * 10) == 8 + 80 + 16


@given(frame_lists)
def test_line_bits_add_up_to_the_stream(frames: list[bytes]) -> None:
    assert len(ref_stream(frames)) == 8 + sum(line_bits(f) for f in frames)


# --- encoder ---------------------------------------------------------------


@given(frame_lists)
def test_encoder_matches_reference(frames: list[bytes]) -> None:
    enc = HdlcBitEncoder()
    out = to_bits(enc.encode(frames) + enc.flush(idle_flags=0))
    ref = ref_stream(frames) if frames else ""
    assert out.startswith(ref)
    padding = out[len(ref) :]
    assert len(out) % 8 == 0
    assert padding == SHARED_FLAG * (len(padding) // 7)


@given(frame_lists)
def test_no_six_ones_outside_flags(frames: list[bytes]) -> None:
    frames = [f + b"\x7e\xff\x7e" for f in frames]  # flags and long runs in the data
    enc = HdlcBitEncoder()
    out = to_bits(enc.encode(frames) + enc.flush(idle_flags=0))
    n_flags = 1 + len(frames) if frames else 0
    n_shared = (len(out) - len(ref_stream(frames) if frames else "")) // 7
    # Every run of six 1s is a flag (never seven: nothing here aborts).
    assert "1111111" not in out
    assert out.count("111111") == n_flags + n_shared
    for frame in frames:
        assert "111111" not in stuffed(frame)


@given(st.lists(frame_lists, max_size=5))
def test_encoder_keeps_alignment_across_calls(batches: list[list[bytes]]) -> None:
    whole = HdlcBitEncoder()
    in_calls = HdlcBitEncoder()
    a = whole.encode([f for batch in batches for f in batch]) + whole.flush()
    b = b"".join(in_calls.encode(batch) for batch in batches) + in_calls.flush()
    assert a == b


def test_flush_idle_flags() -> None:
    enc = HdlcBitEncoder()
    assert enc.encode([]) == b""
    assert enc.flush(idle_flags=0) == b""
    assert enc.flush(idle_flags=3) == b"\x7e" * 3
    # The line is already in flag idle: the next frame opens with no flag of its own.
    assert to_bits(enc.encode([b"\x00"])) == "0" * 8 + FLAG
    assert to_bits(enc.flush()) == FLAG
    with pytest.raises(LocalProtocolError):
        enc.flush(idle_flags=-1)


# --- round trip ------------------------------------------------------------


@given(st.lists(frame_lists, max_size=4), st.sampled_from([16, 32]), st.integers(0, 3))
def test_round_trip(batches: list[list[bytes]], fcs_bits: int, idle: int) -> None:
    append = append_fcs16 if fcs_bits == 16 else append_fcs32
    enc = HdlcBitEncoder()
    stream = b""
    for batch in batches:
        stream += enc.encode([append(f) for f in batch]) + enc.flush(idle_flags=idle)
    sent = [f for batch in batches for f in batch]

    whole = HdlcDeframer(fcs_bits=fcs_bits)
    assert whole.feed(stream) == sent
    assert whole.counters.frames == len(sent)
    assert whole.counters.crc_errors == whole.counters.aborts == whole.counters.misaligned == 0
    assert whole.counters.too_short == whole.counters.too_long == 0

    bytewise = HdlcDeframer(fcs_bits=fcs_bits)
    assert feed_bytewise(bytewise, stream) == sent
    assert bytewise.counters == whole.counters


@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=6))
def test_garbage_never_raises_and_cut_does_not_matter(data: bytes, cuts: list[int]) -> None:
    whole = HdlcDeframer(max_frame=64)
    expected = whole.feed(data)
    chunked = HdlcDeframer(max_frame=64)
    edges = [0, *sorted(min(c, len(data)) for c in cuts), len(data)]
    got = [f for a, b in zip(edges, edges[1:], strict=False) for f in chunked.feed(data[a:b])]
    assert got == expected
    assert chunked.counters == whole.counters
    bytewise = HdlcDeframer(max_frame=64)
    assert feed_bytewise(bytewise, data) == expected
    assert bytewise.counters == whole.counters


@given(st.lists(bodies, min_size=1, max_size=6), st.data())
def test_bit_error_never_delivers_a_wrong_frame(frames: list[bytes], data: st.DataObject) -> None:
    stream = bytearray(HdlcBitEncoder().encode([append_fcs32(f) for f in frames]))
    bit = data.draw(st.integers(0, 8 * len(stream) - 1))
    stream[bit // 8] ^= 1 << (bit % 8)
    deframer = HdlcDeframer(fcs_bits=32)
    got = deframer.feed(bytes(stream))
    # One flipped bit can lose a frame (or merge two) but FCS-32 stops it
    # from delivering anything that was not sent.
    assert all(f in frames for f in got)
    assert len(got) < len(frames) or got == frames


# --- receive faults ----------------------------------------------------------

A = b"\x03\x00\xcc\x11\x22"
B = b"\x03\x00\xcc\x7e\xff\x7d"


def w(body: bytes) -> str:
    return stuffed(append_fcs16(body))


def test_flag_octets_inside_data() -> None:
    frames = [b"\x7e" * 10, b"\x7e\x7d\x7e", b"\xff" * 20]
    enc = HdlcBitEncoder()
    stream = enc.encode([append_fcs16(f) for f in frames]) + enc.flush()
    assert HdlcDeframer().feed(stream) == frames


def test_abort_discards_the_frame_in_progress() -> None:
    d = HdlcDeframer()
    half = w(A)[:20]
    assert d.feed(pack(FLAG + half + "1111111" + FLAG + w(B) + FLAG)) == [B]
    assert d.counters.aborts == 1
    assert d.counters.frames == 1 and d.counters.crc_errors == 0


def test_long_abort_counts_once_even_when_fed_bytewise() -> None:
    stream = pack(FLAG + w(A)[:20] + "1" * 40 + FLAG + w(B) + FLAG)
    d = HdlcDeframer()
    assert feed_bytewise(d, stream) == [B]
    assert d.counters.aborts == 1


def test_abort_reported_while_line_idles_in_ones() -> None:
    bits = FLAG + w(A)[:20] + "0"
    bits += "1" * (16 - len(bits) % 8)  # the stream ends in the idle ones
    d = HdlcDeframer()
    assert d.feed(pack(bits)) == []
    assert d.counters.aborts == 1


def test_mark_idle_between_frames_is_not_an_abort() -> None:
    d = HdlcDeframer()
    assert d.feed(pack(FLAG + w(A) + FLAG + "1" * 30 + FLAG + w(B) + FLAG)) == [A, B]
    assert d.counters.aborts == 0


def test_shared_zero_and_repeated_flags() -> None:
    d = HdlcDeframer()
    stream = FLAG * 3 + w(A) + FLAG + SHARED_FLAG * 2 + w(B) + FLAG + FLAG
    assert d.feed(pack(stream)) == [A, B]
    assert d.counters == type(d.counters)(frames=2)


def test_data_before_the_first_flag_is_ignored() -> None:
    d = HdlcDeframer()
    assert d.feed(pack("0101100111" + w(B) + FLAG + w(A) + FLAG)) == [A]
    assert d.counters == type(d.counters)(frames=1)


def test_bad_fcs_counted() -> None:
    bad = bytearray(append_fcs16(A))
    bad[1] ^= 0x10
    d = HdlcDeframer()
    assert d.feed(pack(FLAG + stuffed(bytes(bad)) + FLAG + w(B) + FLAG)) == [B]
    assert d.counters.crc_errors == 1
    assert d.counters.frames == 1


def test_fcs16_frame_on_fcs32_deframer_is_a_crc_error() -> None:
    d = HdlcDeframer(fcs_bits=32)
    assert d.feed(pack(FLAG + w(A) + FLAG)) == []
    assert d.counters.crc_errors == 1


def test_misaligned_frame() -> None:
    d = HdlcDeframer()
    assert d.feed(pack(FLAG + w(A) + "010" + FLAG + "101" + FLAG + w(B) + FLAG)) == [B]
    assert d.counters.misaligned == 2


def test_too_short() -> None:
    d = HdlcDeframer(min_frame=4)
    x = append_fcs16(b"\x01")  # 3 octets with a valid FCS
    assert d.feed(pack(FLAG + stuffed(x) + FLAG + w(b"\x01\x02") + FLAG)) == [b"\x01\x02"]
    assert d.counters.too_short == 1
    # min_frame never goes below what an FCS and one octet need.
    d32 = HdlcDeframer(fcs_bits=32, min_frame=1)
    assert d32.feed(pack(FLAG + stuffed(append_fcs32(b"")) + FLAG)) == []
    assert d32.counters.too_short == 1


def test_too_long() -> None:
    ok, long = b"\x11" * 8, b"\x22" * 9  # 10 and 11 octets with FCS-16
    d = HdlcDeframer(max_frame=10)
    # The trailing 1s of a frame cannot be told from an abort that follows, so
    # the aborted one runs a few octets past the limit before the abort.
    longer = long + b"\x00\x00"
    stream = pack(FLAG + w(long) + FLAG + w(ok) + FLAG + w(longer) + "1" * 9 + FLAG + w(ok) + FLAG)
    assert d.feed(stream) == [ok, ok]
    assert d.counters.too_long == 2
    assert d.counters.aborts == 0  # the abort came after the frame was already dropped


def test_bad_config_refused() -> None:
    with pytest.raises(LocalProtocolError):
        HdlcDeframer(fcs_bits=8)
    with pytest.raises(LocalProtocolError):
        HdlcDeframer(min_frame=10, max_frame=5)
