"""The wheel as a user installs it: built from the repo, installed (not editable) into a fresh venv, run elsewhere.

The fresh venv borrows this environment's already-installed dependencies through a `.pth`
line (nothing is downloaded), but facemask itself, its models and its settings come only
from the wheel. It stands for `pip install facemask` with no extras: another `.pth` line imports
tests/no_tensorflow.py there, so TensorFlow and Keras (the `train` extra) cannot be imported by any
program of that venv. The README's Python example is run there as written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO, SHARED_DATA

PHOTO = SHARED_DATA / "mask-detection" / "images" / "maksssksksss83.jpg"  # 2 masked faces, 1 unmasked


CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def run(*args, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=CLEAN_ENV
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[Path, str]:
    """The wheel, built with this environment's setuptools (no isolation: no download); and the build log."""
    out = tmp_path_factory.mktemp("dist")
    proc = run(
        sys.executable,
        "-c",
        f"from setuptools import build_meta; print(build_meta.build_wheel({str(out)!r}))",
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    shutil.rmtree(REPO / "build", ignore_errors=True)
    return out / proc.stdout.strip().splitlines()[-1], proc.stderr


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fresh")
    env = root / "venv"
    assert run(sys.executable, "-m", "venv", env, cwd=root).returncode == 0
    python = env / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=root)
    target = Path(purelib.stdout.strip())
    (target / "borrowed_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    shutil.copyfile(Path(__file__).with_name("no_tensorflow.py"), target / "no_tensorflow.py")
    (target / "without_train_extra.pth").write_text("import no_tensorflow\n")
    proc = run(python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", wheel[0], cwd=root)
    assert proc.returncode == 0, proc.stderr
    return env


def test_wheel_builds_without_setuptools_warnings_and_carries_the_models(wheel):
    path, log = wheel
    noise = "byte-compiling is disabled"  # PYTHONDONTWRITEBYTECODE in the environment, not the project
    problems = [line for line in log.splitlines() if re.search(r"warn", line, re.IGNORECASE) and noise not in line]
    assert not problems, log[-3000:]
    import zipfile

    names = zipfile.ZipFile(path).namelist()
    for model in ("mask_resnet50", "mask_lite"):
        assert f"facemask/models/{model}.tflite" in names and f"facemask/models/{model}.json" in names
    assert "facemask/detection/face_detectors.json" in names  # CenterFace's tuned settings
    metadata = zipfile.ZipFile(path).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: MIT" in metadata
    training = [line for line in metadata.splitlines() if re.match(r"Requires-Dist: (tensorflow|keras)\b", line)]
    assert len(training) == 2 and all('extra == "train"' in line for line in training), training


def test_installed_wheel_runs_from_another_folder(venv, tmp_path):
    bin_dir = venv / "bin"
    version = run(bin_dir / "facemask", "--version", cwd=tmp_path)
    assert version.returncode == 0 and re.fullmatch(r"facemask \d+\.\d+\.\d+\S*", version.stdout.strip())
    assert run(bin_dir / "python", "-m", "facemask", "--version", cwd=tmp_path).stdout == version.stdout
    where = run(bin_dir / "python", "-c", "import facemask.classification.card as c; print(c.MODELS_DIR)", cwd=tmp_path)
    assert where.stdout.strip().startswith(str(venv)), where  # the wheel's copy, not the checkout

    photo = tmp_path / "photo.jpg"
    if PHOTO.is_file():
        shutil.copyfile(PHOTO, photo)
    else:
        cv2.imwrite(str(photo), np.full((240, 320, 3), 128, np.uint8))
    for model in ("default", "ensemble"):
        proc = run(bin_dir / "facemask", "detect", photo.name, "--model", model, "--json", "-", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        faces = json.loads(proc.stdout)["results"][0]["faces"]
        if PHOTO.is_file():
            assert len(faces) >= 3 and {f["label"] for f in faces} == {"mask", "no_mask"}, (model, faces)


def test_installed_wheel_without_the_train_extra_refuses_training_in_one_line(venv, tmp_path):
    proc = run(venv / "bin" / "facemask", "train", "--dataset", tmp_path, "--output", tmp_path / "run", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "error: training needs TensorFlow: pip install 'facemask[train]'\n"
    blocked = run(venv / "bin" / "python", "-c", "import tensorflow", cwd=tmp_path)
    assert "ModuleNotFoundError" in blocked.stderr  # the venv really has no TensorFlow to give


def readme_python_example() -> str:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert blocks, "the README shows the Python API in a ```python block"
    return blocks[0]


def test_readme_python_example_runs_as_written_in_the_installed_wheel(venv, tmp_path):
    code = readme_python_example()
    assert "FaceMaskAnalyzer" in code and len([line for line in code.splitlines() if line.strip()]) <= 7
    shutil.copyfile(PHOTO, tmp_path / "photo.jpg") if PHOTO.is_file() else cv2.imwrite(
        str(tmp_path / "photo.jpg"), np.full((240, 320, 3), 128, np.uint8)
    )
    proc = run(venv / "bin" / "python", "-c", code, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    if PHOTO.is_file():
        labels = [line.split()[0] for line in proc.stdout.splitlines()]
        assert sorted(set(labels)) == ["mask", "no_mask"], proc.stdout
