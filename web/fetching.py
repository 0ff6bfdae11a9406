"""The pages the web app fetches for its users run in a few threads of their own, never on the request threads.

A fetch can take the whole download deadline (a slow or hostile server sees to that). Run on the request thread
pool, a few dozen such fetches would leave no thread to answer anyone; here at most ``max_concurrent_fetches``
run at once, a request waiting for one holds no thread at all, and past ``WAITING_PER_WORKER`` times as many
waiting the app answers 503 at once instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from fastapi import HTTPException, Request

T = TypeVar("T")
WAITING_PER_WORKER = 8


class FetchGate:
    """A small thread pool for fetches with a bound on how many may wait for it."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.limit = self.workers * WAITING_PER_WORKER
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="signpost-fetch")
        self.pending = 0
        self.lock = threading.Lock()

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """``function(*args)`` in the fetch pool, awaited without holding a request thread; 503 when too busy."""
        with self.lock:
            if self.pending >= self.limit:
                raise HTTPException(
                    status_code=503,
                    detail="Signpost is fetching many pages at the moment; try again in a minute.",
                    headers={"Retry-After": "60"},
                )
            self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, lambda: function(*args))
        finally:
            with self.lock:
                self.pending -= 1

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def fetches(request: Request) -> FetchGate:
    return request.app.state.fetches
