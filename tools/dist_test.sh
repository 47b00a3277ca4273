#!/usr/bin/env bash
# Distributed evaluation: tools/dist_test.sh CONFIG CKPT DEVICES_PER_NODE [tools/test.py args...]
# Each rank scores indices[rank::world]; metric states are summed, so the numbers equal one process.
# Environment: PORT (8119), NNODES, NODE_RANK, MASTER_ADDR, LOG_DIR (work_dirs/<config>/
# msrun_test_logs), PYTHON; RANK_TABLE_FILE (and DEVICE_START) for the HCCL rank-table launch on
# Ascend, as tools/dist_train.sh.
set -u
if [ $# -lt 3 ]; then
  echo "usage: $0 CONFIG CKPT DEVICES_PER_NODE [test.py args...]" >&2
  exit 2
fi
CONFIG=$1
CKPT=$2
NPROC=$3
shift 3
case "$NPROC" in ''|*[!0-9]*) echo "error: DEVICES_PER_NODE must be a positive integer, got '$NPROC'" >&2; exit 2;; esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tools/_msrun.sh"
CONFIG=$(find_config "$CONFIG")
if [ ! -f "$CONFIG" ]; then echo "error: config not found: $CONFIG" >&2; exit 2; fi
if [ ! -f "$CKPT" ]; then echo "error: checkpoint not found: $CKPT" >&2; exit 2; fi
PYTHON=${PYTHON:-$(command -v python || command -v python3)}
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PORT=${PORT:-8119}
LOG_DIR=${LOG_DIR:-work_dirs/$(basename "$CONFIG" .py)/msrun_test_logs}
export ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-AVX2}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$LOG_DIR"
if [ -n "${RANK_TABLE_FILE:-}" ]; then
  run_rank_table "$ROOT/tools/test.py" "$CONFIG" "$CKPT" --launcher rank_table "$@"
  exit $?
fi
run_msrun "$ROOT/tools/test.py" "$CONFIG" "$CKPT" --launcher msrun "$@"
