"""Fixtures: clients of the service scripts/test-python started, one per API key role."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from stack import require_env
from tokenledger_client import TokenLedgerClient


@pytest.fixture(scope="session")
def service_url() -> str:
    """The shared service's URL."""
    return require_env("TOKENLEDGER_URL")


@pytest.fixture
def app(service_url: str) -> Iterator[TokenLedgerClient]:
    """A client with the ``app`` key (records, quota, extract)."""
    with TokenLedgerClient(service_url, require_env("TOKENLEDGER_APP_KEY")) as client:
        yield client


@pytest.fixture
def reader(service_url: str) -> Iterator[TokenLedgerClient]:
    """A client with the ``read`` key (usage, reports)."""
    with TokenLedgerClient(service_url, require_env("TOKENLEDGER_READ_KEY")) as client:
        yield client


@pytest.fixture
def admin(service_url: str) -> Iterator[TokenLedgerClient]:
    """A client with the ``admin`` key (everything)."""
    with TokenLedgerClient(service_url, require_env("TOKENLEDGER_ADMIN_KEY")) as client:
        yield client


@pytest.fixture
def user() -> str:
    """A user id of this test's own, so no test sees another's usage."""
    return "py-" + uuid.uuid4().hex[:12]
