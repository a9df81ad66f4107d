#!/usr/bin/env bash
# System packages the tests need beyond Python: a PostgreSQL server (integration tests start
# their own, as a non-root user, in a temp folder) and Chromium (Playwright drives it; no
# `playwright install`, which downloads browsers). Idempotent: does nothing when present.
set -euo pipefail
need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  echo "[deps] postgresql and chromium present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "[deps] missing ${need[*]}: install them (apt-get install ${need[*]}) as root" >&2
  exit 0  # the tests then skip with a message naming the package
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "[deps] installed ${need[*]}"
