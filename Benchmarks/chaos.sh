#!/usr/bin/env bash
# Chaos run (seedable): a 5,000-row apply against the emulator with faults on (429, 500,
# 503, 504, dropped connections, lost answers, stalls past the timeout, revoked tokens,
# throttling), killed with SIGKILL at random moments — at least 20 times, some during plan —
# and resumed each time; then checked against the emulator's state and request log.
#
#   bash Benchmarks/chaos.sh [SEED] [ROWS] [KILLS]      (defaults: 1 5000 20)
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-1}; rows=${2:-5000}; kills=${3:-20}
source Benchmarks/lib.sh
build_release
python3 Benchmarks/chaos.py --bin "$bin" --seed "$seed" --rows "$rows" --kills "$kills" --plan-kills 3 --work Benchmarks/work/chaos
