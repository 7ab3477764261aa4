#!/usr/bin/env python3
"""Drives the official `openai` and `anthropic` Python SDKs against the TokenLedger proxy.

The proxy's tests (Tests/TokenLedgerServiceTests, ProxySDKTests) run it once per call:

    proxy_sdk_client.py SCENARIO

with PROXY_BASE_URL (the service, e.g. http://127.0.0.1:8080), PROXY_APP_KEY (a TokenLedger app
key: the SDK's api_key) and PROXY_USER (the user to book the call to). It prints one JSON object:
what the SDK returned or raised, so the test can check it against what the ledger recorded and
what the fake provider received. The SDKs do not retry (max_retries=0): each call is one request.
"""

import json
import os
import sys

import anthropic
import openai

BASE = os.environ["PROXY_BASE_URL"]
KEY = os.environ["PROXY_APP_KEY"]
USER = os.environ.get("PROXY_USER", "")
MODEL = os.environ.get("PROXY_MODEL", "")
MESSAGES = [
    {"role": "system", "content": "You answer in one word."},
    {"role": "user", "content": "What is the capital of France?"},
]


def openai_client():
    return openai.OpenAI(base_url=BASE + "/proxy/openai/v1", api_key=KEY, max_retries=0)


def anthropic_client():
    return anthropic.Anthropic(base_url=BASE + "/proxy/anthropic", api_key=KEY, max_retries=0)


def dump(model):
    return None if model is None else model.model_dump(mode="json", exclude_none=False)


def openai_chat():
    reply = openai_client().chat.completions.create(
        model=MODEL or "gpt-4o-mini", messages=MESSAGES, user=USER, max_tokens=200
    )
    return {"id": reply.id, "usage": dump(reply.usage), "text": reply.choices[0].message.content}


def openai_chat_stream(include_usage):
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = []
    stream = openai_client().chat.completions.create(
        model=MODEL or "gpt-4o-mini", messages=MESSAGES, user=USER, max_tokens=200, stream=True, **options
    )
    for chunk in stream:
        chunks.append(chunk)
    usage_chunks = [c for c in chunks if c.usage is not None]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return {
        "chunks": len(chunks),
        "usage_chunks": len(usage_chunks),
        "usage": dump(usage_chunks[-1].usage) if usage_chunks else None,
        "text": text,
    }


def openai_responses(stream):
    client = openai_client()
    headers = {"X-TokenLedger-User": USER}
    if not stream:
        reply = client.responses.create(
            model=MODEL or "gpt-5-mini", input="Say hi.", max_output_tokens=2000, extra_headers=headers
        )
        return {"id": reply.id, "usage": dump(reply.usage)}
    events = list(
        client.responses.create(
            model=MODEL or "gpt-5-mini", input="Say hi.", max_output_tokens=2000, stream=True, extra_headers=headers
        )
    )
    completed = [e for e in events if e.type == "response.completed"]
    return {"events": len(events), "usage": dump(completed[-1].response.usage) if completed else None}


def openai_embeddings():
    reply = openai_client().embeddings.create(
        model=MODEL or "text-embedding-3-small", input=["first text", "second text"], user=USER
    )
    return {"vectors": len(reply.data), "usage": dump(reply.usage)}


def anthropic_message():
    reply = anthropic_client().messages.create(
        model=MODEL or "claude-opus-4-8",
        max_tokens=1024,
        system="You answer in one word.",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        metadata={"user_id": USER},
    )
    return {"id": reply.id, "usage": dump(reply.usage)}


def anthropic_stream():
    with anthropic_client().messages.stream(
        model=MODEL or "claude-opus-4-8",
        max_tokens=1024,
        messages=[{"role": "user", "content": "Review clause 7."}],
        metadata={"user_id": USER},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    return {"text": text, "usage": dump(final.usage)}


def openai_disconnect():
    """Reads the first chunk of a gated stream, then closes the connection."""
    stream = openai_client().chat.completions.create(
        model=MODEL or "fake-gate", messages=MESSAGES, user=USER, max_tokens=200, stream=True
    )
    first = next(iter(stream))
    stream.close()
    return {"closed": True, "first_chunk": first.id}


def anthropic_disconnect():
    with anthropic_client().messages.stream(
        model="fake-gate", max_tokens=1024, messages=[{"role": "user", "content": "x"}], metadata={"user_id": USER}
    ) as stream:
        first = next(iter(stream))
    return {"closed": True, "first_event": first.type}


SCENARIOS = {
    "openai-chat": openai_chat,
    "openai-chat-stream": lambda: openai_chat_stream(False),
    "openai-chat-stream-usage": lambda: openai_chat_stream(True),
    "openai-responses": lambda: openai_responses(False),
    "openai-responses-stream": lambda: openai_responses(True),
    "openai-embeddings": openai_embeddings,
    "anthropic-message": anthropic_message,
    "anthropic-stream": anthropic_stream,
    "openai-disconnect": openai_disconnect,
    "anthropic-disconnect": anthropic_disconnect,
}


def main():
    scenario = sys.argv[1]
    try:
        result = {"ok": True, **SCENARIOS[scenario]()}
    except (openai.APIStatusError, anthropic.APIStatusError) as error:
        body = error.body if isinstance(error.body, (dict, list, str)) else None
        result = {
            "ok": False,
            "error": type(error).__name__,
            "status": error.status_code,
            "body": body,
            "headers": {k.lower(): v for k, v in error.response.headers.items()},
        }
    except (openai.APIError, anthropic.APIError) as error:
        result = {"ok": False, "error": type(error).__name__, "message": str(error)}
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
