"""Exceptions raised by :class:`tokenledger_client.TokenLedgerClient`.

The service answers every error with an RFC 9457 ``application/problem+json`` body (``type``,
``title``, ``status``, ``detail`` and a stable ``code``; a 400 also names the bad ``field``). Each
error response becomes one exception class chosen by its status; every class carries the
problem's fields, so a caller can branch on ``error.code`` without parsing messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    from .models import QuotaDecision

__all__ = [
    "TokenLedgerError",
    "BadRequest",
    "AuthenticationError",
    "PermissionDenied",
    "NotFound",
    "Conflict",
    "QuotaExceeded",
    "Unavailable",
    "ServiceUnreachable",
    "error_for_problem",
]


class TokenLedgerError(Exception):
    """Base class of every error the client raises.

    Attributes:
        status: The HTTP status of the response, or ``None`` when no response arrived.
        code: The problem's stable ``code`` (for example ``"invalid_field"``), or ``None`` when
            the response was not a problem document.
        title: The problem's short ``title``.
        detail: The problem's ``detail``: what was wrong, in words.
        field: The request field the problem names (400), or ``None``.
        problem: The whole problem document as decoded JSON (empty when there was none).
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        title: Optional[str] = None,
        detail: Optional[str] = None,
        field: Optional[str] = None,
        problem: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.field = field
        self.problem: Dict[str, Any] = dict(problem or {})


class BadRequest(TokenLedgerError):
    """The request was refused as bad input (400), or its body was over the limit (413).

    ``field`` names the field that was wrong when the service said which.
    """


class AuthenticationError(TokenLedgerError):
    """No API key, or a key the service does not know or has revoked (401)."""


class PermissionDenied(TokenLedgerError):
    """The API key's role may not do this (403): ``app`` records, ``read`` reads, ``admin`` does all."""


class NotFound(TokenLedgerError):
    """No such route or resource (404)."""


class Conflict(TokenLedgerError):
    """The call id is already reserved with another amount, or recorded with another total (409); nothing changed."""


class QuotaExceeded(TokenLedgerError):
    """A reservation was denied (429): the user's limit does not allow the requested tokens.

    Attributes:
        decision: The quota decision the service returned with the denial (``allowed`` is
            false), or ``None`` if the problem carried none.
        retry_after: Seconds after which a retry may be admitted (from ``Retry-After`` or the
            problem's ``retry_after_ms``), or ``None`` when the service gave no hint (a token
            limit per cycle frees up only when the cycle ends or usage is released).
    """

    def __init__(
        self,
        message: str,
        *,
        decision: Optional["QuotaDecision"] = None,
        retry_after: Optional[float] = None,
        **fields: Any,
    ) -> None:
        super().__init__(message, **fields)
        self.decision = decision
        self.retry_after = retry_after


class Unavailable(TokenLedgerError):
    """The service cannot reach Redis and has no spool for this request (503)."""


class ServiceUnreachable(Unavailable):
    """No HTTP response at all: the service could not be connected to, or the connection failed.

    A subclass of :class:`Unavailable`, so ``except Unavailable`` covers both a service without
    Redis and a service that is not there.
    """


_BY_STATUS = {
    400: BadRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: BadRequest,
    429: QuotaExceeded,
    503: Unavailable,
}


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _field_of(problem: Dict[str, Any]) -> Optional[str]:
    """The bad field a problem names: ``field``, else the first of ``errors``/``invalid_params``."""
    field = _text(problem.get("field"))
    if field is not None:
        return field
    for key in ("errors", "invalid_params"):
        items = problem.get(key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict):
                    name = _text(item.get("field")) or _text(item.get("name")) or _text(item.get("pointer"))
                    if name is not None:
                        return name
    return None


def error_for_problem(
    status: int,
    problem: Dict[str, Any],
    *,
    method: str,
    path: str,
    retry_after_header: Optional[str] = None,
) -> TokenLedgerError:
    """The exception for an error response.

    Args:
        status: The HTTP status (400 and above).
        problem: The decoded problem document, or ``{}`` when the body was not one.
        method: The request's method, for the message.
        path: The request's path without its query, for the message (never a key or a body).
        retry_after_header: The response's ``Retry-After`` header, if any.

    Returns:
        An instance of the class for ``status`` (:class:`TokenLedgerError` for a status without
        a class of its own), carrying the problem's fields.
    """
    code = _text(problem.get("code"))
    title = _text(problem.get("title"))
    detail = _text(problem.get("detail"))
    field = _field_of(problem)
    words = detail or title or "HTTP %d" % status
    message = "%s %s: %d %s" % (method, path, status, words)
    if code:
        message += " (%s)" % code
    fields: Dict[str, Any] = dict(
        status=status, code=code, title=title, detail=detail, field=field, problem=problem
    )
    # A gateway in front of the service answers 502/504 when it is not there.
    cls = _BY_STATUS.get(status) or (Unavailable if status in (502, 504) else TokenLedgerError)
    if cls is QuotaExceeded:
        from .models import QuotaDecision

        decision_json = problem.get("decision")
        if not isinstance(decision_json, dict) and "allowed" in problem:
            decision_json = problem
        decision = QuotaDecision.from_json(decision_json) if isinstance(decision_json, dict) else None
        return QuotaExceeded(
            message,
            decision=decision,
            retry_after=_retry_after(retry_after_header, problem),
            **fields,
        )
    return cls(message, **fields)


def _retry_after(header: Optional[str], problem: Dict[str, Any]) -> Optional[float]:
    if header:
        try:
            return float(int(header.strip()))
        except ValueError:
            pass
    milliseconds = problem.get("retry_after_ms")
    if isinstance(milliseconds, int) and not isinstance(milliseconds, bool):
        return milliseconds / 1000.0
    return None
