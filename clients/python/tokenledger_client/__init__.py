"""Python client of the TokenLedger HTTP service (``tokenledger serve``).

:class:`TokenLedgerClient` calls the service's API with an API key; results are the dataclasses of
:mod:`tokenledger_client.models` and errors the exceptions of :mod:`tokenledger_client.errors`.
The LangChain callback handler is :class:`tokenledger_client.langchain.TokenLedgerCallbackHandler`
(it needs the ``langchain`` extra: ``pip install "tokenledger-client[langchain]"``).
"""

from .client import ProviderResponse, TokenLedgerClient
from .errors import (
    AuthenticationError,
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    ServiceUnreachable,
    TokenLedgerError,
    Unavailable,
)
from .models import (
    CyclePolicy,
    Limit,
    ModelUsage,
    QuotaDecision,
    RecordResult,
    Release,
    Report,
    ReportTotals,
    Reservation,
    UsageRecord,
    UserUsage,
)

__version__ = "0.1.0"

__all__ = [
    "TokenLedgerClient",
    "ProviderResponse",
    "TokenLedgerError",
    "BadRequest",
    "AuthenticationError",
    "PermissionDenied",
    "NotFound",
    "Conflict",
    "QuotaExceeded",
    "Unavailable",
    "ServiceUnreachable",
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
