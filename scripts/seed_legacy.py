#!/usr/bin/env python3
"""Writes usage in the seed's legacy layout with the seed's own code, for TokenLedger's migration tests.

Runs aiecs 2.2.0's TokenUsageRepository (pip install --no-deps aiecs==2.2.0, plus redis) against the
Redis at REDIS_HOST/REDIS_PORT. aiecs's package __init__ files import its whole framework (celery,
fastapi, cloud SDKs ...), so only the two modules the repository needs are loaded, from their files.

stdin: a JSON array of operations, each one of
  {"op": "detailed", "user": U, "cycle": "YYYY-MM-DD", "prompt": N, "completion": N}
  {"op": "total" | "prompt" | "completion", "user": U, "cycle": D, "tokens": N}
  {"op": "limit", "user": U, "cycle": D, "limit": N}
  {"op": "generate", "users": N, "cycles": [D, ...], "seed": S}   (many detailed calls and limits)
stdout: JSON {"U|D": {"prompt_tokens", "completion_tokens", "total_tokens", "limit"}} as the seed
reads it back (get_usage_stats and check_usage_limit), for every (user, cycle) written.
"""
import asyncio
import importlib.util
import json
import random
import sys
import types


def load_seed_repository():
    spec = importlib.util.find_spec("aiecs")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("seed_legacy.py: aiecs is not installed; run ./scripts/bootstrap (pip install --no-deps aiecs==2.2.0)")
    root = spec.submodule_search_locations[0]
    # Empty parent packages, so importing a submodule does not run aiecs's heavy __init__ files.
    for name in ["aiecs", "aiecs.infrastructure", "aiecs.infrastructure.persistence", "aiecs.utils"]:
        package = types.ModuleType(name)
        package.__path__ = [root + "/" + "/".join(name.split(".")[1:])]
        sys.modules[name] = package

    def load(name, path):
        module_spec = importlib.util.spec_from_file_location(name, root + "/" + path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module

    client = load("aiecs.infrastructure.persistence.redis_client", "infrastructure/persistence/redis_client.py")
    repository = load("aiecs.utils.token_usage_repository", "utils/token_usage_repository.py")
    return client, repository.TokenUsageRepository


async def main():
    operations = json.load(sys.stdin)
    client_module, TokenUsageRepository = load_seed_repository()
    await client_module.initialize_redis_client()
    repo = TokenUsageRepository()
    written = set()
    expanded = []
    for op in operations:
        if op["op"] != "generate":
            expanded.append(op)
            continue
        rng = random.Random(op.get("seed", 1))
        for index in range(op["users"]):
            user = f"user-{index:04d}"
            for cycle in op["cycles"]:
                expanded.append({"op": "detailed", "user": user, "cycle": cycle,
                                 "prompt": rng.randint(1, 50_000), "completion": rng.randint(0, 20_000)})
                if index % 3 == 0:
                    expanded.append({"op": "limit", "user": user, "cycle": cycle, "limit": rng.randint(100_000, 900_000)})
    for op in expanded:
        user, cycle = op["user"], op["cycle"]
        written.add((user, cycle))
        kind = op["op"]
        if kind == "detailed":
            await repo.increment_detailed_usage(user, op["prompt"], op["completion"], cycle)
        elif kind == "total":
            await repo.increment_total_usage(user, op["tokens"], cycle)
        elif kind == "prompt":
            await repo.increment_prompt_tokens(user, op["tokens"], cycle)
        elif kind == "completion":
            await repo.increment_completion_tokens(user, op["tokens"], cycle)
        elif kind == "limit":
            await repo.set_usage_limit(user, op["limit"], cycle)
        else:
            sys.exit(f"seed_legacy.py: unknown op {kind}")
    result = {}
    for user, cycle in sorted(written):
        stats = await repo.get_usage_stats(user, cycle)
        limit = await repo.check_usage_limit(user, cycle)
        result[f"{user}|{cycle}"] = {
            "prompt_tokens": stats["prompt_tokens"],
            "completion_tokens": stats["completion_tokens"],
            "total_tokens": stats["total_tokens"],
            "limit": limit["limit"],
        }
    await client_module.close_redis_client()
    json.dump(result, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    asyncio.run(main())
