"""HTTP for the live feeds: timeouts, deadlines, bounded retries with backoff and jitter,
same-host redirects, size limits.

Retried: timeouts, connection errors, 429 and 5xx (a ``Retry-After`` header, in seconds or
as an HTTP date, sets the wait, capped by ``max_retry_after``). Not retried: any other 4xx,
a URL scheme httpx cannot speak, a refused redirect, a deadline passed. Attempts and total
time are bounded (stamina does the backoff: exponential, with jitter).

Deadlines: a request (all its attempts, waits and redirects) must be answered completely
within ``retry.total_seconds`` (the read timeout alone bounds each read, so a server that
drips a byte every few seconds would never trip it); and everything fetched inside
``with fetcher.day_deadline():`` within ``day_deadline_seconds``. A passed deadline is a
FetchError naming the URL, with whatever body came so far.

Redirects are followed by hand, only to the same scheme, host and port as the URL asked
for, at most ``max_redirects`` in a row; each hop is kept as a FetchedResponse (in
``redirects``) so that it can be logged. A loop, another host or a non-HTTP target is a
FetchError naming the URL and the target. Every response body is read up to
``max_body_bytes``; a larger one is cut there and fails.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import stamina

from feed_assets.parsing.normalize import printable

USER_AGENT = "feed-assets/0.1 (research-paper feed warehouse; Dagster; python-httpx)"
HEADERS_KEPT = ("content-type", "content-length", "etag", "last-modified", "date", "retry-after", "location")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class FetchError(Exception):
    """A response that is not what the source promises, or a request that failed for good.

    Carries the URL and, when there was a response, its status, headers and (possibly
    partial) body, so that the caller can keep the bytes for inspection; ``attempts`` says
    how many requests were made (0: none, e.g. a deadline already passed), ``redirects``
    the redirect responses followed on the way (for the fetch log).
    """

    def __init__(self, url: str, problem: str, response: FetchedResponse | None = None, attempts: int | None = None,
                 redirects: tuple[FetchedResponse, ...] = ()):
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.problem = problem
        self.response = response
        self.attempts = attempts if attempts is not None else (response.attempts if response else 0)
        self.redirects = redirects


class DeadlinePassed(Exception):
    """A request or a day ran out of time (raised inside the retry loop, never retried)."""

    def __init__(self, url: str, problem: str, response: FetchedResponse | None = None):
        super().__init__(f"{url}: {problem}")
        self.url, self.problem, self.response = url, problem, response


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
    redirects: tuple[FetchedResponse, ...] = ()  # the redirect responses followed to get here, in order


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
    """An httpx client with the project's timeouts, deadlines, User-Agent, retry policy,
    redirect policy and size limit."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_body_bytes: int = 50 * 2**20
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_redirects: int = 5
    day_deadline_seconds: float = 600.0

    def __post_init__(self) -> None:
        self.client = httpx.Client(
            timeout=httpx.Timeout(self.read_timeout, connect=self.connect_timeout),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )
        self._day_deadline: float | None = None
        self._deadline: float | None = None

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def day_deadline(self, seconds: float | None = None) -> Iterator[None]:
        """Every request inside the block must be done within ``seconds`` (default
        ``day_deadline_seconds``) of entering it; later ones fail with a FetchError."""
        previous = self._day_deadline
        self._day_deadline = time.monotonic() + (self.day_deadline_seconds if seconds is None else seconds)
        try:
            yield
        finally:
            self._day_deadline = previous

    def get(self, url: str, params: dict[str, str | int] | None = None) -> FetchedResponse:
        """GET with retries; returns a 2xx response or raises FetchError (never a bare httpx error)."""
        full_url = _full_url(url, params)
        attempts, hops = 0, []
        request_deadline = time.monotonic() + self.retry.total_seconds
        day_deadline = self._day_deadline if self._day_deadline is not None else float("inf")
        self._deadline = min(request_deadline, day_deadline)
        deadline_problem = (
            f"no complete answer within the {self.retry.total_seconds:g} s allowed per request"
            if request_deadline <= day_deadline else
            f"the day's fetching went over its {self.day_deadline_seconds:g} s deadline")
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
                    if time.monotonic() >= self._deadline:
                        raise DeadlinePassed(full_url, f"{deadline_problem}; not asked (again)")
                    attempts += 1
                    response = self._get_once(url, params, attempts, hops, deadline_problem)
            return response
        except RetryableStatus as error:
            raise FetchError(error.response.url, f"HTTP {error.response.status} after {attempts} attempt(s)",
                             error.response, attempts, tuple(hops)) from error
        except DeadlinePassed as error:
            raise FetchError(error.url, f"{error.problem} (after {attempts} attempt(s))", error.response, attempts,
                             tuple(hops)) from error
        except FetchError as error:
            earlier = [hop for hop in hops if hop is not error.response]  # the refused hop is the error's own row
            error.attempts, error.redirects = attempts, tuple(earlier)
            raise
        except httpx.TimeoutException as error:
            raise FetchError(full_url, f"timed out after {attempts} attempt(s) ({error!r})", attempts=attempts,
                             redirects=tuple(hops)) from error
        except httpx.TransportError as error:
            raise FetchError(full_url, f"connection failed after {attempts} attempt(s) ({error!r})",
                             attempts=attempts, redirects=tuple(hops)) from error
        except (httpx.RequestError, httpx.InvalidURL) as error:
            raise FetchError(full_url, f"request failed ({error!r})", attempts=attempts,
                             redirects=tuple(hops)) from error
        finally:
            self._deadline = None

    def _get_once(self, url: str, params, attempts: int, hops: list[FetchedResponse],
                  deadline_problem: str) -> FetchedResponse:
        """One attempt: the request and the same-host redirects it leads to."""
        origin = _origin(httpx.URL(url))
        chain = [_full_url(url, params)]
        request_url, request_params = url, params
        first_hop = len(hops)
        while True:
            response = self._read(request_url, request_params, attempts, deadline_problem)
            if response.status not in REDIRECT_STATUSES:
                break
            hops.append(response)
            target = self._redirect_target(response, origin, chain)
            chain.append(str(target))
            request_url, request_params = str(target), None
        response = _with_redirects(response, tuple(hops[first_hop:]))
        if response.status == 429 or response.status >= 500:
            raise RetryableStatus(response, _retry_after_seconds(response.headers.get("retry-after")))
        if response.status >= 300:
            problem = "(not retried)" if response.status >= 400 else "that is not a redirect this client follows"
            raise FetchError(response.url, f"HTTP {response.status} {problem}", response)
        if response.truncated:
            raise FetchError(response.url, f"body over the {self.max_body_bytes:,}-byte limit", response)
        return response

    def _redirect_target(self, response: FetchedResponse, origin: tuple, chain: list[str]) -> httpx.URL:
        """Where a redirect leads, if this client may follow it; FetchError (naming both) otherwise."""
        location = response.headers.get("location")
        if not location:
            raise FetchError(response.url, f"HTTP {response.status} redirect without a Location header", response)
        try:
            target = httpx.URL(response.url).join(location)
        except (httpx.InvalidURL, ValueError) as error:
            raise FetchError(response.url, f"redirect to an invalid URL {location!r} ({error})", response) from None
        if target.scheme not in ("http", "https"):
            raise FetchError(response.url, f"redirect to a non-HTTP URL {printable(location)} refused", response)
        if _origin(target) != origin:
            raise FetchError(response.url, f"redirect to another host refused: {target} (only "
                                           f"{origin[0]}://{origin[1]}:{origin[2]} is followed)", response)
        if str(target) in chain:
            raise FetchError(response.url, f"redirect loop: {' -> '.join([*chain, str(target)])}", response)
        if len(chain) > self.max_redirects:
            raise FetchError(response.url, f"more than {self.max_redirects} redirects in a row: "
                                           f"{' -> '.join([*chain, str(target)])}", response)
        return target

    def _read(self, url: str, params, attempts: int, deadline_problem: str) -> FetchedResponse:
        """One request, its body read up to the size limit and before the deadline."""
        deadline = self._deadline if self._deadline is not None else float("inf")
        remaining = max(0.001, deadline - time.monotonic())
        timeout = httpx.Timeout(min(self.read_timeout, remaining), connect=min(self.connect_timeout, remaining))
        try:
            return self._read_within(url, params, attempts, deadline_problem, deadline, timeout)
        except httpx.TimeoutException as error:
            # a timeout the deadline set (shorter than the configured one) means the deadline passed
            configured = self.connect_timeout if isinstance(error, httpx.ConnectTimeout) else self.read_timeout
            if remaining < configured:
                raise DeadlinePassed(_full_url(url, params),
                                     f"{deadline_problem} (waiting for the server: {error!r})") from error
            raise

    def _read_within(self, url: str, params, attempts: int, deadline_problem: str, deadline: float,
                     timeout: httpx.Timeout) -> FetchedResponse:
        with self.client.stream("GET", url, params=params, timeout=timeout) as stream:
            body, truncated, late = bytearray(), False, False
            for chunk in stream.iter_bytes():
                body += chunk
                if len(body) > self.max_body_bytes:
                    body, truncated = body[: self.max_body_bytes], True
                    break
                if time.monotonic() > deadline:
                    late = True
                    break
            response = FetchedResponse(
                url=str(stream.url), status=stream.status_code,
                headers={k: v for k, v in stream.headers.items() if k.lower() in HEADERS_KEPT},
                body=bytes(body), fetched_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                truncated=truncated or late, attempts=attempts,
            )
        if late:
            raise DeadlinePassed(response.url, f"{deadline_problem} ({len(body):,} bytes of the body received)",
                                 response)
        return response

    def _backoff_for(self, error: Exception) -> bool | float:
        """stamina's hook: retry transient failures; a Retry-After header sets the wait. Never
        wait past the deadline, and never retry what cannot succeed (a refused redirect, a
        scheme httpx cannot speak, a passed deadline)."""
        if isinstance(error, (DeadlinePassed, FetchError, httpx.UnsupportedProtocol, httpx.LocalProtocolError)):
            return False
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return False
        if isinstance(error, RetryableStatus):
            if error.retry_after is not None:
                wait = min(error.retry_after, self.retry.max_retry_after)
                if self._deadline is not None:
                    wait = min(wait, max(0.0, self._deadline - time.monotonic()))
                return wait
            return True
        return isinstance(error, (httpx.TimeoutException, httpx.TransportError))


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, port


def _with_redirects(response: FetchedResponse, redirects: tuple[FetchedResponse, ...]) -> FetchedResponse:
    if not redirects:
        return response
    return FetchedResponse(response.url, response.status, response.headers, response.body, response.fetched_at,
                           response.truncated, response.attempts, redirects)


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
