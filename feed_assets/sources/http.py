"""HTTP for the live feeds: timeouts, bounded retries with backoff and jitter, size limits.

Retried: timeouts, connection errors, 429 and 5xx (a ``Retry-After`` header, in seconds or
as an HTTP date, sets the wait, capped by ``max_retry_after``). Not retried: any other 4xx.
Attempts and total time are bounded (stamina does the backoff: exponential, with jitter).
Every response body is read up to ``max_body_bytes``; a larger one is cut there and fails.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass, field

import httpx
import stamina

USER_AGENT = "feed-assets/0.1 (research-paper feed warehouse; Dagster; python-httpx)"
HEADERS_KEPT = ("content-type", "content-length", "etag", "last-modified", "date", "retry-after")


class FetchError(Exception):
    """A response that is not what the source promises, or a request that failed for good.

    Carries the URL and, when there was a response, its status, headers and (possibly
    partial) body, so that the caller can keep the bytes for inspection.
    """

    def __init__(self, url: str, problem: str, response: FetchedResponse | None = None):
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.problem = problem
        self.response = response


class RetryableStatus(Exception):
    """A 429 or 5xx answer, raised inside the retry loop so that it is retried."""

    def __init__(self, response: FetchedResponse, retry_after: float | None):
        super().__init__(f"{response.url}: HTTP {response.status}")
        self.response = response
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchedResponse:
    """What came back: the final URL, status, the headers worth keeping, body and when."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: dt.datetime
    truncated: bool = False
    attempts: int = 1


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts and total time are both bounds."""

    attempts: int = 5
    total_seconds: float = 120.0
    wait_initial: float = 1.0
    wait_max: float = 30.0
    wait_jitter: float = 1.0
    max_retry_after: float = 120.0


@dataclass
class HttpFetcher:
    """An httpx client with the project's timeouts, User-Agent, retry policy and size limit."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_body_bytes: int = 50 * 2**20
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        self.client = httpx.Client(
            timeout=httpx.Timeout(self.read_timeout, connect=self.connect_timeout),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(self, url: str, params: dict[str, str | int] | None = None) -> FetchedResponse:
        """GET with retries; returns a 2xx response or raises FetchError (never a bare httpx error)."""
        attempts = 0
        try:
            for attempt in stamina.retry_context(
                on=self._backoff_for,
                attempts=self.retry.attempts,
                timeout=self.retry.total_seconds,
                wait_initial=self.retry.wait_initial,
                wait_max=self.retry.wait_max,
                wait_jitter=self.retry.wait_jitter,
            ):
                with attempt:
                    attempts += 1
                    response = self._get_once(url, params, attempts)
            return response
        except RetryableStatus as error:
            raise FetchError(error.response.url, f"HTTP {error.response.status} after {attempts} attempt(s)",
                             error.response) from error
        except httpx.TimeoutException as error:
            raise FetchError(_full_url(url, params), f"timed out after {attempts} attempt(s) ({error!r})") from error
        except httpx.TransportError as error:
            raise FetchError(_full_url(url, params), f"connection failed after {attempts} attempt(s) ({error!r})") \
                from error

    def _get_once(self, url: str, params, attempts: int) -> FetchedResponse:
        with self.client.stream("GET", url, params=params) as stream:
            body, truncated = bytearray(), False
            for chunk in stream.iter_bytes():
                body += chunk
                if len(body) > self.max_body_bytes:
                    body, truncated = body[: self.max_body_bytes], True
                    break
            response = FetchedResponse(
                url=str(stream.url), status=stream.status_code,
                headers={k: v for k, v in stream.headers.items() if k.lower() in HEADERS_KEPT},
                body=bytes(body), fetched_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                truncated=truncated, attempts=attempts,
            )
        if stream.status_code == 429 or stream.status_code >= 500:
            raise RetryableStatus(response, _retry_after_seconds(stream.headers.get("retry-after")))
        if stream.status_code >= 400:
            raise FetchError(response.url, f"HTTP {stream.status_code} (not retried)", response)
        if truncated:
            raise FetchError(response.url, f"body over the {self.max_body_bytes:,}-byte limit", response)
        return response

    def _backoff_for(self, error: Exception) -> bool | float:
        """stamina's hook: retry transient failures; a Retry-After header sets the wait."""
        if isinstance(error, RetryableStatus):
            if error.retry_after is not None:
                return min(error.retry_after, self.retry.max_retry_after)
            return True
        return isinstance(error, (httpx.TimeoutException, httpx.TransportError))


def _retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def _full_url(url: str, params) -> str:
    return str(httpx.URL(url, params=params)) if params else url
