"""Results of :class:`tokenledger_client.TokenLedgerClient`, as dataclasses mirroring the JSON.

Field names are the service's snake_case JSON names. Every result also keeps the whole decoded
JSON object in ``raw``, so a field the service adds later is readable before this package names
it. Amounts are ``int`` (exact), costs :class:`decimal.Decimal` (exact: the service sends USD as a
nine-decimal string); a value the service sends as ``null`` is ``None`` (for example ``limit`` of an
unlimited user, a token subset the provider did not report, or the cost of an unpriced call).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Dict, List, Optional, Type, TypeVar

__all__ = [
    "RecordResult",
    "QuotaDecision",
    "Reservation",
    "Release",
    "ModelUsage",
    "UserUsage",
    "ReportTotals",
    "Report",
    "Limit",
    "CyclePolicy",
    "UsageRecord",
]

T = TypeVar("T")


def _build(cls: Type[T], data: Dict[str, Any], **overrides: Any) -> T:
    """``cls`` from the JSON object ``data``: known fields only, missing ones at their defaults."""
    if not isinstance(data, dict):
        raise TypeError("expected a JSON object for %s, got %s" % (cls.__name__, type(data).__name__))
    values: Dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name == "raw":
            values["raw"] = dict(data)
        elif f.name in overrides:
            values[f.name] = overrides[f.name]
        elif f.name in data:
            values[f.name] = data[f.name]
    return cls(**values)


M = TypeVar("M", bound="_Model")


def _cost(value: Any) -> Optional[Decimal]:
    """A cost as the service sends it (USD, a nine-decimal string, or ``null``) as a ``Decimal``."""
    return None if value is None else Decimal(str(value))


def _costs(data: Dict[str, Any], *names: str) -> Dict[str, Any]:
    """The cost fields among ``names`` that ``data`` holds, decoded with :func:`_cost`."""
    return {name: _cost(data[name]) for name in names if name in data}


class _Model:
    """The decoding every result shares: ``from_json`` builds the dataclass from the JSON object,
    each field from the member of its name; a result whose fields nest other results names them in
    ``_nested``."""

    @classmethod
    def _nested(cls, data: Dict[str, Any]) -> Dict[str, Any]:
        """The fields decoded otherwise than as they are in ``data`` (none by default)."""
        return {}

    @classmethod
    def from_json(cls: Type[M], data: Dict[str, Any]) -> M:
        """Decodes the service's JSON object."""
        return _build(cls, data, **cls._nested(data))


@dataclass
class RecordResult(_Model):
    """The result of recording usage (``record``, ``record_response``) or of ``settle``.

    Attributes:
        user: The user id.
        applied: ``True`` when the call was counted now, ``False`` when its call id had already
            been recorded (a retry: nothing counted twice); ``None`` when ``spooled``.
        cycle: The billing cycle it was booked to (its start date, ``YYYY-MM-DD``); ``None`` when
            ``spooled``.
        total_tokens: The call's input + output tokens; ``None`` when ``spooled``.
        spooled: ``True`` when the service could not reach Redis and kept the event in its spool
            (HTTP 202): it is replayed when Redis returns, and is not an error.
        call_id: The call id, when the service echoes it.
        released_tokens: For ``settle``: the reserved tokens the settle released.
        history_amended: ``True`` when the call landed in a cycle that had already been closed
            (its history was amended).
        cost_usd: The call's cost in USD as priced when it was recorded; ``None`` when its model
            has no price (or when ``spooled``).
        raw: The whole JSON object.
    """

    user: str = ""
    applied: Optional[bool] = None
    cycle: Optional[str] = None
    total_tokens: Optional[int] = None
    spooled: bool = False
    call_id: Optional[str] = None
    released_tokens: Optional[int] = None
    history_amended: bool = False
    cost_usd: Optional[Decimal] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: Dict[str, Any]) -> Dict[str, Any]:
        return {"spooled": bool(data.get("spooled", False)), **_costs(data, "cost_usd")}


@dataclass
class QuotaDecision(_Model):
    """A quota decision (``check``, and the decision inside a reservation or a denial).

    Attributes:
        allowed: Whether ``requested`` more tokens fit (used + reserved + requested ≤ limit) and
            their cost too (used_usd + reserved_usd + requested_usd ≤ limit_usd).
        user: The user id.
        cycle: The cycle the decision is about (start date).
        used: Tokens used in the cycle.
        reserved: Tokens held by live reservations.
        limit: The user's token limit per cycle, ``None`` when unlimited.
        remaining: limit − used − reserved (never below 0), ``None`` when unlimited.
        requested: The tokens asked for.
        used_usd: The cycle's recorded spend in USD (``Decimal``, exact: the service sends nine-decimal strings).
        reserved_usd: USD held by live reservations.
        limit_usd: The currency limit per cycle, ``None`` without one.
        remaining_usd: limit_usd − used_usd − reserved_usd (never below 0), ``None`` without one.
        requested_usd: The cost asked for.
        denied_by: ``"tokens"`` or ``"usd"``: the limit that refused; ``None`` when allowed.
        denied_scope: The scope that refused (``"user:ID"``, ``"team:ID"`` or ``"org:ID"``; the counts
            and limits are that scope's); ``None`` when allowed.
        tpm: The scope's tokens-per-minute limit, ``None`` without one (``denied_by`` is ``"tpm"``
            when it refused).
        rpm: The scope's requests-per-minute limit, ``None`` without one (``denied_by`` ``"rpm"``).
        window_tokens: Tokens in the scope's sliding 60 s window, ``None`` without a rate limit.
        window_requests: Requests in that window, ``None`` without a rate limit.
        retry_after_ms: For a rate denial, the milliseconds after which the same request fits;
            ``None`` otherwise, and for a request larger than the ``tpm`` limit (it never fits).
        raw: The whole JSON object.
    """

    allowed: bool = False
    user: str = ""
    cycle: str = ""
    used: int = 0
    reserved: int = 0
    limit: Optional[int] = None
    remaining: Optional[int] = None
    requested: int = 0
    used_usd: Decimal = Decimal("0")
    reserved_usd: Decimal = Decimal("0")
    limit_usd: Optional[Decimal] = None
    remaining_usd: Optional[Decimal] = None
    requested_usd: Decimal = Decimal("0")
    denied_by: Optional[str] = None
    denied_scope: Optional[str] = None
    tpm: Optional[int] = None
    rpm: Optional[int] = None
    window_tokens: Optional[int] = None
    window_requests: Optional[int] = None
    retry_after_ms: Optional[int] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: Dict[str, Any]) -> Dict[str, Any]:
        return _costs(data, "used_usd", "reserved_usd", "limit_usd", "remaining_usd", "requested_usd")


@dataclass
class Reservation:
    """An admitted reservation (a lease on tokens until it is settled, released or expires).

    Attributes:
        call_id: The call id the lease is held under.
        status: ``admitted`` (new), ``held`` (already held with the same amount: a retry) or
            ``settled`` (the call was already recorded).
        decision: The quota decision that admitted it.
        raw: The whole JSON object.
    """

    call_id: str
    status: str
    decision: QuotaDecision
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Reservation":
        """Decodes the service's JSON object (the decision's fields beside ``call_id`` and ``status``)."""
        inner = data.get("decision")
        decision = QuotaDecision.from_json(inner if isinstance(inner, dict) else data)
        return cls(
            call_id=str(data.get("call_id", "")),
            status=str(data.get("status", "")),
            decision=decision,
            raw=dict(data),
        )


@dataclass
class Release(_Model):
    """The result of releasing a reservation.

    Attributes:
        user: The user id.
        call_id: The call id.
        released_tokens: The tokens the lease held (0 when there was no live lease).
        released_usd: The USD the lease held.
        raw: The whole JSON object.
    """

    user: str = ""
    call_id: str = ""
    released_tokens: int = 0
    released_usd: Decimal = Decimal("0")
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: Dict[str, Any]) -> Dict[str, Any]:
        return _costs(data, "released_usd")


@dataclass
class ModelUsage(_Model):
    """One model's share of a user's usage in a cycle (``cost_usd``: ``None`` when the cycle holds
    no cost; ``unpriced_calls``: calls without a price)."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0
    cost_usd: Optional[Decimal] = None
    unpriced_calls: int = 0
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: Dict[str, Any]) -> Dict[str, Any]:
        return _costs(data, "cost_usd")


@dataclass
class UserUsage(_Model):
    """A user's usage in one cycle (``usage``, and each row of a report).

    Attributes:
        user: The user id.
        cycle: The cycle's start date.
        cycle_end: The next cycle's start date (exclusive).
        input_tokens: Input tokens, cache reads and writes included.
        output_tokens: Output tokens, reasoning included.
        cached_input_tokens: Cache reads (part of ``input_tokens``).
        cache_write_tokens: Cache writes (part of ``input_tokens``).
        reasoning_tokens: Reasoning tokens (part of ``output_tokens``).
        total_tokens: ``input_tokens + output_tokens``.
        calls: Calls recorded.
        limit: The token limit, ``None`` when unlimited.
        reserved: Tokens held by live reservations.
        remaining: What is left of the limit, ``None`` when unlimited.
        models: Usage per model name (``""`` for calls recorded without one).
        limit_usd: The currency limit per cycle in USD, ``None`` without one.
        remaining_usd: What is left of it after spend and reservations, ``None`` without one.
        reserved_usd: USD held by live reservations.
        cost_usd: The cycle's cost in USD (its priced calls); ``None`` when the cycle holds no cost
            (legacy-imported, or recorded before calls were priced).
        unpriced_calls: Calls whose model had no price.
        reported_cost_usd: The sum of the costs providers reported; ``None`` when none did.
        raw: The whole JSON object.
    """

    user: str = ""
    cycle: str = ""
    cycle_end: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0
    limit: Optional[int] = None
    reserved: int = 0
    remaining: Optional[int] = None
    models: Dict[str, ModelUsage] = field(default_factory=dict)
    limit_usd: Optional[Decimal] = None
    remaining_usd: Optional[Decimal] = None
    reserved_usd: Decimal = Decimal("0")
    cost_usd: Optional[Decimal] = None
    unpriced_calls: int = 0
    reported_cost_usd: Optional[Decimal] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: Dict[str, Any]) -> Dict[str, Any]:
        models = data.get("models") or {}
        return {
            "models": {name: ModelUsage.from_json(value) for name, value in models.items()},
            **_costs(data, "cost_usd", "reported_cost_usd", "limit_usd", "remaining_usd", "reserved_usd"),
        }


@dataclass
class ReportTotals(_Model):
    """The sums over a report's users (``users`` is how many there are).

    ``cost_usd`` sums every user whose cycle holds a cost (``None`` only when none does);
    ``reported_cost_usd`` is ``None`` when no provider reported a cost.
    """

    users: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0
    reserved: int = 0
    cost_usd: Optional[Decimal] = None
    unpriced_calls: int = 0
    reported_cost_usd: Optional[Decimal] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: Dict[str, Any]) -> Dict[str, Any]:
        return _costs(data, "cost_usd", "reported_cost_usd")


@dataclass
class Report(_Model):
    """Every user's usage in one cycle (``report``).

    Attributes:
        cycle: The cycle's start date.
        users: One :class:`UserUsage` per user, in the requested order.
        totals: The sums over the cycle's users (over all of them, not only the ``top``).
        raw: The whole JSON object.
    """

    cycle: str = ""
    users: List[UserUsage] = field(default_factory=list)
    totals: ReportTotals = field(default_factory=ReportTotals)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "users": [UserUsage.from_json(row) for row in data.get("users") or []],
            "totals": ReportTotals.from_json(data.get("totals") or {}),
        }


@dataclass
class Limit(_Model):
    """A user's token and currency limits and where they come from.

    Attributes:
        user: The user id (``None`` for the default limit).
        limit: Tokens per cycle, ``None`` when unlimited or cleared.
        source: ``user`` (the user's own), ``default``, ``none``, ``cleared`` or ``unchanged``.
        limit_usd: USD per cycle, ``None`` when none, cleared or not part of the answer.
        usd_source: As ``source`` for the currency limit; ``None`` when the answer is about tokens only.
        raw: The whole JSON object.
    """

    user: Optional[str] = None
    limit: Optional[int] = None
    source: str = ""
    limit_usd: Optional[Decimal] = None
    usd_source: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: Dict[str, Any]) -> Dict[str, Any]:
        return _costs(data, "limit_usd")


@dataclass
class CyclePolicy(_Model):
    """A user's billing cycle policy and the cycle it puts now in.

    Attributes:
        user: The user id.
        period: ``monthly``, ``weekly`` or ``daily``.
        anchor: The anchor day (monthly: 1–31; weekly: 1–7, Monday = 1), ``None`` for daily.
        timezone: The IANA time zone.
        source: ``user`` or ``default``.
        cycle: The current cycle's start date.
        cycle_end: The next cycle's start date.
        raw: The whole JSON object.
    """

    user: Optional[str] = None
    period: str = ""
    anchor: Optional[int] = None
    timezone: str = ""
    source: str = ""
    cycle: str = ""
    cycle_end: str = ""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class UsageRecord:
    """A provider response normalized (``extract``); nothing is stored.

    Attributes:
        input_tokens: Every prompt-side token, cache reads and writes included.
        output_tokens: Every completion-side token, reasoning included.
        cached_input_tokens: Cache reads, ``None`` when the provider did not report them.
        cache_write_tokens: Cache writes, ``None`` when not reported.
        reasoning_tokens: Reasoning tokens, ``None`` when not reported.
        total_tokens: ``input_tokens + output_tokens``.
        source: ``reported`` (the provider's counts) or ``estimated``.
        cache_write_1h_tokens: 1-hour cache writes (part of ``cache_write_tokens``), ``None`` when
            the response does not split writes by duration.
        reported_cost_usd: The cost the provider reported (OpenRouter, xAI), ``None`` when none.
        raw: The whole JSON object.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: Optional[int] = None
    cache_write_tokens: Optional[int] = None
    reasoning_tokens: Optional[int] = None
    total_tokens: int = 0
    source: str = ""
    cache_write_1h_tokens: Optional[int] = None
    reported_cost_usd: Optional[Decimal] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "UsageRecord":
        """Decodes the service's JSON object (the record itself, or under ``record``/``usage``)."""
        inner = data.get("record")
        record = inner if isinstance(inner, dict) else data
        return _build(cls, record, **_costs(record, "reported_cost_usd"))
