#!/usr/bin/env bash
# Install the Debian packages Floniks needs, when they are missing.
#   scripts/system-deps.sh run   — what `make run` needs: the libraries Real-ESRGAN loads on the CPU.
#   scripts/system-deps.sh       — what the test suite needs besides: PostgreSQL and Redis servers
#                                  (started privately by testing/run.py) and Chromium for the browser tests.
set -euo pipefail

has_library() { ldconfig -p | grep -F "$1" >/dev/null; }  # not -q: an early exit would fail the pipe

missing=()
has_library libvulkan.so.1 || missing+=(libvulkan1)
has_library libomp.so.5 || missing+=(libomp5)
if [ "${1:-test}" != "run" ]; then
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
