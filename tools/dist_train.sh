#!/usr/bin/env bash
# Distributed training: tools/dist_train.sh CONFIG DEVICES_PER_NODE [tools/train.py args...]
#
# Default launcher: msrun (MindSpore's dynamic cluster; CPU, GPU and Ascend), one process per device:
#   msrun --worker_num=N*NNODES --local_worker_num=N --master_addr=$MASTER_ADDR --node_rank=$NODE_RANK
#         --master_port=${PORT:-8118} --join=True tools/train.py CONFIG --launcher msrun ...
# Environment: PORT (8118), NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), LOG_DIR
# (<work dir>/msrun_logs: --work-dir if given, else work_dirs/<config>), PYTHON (python3).
# Several nodes: run this script on every node with the same NNODES, MASTER_ADDR (the address of
# node 0, reachable from all) and PORT, and NODE_RANK 0..NNODES-1 (docs/training.md).
# A worker that fails stops the job at once with one line naming it.
#
# With RANK_TABLE_FILE set: the HCCL rank-table launch on Ascend. This script starts N processes,
# each with DEVICE_ID=DEVICE_START+i, RANK_ID=NODE_RANK*N+i, RANK_SIZE=N*NNODES, logs to
# LOG_DIR/rank_<RANK_ID>.log, and exits with the first non-zero exit code of its processes.
set -u
if [ $# -lt 2 ]; then
  echo "usage: $0 CONFIG DEVICES_PER_NODE [train.py args...]" >&2
  exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
case "$NPROC" in ''|*[!0-9]*) echo "error: DEVICES_PER_NODE must be a positive integer, got '$NPROC'" >&2; exit 2;; esac
if [ "$NPROC" -lt 1 ]; then echo "error: DEVICES_PER_NODE must be >= 1" >&2; exit 2; fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tools/_msrun.sh"
CONFIG=$(find_config "$CONFIG")
if [ ! -f "$CONFIG" ]; then echo "error: config not found: $CONFIG" >&2; exit 2; fi

PYTHON=${PYTHON:-$(command -v python || command -v python3)}
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PORT=${PORT:-8118}
LOG_DIR=${LOG_DIR:-$(work_dir_of "$CONFIG" "$@")/msrun_logs}
export ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-AVX2}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$LOG_DIR"

if [ -n "${RANK_TABLE_FILE:-}" ]; then
  run_rank_table "$ROOT/tools/train.py" "$CONFIG" --launcher rank_table "$@"
  exit $?
fi

CORES=$(nproc 2>/dev/null || echo 1)
if [ "$NPROC" -gt "$CORES" ]; then
  echo "warning: $NPROC processes on $CORES CPU cores; they will compete for the cores" >&2
fi
echo "msrun: $((NPROC * NNODES)) workers ($NPROC on node $NODE_RANK of $NNODES), logs in $LOG_DIR"
run_msrun "$ROOT/tools/train.py" "$CONFIG" --launcher msrun "$@"
