"""LineSplitter: lines, both CR rules, the hard cap and discard mode (client §6.4, relay §2.2, §4.3)."""

from __future__ import annotations

import pytest

from summoner_client.protocol.framing import LineEvent, LineSplitter, Oversize

MIB = 1024 * 1024


def feed_all(splitter: LineSplitter, *chunks: bytes) -> list[LineEvent]:
    events: list[LineEvent] = []
    for chunk in chunks:
        events.extend(splitter.feed(chunk))
    return events


def test_lines_in_one_chunk_come_out_in_order() -> None:
    assert LineSplitter(100).feed(b"one\ntwo\nthree\n") == [b"one", b"two", b"three"]


def test_a_line_split_over_many_chunks_is_joined() -> None:
    splitter = LineSplitter(100)
    assert feed_all(splitter, b"he", b"l", b"lo wor", b"ld\nnext") == [b"hello world"]
    assert splitter.buffered == 4
    assert splitter.feed(b"\n") == [b"next"]


def test_client_mode_keeps_a_trailing_cr() -> None:
    splitter = LineSplitter(100)
    assert splitter.feed(b"abc\r\nabc\r\r\n") == [b"abc\r", b"abc\r\r"]


@pytest.mark.parametrize(
    ("stream", "body"),
    [
        (b"abc\n", b"abc"),
        (b"abc\r\n", b"abc"),
        (b"abc\r\r\n", b"abc\r"),
        (b"a\rb\n", b"a\rb"),
        (b"\n", b""),
        (b"\r\n", b""),
    ],
)
def test_relay_mode_removes_exactly_one_cr_before_lf(stream: bytes, body: bytes) -> None:
    assert LineSplitter(100, strip_cr=True).feed(stream) == [body]


def test_relay_mode_removes_a_cr_that_ended_the_previous_chunk() -> None:
    splitter = LineSplitter(100, strip_cr=True)
    assert feed_all(splitter, b"abc\r", b"\nxyz\r", b"\r", b"\n") == [b"abc", b"xyz\r"]


@pytest.mark.parametrize("strip_cr", [False, True])
def test_a_cr_not_before_lf_is_content(strip_cr: bool) -> None:
    assert LineSplitter(100, strip_cr=strip_cr).feed(b"a\rb\n\rc\n") == [b"a\rb", b"\rc"]


@pytest.mark.parametrize("strip_cr", [False, True])
def test_empty_lines_are_delivered_as_empty_bodies(strip_cr: bool) -> None:
    assert LineSplitter(100, strip_cr=strip_cr).feed(b"\n\nx\n\n") == [b"", b"", b"x", b""]


def test_nul_and_other_control_bytes_are_content() -> None:
    assert LineSplitter(100).feed(b"\x00\x01\x7f\x1b\n") == [b"\x00\x01\x7f\x1b"]


def test_an_empty_chunk_changes_nothing() -> None:
    splitter = LineSplitter(10)
    assert splitter.feed(b"") == []
    assert splitter.feed(b"ab") == []
    assert splitter.feed(b"") == []
    assert splitter.feed(b"\n") == [b"ab"]


@pytest.mark.parametrize("strip_cr", [False, True])
@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_a_body_of_exactly_the_limit_is_delivered(strip_cr: bool, chunk: int) -> None:
    stream = b"x" * 16 + b"\n" + b"y" * 16 + b"\n"
    splitter = LineSplitter(16, strip_cr=strip_cr)
    events = feed_all(splitter, *(stream[i : i + chunk] for i in range(0, len(stream), chunk)))
    assert events == [b"x" * 16, b"y" * 16]


@pytest.mark.parametrize("strip_cr", [False, True])
@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_a_body_of_the_limit_plus_one_is_reported_oversize(strip_cr: bool, chunk: int) -> None:
    stream = b"x" * 17 + b"\nok\n"
    splitter = LineSplitter(16, strip_cr=strip_cr)
    events = feed_all(splitter, *(stream[i : i + chunk] for i in range(0, len(stream), chunk)))
    assert events == [Oversize(17, 16), b"ok"]


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_relay_mode_accepts_a_body_of_the_limit_followed_by_cr_lf(chunk: int) -> None:
    stream = b"x" * 16 + b"\r\n" + b"y" * 16 + b"\r\r\n"
    splitter = LineSplitter(16, strip_cr=True)
    events = feed_all(splitter, *(stream[i : i + chunk] for i in range(0, len(stream), chunk)))
    assert events == [b"x" * 16, Oversize(17, 16)]


def test_client_mode_counts_the_kept_cr_toward_the_limit() -> None:
    assert LineSplitter(16).feed(b"x" * 16 + b"\r\n") == [Oversize(17, 16)]


def test_a_ten_mib_line_is_skipped_and_the_next_line_arrives_with_the_buffer_bounded() -> None:
    limit = 65_536
    splitter = LineSplitter(limit, strip_cr=True)
    chunk = b"z" * 65_536
    events: list[LineEvent] = []
    for _ in range(10 * MIB // len(chunk)):
        events.extend(splitter.feed(chunk))
        assert splitter.buffered <= limit + 1
    events.extend(splitter.feed(b"\nnormal line\n"))
    assert events == [Oversize(10 * MIB, limit), b"normal line"]
    assert splitter.buffered == 0
    assert not splitter.discarding


def test_the_buffer_never_exceeds_the_limit_while_an_oversize_line_trickles_in() -> None:
    splitter = LineSplitter(8)
    for _ in range(100):
        assert splitter.feed(b"abc") == []
        assert splitter.buffered <= 8
    assert splitter.discarding
    assert splitter.feed(b"\n") == [Oversize(300, 8)]


def test_the_reported_size_leaves_out_the_cr_that_relay_mode_removes() -> None:
    splitter = LineSplitter(4, strip_cr=True)
    assert feed_all(splitter, b"abcdefgh\r", b"\n") == [Oversize(8, 4)]


def test_the_partial_last_line_is_returned_at_eof() -> None:
    splitter = LineSplitter(100)
    assert splitter.feed(b"one\nWarning: Server disconnected.") == [b"one"]
    assert splitter.finish() == b"Warning: Server disconnected."
    assert splitter.buffered == 0


@pytest.mark.parametrize("strip_cr", [False, True])
def test_a_cr_at_the_end_of_the_partial_last_line_is_content(strip_cr: bool) -> None:
    splitter = LineSplitter(100, strip_cr=strip_cr)
    splitter.feed(b"abc\r")
    assert splitter.finish() == b"abc\r"


def test_eof_right_after_lf_gives_no_line() -> None:
    splitter = LineSplitter(100)
    assert splitter.feed(b"abc\n") == [b"abc"]
    assert splitter.finish() is None


def test_eof_during_discard_mode_gives_nothing() -> None:
    splitter = LineSplitter(4)
    assert splitter.feed(b"much too long") == []
    assert splitter.discarding
    assert splitter.finish() is None
    assert not splitter.discarding


def test_a_partial_last_line_over_the_limit_is_reported_oversize() -> None:
    splitter = LineSplitter(4, strip_cr=True)
    splitter.feed(b"abcd\r")  # limit + 1 bytes may be held: the CR could have preceded an LF
    assert splitter.finish() == Oversize(5, 4)


def test_the_splitter_starts_clean_after_finish() -> None:
    splitter = LineSplitter(4)
    splitter.feed(b"toolong")
    splitter.finish()
    assert splitter.feed(b"ok\n") == [b"ok"]


def test_an_oversize_line_inside_one_chunk_is_reported_without_buffering() -> None:
    splitter = LineSplitter(4)
    assert splitter.feed(b"a\n" + b"b" * 50 + b"\nc\n") == [b"a", Oversize(50, 4), b"c"]
    assert splitter.buffered == 0


def test_the_constructor_keeps_its_settings_and_rejects_a_non_positive_limit() -> None:
    splitter = LineSplitter(10, strip_cr=True)
    assert (splitter.max_line_bytes, splitter.strip_cr) == (10, True)
    assert LineSplitter(10).strip_cr is False
    with pytest.raises(ValueError, match="positive"):
        LineSplitter(0)
