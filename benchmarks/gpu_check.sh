#!/usr/bin/env bash
# Every GPU measurement of the README in under 8 minutes, each step under its own timeout.
#
#   OUT=/some/folder bash benchmarks/gpu_check.sh            # on a CUDA machine
#   OUT=/tmp/smoke bash benchmarks/gpu_check.sh --smoke      # the same steps, tiny, on the CPU
#
# Figures: $OUT/gpu_figures.json (every step, with its exit code and seconds) and
# $OUT/gpu_summary.txt; each step's output in $OUT/steps/<step>.log. A step that runs out of
# time is recorded as "timed out" and the next one starts. The limits add up to 445 s
# (+ 2 s grace each to kill a step, + the final collect): under 8 minutes in the worst case.
# timeout signals the step's whole process group, worker slot processes included.
# Needs only Python with torch (+ CUDA) and numpy: no Streamlit, no Altair.
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-$(mktemp -d)}"
SMOKE="${1:-}"
mkdir -p "$OUT/steps"
: > "$OUT/steps/_rc.txt"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-XXXXXX")"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export SEGLAB_HOME="$WORK/home"

if [ "$SMOKE" = "--smoke" ]; then
  SLOTS="1 2"
  SCALE=4  # a shared 2-core CPU starts slot processes slowly; the limits are sized for the GPU
else
  SLOTS="1 4 8 16"
  SCALE=1
fi

run_step() {  # name, limit in seconds
  local name="$1" limit=$(($2 * SCALE)) t0 rc
  t0=$(date +%s%N)
  timeout --kill-after=2 "$limit" python benchmarks/gpu_check.py "$name" --out "$OUT" --work "$WORK" $SMOKE \
    > "$OUT/steps/$name.log" 2>&1
  rc=$?
  echo "$name $rc $(( ($(date +%s%N) - t0) / 1000000 )) $limit" >> "$OUT/steps/_rc.txt"  # milliseconds
  echo "[gpu_check] $name: exit $rc"
}

run_step env 20
run_step data 55
run_step engine 40
run_step fpn 30
run_step compile 65
for n in $SLOTS; do
  case $n in 1) limit=65 ;; *) limit=35 ;; esac
  run_step "slots-$n" "$limit"
done
run_step packed 65
python benchmarks/gpu_check.py collect --out "$OUT"
rm -rf "$WORK"
