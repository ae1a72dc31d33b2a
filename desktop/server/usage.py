"""Uses counted in memory and written in batches: when each token was last presented and how
often, for the registry's ``token_usage`` table.

Every request that matched a token counts: an allowed one (200), a refused one (403), and a
401 that names the token (inactive, expired, past its grace, its environment's API off, its
agent refused). The last of these are what someone looking for a forgotten client needs to see:
a deactivated token that is still presented. A request whose token matched nothing counts
nowhere (there is no token to count it on).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

# A bound on the tokens kept between writes while the registry cannot be written: one entry per
# token, so only a registry this large fills it; uses past it are dropped (and said so).
MAX_PENDING = 1_000_000


class UsageCounter:
    """Counts per token, taken in batches by the thread that writes them.

    :meth:`count` runs for every request on the event loop; :meth:`take` runs on the follower
    thread. One lock keeps a use from landing in a batch that is already being written.
    """

    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self._lock = threading.Lock()
        self._counts: dict[int, int] = {}
        self._last: dict[int, float] = {}
        self._max_pending = max_pending
        self.dropped = 0  # uses not kept because the bound was reached

    def count(self, token_id: int, now: float) -> None:
        """One use of *token_id* at *now* (``time.monotonic()``, which the request has read
        already; turned into wall-clock time when the batch is taken)."""
        with self._lock:
            counts = self._counts
            count = counts.get(token_id)
            if count is None and len(counts) >= self._max_pending:
                self.dropped += 1
                return
            counts[token_id] = (count or 0) + 1
            self._last[token_id] = now

    def __len__(self) -> int:
        return len(self._counts)

    def take(self) -> dict[int, tuple[datetime, int]]:
        """Everything counted since the last take, as ``record_uses`` takes it (naive UTC),
        and start counting afresh."""
        with self._lock:
            counts, self._counts = self._counts, {}
            last, self._last = self._last, {}
        offset = time.time() - time.monotonic()
        return {
            token_id: (_naive_utc(last[token_id] + offset), count)
            for token_id, count in counts.items()
        }

    def give_back(self, batch: dict[int, tuple[datetime, int]]) -> None:
        """A batch that could not be written, kept for the next write (merged with what was
        counted meanwhile, the later time winning), within the bound."""
        offset = time.time() - time.monotonic()
        with self._lock:
            for token_id, (at, count) in batch.items():
                stamp = at.replace(tzinfo=UTC).timestamp() - offset
                known = self._counts.get(token_id)
                if known is None:
                    if len(self._counts) >= self._max_pending:
                        self.dropped += count
                        continue
                    self._counts[token_id] = count
                    self._last[token_id] = stamp
                else:
                    self._counts[token_id] = known + count
                    self._last[token_id] = max(self._last[token_id], stamp)


def _naive_utc(stamp: float) -> datetime:
    """POSIX seconds as the database keeps times: naive UTC, whole microseconds."""
    return datetime.fromtimestamp(stamp, UTC).replace(tzinfo=None)
