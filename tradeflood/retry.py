"""Retry policy: which failures are worth another try, and how long to wait first.

Timeouts, dropped connections, 5xx, 408/425, 429/418 and unreadable bodies are
retried with exponential backoff and full jitter; a venue's ``Retry-After`` is
honoured (the wait is never shorter) up to ``max_retry_after``: a venue asking
for a longer wait fails the request at once, saying so, instead of holding the
fetch for it. Rejections (bad symbol, bad parameter, other 4xx, redirects) are
final. Sleeps go through the session's clock, so tests never really wait.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from .clock import Clock
from .errors import NetworkError, NoProxyAvailableError, PayloadError, RateLimitedError, VenueUnavailableError

__all__ = ["RETRYABLE", "RetryPolicy"]

T = TypeVar("T")
RETRYABLE = (NetworkError, RateLimitedError, VenueUnavailableError, PayloadError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Up to ``attempts`` tries per request, waiting ``backoff * 2**n`` seconds
    (full jitter, capped at ``max_backoff``) or the venue's Retry-After, whichever is longer.

    A Retry-After longer than ``max_retry_after`` seconds is not waited for: the
    request fails with the venue's error, its message saying how long it asked.
    """

    attempts: int = 6
    backoff: float = 0.25
    max_backoff: float = 30.0
    max_retry_after: float = 120.0

    @property
    def budget(self) -> float:
        """The longest its backoffs wait in all, in seconds: how long a request may also wait
        for a proxy to carry it when none of its pool can right now."""
        return float(sum(min(self.max_backoff, self.backoff * 2.0 ** n) for n in range(self.attempts - 1)))

    def _wait(self) -> Callable[[RetryCallState], float]:
        jitter = wait_random_exponential(multiplier=self.backoff, max=self.max_backoff)

        def wait(state: RetryCallState) -> float:
            delay = jitter(state)
            exc = state.outcome.exception() if state.outcome else None
            told = getattr(exc, "retry_after", None)
            if told is not None:
                delay = max(delay, float(told))
            return delay

        return wait

    async def run(self, attempt: Callable[[], Awaitable[T]], clock: Clock,
                  on_retry: Callable[[BaseException], None] | None = None) -> T:
        """Call ``attempt`` until it succeeds, a final error occurs, or tries run out.

        The last error is raised as it is, so callers see the typed venue error.
        """

        def before_sleep(state: RetryCallState) -> None:
            if on_retry is not None and state.outcome is not None:
                exc = state.outcome.exception()
                if exc is not None:
                    on_retry(exc)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait(),
            retry=retry_if_exception(self._worth_retrying),
            sleep=clock.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return await retrying(attempt)
        except RETRYABLE as exc:
            told = self._too_long(exc)
            if told is not None:
                exc.args = (f"{exc}; the venue asked to wait {told:g} s, more than "
                            f"RetryPolicy(max_retry_after={self.max_retry_after:g}), so it was not retried",)
            raise

    def _too_long(self, exc: BaseException) -> float | None:
        """The venue's Retry-After when it is longer than this policy waits for, else None."""
        told = getattr(exc, "retry_after", None)
        return float(told) if told is not None and float(told) > self.max_retry_after else None

    def _worth_retrying(self, exc: BaseException) -> bool:
        if isinstance(exc, NoProxyAvailableError) and exc.waited is not None:
            return False  # it has waited for a proxy as long as the retries would have
        return isinstance(exc, RETRYABLE) and self._too_long(exc) is None
