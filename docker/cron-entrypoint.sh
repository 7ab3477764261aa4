#!/bin/bash
# Entry point of the compose service `rollover`: runs cron in the foreground with docker/crontab.
# cron starts jobs with an empty environment, so the settings the job needs are saved here for it,
# readable by root only (the job drops to the tokenledger user after reading them).
set -euo pipefail

install -d -m 0700 /etc/tokenledger
env_file=/etc/tokenledger/env
: > "$env_file"
chmod 0600 "$env_file"
for name in REDIS_URL REDIS_PASSWORD TOKENLEDGER_NAMESPACE TOKENLEDGER_REDIS_MODE TOKENLEDGER_WAIT_REPLICAS \
  TOKENLEDGER_WAIT_TIMEOUT_MS; do
  if [ -n "${!name:-}" ]; then
    declare -p "$name" >> "$env_file"
  fi
done

echo "rollover: cron started; tokenledger rollover runs daily at 00:30 UTC" >&2
exec cron -f
