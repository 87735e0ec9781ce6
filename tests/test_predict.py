"""predict.py: image files made into what the checkpoint's dataset holds, and classified.

The preprocessing is checked against the dataset's own arrays (a Fashion-MNIST test image written
to PNG and read back must be exactly the loader's batch), and the probabilities against a softmax
computed here, in NumPy, from the model's logits."""
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tinycoat as tc
from tinycoat.checkpoint import save_checkpoint
from tinycoat.data import DataLoader
from tinycoat.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from tinycoat.models import create_model
from tinycoat.optim import ModelEMA

ROOT = Path(__file__).resolve().parents[1]
FULL_RUN = ROOT / "checkpoints" / "fashion_full.npz"
REAL = Path("/usr/share/datasets/fashion-mnist")

spec = importlib.util.spec_from_file_location("predict", ROOT / "predict.py")
predict = importlib.util.module_from_spec(spec)
sys.modules["predict"] = predict
spec.loader.exec_module(predict)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture
def folder_checkpoint(tmp_path):
    """A small untrained model as train_cifar.py would save it for an image folder of 3 classes,
    with an EMA whose weights differ from the model's."""
    tc.manual_seed(0)
    model = create_model("coatnet_cifar_nano", num_classes=3, in_chans=3, image_size=32)
    ema = ModelEMA(model)
    with tc.no_grad():
        for p in ema.shadow.values():
            p *= 0.5
    meta = {"config": {"model": "coatnet_cifar_nano", "layout": "CCTT", "dataset": "folder", "image_size": 32},
            "classes": ["cat", "dog", "fox"]}
    path = tmp_path / "last.npz"
    save_checkpoint(path, model, ema=ema, meta=meta)
    return path, model, ema


def test_an_image_is_cropped_resized_normalized_and_its_softmax_printed(folder_checkpoint, tmp_path, capsys):
    path, model, ema = folder_checkpoint
    left = np.zeros((40, 60, 3), np.uint8)
    left[:, :, 0] = 200                                     # red, with a green band at both ends
    left[:, :7, 1] = left[:, 53:, 1] = 255                  # (the centre crop, columns 10..49, cuts them away,
                                                            # with the resize's reach, 1.25 pixels, to spare)
    Image.fromarray(left).save(tmp_path / "red.png")
    batch = predict.read_batch([tmp_path / "red.png"], {"dataset": "folder", "image_size": 32})
    expected = (np.array([200, 0, 0]) / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(batch[0].transpose(1, 2, 0), np.broadcast_to(expected, (32, 32, 3)), rtol=1e-5, atol=1e-5)

    assert predict.main([str(path), str(tmp_path / "red.png"), "--top", "2", "--no-ema"]) == 0
    raw = softmax(model.eval()(tc.tensor(batch)).numpy().astype(np.float64))[0]
    averaged = create_model("coatnet_cifar_nano", num_classes=3, in_chans=3, image_size=32).eval()
    ema.copy_to(averaged)
    smoothed = softmax(averaged(tc.tensor(batch)).numpy().astype(np.float64))[0]
    assert not np.allclose(raw, smoothed, atol=1e-3)
    assert predict.main([str(path), str(tmp_path / "red.png")]) == 0      # (the EMA by default)
    lines = capsys.readouterr().out.splitlines()
    for line, probabilities, top in zip(lines, (raw, smoothed), (2, 3)):
        names = ["cat", "dog", "fox"]
        order = np.argsort(-probabilities)[:top]
        assert line == f"{tmp_path / 'red.png'}: " + ", ".join(f"{names[k]} {100 * probabilities[k]:.1f} %" for k in order)


def test_predict_says_what_is_wrong_in_one_line(folder_checkpoint, tmp_path, capsys):
    path, model, _ = folder_checkpoint
    assert predict.main([str(path), str(tmp_path / "missing.png")]) == 1
    assert re.search(r"^error: cannot read image .*missing\.png", capsys.readouterr().err)
    bare = tmp_path / "bare.npz"
    save_checkpoint(bare, model)
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    assert predict.main([str(bare), str(tmp_path / "x.png")]) == 1
    assert "no training config in the checkpoint" in capsys.readouterr().err
    assert predict.main([str(tmp_path / "x.png"), str(tmp_path / "x.png")]) == 1
    assert "not a readable .npz file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        predict.main([str(path), str(tmp_path / "x.png"), "--top", "0"])


@pytest.mark.skipif(not FULL_RUN.is_file(), reason="no checkpoints/fashion_full.npz in this checkout")
@pytest.mark.skipif(not (REAL / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason="real Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
def test_the_kept_fashion_model_classifies_test_images_written_as_png(tmp_path):
    """The whole way a user goes: 28×28 PNGs of real test images, read back, padded and normalized
    exactly as the training loader does, and mostly classified right (the checkpoint is ≥ 86 %)."""
    from tinycoat.data import load_fashion_mnist
    test = load_fashion_mnist(train=False, download=False).part(slice(0, 64))
    paths = []
    for i, image in enumerate(test.images):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image[0, 2:30, 2:30]).save(paths[-1])        # the 28×28 garment, without the padding
    model, config, classes = predict.load_model(FULL_RUN)
    batch = predict.read_batch(paths, config)
    loader_batch, labels = next(iter(DataLoader(test, batch_size=64, shuffle=False)))
    np.testing.assert_array_equal(batch, loader_batch)
    probabilities = predict.classify(model, batch).numpy()
    np.testing.assert_allclose(probabilities, softmax(model(tc.tensor(loader_batch)).numpy().astype(np.float64)),
                               rtol=1e-5, atol=1e-6)
    assert classes[9] == "ankle boot" and (probabilities.argmax(1) == labels).mean() >= 0.75
    # a dark garment on white, as a photo would have it: --invert gives the model the same input,
    # its black border included
    for i, image in enumerate(test.images[:8]):
        Image.fromarray(255 - image[0, 2:30, 2:30]).save(paths[i])
    np.testing.assert_array_equal(predict.read_batch(paths[:8], config, invert=True), loader_batch[:8])
