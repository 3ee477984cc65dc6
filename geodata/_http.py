"""All network access of the project: one requests session under one retry policy; nothing else opens a socket."""

from __future__ import annotations

import logging
import math
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from geodata.errors import NetworkError
from geodata.settings import Settings, get_settings

logger = logging.getLogger(__name__)

#: Answers worth asking again: rate limiting and server errors. Any other 4xx will not get better.
RETRY_STATUSES = frozenset({429, *range(500, 600)})
#: Further attempts after a failure, first pause (seconds, doubled at each retry), longest pause honoured.
RETRIES, BACKOFF, MAX_WAIT = 3, 0.5, 30.0

Sleep = Callable[[float], None]


class MalformedAnswer(Exception):
    """A successful status whose body cannot be read: one more failed attempt for the retry policy."""


def retry_after_seconds(value) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110, section 10.2.3).

    Unlike urllib3's parser, a value that is neither (``"demain"``, ``"nan"``) gives ``None`` (the
    backoff applies) instead of an exception, and a decimal delay is accepted.

    >>> retry_after_seconds("7"), retry_after_seconds("-4"), retry_after_seconds("demain")
    (7.0, 0.0, None)
    """
    if not isinstance(value, str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        import email.utils

        try:
            when = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - time.time()
    return max(seconds, 0.0) if math.isfinite(seconds) else None


class RetryPolicy(Retry):
    """urllib3's :class:`~urllib3.util.Retry` with the project's rules, for every request.

    - Retried: refused or dropped connections, timeouts, :data:`RETRY_STATUSES`, and (through
      :meth:`HttpClient.request`) a body that cannot be read; every method, since each request the
      project sends can safely be sent again.
    - The wait before the n-th retry is the server's Retry-After when it sends one (429, 503), else
      ``backoff * 2 ** (n - 1)`` (urllib3's own formula does not wait before the first retry);
      never more than ``backoff_max``. No wait after the last attempt: urllib3 gives up first.
    - The wait goes through ``sleep`` (tests inject one that only records); each retry is logged.
    """

    RETRY_AFTER_STATUS_CODES = frozenset({429, 503})

    def __init__(self, *args, sleep: Sleep = time.sleep, on_retry: Callable[[], None] | None = None, origin: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.sleep_function = sleep
        self.on_retry = on_retry
        #: ``scheme://host`` of the request, for the log (urllib3 records only the path).
        self.origin = origin

    def new(self, **kw) -> RetryPolicy:
        retry = super().new(**kw)
        retry.sleep_function, retry.on_retry, retry.origin = self.sleep_function, self.on_retry, self.origin
        return retry

    def for_origin(self, origin: str) -> RetryPolicy:
        """A fresh copy of the policy for one request to ``origin``."""
        retry = self.new()
        retry.origin = origin
        return retry

    def get_backoff_time(self) -> float:
        failures = len(self.history)
        return 0.0 if failures == 0 else float(min(self.backoff_max, self.backoff_factor * 2 ** (failures - 1)))

    def get_retry_after(self, response) -> float | None:
        seconds = retry_after_seconds(response.headers.get("Retry-After"))
        return None if seconds is None else min(seconds, self.backoff_max)

    def sleep(self, response=None) -> None:
        wait = self.get_retry_after(response) if response is not None and self.respect_retry_after_header else None
        if wait is None:
            wait = self.get_backoff_time()
        last = self.history[-1]
        done = len(self.history)
        logger.info("Essai %d/%d de %s %s%s dans %.2f s, après : %s", done + 1, done + 1 + (self.total or 0), last.method, self.origin, last.url,
                    wait, _cause(last))
        if self.on_retry is not None:
            self.on_retry()
        if wait > 0:
            self.sleep_function(wait)


def _cause(entry) -> str:
    """French words for what went wrong in one attempt (an entry of ``Retry.history``)."""
    if entry.status:
        return f"réponse HTTP {entry.status}"
    return _describe(entry.error)


def _describe(error) -> str:
    if isinstance(error, requests.RequestException) and error.args:
        error = error.args[0]
    if isinstance(error, MaxRetryError) and error.reason is not None:
        error = error.reason
    if isinstance(error, NewConnectionError):
        return "connexion impossible (serveur injoignable ou refus)"
    if isinstance(error, Urllib3Timeout | TimeoutError | requests.Timeout):
        return "délai dépassé"
    if isinstance(error, ProtocolError):
        return "connexion interrompue par le serveur"
    if isinstance(error, MalformedAnswer):
        return f"réponse illisible ({error})"
    return f"{type(error).__name__} : {error}"


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class HttpClient:
    """A requests session under one :class:`RetryPolicy`: timeouts, a user agent, retries, logging.

    Not shared between threads (a requests session is not thread-safe): build one per job.

    Parameters
    ----------
    timeout : float
        Seconds to connect, then seconds of silence while reading, for each attempt.
    user_agent : str
    retries : int
        Further attempts after a failure, whatever the failure.
    backoff : float
        First pause in seconds, doubled at each retry; a Retry-After replaces it.
    max_wait : float
        Longest pause honoured, whatever Retry-After says.
    sleep : callable
        ``sleep(seconds)`` between attempts.
    """

    def __init__(self, *, timeout: float, user_agent: str, retries: int = RETRIES, backoff: float = BACKOFF, max_wait: float = MAX_WAIT,
                 sleep: Sleep = time.sleep):
        self.timeout = timeout
        self.requests_made = 0
        self.policy = RetryPolicy(
            total=retries, status_forcelist=RETRY_STATUSES, allowed_methods=None, backoff_factor=backoff, backoff_max=max_wait,
            raise_on_status=False, sleep=sleep, on_retry=self._count,
        )
        self._adapter = HTTPAdapter(max_retries=self.policy)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = user_agent
        self._session.mount("http://", self._adapter)
        self._session.mount("https://", self._adapter)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs) -> HttpClient:
        return cls(timeout=settings.http_timeout, user_agent=settings.user_agent, **kwargs)

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def _count(self) -> None:
        self.requests_made += 1

    def request(self, method: str, url: str, *, what: str, service: str = "", parse: Callable[[requests.Response], object] | None = None,
                refused_fix: str = "vérifiez l'adresse dans les réglages.", **kwargs):
        """Send one request under the policy and return ``parse(response)`` (default: the body as bytes).

        ``parse`` raises :class:`MalformedAnswer` for a body it cannot read: that counts as one more
        failed attempt of the same budget as timeouts and 5xx (the adapter carries on from the
        state the previous attempt left). Raises :class:`~geodata.errors.NetworkError`, in
        French, naming ``what`` was asked of ``service``, once the budget is spent or on a refusal.
        """
        service = service or f"Le serveur {_origin(url)!r}"
        parse = parse or (lambda response: response.content)
        first = self.requests_made
        self.requests_made += 1  # the first attempt; each retry is counted by the policy as it waits
        state: Retry = self.policy.for_origin(_origin(url))
        while True:
            self._adapter.max_retries = state
            try:
                response = self._session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                raise self._gave_up(service, what, first, _describe(exc)) from exc
            finally:
                self._adapter.max_retries = self.policy
            if getattr(response.raw, "retries", None) is not None:
                state = response.raw.retries  # what this request's retries left of the budget
            if response.status_code in RETRY_STATUSES:
                raise self._gave_up(service, what, first, f"réponse HTTP {response.status_code}")
            if response.status_code >= 400:
                message = f"{service} refuse {what} (HTTP {response.status_code}) : {refused_fix}"
                logger.warning("%s", message)
                raise NetworkError(message)
            try:
                return parse(response)
            except MalformedAnswer as exc:
                try:
                    state = state.increment(method, response.request.path_url, error=exc)
                except MaxRetryError:
                    raise self._gave_up(service, what, first, _describe(exc)) from exc
                state.sleep()

    def _gave_up(self, service: str, what: str, first: int, cause: str) -> NetworkError:
        attempts = self.requests_made - first
        message = f"{service} n'a pas répondu pour {what} après {attempts} essai{'s' if attempts > 1 else ''} : {cause}."
        logger.warning("%s", message)
        return NetworkError(message)


def fetch_bytes(url: str, *, settings: Settings | None = None, client: HttpClient | None = None) -> bytes:
    """GET ``url`` and return the body, under the project's retry policy."""
    settings = settings or get_settings()
    if settings.offline:
        raise NetworkError(f"Mode hors ligne (CSTI_OFFLINE) : {url!r} n'est pas téléchargé.")
    if not url.lower().startswith(("http://", "https://")):
        raise NetworkError(f"Adresse non prise en charge : {url!r} (http ou https seulement).")
    own = client is None
    client = HttpClient.from_settings(settings) if own else client
    try:
        return client.request("GET", url, what=f"le téléchargement de {url!r}")
    finally:
        if own:
            client.close()


def download_to(url: str, dest: Path, *, settings: Settings | None = None, client: HttpClient | None = None) -> Path:
    """Download ``url`` to ``dest`` (written atomically) and return ``dest``."""
    body = fetch_bytes(url, settings=settings, client=client)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    tmp.write_bytes(body)
    tmp.replace(dest)
    return dest
