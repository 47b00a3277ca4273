#!/usr/bin/env bash
# The model zoo's offline inference flow: preprocess -> infer -> postprocess.
#   tools/deploy/run_infer.sh MODEL [DEVICE_TYPE] [DEVICE_ID]
# MODEL: an exported .mindir (run by MindSpore) or .onnx (run by ONNX Runtime); BACKEND=lite uses
# MindSpore Lite (Ascend 310), BACKEND=mindspore|onnxruntime chooses explicitly.
# DEVICE_TYPE: CPU (default), GPU or Ascend.
# Run from the folder where the results should go; creates preprocess_Result/, result_Files/,
# time_Result/, postprocess_Result/, infer.log and acc.log as the zoo's run_infer_310.sh.
# The sidecar <MINDIR>.json (from tools/export_mindir.py) gives the config, input size and
# normalisation; SPLIT (test) and LIMIT (all) choose the images.
set -eu
if [ $# -lt 1 ]; then
  echo "usage: $0 MODEL [DEVICE_TYPE] [DEVICE_ID]" >&2
  exit 2
fi
MODEL=$(realpath "$1")
DEVICE_TYPE=${2:-CPU}
DEVICE_ID=${3:-0}
SIDECAR="$MODEL.json"
HERE=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-$(command -v python || command -v python3)}
[ -f "$MODEL" ] || { echo "error: model not found: $MODEL" >&2; exit 2; }
[ -f "$SIDECAR" ] || { echo "error: sidecar not found: $SIDECAR" >&2; exit 2; }
case "$DEVICE_TYPE" in CPU|GPU|Ascend) ;; *) echo "error: DEVICE_TYPE must be CPU, GPU or Ascend" >&2; exit 2;; esac
case "${BACKEND:-auto}" in
  auto) case "$MODEL" in *.onnx) BACKEND=onnxruntime ;; *) BACKEND=mindspore ;; esac ;;
  mindspore|onnxruntime|lite) ;;
  *) echo "error: BACKEND must be mindspore, onnxruntime or lite, got '$BACKEND'" >&2; exit 2 ;;
esac
LIMIT_ARGS=()
[ -n "${LIMIT:-}" ] && LIMIT_ARGS=(--limit "$LIMIT")

rm -rf preprocess_Result result_Files time_Result postprocess_Result
"$PYTHON" "$HERE/preprocess.py" "$SIDECAR" --out preprocess_Result --split "${SPLIT:-test}" "${LIMIT_ARGS[@]}"
"$PYTHON" "$HERE/infer.py" "$MODEL" --input-dir preprocess_Result/img_data --output-dir result_Files \
  --time-dir time_Result --backend "$BACKEND" --device-target "$DEVICE_TYPE" \
  --device-id "$DEVICE_ID" > infer.log 2>&1 || { echo "error: inference failed, see infer.log" >&2; tail -3 infer.log >&2; exit 1; }
cat time_Result/test_perform_static.txt
"$PYTHON" "$HERE/postprocess.py" "$SIDECAR" --result-dir result_Files --data-dir preprocess_Result \
  --out postprocess_Result > acc.log 2>&1 || { echo "error: postprocess failed, see acc.log" >&2; exit 1; }
tail -1 acc.log
