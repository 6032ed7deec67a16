"""Only what can succeed on a retry is retried; a venue's long Retry-After is not waited out."""

from __future__ import annotations

import httpx
import pytest
from toyvenue import ToyServer

from tradeflood import RetryPolicy, Session, VirtualClock
from tradeflood.errors import FetchError, RateLimitedError, VenueRejectedError, VenueUnavailableError
from tradeflood.models import Ticker

NOW = 1_704_067_200_000


class Scripted:
    """The toy venue, but the ticker endpoint first answers with the scripted replies."""

    def __init__(self, clock: VirtualClock, replies: list[httpx.Response]) -> None:
        self.venue = ToyServer(clock)
        self.replies = replies
        self.ticker_hits = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ticker":
            self.ticker_hits += 1
            if self.replies:
                return self.replies.pop(0)
        return self.venue(request)


Outcome = tuple["Ticker | BaseException | None", int, float]


async def _ticker(replies: list[httpx.Response], **session: object) -> Outcome:
    """The ticker fetch's result or typed error, the ticker requests sent, and seconds waited."""
    clock = VirtualClock(start=NOW / 1000)
    server = Scripted(clock, replies)
    async with Session(transport=httpx.MockTransport(server), clock=clock, store=False,
                       **session) as s:  # type: ignore[arg-type]
        try:
            result: Ticker | BaseException | None = await s.afetch(Ticker, exchange="toy", symbol="BTC/USD")
        except FetchError as exc:
            result = exc.cause  # the request's own typed error
    return result, server.ticker_hits, clock.time() - NOW / 1000


@pytest.mark.parametrize(("reply", "message"), [
    (httpx.Response(404, text="<html>Not Found</html>"), "HTTP 404: refused, with a body that is not JSON"),
    (httpx.Response(302, headers={"Location": "https://login.example/"}),
     "HTTP 302: redirected to 'https://login.example/'; redirects are not followed"),
    (httpx.Response(403, text="Forbidden"), "HTTP 403"),
])
async def test_a_refusal_or_redirect_is_final_after_one_request(reply: httpx.Response, message: str) -> None:
    result, hits, _ = await _ticker([reply])
    assert isinstance(result, VenueRejectedError) and message in str(result)
    assert hits == 1


@pytest.mark.parametrize("status", [408, 425, 502])
async def test_timeouts_and_too_early_are_retried(status: int) -> None:
    result, hits, _ = await _ticker([httpx.Response(status, text="wait")])
    assert isinstance(result, Ticker) and str(result.last) == "101.5"
    assert hits == 2


async def test_a_retry_after_beyond_the_bound_fails_at_once_saying_why() -> None:
    reply = httpx.Response(503, headers={"Retry-After": "3600"}, text="maintenance")
    result, hits, waited = await _ticker([reply] * 6)
    assert isinstance(result, VenueUnavailableError)
    assert "asked to wait 3600 s, more than RetryPolicy(max_retry_after=120)" in str(result)
    assert hits == 1 and waited < 1


async def test_a_retry_after_within_the_bound_is_honoured_in_full() -> None:
    reply = httpx.Response(429, headers={"Retry-After": "30"}, text="slow down")
    result, hits, waited = await _ticker([reply], retry=RetryPolicy(max_retry_after=60))
    assert isinstance(result, Ticker) and hits == 2 and waited >= 30


async def test_the_caller_sets_the_bound() -> None:
    reply = httpx.Response(429, headers={"Retry-After": "30"}, text="slow down")
    result, hits, _ = await _ticker([reply], retry=RetryPolicy(max_retry_after=10))
    assert isinstance(result, RateLimitedError) and "max_retry_after=10" in str(result) and hits == 1
