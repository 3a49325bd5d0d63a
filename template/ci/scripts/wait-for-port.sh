{% raw %}#!/usr/bin/env bash
# wait-for-port.sh HOST PORT [SECONDS]: returns once HOST:PORT accepts a TCP
# connection, fails after SECONDS (default 60). CI services may still be starting
# when the first job script runs (GitLab does not wait for health checks).
set -euo pipefail

host="$1"
port="$2"
deadline=$((SECONDS + ${3:-60}))
until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "$host:$port did not accept connections in time" >&2
    exit 1
  fi
  sleep 1
done
{% endraw %}