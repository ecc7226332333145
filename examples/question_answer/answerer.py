"""The answerer of the question/answer example: replies to every question it hears.

Run it next to ``questioner.py`` (see the README)::

    python examples/question_answer/answerer.py --host 127.0.0.1 --port 8888
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from summoner_client.client import SummonerClient

FACTS: Mapping[str, str] = {
    "what is the capital of france?": "Paris",
    "how many legs does a spider have?": "Eight",
    "what is the boiling point of water at sea level?": "100 °C",
}
"""What the answerer knows, by question in lower case."""


def make_answerer(facts: Mapping[str, str] = FACTS) -> SummonerClient:
    """Build an agent that answers each question from ``facts``, and says so when it does not know."""
    agent = SummonerClient("answerer")

    @agent.receive("questions")
    async def answer(msg: Any) -> None:
        question = msg["content"] if isinstance(msg, dict) else None
        if not isinstance(question, dict) or question.get("type") != "question":
            return  # relay notices, other answerers' answers, chatter
        text = facts.get(str(question["text"]).strip().lower(), "I don't know.")
        # The relay sends every line to everyone, so the answer says whom it is for: the asker
        # and the question's number come back with it.
        reply = {"type": "answer", "asker": question["asker"], "id": question["id"], "text": text}
        await agent.publish(reply)  # a receiver may reply at once; no sender needed

    return agent


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="relay host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8888, help="relay port (default 8888)")
    args = parser.parse_args(argv)
    make_answerer().run(host=args.host, port=args.port)  # until Ctrl+C
    return 0


if __name__ == "__main__":
    sys.exit(main())
