"""Answers over time, in 100 ms ticks: when service was full again after a fault."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

TICKS_PER_SECOND = 10
WINDOW_TICKS = TICKS_PER_SECOND  # "full service": one whole second of only right answers


def tick_of(seconds: float) -> int:
    return math.floor(seconds * TICKS_PER_SECOND)


@dataclass
class Timeline:
    """Right answers (`good`) and every other outcome (`bad`) per 100 ms tick."""

    good: Counter[int] = field(default_factory=Counter)
    bad: Counter[int] = field(default_factory=Counter)

    def add(self, at: float, ok: bool) -> None:
        (self.good if ok else self.bad)[tick_of(at)] += 1

    def recovery(self, fault_end: float, until: float) -> float | None:
        """Seconds from `fault_end` to the start of the first whole second that held
        answers, all of them right; None if no such second came before `until`."""
        first, last = tick_of(fault_end), tick_of(until)
        for start in range(first, last - WINDOW_TICKS + 1):
            window = range(start, start + WINDOW_TICKS)
            if all(self.bad[t] == 0 for t in window) and any(self.good[t] for t in window):
                return max(0.0, start / TICKS_PER_SECOND - fault_end)
        return None

    def bad_between(self, start: float, end: float) -> int:
        return sum(n for t, n in self.bad.items() if tick_of(start) <= t < tick_of(end))

    def rate(self, start: float, end: float) -> float:
        """Right answers per second between two times."""
        seconds = max(end - start, 1 / TICKS_PER_SECOND)
        return sum(n for t, n in self.good.items() if tick_of(start) <= t < tick_of(end)) / seconds
