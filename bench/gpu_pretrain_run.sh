#!/usr/bin/env bash
# GPU runs behind bench/results/pretrain_*.json and checkpoints/samba-base.samba.
#
#   bench/gpu_pretrain_run.sh single CORPUS OUT   # throughput bench, pretraining (one GPU)
#   bench/gpu_pretrain_run.sh ddp CORPUS OUT      # 1 GPU vs torchrun on 2 GPUs, same global batch
#
# CORPUS is a folder made by `samba-pretrain prepare --spec checkpoints/samba-base.corpus.json`.
# mamba_ssm must be importable (bench/gpu_pretrain.py registers the selective_scan_cuda stub
# that a wheel built without CUDA extensions needs). NCCL variables already set in the
# environment (e.g. NCCL_NVLS_ENABLE=0) are kept.
set -euo pipefail
mode=$1 corpus=$2 out=$3
export PYTHONUNBUFFERED=1
mkdir -p "$out" runs
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

case "$mode" in
single)
  python3 bench/pretrain_throughput.py --lengths 16384 65536 --batch 4 --out "$out/pretrain_throughput.json"
  # Steps that fit ~4.5 minutes: a training step (batch 8 x 60 s = 8 x 15360 samples) costs
  # about twice the benchmark's kernel step (batch 4 x 16384), plus batch assembly.
  steps=$(python3 -c "
import json; r = json.load(open('$out/pretrain_throughput.json'))['results']
ms = [x['step_ms'] for x in r if x['path'] == 'kernels' and x['length'] == 16384 and 'step_ms' in x] or [150.0]
print(max(300, min(6000, int(270 / (2.3 * max(ms[0], 20.0) / 1e3)) // 50 * 50)))")
  echo "pretraining for $steps steps"
  train=(train --corpus "$corpus" --out runs/base --steps "$steps" --batch-size 8 --context-s 60
         --warmup-steps 100 --val-every 250 --save-every 500 --log-every 100 --no-progress)
  python3 bench/gpu_pretrain.py "${train[@]}" --max-minutes 5 || {
    echo "bf16 training failed: falling back to float32"; rm -rf runs/base
    python3 bench/gpu_pretrain.py "${train[@]}" --precision fp32 --max-minutes 4; }
  # Heads are fitted afterwards, on any machine, by calibration's fitter:
  #   samba-calibrate cross-subject --base OUT/samba-base.samba --data-root DATA --task mi --out OUT/samba-base.samba
  cp runs/base/samba-base.samba "$out/samba-base.samba"
  cp runs/base/metrics.csv runs/base/val.csv runs/base/summary.json "$out/"
  ;;
ddp)
  python3 -c "import torch; print('GPUs:', torch.cuda.device_count())"
  common=(train --corpus "$corpus" --steps 150 --batch-size 8 --context-s 30 --warmup-steps 20
          --val-every 1000 --save-every 1000 --log-every 50 --no-progress)
  for precision in bf16 fp32; do
    CUDA_VISIBLE_DEVICES=0 python3 bench/gpu_pretrain.py "${common[@]}" --precision $precision --out runs/one_$precision
    torchrun --standalone --nproc_per_node 2 bench/gpu_pretrain.py "${common[@]}" --precision $precision \
      --out runs/two_$precision
    python3 bench/ddp_parity.py runs/one_$precision runs/two_$precision --label "$precision" \
      --out "$out/ddp_parity_$precision.json"
    cp runs/two_$precision/metrics.csv "$out/metrics_two_$precision.csv"
    cp runs/one_$precision/metrics.csv "$out/metrics_one_$precision.csv"
  done
  ;;
*)
  echo "usage: $0 single|ddp CORPUS OUT" >&2; exit 2 ;;
esac
