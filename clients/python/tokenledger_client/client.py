"""The HTTP client of ``tokenledger serve``."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple, Union
from urllib.parse import quote, urlencode, urlsplit

from .errors import ServiceUnreachable, TokenLedgerError, error_for_problem
from .models import (
    CyclePolicy,
    Limit,
    QuotaDecision,
    RecordResult,
    Release,
    Report,
    Reservation,
    UsageRecord,
    UserUsage,
)

__all__ = ["TokenLedgerClient"]

#: A provider response as :meth:`TokenLedgerClient.record_response` and
#: :meth:`TokenLedgerClient.extract` take it: a decoded JSON body (``dict``), a list of stream
#: events, or the raw text of a body, an SSE stream or NDJSON (``str`` or ``bytes``).
ProviderResponse = Union[Dict[str, Any], List[Any], str, bytes]

_USER_AGENT = "tokenledger-client-python/0.1.0"


class TokenLedgerClient:
    """A client of the TokenLedger HTTP service (``tokenledger serve``).

    Each method is one request; results are dataclasses (:mod:`tokenledger_client.models`) and
    error responses raise the exceptions of :mod:`tokenledger_client.errors`. Connections are kept
    alive, one per thread, so an instance may be shared by threads. Only the standard library is
    used.

    Example::

        client = TokenLedgerClient("http://127.0.0.1:8080", api_key=os.environ["TOKENLEDGER_API_KEY"])
        client.record("alice", "call-1", input_tokens=10, output_tokens=5, model="gpt-4o")
        print(client.usage("alice").total_tokens)

    Args:
        base_url: The service's URL, ``http://host:port`` (``https://`` works through a TLS proxy);
            a path prefix is kept.
        api_key: An API key made by ``tokenledger key create NAME --role app|read|admin``; sent as
            ``Authorization: Bearer``. Never logged, never part of an exception's message.
        timeout: Seconds to wait for connecting and for each response.

    Raises:
        ValueError: ``base_url`` is not an ``http`` or ``https`` URL.
    """

    def __init__(self, base_url: str, api_key: Optional[str], timeout: float = 10) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http:// or https:// URL with a host, got %r" % base_url)
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._prefix = parts.path.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self._local = threading.local()

    @property
    def base_url(self) -> str:
        """The service's URL, as given (without a trailing slash)."""
        return "%s://%s:%d%s" % (self._scheme, self._host, self._port, self._prefix)

    def __repr__(self) -> str:  # the key stays out of reprs and logs
        return "TokenLedgerClient(%r)" % self.base_url

    # -- usage -------------------------------------------------------------------------------

    def record(
        self,
        user: str,
        call_id: str,
        input_tokens: int,
        output_tokens: int,
        *,
        cached_input_tokens: Optional[int] = None,
        cache_write_tokens: Optional[int] = None,
        reasoning_tokens: Optional[int] = None,
        model: Optional[str] = None,
        provider: Optional[str] = None,
        cycle: Optional[str] = None,
        cache_write_1h_tokens: Optional[int] = None,
    ) -> RecordResult:
        """Records one call's usage (``POST /v1/usage``), idempotently per ``(user, call_id)``.

        Args:
            user: The user id (1–256 bytes of UTF-8, no control characters).
            call_id: The call's id; recording it again counts nothing (``applied`` is false).
            input_tokens: Every prompt-side token, cache reads and writes included.
            output_tokens: Every completion-side token, reasoning included.
            cached_input_tokens: Cache reads (part of ``input_tokens``), if reported.
            cache_write_tokens: Cache writes (part of ``input_tokens``), if reported.
            reasoning_tokens: Reasoning tokens (part of ``output_tokens``), if reported.
            model: The model name.
            provider: The provider name.
            cycle: Book into the cycle starting on this date (``YYYY-MM-DD``) instead of the current one.
            cache_write_1h_tokens: 1-hour cache writes (part of ``cache_write_tokens``), priced at
                the model's 1-hour write rate, if reported.

        Returns:
            The result (``cost_usd``: the call's cost, ``None`` when its model has no price);
            ``spooled`` is true (HTTP 202) when the service kept the event in its spool because
            Redis was unavailable.

        Raises:
            BadRequest: A field is invalid (``error.field`` names it).
            Conflict: The call id was already recorded with another total (409).
            AuthenticationError, PermissionDenied, Unavailable, TokenLedgerError: see :mod:`.errors`.
        """
        body = _usage_body(
            user,
            input_tokens,
            output_tokens,
            call_id=call_id,
            cached_input_tokens=cached_input_tokens,
            cache_write_tokens=cache_write_tokens,
            cache_write_1h_tokens=cache_write_1h_tokens,
            reasoning_tokens=reasoning_tokens,
            model=model,
            provider=provider,
            cycle=cycle,
        )
        return RecordResult.from_json(self._request("POST", "/v1/usage", body))

    def record_response(
        self,
        user: str,
        call_id: str,
        response: ProviderResponse,
        *,
        model: Optional[str] = None,
        provider: Optional[str] = None,
    ) -> RecordResult:
        """Records a raw provider response (``POST /v1/usage`` with ``response``).

        The service reads the usage with the same extractor as ``tokenledger extract``.

        Args:
            user: The user id.
            call_id: The call's id (idempotent, as in :meth:`record`).
            response: The provider's response: a decoded JSON body, a list of stream events, or
                the text of a body, an SSE stream or NDJSON.
            model: The model name, when the response does not say it.
            provider: How to read the response (``openai``, ``anthropic``, …); default: detected.

        Returns:
            The result, as :meth:`record`'s.

        Raises:
            BadRequest: The response is malformed or carries no usage (the detail names the path).
        """
        body: Dict[str, Any] = {"user": user, "call_id": call_id, "response": _response_value(response)}
        _put_optional(body, model=model, provider=provider)
        return RecordResult.from_json(self._request("POST", "/v1/usage", body))

    def extract(self, response: ProviderResponse, *, provider: Optional[str] = None) -> UsageRecord:
        """Normalizes a provider response without storing anything (``POST /v1/extract``).

        Args:
            response: As :meth:`record_response` takes it.
            provider: How to read it; default: detected.

        Returns:
            The normalized record (subsets the provider did not report are ``None``).
        """
        body: Dict[str, Any] = {"response": _response_value(response)}
        _put_optional(body, provider=provider)
        return UsageRecord.from_json(self._request("POST", "/v1/extract", body))

    # -- quota -------------------------------------------------------------------------------

    def check(
        self,
        user: str,
        tokens: int,
        *,
        model: Optional[str] = None,
        max_output_tokens: Optional[int] = None,
        usd: Optional[Union[str, Decimal]] = None,
    ) -> QuotaDecision:
        """Asks whether ``user`` may spend ``tokens`` (and their cost) more now
        (``POST /v1/quota/check``); read-only. ``model``, ``max_output_tokens`` and ``usd`` price
        the request as :meth:`reserve` does.

        Returns:
            The decision; a denial is ``allowed == False`` (``denied_by`` names the limit), not an exception.
        """
        body: Dict[str, Any] = {"user": user, "tokens": tokens}
        _put_optional(body, model=model, max_output_tokens=max_output_tokens, usd=_usd(usd))
        return QuotaDecision.from_json(self._request("POST", "/v1/quota/check", body))

    def reserve(
        self,
        user: str,
        call_id: str,
        tokens: int,
        ttl_seconds: Optional[int] = None,
        *,
        model: Optional[str] = None,
        max_output_tokens: Optional[int] = None,
        usd: Optional[Union[str, Decimal]] = None,
    ) -> Reservation:
        """Reserves ``tokens`` (and their cost) for a call if the limits allow it
        (``POST /v1/reservations``); atomic.

        Admitted only if used + reserved + tokens ≤ limit and spend + reserved cost + cost ≤ the
        currency limit. Reserving the same call id with the same amounts again is a no-op (status
        ``held``).

        Args:
            user: The user id.
            call_id: The call's id; settle or release it with the same id.
            tokens: Tokens to hold (priced as input tokens with ``model``).
            ttl_seconds: Seconds before an unsettled lease expires by itself (service default when ``None``).
            model: Price the estimate at this model's rates; ``tokens + max_output_tokens`` are
                reserved. A model without a price is reserved by tokens only.
            max_output_tokens: Output tokens priced at the model's output rate (needs ``model``).
            usd: The cost to reserve, in USD (a decimal string such as ``"0.03"`` or a
                :class:`decimal.Decimal`; at most nine decimals), instead of ``model``.

        Returns:
            The admitted reservation.

        Raises:
            QuotaExceeded: Denied (429); ``error.decision`` says why (``denied_by``: ``tokens`` or
                ``usd``), ``error.retry_after`` when to retry.
            Conflict: The call id is already held with other amounts (409).
        """
        body: Dict[str, Any] = {"user": user, "call_id": call_id, "tokens": tokens}
        _put_optional(
            body, ttl_seconds=ttl_seconds, model=model, max_output_tokens=max_output_tokens, usd=_usd(usd)
        )
        return Reservation.from_json(self._request("POST", "/v1/reservations", body))

    def settle(
        self,
        user: str,
        call_id: str,
        input_tokens: int,
        output_tokens: int,
        *,
        cached_input_tokens: Optional[int] = None,
        cache_write_tokens: Optional[int] = None,
        reasoning_tokens: Optional[int] = None,
        model: Optional[str] = None,
        provider: Optional[str] = None,
        cache_write_1h_tokens: Optional[int] = None,
    ) -> RecordResult:
        """Replaces a call's reservation with its actual usage, exactly once
        (``POST /v1/reservations/{call_id}/settle``).

        A settle with no live lease still records the usage (the call happened).

        Args:
            user: The user id.
            call_id: The call id the reservation was made with.
            input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens,
                model, provider, cache_write_1h_tokens: As :meth:`record` takes them.

        Returns:
            The record result (``released_tokens``: what the lease held).

        Raises:
            Conflict: The call id was already recorded with another total (409, code
                ``call_conflict``); nothing changed and the lease stays.
        """
        body = _usage_body(
            user,
            input_tokens,
            output_tokens,
            cached_input_tokens=cached_input_tokens,
            cache_write_tokens=cache_write_tokens,
            cache_write_1h_tokens=cache_write_1h_tokens,
            reasoning_tokens=reasoning_tokens,
            model=model,
            provider=provider,
        )
        return RecordResult.from_json(
            self._request("POST", "/v1/reservations/%s/settle" % _segment(call_id), body)
        )

    def release(self, user: str, call_id: str) -> Release:
        """Drops a call's reservation without recording usage (``DELETE /v1/reservations/{call_id}``).

        Returns:
            What was released (``released_tokens`` is 0 when no lease was live).
        """
        path = "/v1/reservations/%s?%s" % (_segment(call_id), urlencode({"user": user}))
        return Release.from_json(self._request("DELETE", path))

    # -- reads -------------------------------------------------------------------------------

    def usage(self, user: str, cycle: Optional[str] = None) -> UserUsage:
        """A user's usage in a cycle (``GET /v1/users/{user}/usage``); the current cycle by default.

        Args:
            user: The user id.
            cycle: A cycle's start date (``YYYY-MM-DD``).
        """
        path = "/v1/users/%s/usage" % _segment(user) + _query(cycle=cycle)
        return UserUsage.from_json(self._request("GET", path))

    def report(self, cycle: Optional[str] = None, top: Optional[int] = None, sort: Optional[str] = None) -> Report:
        """Every user's usage in a cycle (``GET /v1/report``).

        Args:
            cycle: A cycle's start date; default: the default policy's current cycle.
            top: Only the first ``top`` users (totals still cover all).
            sort: ``total``, ``input``, ``output`` or ``cost`` (descending).
        """
        return Report.from_json(self._request("GET", "/v1/report" + _query(cycle=cycle, top=top, sort=sort)))

    # -- administration ----------------------------------------------------------------------

    def get_limit(self, user: str) -> Limit:
        """The limits (tokens and USD) that apply to ``user`` and where they come from
        (``GET /v1/users/{user}/limit``; admin)."""
        return Limit.from_json(self._request("GET", "/v1/users/%s/limit" % _segment(user)))

    def set_limit(
        self, user: str, tokens: Optional[int] = None, *, usd: Optional[Union[str, Decimal]] = None
    ) -> Limit:
        """Sets ``user``'s own token limit and/or currency limit per cycle
        (``PUT /v1/users/{user}/limit``; admin). ``usd`` is a decimal string (``"25"``, ``"0.5"``)
        or a :class:`decimal.Decimal` with at most nine decimals; both are checked before either is stored.
        """
        if tokens is None and usd is None:
            raise ValueError("set_limit needs tokens or usd")
        body: Dict[str, Any] = {}
        _put_optional(body, tokens=tokens, usd=_usd(usd))
        return Limit.from_json(self._request("PUT", "/v1/users/%s/limit" % _segment(user), body))

    def clear_limit(self, user: str, only: Optional[str] = None) -> Limit:
        """Removes ``user``'s own limits, both by default or only ``"tokens"`` or ``"usd"``; the
        defaults apply again (``DELETE /v1/users/{user}/limit``; admin)."""
        return Limit.from_json(self._request("DELETE", "/v1/users/%s/limit" % _segment(user) + _query(only=only)))

    def set_rate(self, scope: str, *, tpm: Optional[int] = None, rpm: Optional[int] = None) -> Dict[str, Any]:
        """Sets a scope's rate limits over a sliding 60 s window (``PUT /v1/scopes/{scope}/rate``;
        admin): ``scope`` is ``user:ID``, ``team:ID``, ``org:ID`` or a plain user id; a limit not
        given is kept. Returns the service's JSON (``scope``, ``tpm``, ``rpm`` and their sources)."""
        if tpm is None and rpm is None:
            raise ValueError("set_rate needs tpm or rpm")
        body: Dict[str, Any] = {}
        _put_optional(body, tpm=tpm, rpm=rpm)
        return self._request("PUT", "/v1/scopes/%s/rate" % _segment(scope), body)

    def clear_rate(self, scope: str) -> Dict[str, Any]:
        """Removes a scope's own rate limits (``DELETE /v1/scopes/{scope}/rate``; admin); a user's
        namespace defaults apply again."""
        return self._request("DELETE", "/v1/scopes/%s/rate" % _segment(scope))

    def set_cycle_policy(
        self,
        user: str,
        period: str,
        *,
        anchor_day: Optional[Union[int, str]] = None,
        timezone: Optional[str] = None,
    ) -> CyclePolicy:
        """Sets ``user``'s billing cycle policy (``PUT /v1/users/{user}/cycle-policy``; admin).

        Args:
            user: The user id.
            period: ``monthly``, ``weekly`` or ``daily``.
            anchor_day: monthly: day 1–31 (clamped to short months); weekly: 1–7 (Monday = 1) or a
                weekday name.
            timezone: An IANA time zone (default UTC).
        """
        body: Dict[str, Any] = {"period": period}
        _put_optional(body, anchor_day=anchor_day, timezone=timezone)
        return CyclePolicy.from_json(self._request("PUT", "/v1/users/%s/cycle-policy" % _segment(user), body))

    # -- health ------------------------------------------------------------------------------

    def healthz(self) -> Dict[str, Any]:
        """Liveness (``GET /healthz``, no key needed): the service's JSON answer."""
        return self._request("GET", "/healthz", authenticated=False)

    def readyz(self) -> Dict[str, Any]:
        """Readiness (``GET /readyz``, no key needed): Redis answers and the schema is current.

        Raises:
            Unavailable: Not ready (503); ``error.problem`` says why.
        """
        return self._request("GET", "/readyz", authenticated=False)

    def close(self) -> None:
        """Closes this thread's kept-alive connection (others close when their threads end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def __enter__(self) -> "TokenLedgerClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            connection = cls(self._host, self._port, timeout=self.timeout)
            self._local.connection = connection
        return connection

    def _request(
        self,
        method: str,
        path: str,
        body: Optional[Dict[str, Any]] = None,
        *,
        authenticated: bool = True,
    ) -> Dict[str, Any]:
        """Sends one request and decodes its JSON answer, raising for an error status."""
        headers = {"Accept": "application/json, application/problem+json", "User-Agent": _USER_AGENT}
        payload: Optional[bytes] = None
        if body is not None:
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if authenticated and self._api_key:
            headers["Authorization"] = "Bearer " + self._api_key
        status, response_headers, data = self._exchange(method, self._prefix + path, payload, headers)
        bare_path = path.split("?", 1)[0]
        content_type = response_headers.get("content-type", "")
        decoded: Any = None
        if data:
            try:
                decoded = json.loads(data.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                decoded = None
        if status >= 400:
            problem = decoded if isinstance(decoded, dict) else {}
            if not problem and data and "json" not in content_type:
                problem = {"detail": data[:200].decode("utf-8", "replace").strip()}
            raise error_for_problem(
                status,
                problem,
                method=method,
                path=bare_path,
                retry_after_header=response_headers.get("retry-after"),
            )
        if not isinstance(decoded, dict):
            raise TokenLedgerError(
                "%s %s: %d with a body that is not a JSON object (%s)"
                % (method, bare_path, status, content_type or "no content type"),
                status=status,
            )
        if status == 202 and "spooled" not in decoded:
            decoded = dict(decoded, spooled=True)
        return decoded

    def _exchange(
        self, method: str, path: str, payload: Optional[bytes], headers: Dict[str, str]
    ) -> Tuple[int, Dict[str, str], bytes]:
        """One round trip on this thread's connection; a kept-alive connection the server closed
        meanwhile is reopened once (nothing reached the service on it)."""
        for attempt in (0, 1):
            connection = self._connection()
            reused = connection.sock is not None
            try:
                try:
                    connection.request(method, path, body=payload, headers=headers)
                except (BrokenPipeError, ConnectionResetError):
                    # A service may answer before reading a whole body (413: over its limit) and
                    # close; its answer can still be read. If there is none, this raises again.
                    pass
                response = connection.getresponse()
                data = response.read()
                response_headers = {name.lower(): value for name, value in response.getheaders()}
                if response.will_close:
                    self.close()
                return response.status, response_headers, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
                self.close()
                if reused and attempt == 0:
                    continue
                raise ServiceUnreachable(
                    "%s %s: the connection to %s failed (%s)"
                    % (method, path.split("?", 1)[0], self.base_url, type(error).__name__)
                ) from error
            except (OSError, http.client.HTTPException) as error:
                self.close()
                reason = "timed out" if isinstance(error, socket.timeout) else str(error) or type(error).__name__
                raise ServiceUnreachable(
                    "%s %s: cannot reach %s (%s)" % (method, path.split("?", 1)[0], self.base_url, reason)
                ) from error
        raise AssertionError("unreachable")  # pragma: no cover


def _usage_body(user: str, input_tokens: int, output_tokens: int, **optional: Any) -> Dict[str, Any]:
    """The JSON body of a record or settle: the user, the two counts and each optional field given."""
    body: Dict[str, Any] = {"user": user, "input_tokens": input_tokens, "output_tokens": output_tokens}
    _put_optional(body, **optional)
    return body


def _put_optional(body: Dict[str, Any], **values: Any) -> None:
    for name, value in values.items():
        if value is not None:
            body[name] = value


def _usd(value: Optional[Union[str, Decimal]]) -> Optional[str]:
    """An amount of USD as the service takes it: a decimal string (never a float, which is inexact)."""
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError("usd must be a decimal string or a decimal.Decimal, not a float (floats are not exact)")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _segment(value: str) -> str:
    """One path segment, percent-encoded (``/``, ``?``, ``#`` and ``%`` included)."""
    return quote(value, safe="")


def _query(**values: Any) -> str:
    present = [(name, value) for name, value in values.items() if value is not None]
    return "?" + urlencode(present) if present else ""


def _response_value(response: ProviderResponse) -> Any:
    if isinstance(response, bytes):
        return response.decode("utf-8")
    return response
