"""A LangChain callback handler that meters every model call through TokenLedger.

Needs ``langchain-core`` (``pip install "tokenledger-client[langchain]"``)::

    from tokenledger_client import TokenLedgerClient
    from tokenledger_client.langchain import TokenLedgerCallbackHandler

    handler = TokenLedgerCallbackHandler(TokenLedgerClient(url, api_key=app_key))
    chain = prompt | model
    chain.invoke({"question": "..."}, config={"callbacks": [handler], "metadata": {"user_id": "alice"}})

For each model run the handler

1. **reserves** at ``on_chat_model_start`` / ``on_llm_start`` (call id = LangChain's ``run_id``):
   ``reserve_tokens`` when given, else an estimate (see :meth:`TokenLedgerCallbackHandler.estimate`).
   When the user's limit denies it, :class:`QuotaDenied` is raised; the handler has
   ``raise_error = True``, so LangChain propagates it and **the model is never called**;
2. **settles** at ``on_llm_end`` with the usage the model reported: each generation's
   ``message.usage_metadata`` (``input_tokens``, ``output_tokens``,
   ``input_token_details.cache_read`` / ``cache_creation``, ``output_token_details.reasoning``), else
   ``llm_output["token_usage"]`` (``prompt_tokens`` / ``completion_tokens``, with OpenAI's
   ``prompt_tokens_details.cached_tokens`` and ``completion_tokens_details.reasoning_tokens``), else
   an estimate of the prompt and of the generated text (the call happened, so it is counted);
3. **releases** the reservation at ``on_llm_error``.

Settling and releasing never raise into the model call: a failure there is logged (logger
``tokenledger_client``) and counted in :attr:`TokenLedgerCallbackHandler.failures`; the
reservation then expires by itself after its TTL. Per-run state is keyed by ``run_id``, so one
handler serves concurrent runs (threads or asyncio).
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence
from uuid import UUID

try:
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.outputs import LLMResult
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "tokenledger_client.langchain needs langchain-core: pip install 'tokenledger-client[langchain]'"
    ) from error

from .client import TokenLedgerClient
from .errors import QuotaExceeded, TokenLedgerError, Unavailable
from .models import QuotaDecision

__all__ = ["TokenLedgerCallbackHandler", "QuotaDenied", "UsageCounts"]

logger = logging.getLogger("tokenledger_client")

#: Characters per token of the prompt estimate (a rough average for English text and code).
CHARS_PER_TOKEN = 4
#: Output tokens added to the prompt estimate when the run's parameters set no maximum.
DEFAULT_OUTPUT_MARGIN = 256

# Invocation parameters that cap a call's output, as the major providers' LangChain models name them.
_MAX_OUTPUT_PARAMETERS = ("max_tokens", "max_completion_tokens", "max_output_tokens", "max_new_tokens", "num_predict")


class QuotaDenied(QuotaExceeded):
    """Raised at a model's start when the user's limits do not admit the call; the model is not called.

    A :class:`~tokenledger_client.errors.QuotaExceeded` with the same ``decision``,
    ``retry_after`` and problem fields, plus the ``user``, the ``requested`` tokens, the limit that
    denied (``denied_by``: ``"tokens"``, ``"usd"``, ``"tpm"`` or ``"rpm"``), the scope it belongs to
    (``denied_scope``: ``"user:ID"``, ``"team:ID"`` or ``"org:ID"``) and, for a rate limit, the
    ``retry_after_ms`` after which the same request fits (``None`` when it never fits). The message
    names all of them.
    """

    def __init__(self, user: str, requested: int, cause: QuotaExceeded) -> None:
        decision = cause.decision
        super().__init__(
            "tokenledger: quota exceeded for user %r: %d tokens requested, %s; the model was not called"
            % (user, requested, _denial_reason(decision, cause.detail)),
            decision=decision,
            retry_after=cause.retry_after,
            status=cause.status,
            code=cause.code,
            title=cause.title,
            detail=cause.detail,
            field=cause.field,
            problem=cause.problem,
        )
        self.user = user
        self.requested = requested
        self.denied_by = decision.denied_by if decision is not None else None
        self.denied_scope = decision.denied_scope if decision is not None else None
        self.retry_after_ms = decision.retry_after_ms if decision is not None else None


def _denial_reason(decision: Optional[QuotaDecision], detail: Optional[str]) -> str:
    """Names the limit that denied (tokens, usd, tpm or rpm), its scope and what it left."""
    if decision is None:
        return detail or "the limit does not allow it"
    scope = " of %s" % decision.denied_scope if decision.denied_scope else ""
    if decision.denied_by in ("tpm", "rpm"):
        if decision.denied_by == "tpm":
            limit, window, unit = decision.tpm, decision.window_tokens, "tokens"
        else:
            limit, window, unit = decision.rpm, decision.window_requests, "requests"
        why = "denied by the rate limit %s%s: %s %s in the last 60 s of a limit of %s per minute" % (
            decision.denied_by,
            scope,
            window if window is not None else "?",
            unit,
            limit if limit is not None else "?",
        )
        if decision.retry_after_ms is None:
            return why + "; retry_after_ms none: the request never fits this limit"
        return why + "; retry_after_ms %d" % decision.retry_after_ms
    if decision.denied_by == "usd":
        return "denied by the currency limit usd%s: spent %s + reserved %s of a limit of %s USD" % (
            scope,
            decision.used_usd,
            decision.reserved_usd,
            decision.limit_usd,
        )
    if decision.limit is not None:
        return "denied by the token limit tokens%s: used %d + reserved %d of a limit of %d" % (
            scope,
            decision.used,
            decision.reserved,
            decision.limit,
        )
    return detail or "the limit does not allow it"


@dataclass
class UsageCounts:
    """A call's token counts as the handler settles them (the service's normalized record).

    ``None`` for a subset means the model did not report it.
    """

    input_tokens: int
    output_tokens: int
    cached_input_tokens: Optional[int] = None
    cache_write_tokens: Optional[int] = None
    reasoning_tokens: Optional[int] = None

    def add(self, other: "UsageCounts") -> "UsageCounts":
        """The sum of two calls' counts (a subset stays ``None`` only if both are)."""

        def plus(a: Optional[int], b: Optional[int]) -> Optional[int]:
            return None if a is None and b is None else (a or 0) + (b or 0)

        return UsageCounts(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            plus(self.cached_input_tokens, other.cached_input_tokens),
            plus(self.cache_write_tokens, other.cache_write_tokens),
            plus(self.reasoning_tokens, other.reasoning_tokens),
        )


@dataclass
class _Run:
    user: str
    prompt_estimate: int
    reserved: bool
    model: Optional[str]
    provider: Optional[str]


class TokenLedgerCallbackHandler(BaseCallbackHandler):
    """Reserves, settles and releases TokenLedger quota around every LangChain model call.

    Args:
        client: A client with an ``app`` (or ``admin``) API key.
        user: The user every run is metered to; when ``None``, each run's ``metadata["user_id"]``
            (``config={"metadata": {"user_id": ...}}``) names it.
        reserve_tokens: Tokens to reserve per call; when ``None``, :meth:`estimate` of the prompt.
        ttl_seconds: Seconds an unsettled reservation lives (the service's default when ``None``).
        fail_open: When the service is unavailable at the start of a call (unreachable, or 503),
            let the call go ahead (``True``) or raise (``False``, the default). A denial always raises.

    Attributes:
        raise_error: ``True``: LangChain propagates the handler's exceptions (the denial).
        failures: Settles and releases that failed (logged, never raised into the call).
    """

    raise_error: bool = True

    def __init__(
        self,
        client: TokenLedgerClient,
        user: Optional[str] = None,
        reserve_tokens: Optional[int] = None,
        *,
        ttl_seconds: Optional[int] = None,
        fail_open: bool = False,
    ) -> None:
        super().__init__()
        if reserve_tokens is not None and reserve_tokens < 0:
            raise ValueError("reserve_tokens must be 0 or more, got %d" % reserve_tokens)
        self.client = client
        self.user = user
        self.reserve_tokens = reserve_tokens
        self.ttl_seconds = ttl_seconds
        self.fail_open = fail_open
        self.failures = 0
        self._runs: Dict[UUID, _Run] = {}
        self._lock = threading.Lock()

    # -- estimation ----------------------------------------------------------------------------

    @staticmethod
    def estimate(prompt_characters: int, max_output_tokens: Optional[int] = None) -> int:
        """The tokens reserved for a call when ``reserve_tokens`` is not given.

        ``ceil(prompt_characters / 4)`` for the prompt, plus the run's maximum output
        (``max_tokens``, ``max_completion_tokens``, ``max_output_tokens``, … from its invocation
        parameters) or, when it sets none, a margin of 256 output tokens.
        """
        prompt = math.ceil(prompt_characters / CHARS_PER_TOKEN)
        return prompt + (max_output_tokens if max_output_tokens is not None else DEFAULT_OUTPUT_MARGIN)

    # -- callbacks -----------------------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: Dict[str, Any],
        messages: List[List[Any]],
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[List[str]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        """Reserves for a chat model call; raises :class:`QuotaDenied` when the limit denies it."""
        characters = sum(_message_characters(message) for batch in messages for message in batch)
        self._start(run_id, characters, metadata, kwargs.get("invocation_params"))

    def on_llm_start(
        self,
        serialized: Dict[str, Any],
        prompts: List[str],
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[List[str]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        """Reserves for a text-completion model call; raises :class:`QuotaDenied` when denied."""
        self._start(run_id, sum(len(prompt) for prompt in prompts), metadata, kwargs.get("invocation_params"))

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[List[str]] = None,
        **kwargs: Any,
    ) -> None:
        """Settles the run's reservation with the usage the model reported (never raises)."""
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None:
            return
        counts = usage_from_result(response)
        if counts is None:
            text = sum(len(getattr(g, "text", "") or "") for batch in response.generations for g in batch)
            counts = UsageCounts(run.prompt_estimate, math.ceil(text / CHARS_PER_TOKEN))
            logger.warning(
                "model reported no usage; settling an estimate",
                extra={"tokenledger_run_id": str(run_id), "tokenledger_estimated_tokens": counts.input_tokens},
            )
        model = _model_name(response) or run.model
        try:
            self.client.settle(
                run.user,
                str(run_id),
                counts.input_tokens,
                counts.output_tokens,
                cached_input_tokens=counts.cached_input_tokens,
                cache_write_tokens=counts.cache_write_tokens,
                reasoning_tokens=counts.reasoning_tokens,
                model=model,
                provider=run.provider,
            )
        except TokenLedgerError as error:
            self._failed("settle", run_id, error)

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[List[str]] = None,
        **kwargs: Any,
    ) -> None:
        """Releases the run's reservation: the call failed, nothing is counted (never raises)."""
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None or not run.reserved:
            return
        try:
            self.client.release(run.user, str(run_id))
        except TokenLedgerError as failure:
            self._failed("release", run_id, failure)

    # -- internals -----------------------------------------------------------------------------

    def _start(
        self,
        run_id: UUID,
        characters: int,
        metadata: Optional[Dict[str, Any]],
        invocation_params: Optional[Dict[str, Any]],
    ) -> None:
        metadata = metadata or {}
        user = self.user if self.user is not None else metadata.get("user_id")
        if not isinstance(user, str) or not user:
            raise ValueError(
                "TokenLedgerCallbackHandler: no user for this run: pass user= to the handler or "
                "config={'metadata': {'user_id': ...}} to the run"
            )
        params = invocation_params or {}
        prompt_estimate = math.ceil(characters / CHARS_PER_TOKEN)
        model = _first_text(params.get("model"), params.get("model_name"), metadata.get("ls_model_name"))
        provider = _first_text(metadata.get("ls_provider"))
        tokens = self.reserve_tokens
        reserved = True
        try:
            if tokens is None:
                max_output = _max_output_tokens(params)
                tokens = self.estimate(characters, max_output)
                if model is not None:
                    # Priced at the model's rates by the service (the prompt as input, the maximum
                    # output as output), so a currency limit is enforced before the call too.
                    output = max_output if max_output is not None else DEFAULT_OUTPUT_MARGIN
                    self.client.reserve(
                        user,
                        str(run_id),
                        prompt_estimate,
                        ttl_seconds=self.ttl_seconds,
                        model=model,
                        max_output_tokens=output,
                    )
                else:
                    self.client.reserve(user, str(run_id), tokens, ttl_seconds=self.ttl_seconds)
            else:
                self.client.reserve(user, str(run_id), tokens, ttl_seconds=self.ttl_seconds)
        except QuotaExceeded as denial:
            raise QuotaDenied(user, tokens, denial) from None
        except Unavailable as error:
            if not self.fail_open:
                raise
            logger.warning(
                "tokenledger unavailable; the call goes ahead without a reservation (fail_open)",
                extra={"tokenledger_run_id": str(run_id), "tokenledger_error": error.code or type(error).__name__},
            )
            reserved = False
        with self._lock:
            self._runs[run_id] = _Run(user, prompt_estimate, reserved, model, provider)

    def _failed(self, operation: str, run_id: UUID, error: TokenLedgerError) -> None:
        with self._lock:
            self.failures += 1
        logger.error(
            "tokenledger %s failed" % operation,
            extra={
                "tokenledger_run_id": str(run_id),
                "tokenledger_status": error.status,
                "tokenledger_code": error.code,
            },
        )


def usage_from_result(response: LLMResult) -> Optional[UsageCounts]:
    """The usage a model run reported, or ``None`` when it reported none.

    Per prompt, the first generation whose message carries ``usage_metadata`` (every choice of an
    ``n > 1`` call carries the call's whole usage, so they are not added up); prompts are summed.
    Without any, ``llm_output["token_usage"]``.
    """
    total: Optional[UsageCounts] = None
    for batch in response.generations:
        for generation in batch:
            message = getattr(generation, "message", None)
            usage = getattr(message, "usage_metadata", None) if message is not None else None
            if usage:
                counts = _from_usage_metadata(usage)
                total = counts if total is None else total.add(counts)
                break
    if total is not None:
        return total
    llm_output = response.llm_output or {}
    token_usage = llm_output.get("token_usage") or llm_output.get("usage")
    if isinstance(token_usage, dict):
        return _from_token_usage(token_usage)
    return None


def _from_usage_metadata(usage: Any) -> UsageCounts:
    input_details = usage.get("input_token_details") or {}
    output_details = usage.get("output_token_details") or {}
    return UsageCounts(
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        cached_input_tokens=_optional_int(input_details.get("cache_read")),
        cache_write_tokens=_optional_int(input_details.get("cache_creation")),
        reasoning_tokens=_optional_int(output_details.get("reasoning")),
    )


def _from_token_usage(usage: Dict[str, Any]) -> Optional[UsageCounts]:
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    if prompt is None and completion is None:
        return None
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return UsageCounts(
        input_tokens=int(prompt or 0),
        output_tokens=int(completion or 0),
        cached_input_tokens=_optional_int(prompt_details.get("cached_tokens")),
        reasoning_tokens=_optional_int(completion_details.get("reasoning_tokens")),
    )


def _optional_int(value: Any) -> Optional[int]:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _max_output_tokens(params: Dict[str, Any]) -> Optional[int]:
    for name in _MAX_OUTPUT_PARAMETERS:
        value = params.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _first_text(*values: Any) -> Optional[str]:
    for value in values:
        if isinstance(value, str) and value:
            return value
    return None


def _message_characters(message: Any) -> int:
    content = getattr(message, "content", message)
    return _content_characters(content)


def _content_characters(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, dict):
        text = content.get("text")
        return len(text) if isinstance(text, str) else 0
    if isinstance(content, Sequence):
        return sum(_content_characters(part) for part in content)
    return 0


def _model_name(response: LLMResult) -> Optional[str]:
    for batch in response.generations:
        for generation in batch:
            message = getattr(generation, "message", None)
            metadata = getattr(message, "response_metadata", None) or {}
            name = _first_text(metadata.get("model_name"), metadata.get("model"))
            if name:
                return name
    llm_output = response.llm_output or {}
    return _first_text(llm_output.get("model_name"), llm_output.get("model"))

