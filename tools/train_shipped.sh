#!/usr/bin/env bash
# Train the two shipped models from scratch (no ImageNet download here) in the background:
#   nohup bash tools/train_shipped.sh > runs/train_shipped.log 2>&1 &
# Re-running with RESUME=1 continues interrupted runs from their last completed epoch.
set -euo pipefail
DATA=${DATA:-../shared/data/mask-classification}
PY=${PY:-python}
RESUME_FLAG=${RESUME:+--resume}
$PY train.py --dataset "$DATA" --output runs/resnet50 --arch resnet50 --weights none \
  --input-size 128 --epochs ${RESNET_EPOCHS:-13} $RESUME_FLAG
$PY train.py --dataset "$DATA" --output runs/lite --arch lite --weights none \
  --input-size 128 --epochs ${LITE_EPOCHS:-25} --lr 2e-3 $RESUME_FLAG
