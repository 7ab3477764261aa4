"""Every exception class, each from a real error response of the service (or a real closed port)."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from stack import PrivateService, free_port, require_env, wait_until
from tokenledger_client import (
    AuthenticationError,
    BadRequest,
    Conflict,
    PermissionDenied,
    QuotaExceeded,
    ServiceUnreachable,
    TokenLedgerClient,
    TokenLedgerError,
    Unavailable,
)


def call_id() -> str:
    return "call-" + uuid.uuid4().hex


def assert_problem(error: TokenLedgerError, status: int) -> None:
    """The exception carries the problem document's fields."""
    assert error.status == status
    assert error.code and error.code == error.problem["code"]
    assert error.title and error.detail
    assert str(status) in str(error) and error.code in str(error)


def test_an_unknown_key_is_an_authentication_error(service_url: str, user: str) -> None:
    secret = "tl_not_a_real_key_" + uuid.uuid4().hex
    with pytest.raises(AuthenticationError) as caught:
        TokenLedgerClient(service_url, secret).record(user, call_id(), 1, 1)
    assert_problem(caught.value, 401)
    assert secret not in str(caught.value) and secret not in repr(caught.value.problem)


def test_no_key_is_an_authentication_error(service_url: str, user: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        TokenLedgerClient(service_url, None).usage(user)
    assert_problem(caught.value, 401)


def test_a_role_that_may_not_is_permission_denied(reader: TokenLedgerClient, app: TokenLedgerClient, admin: TokenLedgerClient, user: str) -> None:
    with pytest.raises(PermissionDenied) as caught:
        reader.record(user, call_id(), 1, 1)
    assert_problem(caught.value, 403)
    with pytest.raises(PermissionDenied):
        app.set_limit(user, 10)
    with pytest.raises(PermissionDenied):
        app.report()
    assert admin.usage(user).calls == 0
    assert admin.get_limit(user).source in ("none", "default")


def test_bad_input_names_the_field_and_writes_nothing(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    with pytest.raises(BadRequest) as caught:
        app.record(user, call_id(), -1, 5)
    assert_problem(caught.value, 400)
    assert caught.value.field == "input_tokens"
    with pytest.raises(BadRequest) as caught:
        app.record(user, call_id(), 1, 10**13)
    assert caught.value.field == "output_tokens"
    with pytest.raises(BadRequest) as caught:
        app.record("", call_id(), 1, 1)
    assert caught.value.field == "user"
    with pytest.raises(BadRequest) as caught:
        app.record_response(user, call_id(), {"object": "chat.completion", "usage": {"prompt_tokens": "many"}})
    assert caught.value.status == 400
    assert reader.usage(user).calls == 0


def test_a_body_over_the_limit_is_refused_with_413(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    huge = "x" * (9 * 1024 * 1024)  # over the default 8 MiB
    with pytest.raises(BadRequest) as caught:
        app.record_response(user, call_id(), huge)
    assert_problem(caught.value, 413)
    assert reader.usage(user).calls == 0


def test_a_reused_call_id_with_another_amount_is_a_conflict(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    the_call = call_id()
    app.reserve(user, the_call, 100)
    with pytest.raises(Conflict) as caught:
        app.reserve(user, the_call, 200)
    assert_problem(caught.value, 409)
    assert reader.usage(user).reserved == 100


def test_a_recorded_call_id_with_another_total_is_a_conflict(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    the_call = call_id()
    app.record(user, the_call, 10, 5)
    with pytest.raises(Conflict) as caught:
        app.record(user, the_call, 10, 6)
    assert_problem(caught.value, 409)
    assert caught.value.code == "call_conflict" and caught.value.field == "call_id"
    assert (reader.usage(user).total_tokens, reader.usage(user).calls) == (15, 1)


def test_a_settle_with_another_total_is_a_conflict_and_keeps_the_lease(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    the_call = call_id()
    app.reserve(user, the_call, 40)
    app.record(user, the_call, 10, 5)
    with pytest.raises(Conflict) as caught:
        app.settle(user, the_call, 10, 7)
    assert_problem(caught.value, 409)
    assert caught.value.code == "call_conflict"
    assert "15" in caught.value.detail and "17" in caught.value.detail
    assert (reader.usage(user).reserved, reader.usage(user).total_tokens) == (40, 15)
    retry = app.settle(user, the_call, 10, 5)
    assert retry.applied is False
    assert reader.usage(user).reserved == 0


def test_a_read_key_may_not_read_a_limit(reader: TokenLedgerClient, user: str) -> None:
    with pytest.raises(PermissionDenied) as caught:
        reader.get_limit(user)
    assert_problem(caught.value, 403)


def test_a_denied_reservation_is_quota_exceeded_with_the_decision(app: TokenLedgerClient, admin: TokenLedgerClient, user: str) -> None:
    admin.set_limit(user, 50)
    app.record(user, call_id(), 30, 10)
    with pytest.raises(QuotaExceeded) as caught:
        app.reserve(user, call_id(), 11)
    denial = caught.value
    assert_problem(denial, 429)
    assert denial.decision is not None
    assert (denial.decision.allowed, denial.decision.used, denial.decision.limit, denial.decision.requested) == (
        False, 40, 50, 11,
    )
    assert denial.retry_after is not None and denial.retry_after > 0
    usage = admin.usage(user)
    assert (usage.reserved, usage.total_tokens) == (0, 40)
    assert app.reserve(user, call_id(), 10).status == "admitted"


def test_a_closed_port_is_service_unreachable(user: str) -> None:
    client = TokenLedgerClient("http://127.0.0.1:%d" % free_port(), "any", timeout=5)
    with pytest.raises(ServiceUnreachable) as caught:
        client.check(user, 1)
    assert isinstance(caught.value, Unavailable)
    assert caught.value.status is None
    assert "any" not in str(caught.value).split(": ", 1)[1]


@pytest.fixture
def without_spool() -> Iterator[PrivateService]:
    service = PrivateService(spool=False)
    try:
        yield service.start()
    finally:
        service.close()


@pytest.fixture
def with_spool() -> Iterator[PrivateService]:
    service = PrivateService(spool=True)
    try:
        yield service.start()
    finally:
        service.close()


def test_redis_down_without_a_spool_is_unavailable(without_spool: PrivateService, user: str) -> None:
    client = TokenLedgerClient(without_spool.url, without_spool.keys["admin"], timeout=60)
    client.record(user, call_id(), 1, 1)
    without_spool.stop_redis()
    with pytest.raises(Unavailable) as caught:
        client.record(user, call_id(), 5, 5)
    assert not isinstance(caught.value, ServiceUnreachable)
    assert_problem(caught.value, 503)
    with pytest.raises(Unavailable) as not_ready:
        client.readyz()
    assert not_ready.value.status == 503

    without_spool.start_redis()
    wait_until(lambda: without_spool.status("/readyz") == 200, "readiness to come back")
    assert client.usage(user).total_tokens == 2


def test_redis_down_with_a_spool_returns_spooled_and_replays(with_spool: PrivateService, user: str) -> None:
    client = TokenLedgerClient(with_spool.url, with_spool.keys["admin"], timeout=60)
    client.record(user, call_id(), 1, 1)
    with_spool.stop_redis()
    spooled = client.record(user, "spooled-" + call_id(), 30, 12)
    assert spooled.spooled is True
    assert spooled.user == user

    with_spool.start_redis()
    wait_until(lambda: client.usage(user).total_tokens == 44, "the spooled record to be replayed")
    assert client.usage(user).calls == 2


def test_require_env_fails_loudly() -> None:
    with pytest.raises(RuntimeError):
        require_env("TOKENLEDGER_SURELY_UNSET_" + uuid.uuid4().hex)
