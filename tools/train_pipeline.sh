#!/usr/bin/env bash
# Train the phases of a recipe in order, each phase loading the previous phases' best aliases:
#   tools/train_pipeline.sh configs/shm/tnet_8x8.py [configs/shm/mnet_8x8.py] configs/shm/e2e_8x8.py
# Environment: DEVICES (1: tools/train.py; N > 1: tools/dist_train.sh CONFIG N), WORK_ROOT
# (work_dirs), EXTRA_ARGS (passed to every phase, e.g. "--cfg-options data_root=/data/hm").
# A T-Net phase hands over <work_dir>/best_mIoU.ckpt as load_from.tnet, an M-Net phase
# <work_dir>/best_SAD.ckpt as load_from.mnet (latest.ckpt when a phase kept no best); the phase is
# read from each config.
set -eu
if [ $# -lt 1 ]; then
  echo "usage: $0 CONFIG [CONFIG ...]" >&2
  exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$(command -v python || command -v python3)}
DEVICES=${DEVICES:-1}
WORK_ROOT=${WORK_ROOT:-work_dirs}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
read -r -a EXTRA <<< "${EXTRA_ARGS:-}"
HANDOVER=()
for CONFIG in "$@"; do
  if [ ! -f "$CONFIG" ]; then echo "error: config not found: $CONFIG" >&2; exit 2; fi
  PHASE=$("$PYTHON" -c "import sys; from shmatting.config import Config; \
print(Config.fromfile(sys.argv[1]).model.get('train_cfg', {}).get('phase', 'e2e'))" "$CONFIG")
  NAME=$(basename "$CONFIG" .py)
  WORK_DIR="$WORK_ROOT/$NAME"
  OPTS=()
  if [ ${#HANDOVER[@]} -gt 0 ] && [ "$PHASE" != "tnet" ]; then
    OPTS=(--cfg-options "${HANDOVER[@]}")
  fi
  echo "=== phase $PHASE: $CONFIG -> $WORK_DIR ${OPTS[*]:-}"
  if [ "$DEVICES" -gt 1 ]; then
    bash "$ROOT/tools/dist_train.sh" "$CONFIG" "$DEVICES" --work-dir "$WORK_DIR" "${OPTS[@]}" "${EXTRA[@]}"
  else
    "$PYTHON" "$ROOT/tools/train.py" "$CONFIG" --work-dir "$WORK_DIR" "${OPTS[@]}" "${EXTRA[@]}"
  fi
  # the best alias, or latest.ckpt when the phase ran without evaluation (the zoo's T-Net phase)
  case "$PHASE" in
    tnet) BEST="$WORK_DIR/best_mIoU.ckpt"; KEY=tnet;;
    mnet) BEST="$WORK_DIR/best_SAD.ckpt"; KEY=mnet;;
    *) BEST=""; KEY="";;
  esac
  if [ -n "$KEY" ]; then
    [ -f "$BEST" ] || BEST="$WORK_DIR/latest.ckpt"
    HANDOVER+=("load_from.$KEY=$BEST")
  fi
done
