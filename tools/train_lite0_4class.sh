#!/usr/bin/env bash
# The four-label classifier of issues 38 and 36 (mask, no_mask, incorrect_mask, not_face), in the background:
#   nohup bash tools/train_lite0_4class.sh > runs/lite0_4class.log 2>&1 &   (then: python tools/ship_model.py ...)
# The ImageNet EfficientNet-Lite0 (the train extra) at 112 px on the crops CenterFace cuts: two epochs with the
# backbone frozen, then six (EPOCHS=N) with every layer but BatchNorm; the export keeps the fastest of int8,
# dynamic and float16 that loses at most 0.5 points (int8 as a rule). Data: the folder set (mask, no_mask), the 853
# scenes with their mask_weared_incorrect boxes (train half for training, held-out half for the test figure),
# drawn masks worn right, below the nose or on the chin, look-alikes kept no_mask, and not-faces mined from the
# train and val scenes (0.25 per real face); each real incorrect_mask crop six times an epoch (INCORRECT_REPEAT).
# No teacher: it gives a two-label P(mask) only. 11.6 min of fitting here for the shipped lite0_three (2 cores),
# after the crop cutting (about 10 min when --cache-dir is cold). RESUME=1 continues a run.
#   python tools/ship_model.py runs/lite0_4class mask_lite0_three   (the shipped name: --model lite0_three)
set -euo pipefail
FOLDER=${FOLDER:-../shared/data/mask-classification}
SCENES=${SCENES:-../shared/data/mask-detection}
OUT=${OUT:-runs/lite0_4class}
PY=${PY:-python}
mkdir -p runs
exec nice -n 5 $PY train.py --dataset "$FOLDER" --dataset "$SCENES" --output "$OUT" --arch efficientnet-lite0 \
  --weights imagenet --input-size 112 --head-epochs 2 --epochs "${EPOCHS:-6}" --patience 3 --lr 2e-3 \
  --synthetic-masks 0.15 --hard-negatives 0.1 --synthetic-incorrect 0.15 --not-face 0.25 --incorrect-repeat "${INCORRECT_REPEAT:-6}" ${RESUME:+--resume}
