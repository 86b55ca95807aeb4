#!/usr/bin/env bash
# Lint, then every test: package tests (src/*/test) and cross-package tests (test/).
# Each run gets its own ROS_DOMAIN_ID and ROS_HOME (test/conftest.py), so concurrent runs never
# see each other's nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. tools/env.sh
echo "[test] ruff"
ruff check .
ruff format --check .
echo "[test] pytest"
exec python -m pytest -p no:cacheprovider "$@"
