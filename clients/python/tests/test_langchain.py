"""The LangChain handler in real langchain-core chains (prompt | fake chat model) against the live service."""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import Any, Iterator, List

import pytest
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatResult
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate

from tokenledger_client import TokenLedgerClient
from tokenledger_client.langchain import QuotaDenied, TokenLedgerCallbackHandler

PROMPT = ChatPromptTemplate.from_messages([("system", "You answer briefly."), ("human", "{question}")])


def answer(input_tokens: int, output_tokens: int, **details: Any) -> AIMessage:
    """An AIMessage as a provider's LangChain model returns it, with usage_metadata."""
    usage: dict = {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}
    usage.update(details)
    return AIMessage(content="an answer", usage_metadata=usage, response_metadata={"model_name": "fake-model-1"})


def test_a_chain_records_the_messages_usage(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    model = GenericFakeChatModel(
        messages=iter([
            answer(120, 30, input_token_details={"cache_read": 20, "cache_creation": 10}, output_token_details={"reasoning": 5}),
            answer(7, 3),
        ])
    )
    handler = TokenLedgerCallbackHandler(app)
    chain = PROMPT | model
    config: Any = {"callbacks": [handler], "metadata": {"user_id": user}}
    assert chain.invoke({"question": "What is metering?"}, config=config).content == "an answer"
    chain.invoke({"question": "And again?"}, config=config)

    usage = reader.usage(user)
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens, usage.calls) == (127, 33, 160, 2)
    assert (usage.cached_input_tokens, usage.cache_write_tokens, usage.reasoning_tokens) == (20, 10, 5)
    assert usage.reserved == 0
    assert usage.models["fake-model-1"].calls == 2
    assert handler.failures == 0


def test_the_reservation_is_held_while_the_model_runs(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    seen: List[int] = []

    def messages() -> Iterator[AIMessage]:
        seen.append(reader.usage(user).reserved)  # runs inside the model call
        yield answer(10, 2)

    question = "x" * 400
    handler = TokenLedgerCallbackHandler(app, user=user)
    (PROMPT | GenericFakeChatModel(messages=messages())).invoke({"question": question}, config={"callbacks": [handler]})
    characters = len("You answer briefly.") + len(question)
    assert seen == [TokenLedgerCallbackHandler.estimate(characters)]
    assert seen[0] == math.ceil(characters / 4) + 256
    usage = reader.usage(user)
    assert (usage.reserved, usage.total_tokens) == (0, 12)


def test_the_runs_max_tokens_sizes_the_reservation(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    seen: List[int] = []

    class CappedModel(FakeMessagesListChatModel):
        max_tokens: int = 1000

        @property
        def _identifying_params(self) -> dict:
            return {"max_tokens": self.max_tokens}

        def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
            seen.append(reader.usage(user).reserved)
            return super()._generate(*args, **kwargs)

    handler = TokenLedgerCallbackHandler(app, user=user)
    (PROMPT | CappedModel(responses=[answer(4, 4)])).invoke({"question": "abcd"}, config={"callbacks": [handler]})
    assert seen == [math.ceil((len("You answer briefly.") + 4) / 4) + 1000]


def test_a_denial_raises_before_the_model_is_called(app: TokenLedgerClient, admin: TokenLedgerClient, user: str) -> None:
    admin.set_limit(user, 100)
    started: List[bool] = []

    def messages() -> Iterator[AIMessage]:
        started.append(True)
        yield answer(1, 1)

    handler = TokenLedgerCallbackHandler(app, reserve_tokens=101)
    with pytest.raises(QuotaDenied) as caught:
        (PROMPT | GenericFakeChatModel(messages=messages())).invoke(
            {"question": "hello"}, config={"callbacks": [handler], "metadata": {"user_id": user}}
        )
    assert started == []  # the fake model's messages were not consumed: it was never called
    denial = caught.value
    assert denial.status == 429 and denial.user == user and denial.requested == 101
    assert denial.decision is not None and denial.decision.limit == 100
    assert "quota exceeded" in str(denial) and "not called" in str(denial)
    usage = admin.usage(user)
    assert (usage.reserved, usage.calls, usage.total_tokens) == (0, 0, 0)


def test_a_rate_denial_names_the_limit_its_scope_and_retry_after_ms(
    app: TokenLedgerClient, admin: TokenLedgerClient, user: str
) -> None:
    admin.set_limit(user, 1_000_000)  # a token limit too: the denial must still name the rate limit
    admin.set_rate(user, tpm=150)
    handler = TokenLedgerCallbackHandler(app, user=user, reserve_tokens=100)
    config: Any = {"callbacks": [handler]}
    assert (PROMPT | GenericFakeChatModel(messages=iter([answer(60, 40)]))).invoke({"question": "a"}, config=config)
    with pytest.raises(QuotaDenied) as caught:
        (PROMPT | GenericFakeChatModel(messages=iter([answer(1, 1)]))).invoke({"question": "b"}, config=config)
    denial = caught.value
    assert denial.denied_by == "tpm" and denial.denied_scope == "user:" + user
    assert denial.retry_after_ms is not None and 0 < denial.retry_after_ms <= 60_000
    message = str(denial)
    assert "rate limit tpm of user:%s" % user in message and "token limit" not in message
    assert "100 tokens in the last 60 s of a limit of 150 per minute" in message
    assert "retry_after_ms %d" % denial.retry_after_ms in message
    # rpm: a request counted, whatever its tokens.
    admin.clear_rate(user)
    admin.set_rate(user, rpm=1)
    with pytest.raises(QuotaDenied) as caught:
        (PROMPT | GenericFakeChatModel(messages=iter([answer(1, 1)]))).invoke({"question": "c"}, config=config)
    assert caught.value.denied_by == "rpm" and "rate limit rpm of user:%s" % user in str(caught.value)
    assert "1 requests in the last 60 s of a limit of 1 per minute" in str(caught.value)


def test_an_error_in_the_model_releases_the_reservation(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    seen: List[int] = []

    def failing() -> Iterator[AIMessage]:
        seen.append(reader.usage(user).reserved)
        raise RuntimeError("the provider is down")
        yield  # pragma: no cover - makes this a generator

    handler = TokenLedgerCallbackHandler(app, user=user, reserve_tokens=500)
    with pytest.raises(RuntimeError, match="the provider is down"):
        (PROMPT | GenericFakeChatModel(messages=failing())).invoke({"question": "hi"}, config={"callbacks": [handler]})
    assert seen == [500]  # it was reserved while the model ran ...
    usage = reader.usage(user)
    assert (usage.reserved, usage.calls, usage.total_tokens) == (0, 0, 0)  # ... and released after the error
    assert handler.failures == 0


def test_llm_output_token_usage_is_the_fallback(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    class OpenAIStyleModel(FakeMessagesListChatModel):
        def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
            result = super()._generate(*args, **kwargs)
            result.llm_output = {
                "model_name": "gpt-legacy",
                "token_usage": {
                    "prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49,
                    "prompt_tokens_details": {"cached_tokens": 8},
                },
            }
            return result

    handler = TokenLedgerCallbackHandler(app, user=user)
    (PROMPT | OpenAIStyleModel(responses=[AIMessage(content="no usage_metadata")])).invoke(
        {"question": "q"}, config={"callbacks": [handler]}
    )
    usage = reader.usage(user)
    assert (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens, usage.reserved) == (40, 9, 8, 0)
    assert "gpt-legacy" in usage.models


def test_a_text_llm_without_usage_is_settled_with_an_estimate(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    prompt = PromptTemplate.from_template("Say {word}")
    handler = TokenLedgerCallbackHandler(app, user=user)
    (prompt | FakeListLLM(responses=["12345678"])).invoke({"word": "hello there"}, config={"callbacks": [handler]})
    usage = reader.usage(user)
    assert (usage.input_tokens, usage.output_tokens, usage.calls, usage.reserved) == (
        math.ceil(len("Say hello there") / 4), 2, 1, 0,
    )


def test_one_handler_serves_concurrent_runs(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    model = FakeMessagesListChatModel(responses=[answer(11, 4)])
    handler = TokenLedgerCallbackHandler(app, user=user)
    chain = PROMPT | model
    questions = [{"question": "q%d" % index} for index in range(8)]
    chain.batch(questions, config={"callbacks": [handler], "max_concurrency": 4})
    usage = reader.usage(user)
    assert (usage.calls, usage.total_tokens, usage.reserved) == (8, 120, 0)


def test_async_chains_are_metered_too(app: TokenLedgerClient, reader: TokenLedgerClient, user: str) -> None:
    handler = TokenLedgerCallbackHandler(app)
    chain = PROMPT | FakeMessagesListChatModel(responses=[answer(5, 5)])

    async def run() -> None:
        await asyncio.gather(*[
            chain.ainvoke({"question": "q%d" % index}, config={"callbacks": [handler], "metadata": {"user_id": user}})
            for index in range(3)
        ])

    asyncio.run(run())
    usage = reader.usage(user)
    assert (usage.calls, usage.total_tokens, usage.reserved) == (3, 30, 0)


def test_a_run_without_a_user_is_refused_before_the_model(app: TokenLedgerClient) -> None:
    started: List[bool] = []

    def messages() -> Iterator[AIMessage]:
        started.append(True)
        yield answer(1, 1)

    with pytest.raises(ValueError, match="user_id"):
        (PROMPT | GenericFakeChatModel(messages=messages())).invoke(
            {"question": "q"}, config={"callbacks": [TokenLedgerCallbackHandler(app)]}
        )
    assert started == []

