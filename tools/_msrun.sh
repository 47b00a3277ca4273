# Sourced by tools/dist_train.sh and tools/dist_test.sh:
#   run_msrun SCRIPT [args...]        msrun (CPU, GPU, Ascend), one process per device
#   run_rank_table SCRIPT [args...]   the HCCL rank-table launch on Ascend ($RANK_TABLE_FILE)
# Both need PYTHON, NPROC, NNODES, NODE_RANK and LOG_DIR; msrun also MASTER_ADDR and PORT.
#
# A worker that exits with an error (a config mistake, a missing file...) stops the whole job at
# once: the worker wrapper records its exit code and ends msrun's process group, so nobody waits
# for the cluster to form, and one line names the rank and its error.

# a config path, or a name of this checkout's configs (shm/e2e_8x8.py, e2e_8x8), as
# tools/train.py finds it (shmatting.config.find_config)
find_config() {
  local name=$1 rel hits root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if [ -f "$name" ]; then echo "$name"; return; fi
  rel=${name#configs/}; rel=${rel%.py}.py
  if [ -f "$root/configs/$rel" ]; then echo "$root/configs/$rel"; return; fi
  case "$rel" in */*) ;; *)
    hits=$(find "$root/configs" -name "$rel" -type f)
    if [ "$(printf '%s\n' "$hits" | grep -c .)" = 1 ]; then echo "$hits"; return; fi ;;
  esac
  echo "$name"
}

# the work dir the tool will use: --work-dir D if given, else work_dirs/<config name>
work_dir_of() {
  local config=$1; shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --work-dir) echo "$2"; return ;;
      --work-dir=*) echo "${1#--work-dir=}"; return ;;
    esac
    shift
  done
  echo "work_dirs/$(basename "$config" .py)"
}

run_msrun() {
  local shim fail_dir rc pgid
  shim=$(mktemp -d)
  fail_dir="$shim/failed"
  mkdir -p "$fail_dir"
  # msrun starts each worker as `python SCRIPT`: make `python` mean this interpreter (a script,
  # not a symlink, so a virtualenv stays active) and report a failed worker
  cat > "$shim/python" <<EOF
#!/bin/sh
"$PYTHON" "\$@"
rc=\$?
if [ \$rc -ne 0 ]; then
  echo "\$rc \${MS_NODE_ID:-\${RANK_ID:-?}}" > "$fail_dir/worker_\$\$"
  kill -TERM -\$(cat "$shim/pgid") 2>/dev/null  # dash: no "--" before a group
fi
exit \$rc
EOF
  chmod +x "$shim/python"
  # msrun is MindSpore's console script; run it through the same Python so an inactive venv works,
  # in a process group of its own so a failed worker can end it with all its workers
  PATH="$shim:$PATH" setsid "$PYTHON" -c \
    'import sys; from mindspore.parallel.cluster.run import main; sys.argv[0] = "msrun"; sys.exit(main())' \
    --worker_num=$((NPROC * NNODES)) --local_worker_num="$NPROC" \
    --master_addr="$MASTER_ADDR" --node_rank="$NODE_RANK" --master_port="$PORT" \
    --log_dir="$LOG_DIR" --join=True "$@" &
  pgid=$!
  echo "$pgid" > "$shim/pgid"
  trap 'kill -TERM -- -'"$pgid"' 2>/dev/null' INT TERM
  wait "$pgid"
  rc=$?
  trap - INT TERM
  if [ -n "$(ls -A "$fail_dir")" ]; then
    report_failed_worker "$fail_dir"
    [ "$rc" -eq 0 ] && rc=1
  fi
  rm -rf "$shim"
  return $rc
}

# one line: the first failed worker, its exit code and its own error line
report_failed_worker() {
  local first code node line
  first=$(ls -tr "$1" | head -n 1)
  read -r code node < "$1/$first"
  line=$(grep -h '^error: ' "$LOG_DIR"/worker_*.log 2>/dev/null | head -n 1)
  echo "error: worker ${node} exited with code ${code}${line:+: ${line#error: }} (logs: $LOG_DIR)" >&2
}

# The HCCL rank-table launch: NPROC processes with DEVICE_ID=DEVICE_START+i,
# RANK_ID=NODE_RANK*NPROC+i, RANK_SIZE=NPROC*NNODES, each logging to LOG_DIR/rank_<RANK_ID>.log;
# returns the first non-zero exit code of its processes.
run_rank_table() {
  local script=$1 rank i pid rc status=0 pids=()
  shift
  if [ ! -f "$RANK_TABLE_FILE" ]; then echo "error: RANK_TABLE_FILE not found: $RANK_TABLE_FILE" >&2; return 2; fi
  export RANK_TABLE_FILE=$(realpath "$RANK_TABLE_FILE")
  export RANK_SIZE=$((NPROC * NNODES))
  export HCCL_CONNECT_TIMEOUT=${HCCL_CONNECT_TIMEOUT:-7200}
  for ((i = 0; i < NPROC; i++)); do
    rank=$((NODE_RANK * NPROC + i))
    DEVICE_ID=$((${DEVICE_START:-0} + i)) RANK_ID=$rank \
      "$PYTHON" "$script" "$@" > "$LOG_DIR/rank_$rank.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "$pid"
    rc=$?
    if [ $rc -ne 0 ] && [ $status -eq 0 ]; then status=$rc; fi
  done
  if [ $status -ne 0 ]; then
    echo "error: a rank failed (exit $status); see $LOG_DIR/rank_*.log" >&2
  fi
  return $status
}
