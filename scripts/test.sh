#!/usr/bin/env bash
# Set everything up and run the test suite (unit + integration in namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/ruff check firmware_emu wand tests bench
exec .venv/bin/python -m pytest "$@"
