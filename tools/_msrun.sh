# Sourced by tools/dist_train.sh and tools/dist_test.sh: run_msrun SCRIPT [args...]
# Needs PYTHON, NPROC, NNODES, NODE_RANK, MASTER_ADDR, PORT and LOG_DIR.
run_msrun() {
  # msrun starts each worker as `python SCRIPT`: make `python` mean this interpreter (a script,
  # not a symlink, so a virtualenv stays active)
  local shim
  shim=$(mktemp -d)
  printf '#!/bin/sh\nexec "%s" "$@"\n' "$PYTHON" > "$shim/python"
  chmod +x "$shim/python"
  # msrun is MindSpore's console script; run it through the same Python so an inactive venv works
  PATH="$shim:$PATH" "$PYTHON" -c \
    'import sys; from mindspore.parallel.cluster.run import main; sys.argv[0] = "msrun"; sys.exit(main())' \
    --worker_num=$((NPROC * NNODES)) --local_worker_num="$NPROC" \
    --master_addr="$MASTER_ADDR" --node_rank="$NODE_RANK" --master_port="$PORT" \
    --log_dir="$LOG_DIR" --join=True "$@"
  local rc=$?
  rm -rf "$shim"
  return $rc
}
