"""Each client method against the live service, checked by reading the usage back."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal

import pytest

from tokenledger_client import (
    Limit,
    QuotaDecision,
    QuotaExceeded,
    RecordResult,
    Reservation,
    TokenLedgerClient,
    UsageRecord,
    UserUsage,
)

OPENAI_RESPONSE = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {
        "prompt_tokens": 1200,
        "completion_tokens": 300,
        "total_tokens": 1500,
        "prompt_tokens_details": {"cached_tokens": 1000},
        "completion_tokens_details": {"reasoning_tokens": 64},
    },
}


def call_id() -> str:
    return "call-" + uuid.uuid4().hex


def test_record_counts_every_field_and_usage_reads_them_back(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    result = app.record(
        user, call_id(), 100, 40, cached_input_tokens=30, cache_write_tokens=20, reasoning_tokens=10,
        model="gpt-4o", provider="openai",
    )
    assert isinstance(result, RecordResult)
    assert (result.applied, result.user, result.total_tokens, result.spooled) == (True, user, 140, False)

    usage = reader.usage(user)
    assert isinstance(usage, UserUsage)
    assert usage.cycle == result.cycle
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens, usage.calls) == (100, 40, 140, 1)
    assert (usage.cached_input_tokens, usage.cache_write_tokens, usage.reasoning_tokens) == (30, 20, 10)
    assert (usage.limit, usage.remaining, usage.reserved) == (None, None, 0)
    assert usage.models["gpt-4o"].total_tokens == 140
    assert usage.models["gpt-4o"].calls == 1
    assert usage.cycle_end > usage.cycle


def test_record_answers_the_cost_and_usage_sums_it(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    # claude-sonnet-4-5 (3 / cache reads 0.3 / 5-minute writes 3.75 / 1-hour writes 6 / output 15 per
    # million): 512 x 3 + 15,000 x 0.3 + 1,200 x 3.75 + 2,800 x 6 + 900 x 15 = 40,836 per million.
    priced = app.record(
        user, call_id(), 19512, 900, cached_input_tokens=15000, cache_write_tokens=4000, cache_write_1h_tokens=2800,
        model="claude-sonnet-4-5",
    )
    assert priced.cost_usd == Decimal("0.040836000")
    unpriced = app.record(user, call_id(), 10, 5, model="a-model-without-a-price")
    assert unpriced.applied is True and unpriced.cost_usd is None

    usage = reader.usage(user)
    assert usage.cost_usd == Decimal("0.040836")
    assert (usage.unpriced_calls, usage.reported_cost_usd) == (1, None)
    assert usage.models["claude-sonnet-4-5"].cost_usd == Decimal("0.040836")
    assert usage.models["a-model-without-a-price"].unpriced_calls == 1


def test_a_repeated_call_id_is_not_counted_twice(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    the_call = call_id()
    assert app.record(user, the_call, 10, 5).applied is True
    again = app.record(user, the_call, 10, 5)
    assert again.applied is False
    assert again.spooled is False
    assert reader.usage(user).total_tokens == 15
    assert reader.usage(user).calls == 1


def test_record_into_an_explicit_cycle(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    result = app.record(user, call_id(), 7, 3, cycle="2026-01-01")
    assert result.cycle == "2026-01-01"
    assert reader.usage(user, cycle="2026-01-01").total_tokens == 10
    assert reader.usage(user).total_tokens == 0


def test_record_response_reads_a_raw_provider_body(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    result = app.record_response(user, call_id(), OPENAI_RESPONSE, provider="openai")
    assert result.applied is True
    assert result.total_tokens == 1500
    usage = reader.usage(user)
    assert (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens, usage.reasoning_tokens) == (
        1200, 300, 1000, 64,
    )
    assert "gpt-4o-2024-08-06" in usage.models


def test_record_response_takes_sse_text(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    events = [
        {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
         "choices": [{"index": 0, "delta": {"content": "hi"}}]},
        {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-mini", "choices": [],
         "usage": {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13}},
    ]
    sse = "".join("data: %s\n\n" % json.dumps(event) for event in events) + "data: [DONE]\n\n"
    assert app.record_response(user, call_id(), sse.encode("utf-8")).total_tokens == 13
    assert reader.usage(user).total_tokens == 13


def test_extract_normalizes_and_stores_nothing(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    record = app.extract(OPENAI_RESPONSE)
    assert isinstance(record, UsageRecord)
    assert (record.input_tokens, record.output_tokens, record.total_tokens) == (1200, 300, 1500)
    assert (record.cached_input_tokens, record.cache_write_tokens, record.reasoning_tokens) == (1000, None, 64)
    assert record.source == "reported"
    assert reader.usage(user).calls == 0


def test_check_is_a_read_only_decision(app: TokenLedgerClient, admin: TokenLedgerClient, user: str) -> None:
    admin.set_limit(user, 100)
    app.record(user, call_id(), 50, 20)
    allowed = app.check(user, 30)
    assert isinstance(allowed, QuotaDecision)
    assert (allowed.allowed, allowed.used, allowed.limit, allowed.remaining, allowed.requested) == (True, 70, 100, 30, 30)
    denied = app.check(user, 31)
    assert denied.allowed is False
    assert admin.usage(user).reserved == 0


def test_reserve_then_settle_replaces_the_lease(app: TokenLedgerClient, reader: TokenLedgerClient, admin: TokenLedgerClient, user: str) -> None:
    admin.set_limit(user, 1000)
    the_call = call_id()
    reservation = app.reserve(user, the_call, 300, ttl_seconds=600)
    assert isinstance(reservation, Reservation)
    assert (reservation.call_id, reservation.status) == (the_call, "admitted")
    assert reservation.decision.allowed is True
    assert reader.usage(user).reserved == 300
    assert app.reserve(user, the_call, 300).status == "held"

    settled = app.settle(user, the_call, 120, 80, cached_input_tokens=20, reasoning_tokens=5, model="m1")
    assert settled.applied is True
    assert settled.total_tokens == 200
    assert settled.released_tokens == 300
    usage = reader.usage(user)
    assert (usage.reserved, usage.total_tokens, usage.calls, usage.remaining) == (0, 200, 1, 800)
    assert (usage.cached_input_tokens, usage.reasoning_tokens) == (20, 5)
    assert app.settle(user, the_call, 120, 80).applied is False
    assert reader.usage(user).total_tokens == 200


def test_release_drops_the_lease_and_records_nothing(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    the_call = call_id()
    app.reserve(user, the_call, 250)
    assert reader.usage(user).reserved == 250
    released = app.release(user, the_call)
    assert (released.user, released.call_id, released.released_tokens) == (user, the_call, 250)
    usage = reader.usage(user)
    assert (usage.reserved, usage.total_tokens, usage.calls) == (0, 0, 0)
    assert app.release(user, the_call).released_tokens == 0


def test_currency_limit_and_reservations_in_usd(app: TokenLedgerClient, admin: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    shown = admin.set_limit(user, usd="1")
    assert (shown.limit_usd, shown.usd_source, shown.source) == (Decimal("1.000000000"), "user", "unchanged")
    got = admin.get_limit(user)
    assert (got.limit_usd, got.usd_source) == (Decimal("1.000000000"), "user")
    calls = [call_id() for _ in range(4)]
    for the_call in calls[:3]:
        assert app.reserve(user, the_call, 10, usd=Decimal("0.3")).status == "admitted"
    denied_check = app.check(user, 10, usd="0.2")
    assert (denied_check.allowed, denied_check.denied_by, denied_check.remaining_usd) == (False, "usd", Decimal("0.100000000"))
    with pytest.raises(QuotaExceeded) as denied:
        app.reserve(user, calls[3], 10, usd="0.2")
    assert denied.value.decision is not None and denied.value.decision.denied_by == "usd"
    assert reader.usage(user).reserved_usd == Decimal("0.900000000")
    released = app.release(user, calls[0])
    assert released.released_usd == Decimal("0.300000000")
    assert app.reserve(user, calls[3], 10, usd="0.2").status == "admitted"
    with pytest.raises(TypeError):
        app.reserve(user, call_id(), 10, usd=0.1)  # type: ignore[arg-type]
    cleared = admin.clear_limit(user, only="usd")
    assert (cleared.limit_usd, cleared.usd_source, cleared.source) == (None, "cleared", "unchanged")
    assert reader.usage(user).limit_usd is None


def test_rate_limit_denial_names_tpm_and_when_to_retry(app: TokenLedgerClient, admin: TokenLedgerClient, user: str) -> None:
    admin.set_rate(user, tpm=100)
    assert app.reserve(user, call_id(), 80).status == "admitted"
    decision = app.check(user, 50)
    assert (decision.allowed, decision.denied_by, decision.tpm, decision.window_tokens) == (False, "tpm", 100, 80)
    assert decision.retry_after_ms is not None and 0 < decision.retry_after_ms <= 60_000
    with pytest.raises(QuotaExceeded) as denied:
        app.reserve(user, call_id(), 50)
    assert denied.value.decision is not None and denied.value.decision.denied_by == "tpm"
    assert denied.value.decision.retry_after_ms is not None
    assert app.check(user, 20).allowed is True
    admin.clear_rate(user)
    assert app.check(user, 50).tpm is None


def test_report_sorts_and_cuts_to_top(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    cycle = "2025-03-01"  # a cycle no other test books into
    small, large = user + "-small", user + "-large"
    app.record(small, call_id(), 10, 1, cycle=cycle)
    app.record(large, call_id(), 1000, 500, cycle=cycle)
    report = reader.report(cycle=cycle, sort="total")
    names = [row.user for row in report.users]
    assert report.cycle == cycle
    assert names.index(large) < names.index(small)
    top = reader.report(cycle=cycle, top=1, sort="input")
    assert [row.user for row in top.users] == [names[0]]
    assert top.totals.users == report.totals.users >= 2
    assert top.totals.total_tokens == sum(row.total_tokens for row in report.users)
    assert report.totals.cost_usd == sum(row.cost_usd for row in report.users if row.cost_usd is not None)
    assert report.totals.unpriced_calls == sum(row.unpriced_calls for row in report.users)
    by_cost = reader.report(cycle=cycle, sort="cost")
    assert sorted(row.user for row in by_cost.users) == sorted(names)


def test_limits_set_get_clear(admin: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    assert admin.get_limit(user).source in ("none", "default")
    set_result = admin.set_limit(user, 5000)
    assert isinstance(set_result, Limit)
    assert (set_result.user, set_result.limit, set_result.source) == (user, 5000, "user")
    assert (admin.get_limit(user).limit, admin.get_limit(user).source) == (5000, "user")
    assert reader.usage(user).limit == 5000
    cleared = admin.clear_limit(user)
    assert (cleared.limit, cleared.source) == (None, "cleared")
    assert admin.get_limit(user).source in ("none", "default")


def test_cycle_policy_moves_the_users_cycle(admin: TokenLedgerClient, app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    policy = admin.set_cycle_policy(user, "daily", timezone="Europe/Berlin")
    assert (policy.user, policy.period, policy.timezone, policy.source) == (user, "daily", "Europe/Berlin", "user")
    weekly = admin.set_cycle_policy(user, "weekly", anchor_day=1)
    assert (weekly.period, weekly.anchor) == ("weekly", 1)
    result = app.record(user, call_id(), 3, 4)
    assert result.cycle == weekly.cycle
    usage = reader.usage(user)
    assert (usage.cycle, usage.cycle_end, usage.total_tokens) == (weekly.cycle, weekly.cycle_end, 7)


def test_user_ids_with_reserved_url_characters_round_trip(app: TokenLedgerClient, reader: TokenLedgerClient, admin: TokenLedgerClient, user: str) -> None:
    odd = user + " a/b?c#d%e:{f}é"
    odd_call = "call/with?odd#chars " + uuid.uuid4().hex
    app.record(odd, call_id(), 2, 3)
    app.reserve(odd, odd_call, 9)
    assert reader.usage(odd).reserved == 9
    assert app.release(odd, odd_call).released_tokens == 9
    admin.set_limit(odd, 77)
    assert admin.get_limit(odd).limit == 77
    usage = reader.usage(odd)
    assert (usage.user, usage.total_tokens, usage.limit) == (odd, 5, 77)
    assert reader.usage(user).total_tokens == 0


def test_health_and_readiness_need_no_key(service_url: str) -> None:
    anonymous = TokenLedgerClient(service_url, api_key=None)
    assert isinstance(anonymous.healthz(), dict)
    assert isinstance(anonymous.readyz(), dict)


def test_one_client_shared_by_threads_counts_exactly(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    failures: list = []

    def work(worker: int) -> None:
        try:
            for index in range(25):
                app.record(user, "w%d-%d" % (worker, index), 3, 1)
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    usage = reader.usage(user)
    assert (usage.calls, usage.total_tokens) == (200, 800)


def test_the_connection_is_kept_alive(app: TokenLedgerClient, user: str) -> None:
    app.check(user, 1)
    first = app._local.connection.sock
    assert first is not None
    app.check(user, 1)
    assert app._local.connection.sock is first
