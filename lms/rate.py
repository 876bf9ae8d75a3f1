"""Request budgets counted in this process: at most so many requests per key (a SCIM token) a minute.

A budget protects the server from a client that runs away (an identity provider re-sending its whole
directory in a loop); it is not a security boundary (secrets are too long to guess) and is counted per
worker, so a server with N workers allows up to N times the budget. Fixed windows: simple, and what the
callers' back-off (Retry-After) expects.
"""

from __future__ import annotations

import math
import threading
import time


class Budget:
    def __init__(self, per_window: int, window_s: float = 60.0, keys: int = 10_000) -> None:
        self.per_window = per_window
        self.window_s = window_s
        self.keys = keys
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, requests in it)
        self._lock = threading.Lock()

    def spend(self, key: str, now: float | None = None) -> int | None:
        """Count one request; None while within the budget, else whole seconds until the next window."""
        now = time.monotonic() if now is None else now
        with self._lock:
            start, used = self._windows.get(key, (now, 0))
            if now - start >= self.window_s:
                start, used = now, 0
            if used >= self.per_window:
                return max(1, math.ceil(start + self.window_s - now))
            if key not in self._windows and len(self._windows) >= self.keys:
                self._forget_ended(now)
            self._windows[key] = (start, used + 1)
            return None

    def _forget_ended(self, now: float) -> None:
        ended = [k for k, (start, _) in self._windows.items() if now - start >= self.window_s]
        for k in ended or list(self._windows)[: self.keys // 2]:
            del self._windows[k]
