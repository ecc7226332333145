"""The questioner of the question/answer example: asks its questions one at a time, then leaves.

Run it next to ``answerer.py`` (see the README)::

    python examples/question_answer/questioner.py --host 127.0.0.1 --port 8888 \\
        "What is the capital of France?" "How many legs does a spider have?"
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from summoner_client.client import SummonerClient


class Questioner:
    """Asks ``questions`` in order, each until it is answered, then quits.

    The relay keeps nothing: a question sent while no answerer is connected reaches nobody. So a
    question unanswered after ``patience`` seconds is simply asked again.

    Attributes:
        agent: The client to run.
        answers: The answers so far, by question number.
    """

    def __init__(
        self, questions: Sequence[str], *, patience: float = 2.0, show: Callable[[str], None] = print
    ) -> None:
        self.agent = agent = SummonerClient("questioner")
        self.questions = list(questions)
        self.answers: dict[int, str] = {}
        self.attempts: dict[int, int] = {}  # how many times each question was sent
        self.asker = uuid.uuid4().hex[:8]  # tells this questioner's answers from other questioners'
        self.asking: int | None = None  # the question waiting for its answer
        answered = asyncio.Event()

        @agent.receive("answers")
        async def on_answer(msg: Any) -> None:
            answer = msg["content"] if isinstance(msg, dict) else None
            if not isinstance(answer, dict) or answer.get("type") != "answer":
                return
            number = self.asking
            if answer.get("asker") != self.asker or answer.get("id") != number or number is None:
                return  # for another questioner, or a late duplicate of an earlier answer
            if number not in self.answers:
                self.answers[number] = answer["text"]
                show(f"Q{number + 1}: {self.questions[number]}\nA{number + 1}: {answer['text']}")
                answered.set()

        # A plain sender: the runtime calls it again each time it returns. Each call waits for the
        # previous question's answer (or gives up waiting), then returns the next message to send.
        @agent.send("questions")
        async def ask() -> dict[str, Any] | None:
            if self.asking is not None and self.asking not in self.answers:
                try:
                    async with asyncio.timeout(patience):
                        await answered.wait()
                except TimeoutError:
                    show(f"no answer to Q{self.asking + 1} after {patience:g} s; asking again")
            answered.clear()
            if len(self.answers) == len(self.questions):
                await agent.quit()  # every question answered: leave
                return None
            number = self.asking = len(self.answers)  # the next question, or the same one again
            self.attempts[number] = self.attempts.get(number, 0) + 1
            return {"type": "question", "asker": self.asker, "id": number, "text": self.questions[number]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="relay host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8888, help="relay port (default 8888)")
    parser.add_argument("questions", nargs="*", default=["What is the capital of France?"])
    args = parser.parse_args(argv)
    Questioner(args.questions).agent.run(host=args.host, port=args.port)  # returns once all are answered
    return 0


if __name__ == "__main__":
    sys.exit(main())
