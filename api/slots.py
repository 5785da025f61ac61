"""Request slots: how many requests of this process work at once, how many wait, and the 503 beyond.

A request takes one of `slots` before anything of it runs and gives it back when its response is
sent. The slots are as many as the pool's connections and the worker threads are sized to match, so a
request that has a slot always finds a thread and a connection: no request holds a connection while it
waits for a thread, or a thread while it waits for a connection (before issue 23 a burst of 64 inbox
pages left every thread holding one and waiting for the other until the pool timed out, 30 s, 500).
Waiting for a slot costs a coroutine, not a thread. Up to `max_inflight` requests are admitted; the
next is answered 503 with Retry-After at once, and so is one that waited `queue_timeout_s` for a slot.

Static files and liveness need no database and pass by.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections.abc import Callable

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from . import problems

# Threads beyond the slots, for what runs without one (static files are read in threads).
SPARE_THREADS = 8
RETRY_AFTER_S = 1


class Busy:
    """The 503 of a process that cannot take another request now."""

    def __init__(self, detail: str, retry_after: int) -> None:
        self.detail, self.retry_after = detail, retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problems.problem(
            503,
            "server.busy",
            "服务繁忙，请稍后重试",
            self.detail,
            headers={"Retry-After": str(self.retry_after)},
            retry_after=self.retry_after,
        )
        await response(scope, receive, send)


class RequestSlots:
    def __init__(
        self,
        app: ASGIApp,
        *,
        slots: int,
        max_inflight: int,
        queue_timeout_s: float,
        exempt: Callable[[str], bool],
    ) -> None:
        self.app, self.slots, self.max_inflight = app, slots, max_inflight
        self.queue_timeout_s, self.exempt = queue_timeout_s, exempt
        self.inflight = 0
        # Per event loop: a test client runs its requests on loops of its own, beside a served one.
        self._free: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._full = Busy("当前请求过多，请稍后重试", RETRY_AFTER_S)
        self._waited = Busy(
            "排队等待处理超时，请稍后重试", max(RETRY_AFTER_S, math.ceil(queue_timeout_s / 2))
        )

    def _semaphore(self) -> anyio.Semaphore:
        loop = asyncio.get_running_loop()
        free = self._free.get(loop)
        if free is None:
            free = self._free[loop] = anyio.Semaphore(self.slots)
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = max(limiter.total_tokens, self.slots + SPARE_THREADS)
        return free

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self.inflight >= self.max_inflight:
            await self._full(scope, receive, send)
            return
        free = self._semaphore()
        self.inflight += 1
        try:
            acquired = False
            with anyio.move_on_after(self.queue_timeout_s):
                await free.acquire()
                acquired = True
            if not acquired:
                await self._waited(scope, receive, send)
                return
            try:
                await self.app(scope, receive, send)
            finally:
                free.release()
        finally:
            self.inflight -= 1
