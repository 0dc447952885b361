#!/usr/bin/env bash
# Set everything up and run the two-site Frame Relay demo over an emulated T1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/wand lab demo "$@"
