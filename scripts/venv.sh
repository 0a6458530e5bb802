#!/usr/bin/env bash
# Creates build/venv with the Python peers that benchmarks and conformance
# checks compare against (bench/requirements.txt). Idempotent: reinstalls only
# when the requirements file changes.
#
#   bash scripts/venv.sh [REQUIREMENTS VENV]   another peer's venv, e.g.
#   bash scripts/venv.sh bench/onnx/requirements.txt build/venv-onnx
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${2:-$root/build/venv}"
req="${1:-$root/bench/requirements.txt}"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet -r "$req"
echo "$want" > "$stamp"
echo "venv: $venv ready"
