#!/usr/bin/env python
"""Train a mask classifier: `python train.py --dataset DIR [--arch resnet50|lite] [--weights none]`."""

from facemask.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["train", *__import__("sys").argv[1:]]))
