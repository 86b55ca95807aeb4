# Source this to get the stack's environment: the venv (a ROS 2 prefix) and the colcon overlay.
# Usage: . tools/env.sh   (from the repository root)
_HUMANOID_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${ROS_DISTRO:-}" ] || [ -n "${HUMANOID_USE_VENV:-}" ]; then
  # shellcheck disable=SC1091
  . "$_HUMANOID_ROOT/.venv/bin/activate"
  export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
fi
if [ -f "$_HUMANOID_ROOT/install/setup.bash" ]; then
  # colcon's setup scripts read unset variables: relax nounset while sourcing.
  _had_u=0; case $- in *u*) _had_u=1; set +u;; esac
  # shellcheck disable=SC1091
  . "$_HUMANOID_ROOT/install/setup.bash"
  [ "$_had_u" = 1 ] && set -u
fi
# DDS stays on this host unless the user says otherwise.
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
unset _HUMANOID_ROOT _had_u
