"""Regenerate envelope.jsonl: (address, text, expected envelope) triples of spec/relay.md §2.4.

The expected bytes come from the standard library's JSON encoder with ensure_ascii=False and
compact separators, which the spec names as producing exactly the relay's escaping. Both
pytest and `cargo test` read the file, so the two relays are held to the same bytes.
Run: python tests/conformance/vectors/generate_envelope_vectors.py
"""

import json
from pathlib import Path

ADDRESSES = ["127.0.0.1:44568", "[::1]:8888", "[fe80::1%3]:65535", "peer-0123456789abcdef"]
TEXTS = [
    "",
    '{"x": 1}',
    "héllo ☃",
    'quote " and backslash \\',
    "".join(chr(c) for c in range(0x20)),
    "del \x7f slash / and U+2028 \u2028 U+2029 \u2029",
    "emoji 😀 and CJK 漢字",
    "Warning: Server disconnected.",
    "\ufeffleading BOM",
    "tab\tcr\rff\fbs\bnl-escaped",
]


def main() -> None:
    lines = []
    for address in ADDRESSES:
        for text in TEXTS:
            expected = json.dumps(
                {"remote_addr": address, "content": text}, ensure_ascii=False, separators=(",", ":")
            )
            lines.append(json.dumps({"addr": address, "text": text, "expected": expected}))
    Path(__file__).with_name("envelope.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
