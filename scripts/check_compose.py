#!/usr/bin/env python3
"""Checks docker/compose.yaml's structure without a Docker engine (scripts/test runs it).

Parses the file with PyYAML (merge keys and anchors resolved) and checks what `docker compose`
would refuse or get wrong: every service has an image or a build; every depends_on names a service
that exists and is enabled whenever the depending service is (same profile, or no profile); named
volumes are declared; a single `$` in a command (compose would interpolate it; a shell's `$` is
written `$$`). For the `cluster` profile: six nodes with --cluster-enabled yes, an init service that
runs `redis-cli --cluster create` with --cluster-replicas 1 and --cluster-yes, and TokenLedger
services whose REDIS_URL lists every node as a seed. The HTTP service: one service running
`tokenledger serve`, publishing a port, waiting for redis, with a healthcheck on GET /readyz, beside
the rollover (cron) service.

    python3 scripts/check_compose.py [docker/compose.yaml]
"""
import re
import sys

import yaml


def main(path):
    with open(path, encoding="utf-8") as handle:
        compose = yaml.safe_load(handle)
    problems = []
    services = compose.get("services") or {}
    volumes = set((compose.get("volumes") or {}).keys())
    if not services:
        problems.append("no services")

    for name, service in services.items():
        if "image" not in service and "build" not in service:
            problems.append(f"{name}: neither image nor build")
        profiles = set(service.get("profiles") or [])
        for dependency in service.get("depends_on") or {}:
            if dependency not in services:
                problems.append(f"{name}: depends_on unknown service {dependency}")
                continue
            theirs = set(services[dependency].get("profiles") or [])
            if theirs and not theirs & profiles:
                problems.append(f"{name}: depends on {dependency}, which its profiles {sorted(profiles)} do not enable")
        for volume in service.get("volumes") or []:
            source = str(volume).split(":", 1)[0]
            if source and not source.startswith((".", "/", "~")) and source not in volumes:
                problems.append(f"{name}: volume {source} is not declared under volumes")
        command = service.get("command") or []
        for part in command if isinstance(command, list) else [command]:
            # `$$` is a literal `$`; `${VAR}` and `$VAR` are compose's interpolation.
            for match in re.finditer(r"\$+", str(part)):
                if len(match.group()) % 2 == 1:
                    problems.append(f"{name}: a single '$' in its command (compose interpolates it; write $$)")
                    break

    cluster = {name: s for name, s in services.items() if "cluster" in (s.get("profiles") or [])}
    nodes = sorted(name for name in cluster if re.fullmatch(r"redis-node-\d+", name))
    if cluster:
        if len(nodes) != 6:
            problems.append(f"cluster profile: expected 6 redis-node-N services, found {nodes}")
        for node in nodes:
            command = [str(part) for part in cluster[node].get("command") or []]
            if "--cluster-enabled" not in command or command[command.index("--cluster-enabled") + 1] != "yes":
                problems.append(f"{node}: not started with --cluster-enabled yes")
            if "--cluster-node-timeout" not in command:
                problems.append(f"{node}: no --cluster-node-timeout")
            if not str(cluster[node].get("image", "")).startswith("redis:7.0"):
                problems.append(f"{node}: image is not redis:7.0")
        init = [name for name, s in cluster.items() if "--cluster create" in " ".join(map(str, s.get("command") or []))]
        if len(init) != 1:
            problems.append(f"cluster profile: expected one service running redis-cli --cluster create, found {init}")
        else:
            script = " ".join(map(str, cluster[init[0]]["command"]))
            for flag in ("--cluster-replicas 1", "--cluster-yes"):
                if flag not in script:
                    problems.append(f"{init[0]}: redis-cli --cluster create without {flag}")
            missing = [node for node in nodes if node not in (cluster[init[0]].get("depends_on") or {})]
            if missing:
                problems.append(f"{init[0]}: does not wait for {missing}")
        ledgers = [name for name, s in cluster.items() if str(s.get("image", "")).startswith("tokenledger")]
        if not any("rollover" in name for name in ledgers):
            problems.append("cluster profile: no rollover (cron) service")
        for name in ledgers:
            url = str((cluster[name].get("environment") or {}).get("REDIS_URL", ""))
            seeds = url.removeprefix("redis://").split(",")
            if sorted(seed.split(":")[0] for seed in seeds) != nodes:
                problems.append(f"{name}: REDIS_URL {url!r} does not list every node as a seed")

    # The HTTP service: runs `tokenledger serve` beside Redis and the cron job, published on a
    # port, healthy only once GET /readyz answers (Redis reachable, schema current).
    servers = [
        name for name, s in services.items()
        if not s.get("profiles") and "serve" in [str(part) for part in (s.get("command") or [])]
    ]
    if len(servers) != 1:
        problems.append(f"expected one service running tokenledger serve, found {servers}")
    for name in servers:
        service = services[name]
        test = " ".join(str(part) for part in ((service.get("healthcheck") or {}).get("test") or []))
        if "/readyz" not in test:
            problems.append(f"{name}: its healthcheck does not ask GET /readyz")
        if not service.get("ports"):
            problems.append(f"{name}: publishes no port")
        if "redis" not in (service.get("depends_on") or {}):
            problems.append(f"{name}: does not wait for redis")
    if not any("rollover" in name and not s.get("profiles") for name, s in services.items()):
        problems.append("no rollover (cron) service beside the HTTP service")

    for problem in problems:
        print(f"check_compose: {path}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docker/compose.yaml"))
