#!/usr/bin/env bash
# colcon build of the workspace with the venv's ROS 2; skipped when nothing under src/ changed.
set -euo pipefail
cd "$(dirname "$0")/.."
# One build at a time in this workspace (parallel test runs and a demo share build/ and install/).
mkdir -p install
exec 9>install/.humanoid-build-lock
flock 9
STAMP=install/.humanoid-build-stamp
if [ -f "$STAMP" ] && [ -z "$(find src colcon.meta -newer "$STAMP" -print -quit)" ]; then
  exit 0
fi
# shellcheck disable=SC1091
. .venv/bin/activate
export AMENT_PREFIX_PATH="$VIRTUAL_ENV"
echo "[build] colcon build (first build ~1 min: humanoid_interfaces generates C and Python code)"
rm -f "$STAMP"
set +e
colcon --log-base log build --symlink-install --metas colcon.meta \
  --event-handlers console_cohesion- summary+ status- 2>&1 | grep -v "doesn't contain any 'local_setup"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "[build] FAILED (colcon exit $status): see the output above and log/latest_build" >&2
  exit 1
fi
for pkg in src/*/; do
  name=$(basename "$pkg")
  if [ ! -d "install/$name" ]; then
    echo "[build] FAILED: package $name was not built; see log/latest_build" >&2
    exit 1
  fi
done
touch "$STAMP"
