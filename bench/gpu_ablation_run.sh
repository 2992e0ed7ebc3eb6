#!/usr/bin/env bash
# GPU part of the fidelity ablation (samba_core/FIDELITY.md): the fold bases of every variant.
#
#   bench/gpu_ablation_run.sh smoke CORPUS OUT         # each variant a few steps at once: does it run, how fast
#   bench/gpu_ablation_run.sh train CORPUS OUT STEPS   # every variant x seed x fold, pretrained concurrently
#
# CORPUS: a folder made by `samba-pretrain prepare` (e.g. from checkpoints/samba-base.corpus.json).
# `train` writes OUT/<variant>/seed<s>/fold<j>.samba (+ .summary.json), the layout that
# `python bench/ablation.py --fold-bases OUT` scores; fold views leave out each fold's subjects
# (bench/fold_corpora.py, one fold rule) and the demo subject S001, as the shipped base does.
# Variables: VARIANTS, SEEDS, FOLDS, CONTEXT_S, BATCH, JOBS (runs at once), MAX_MINUTES.
set -euo pipefail
mode=$1 corpus=$2 out=$3 steps=${4:-150}
VARIANTS=${VARIANTS:-"default saie diff-paper objective-paper infill-paper"}
SEEDS=${SEEDS:-"0 1 2"}
FOLDS=${FOLDS:-4}
CONTEXT_S=${CONTEXT_S:-30}
BATCH=${BATCH:-8}
JOBS=${JOBS:-20}
MAX_MINUTES=${MAX_MINUTES:-12}
export PYTHONUNBUFFERED=1
here=$(cd "$(dirname "$0")" && pwd)
work=${WORK:-/tmp/samba-ablation}
mkdir -p "$out" "$work"

flags() {  # the samba-pretrain flags of one variant (bench/ablation.py VARIANTS, in CLI form)
  case $1 in
  default) ;;
  saie) echo "--spatial virtual-sites" ;;
  diff-bottleneck) echo "--differential-stages bottleneck" ;;
  diff-paper) echo "--differential-stages bottleneck --differential-form paper" ;;
  objective-paper) echo "--paper-objective" ;;
  infill-paper) echo "--paper-objective --decoder-direction bidirectional" ;;
  paper) echo "--paper-objective --decoder-direction bidirectional --spatial virtual-sites --differential-stages bottleneck --differential-form paper" ;;
  *) echo "unknown variant $1" >&2; return 2 ;;
  esac
}

run_one() {  # variant seed fold corpus-view run-folder steps
  local v=$1 s=$2 j=$3 view=$4 run=$5 n=$6
  # shellcheck disable=SC2046
  python3 "$here/gpu_pretrain.py" train --corpus "$view" --out "$run" --steps "$n" --batch-size "$BATCH" \
    --context-s "$CONTEXT_S" --warmup-steps $(( n / 10 < 100 ? n / 10 + 1 : 100 )) --val-every "$n" \
    --save-every "$n" --log-every $(( n / 5 + 1 )) --no-progress --cuda-graphs --seed "$s" \
    --max-minutes "$MAX_MINUTES" $(flags "$v") >"$run.log" 2>&1 || { echo "FAILED $v seed$s fold$j" >>"$work/failed"; return 0; }
}
export -f run_one flags
export here BATCH CONTEXT_S MAX_MINUTES work

case "$mode" in
smoke)
  # One run per variant on the whole corpus, all at once: each variant's graph captures, and the
  # aggregate steps/s at JOBS concurrent runs (the smoke repeats the variants to reach JOBS).
  jobs=()
  i=0
  while [ ${#jobs[@]} -lt "$JOBS" ]; do
    for v in $VARIANTS; do [ ${#jobs[@]} -lt "$JOBS" ] && jobs+=("$v $i") ; done; i=$((i + 1))
  done
  start=$(date +%s)
  printf '%s\n' "${jobs[@]}" | xargs -P "$JOBS" -L 1 bash -c \
    'mkdir -p "$work/smoke/$0"; run_one "$0" "$1" 0 '"$corpus"' "$work/smoke/$0/$1" '"$steps"
  end=$(date +%s)
  echo "smoke: ${#jobs[@]} runs x $steps steps in $((end - start)) s (compile included)"
  for v in $VARIANTS; do tail -n 3 "$work/smoke/$v/0.log" | sed "s/^/$v: /"; done
  cat "$work/failed" 2>/dev/null || true
  ;;
train)
  python3 "$here/fold_corpora.py" "$corpus" --folds "$FOLDS" --out "$work/folds" --exclude S001 | tail -n 1
  list=()
  for s in $SEEDS; do for v in $VARIANTS; do for ((j = 0; j < FOLDS; j++)); do
    list+=("$v $s $j"); mkdir -p "$work/runs/$v/seed$s"
  done; done; done
  start=$(date +%s)
  printf '%s\n' "${list[@]}" | xargs -P "$JOBS" -L 1 bash -c \
    'run_one "$0" "$1" "$2" "$work/folds/fold$2" "$work/runs/$0/seed$1/fold$2" '"$steps"
  echo "train: ${#list[@]} runs x $steps steps in $(( $(date +%s) - start )) s"
  for s in $SEEDS; do for v in $VARIANTS; do for ((j = 0; j < FOLDS; j++)); do
    run=$work/runs/$v/seed$s/fold$j dest=$out/$v/seed$s
    mkdir -p "$dest"
    [ -f "$run/samba-base.samba" ] && cp "$run/samba-base.samba" "$dest/fold$j.samba"
    [ -f "$run/summary.json" ] && cp "$run/summary.json" "$dest/fold$j.summary.json"
    cp "$run.log" "$dest/fold$j.log" 2>/dev/null || true
  done; done; done
  cat "$work/failed" 2>/dev/null || true
  ;;
*)
  echo "usage: $0 smoke|train CORPUS OUT [STEPS]" >&2; exit 2 ;;
esac
