"""Count the work an operation does, so tests can pin its growth without timing it.

Elapsed time depends on the machine and its load; the number of Python lines executed and
the characters regular expressions are asked to scan do not. A linear algorithm does about
twice the work on twice the input, a quadratic one about four times.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")


def python_lines(operation: Callable[[], T]) -> tuple[T, int]:
    """The result of ``operation()`` and the number of Python lines it executed."""
    count = 0

    def trace(frame: FrameType, event: str, arg: Any) -> Callable[..., Any]:
        nonlocal count
        if event == "line":
            count += 1
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        result = operation()
    finally:
        sys.settrace(previous)
    return result, count


def growth(operation: Callable[[int], T], size: int) -> float:
    """How much more Python work ``operation`` does on twice the input (about 2.0 if linear)."""
    _, small = python_lines(lambda: operation(size))
    _, large = python_lines(lambda: operation(2 * size))
    return large / small


class ScannedText:
    """Wraps a compiled pattern and sums the lengths of the text windows it is asked to scan.

    A pattern applied to a bounded window per match keeps the total linear in the text; one
    re-applied to the whole remaining text at every match makes it quadratic.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.characters = 0

    def _window(self, text: str, pos: int = 0, endpos: int | None = None) -> None:
        end = len(text) if endpos is None else min(endpos, len(text))
        self.characters += max(0, end - pos)

    def search(self, text: str, *args: int) -> re.Match[str] | None:
        self._window(text, *args)
        return self.pattern.search(text, *args)

    def match(self, text: str, *args: int) -> re.Match[str] | None:
        self._window(text, *args)
        return self.pattern.match(text, *args)

    def finditer(self, text: str, *args: int) -> Any:
        self._window(text, *args)
        return self.pattern.finditer(text, *args)
