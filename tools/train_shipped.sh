#!/usr/bin/env bash
# Train the two shipped models from scratch (no ImageNet download here) in the background:
#   nohup bash tools/train_shipped.sh > runs/train_shipped.log 2>&1 &
# Both learn from the class-folder set and from the face boxes of the annotated scenes (split by scene).
# The lite model trains alongside at a lower priority. RESUME=1 continues interrupted runs.
set -euo pipefail
FOLDER=${FOLDER:-../shared/data/mask-classification}
SCENES=${SCENES:-../shared/data/mask-detection}
PY=${PY:-python}
RESUME_FLAG=${RESUME:+--resume}
mkdir -p runs
nice -n 10 $PY train.py --dataset "$FOLDER" --dataset "$SCENES" --output runs/lite --arch lite --weights none \
  --input-size 128 --epochs ${LITE_EPOCHS:-20} --lr 2e-3 --cache-dir runs/.cache-lite $RESUME_FLAG > runs/lite.log 2>&1 &
lite=$!
$PY train.py --dataset "$FOLDER" --dataset "$SCENES" --output runs/resnet50 --arch resnet50 --weights none \
  --input-size ${RESNET_SIZE:-128} --epochs ${RESNET_EPOCHS:-13} $RESUME_FLAG > runs/resnet50.log 2>&1
wait "$lite"
