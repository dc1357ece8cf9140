#!/usr/bin/env bash
# Builds the desktop bundle: dist/frameduel/frameduel (PyInstaller, one folder), the app and the
# headless CLI with no deep-learning framework inside. Comparisons run in the user's framework
# interpreters: Settings > Interpreters in the app, run.python / --python, or $FRAMEDUEL_PYTHON
# (else python3 on the PATH). FrameDuel's child code (workloads/) travels as source files, which
# the bundle copies into each store's cache for those interpreters to import.
#
# Usage: packaging/bundle.sh [DISTDIR [WORKDIR]]   (defaults: dist, build/bundle)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dist=$(realpath -m "${1:-dist}")
work=$(realpath -m "${2:-build/bundle}")
python=${PYTHON:-.venv/bin/python}
mkdir -p "$dist" "$work"
excluded=(torch tensorflow jax jaxlib keras optax mlflow tensorboard PyInstaller pytest)
args=()
for module in "${excluded[@]}"; do args+=(--exclude-module "$module"); done
"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$dist" --workpath "$work" --specpath "$work" \
    --name frameduel \
    --add-data "$root/workloads:workloads" \
    --add-data "$root/resources:profiler/resources" \
    --collect-submodules profiler --collect-submodules gui \
    "${args[@]}" \
    "$root/packaging/frameduel_entry.py"
echo "bundle: $dist/frameduel/frameduel"
