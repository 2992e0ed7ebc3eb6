#!/usr/bin/env bash
# GPU part of the fidelity ablation (samba_core/FIDELITY.md): the fold bases of every variant.
#
#   bench/gpu_ablation_run.sh smoke CORPUS OUT         # each variant a few steps at once: does it run, how fast
#   bench/gpu_ablation_run.sh train CORPUS OUT STEPS   # every variant x seed x fold, pretrained concurrently
#   bench/gpu_ablation_run.sh flags VARIANT...         # each variant's samba-pretrain flags, one line each
#
# SHIP_VARIANTS="objective-paper ..." adds to `train`, in the same processes, a candidate
# shipped base per variant (the model card's recipe: the ship view, SHIP_STEPS steps of
# SHIP_CONTEXT_S s crops, seed 0), written as OUT/ship/<variant>/samba-base.samba, so that the
# base of whichever default the table picks needs no second GPU session.
#
# CORPUS: a folder made by `samba-pretrain prepare` (e.g. from checkpoints/samba-base.corpus.json).
# `train` writes OUT/<variant>/seed<s>/fold<j>.samba (+ .summary.json), the layout that
# `python bench/ablation.py --fold-bases OUT` scores; fold views leave out each fold's subjects
# (bench/fold_corpora.py, one fold rule) and the demo subject S001, as the shipped base does.
# Runs go through `samba-pretrain train-many` (each run on its own CUDA stream, so their kernels
# overlap; separate processes only take turns on a GPU), split over PROCS processes so that the
# host's batch assembly uses several cores. Runs in one process advance one step per round, so
# a wall-clock stop (MAX_MINUTES) leaves them at equal step counts.
# Variables: VARIANTS, SEEDS, FOLDS, CONTEXT_S, BATCH, JOBS (smoke runs), PROCS, MAX_MINUTES,
# SHIP_VARIANTS, SHIP_STEPS, SHIP_CONTEXT_S, SHIP_MAX_MINUTES.
set -euo pipefail
ours="--spatial cdse --differential-stages encoder bottleneck decoder --differential-form diff-transformer --decoder-direction causal"
flags() {  # the samba-pretrain flags of one variant (bench/ablation.py VARIANTS, in CLI form): an objective, our network, its changes
  case $1 in
  default) echo "--objective ours $ours" ;;
  saie) echo "--objective ours $ours --spatial virtual-sites" ;;
  diff-bottleneck) echo "--objective ours $ours --differential-stages bottleneck" ;;
  diff-paper) echo "--objective ours $ours --differential-stages bottleneck --differential-form paper" ;;
  objective-paper) echo "--objective paper $ours" ;;
  infill-paper) echo "--objective paper $ours --decoder-direction bidirectional" ;;
  paper) echo "--objective paper $ours --decoder-direction bidirectional --spatial virtual-sites --differential-stages bottleneck --differential-form paper" ;;
  *) echo "unknown variant $1" >&2; return 2 ;;
  esac
}
usage="usage: $0 smoke|train CORPUS OUT [STEPS] | flags VARIANT..."
if [ "${1:-}" = flags ]; then  # each named variant's flags, one line each (tests check them against bench/ablation.py)
  shift
  [ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
  for v in "$@"; do flags "$v"; done
  exit
fi
case "${1:-}" in smoke | train) ;; *) echo "$usage" >&2; exit 2 ;; esac
[ $# -ge 3 ] || { echo "$usage" >&2; exit 2; }
mode=$1 corpus=$2 out=$3 steps=${4:-150}
VARIANTS=${VARIANTS:-"default saie diff-paper objective-paper infill-paper"}
SEEDS=${SEEDS:-"0 1 2"}
FOLDS=${FOLDS:-4}
CONTEXT_S=${CONTEXT_S:-30}
BATCH=${BATCH:-8}
JOBS=${JOBS:-20}
PROCS=${PROCS:-2}
MAX_MINUTES=${MAX_MINUTES:-12}
SHIP_VARIANTS=${SHIP_VARIANTS:-}
SHIP_STEPS=${SHIP_STEPS:-4000}
SHIP_CONTEXT_S=${SHIP_CONTEXT_S:-60}
SHIP_MAX_MINUTES=${SHIP_MAX_MINUTES:-$MAX_MINUTES}
export PYTHONUNBUFFERED=1
here=$(cd "$(dirname "$0")" && pwd)
work=${WORK:-/tmp/samba-ablation}
for v in $VARIANTS $SHIP_VARIANTS; do  # a misspelt variant must not train as ours
  flags "$v" >/dev/null || { echo "VARIANTS / SHIP_VARIANTS: $v is not a variant (see bench/ablation.py)" >&2; exit 2; }
done
[ -f "$corpus/corpus.json" ] || { echo "$corpus: not a prepared corpus (make one with samba-pretrain prepare)" >&2; exit 2; }
mkdir -p "$out" "$work"
rm -f "$work/failed"  # failures of an earlier invocation in the same WORK are not this one's

run_line() {  # variant seed corpus-view run-folder steps: one `samba-pretrain train` command line, without `train`
  local v=$1 s=$2 view=$3 run=$4 n=$5
  echo "--corpus $view --out $run --steps $n --batch-size $BATCH --context-s $CONTEXT_S" \
    "--warmup-steps $(( n / 10 < 100 ? n / 10 + 1 : 100 )) --val-every $n --save-every $n --log-every $(( n / 5 + 1 ))" \
    "--no-progress --cuda-graphs --seed $s --max-minutes $MAX_MINUTES $(flags "$v")"
}

ship_line() {  # variant run-folder: a candidate shipped base by the model card's recipe
  echo "--corpus $work/folds/ship --out $2 --steps $SHIP_STEPS --batch-size $BATCH --context-s $SHIP_CONTEXT_S" \
    "--warmup-steps $(( SHIP_STEPS / 10 < 150 ? SHIP_STEPS / 10 + 1 : 150 )) --val-every $(( SHIP_STEPS / 8 + 1 ))" \
    "--save-every $(( SHIP_STEPS / 4 + 1 )) --log-every $(( SHIP_STEPS / 40 + 1 ))" \
    "--no-progress --cuda-graphs --seed 0 --max-minutes $SHIP_MAX_MINUTES $(flags "$1")"
}

train_lines() {  # runs-file lines -> PROCS processes, each training its share together (samba-pretrain train-many)
  local lines=$1 tag=$2 p
  split -e -n "r/$PROCS" -d "$lines" "$work/$tag.part"
  for p in "$work/$tag".part??; do
    python3 "$here/gpu_pretrain.py" train-many --runs "$p" >"$p.log" 2>&1 || echo "FAILED in $p (see $p.log)" >>"$work/failed" &
  done
  wait
}

case "$mode" in
smoke)
  # Every variant a few steps, JOBS runs at once (variants repeated): each variant's graph
  # captures, and the aggregate steps/s of JOBS runs trained together.
  : >"$work/smoke.txt"
  i=0
  while [ "$(wc -l <"$work/smoke.txt")" -lt "$JOBS" ]; do
    for v in $VARIANTS; do
      [ "$(wc -l <"$work/smoke.txt")" -lt "$JOBS" ] && run_line "$v" "$i" "$corpus" "$work/smoke/$v/$i" "$steps" >>"$work/smoke.txt"
    done; i=$((i + 1))
  done
  start=$(date +%s)
  train_lines "$work/smoke.txt" smoke
  end=$(date +%s)
  echo "smoke: $JOBS runs x $steps steps in $((end - start)) s (compile included), $PROCS processes"
  for v in $VARIANTS; do { tail -n 2 "$work/smoke/$v/0/metrics.csv" 2>/dev/null || echo "no metrics"; } | sed "s/^/$v: /"; done
  ;;
train)
  python3 "$here/fold_corpora.py" "$corpus" --folds "$FOLDS" --out "$work/folds" --ship --exclude S001 | tail -n 1
  list=()
  for s in $SEEDS; do for v in $VARIANTS; do for ((j = 0; j < FOLDS; j++)); do
    list+=("$v $s $j")
  done; done; done
  : >"$work/train.txt"
  for entry in "${list[@]}"; do
    read -r v s j <<<"$entry"
    run_line "$v" "$s" "$work/folds/fold$j" "$work/runs/$v/seed$s/fold$j" "$steps" >>"$work/train.txt"
  done
  for v in $SHIP_VARIANTS; do ship_line "$v" "$work/runs/ship/$v" >>"$work/train.txt"; done
  start=$(date +%s)
  train_lines "$work/train.txt" train
  echo "train: ${#list[@]} runs x $steps steps in $(( $(date +%s) - start )) s"
  for s in $SEEDS; do for v in $VARIANTS; do for ((j = 0; j < FOLDS; j++)); do
    run=$work/runs/$v/seed$s/fold$j dest=$out/$v/seed$s
    mkdir -p "$dest"
    [ -f "$run/samba-base.samba" ] && cp "$run/samba-base.samba" "$dest/fold$j.samba"
    [ -f "$run/summary.json" ] && cp "$run/summary.json" "$dest/fold$j.summary.json"
    grep -hF "[$run]" "$work"/train.part*.log >"$dest/fold$j.log" 2>/dev/null || true
  done; done; done
  for v in $SHIP_VARIANTS; do
    run=$work/runs/ship/$v dest=$out/ship/$v
    mkdir -p "$dest"
    cp "$run"/samba-base.samba "$run"/metrics.csv "$run"/val.csv "$run"/summary.json "$dest/" 2>/dev/null || true
    grep -hF "[$run]" "$work"/train.part*.log >"$dest/train.log" 2>/dev/null || true
  done
  cp "$work"/train.part*.log "$out/" 2>/dev/null || true
  ;;
esac
if [ -s "$work/failed" ]; then cat "$work/failed" >&2; exit 1; fi
