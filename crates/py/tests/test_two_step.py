"""`TwoStepNetwork` trains as an `[experiment.mnist]` run of `apical run` does."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

import apical


def small_mnist_config(train_images):
    """The MNIST microcircuit with one hidden layer of 30, one epoch on `train_images` images."""
    cfg = apical.Config.preset("mnist-subset")
    up, ip, pi = cfg["plasticity.eta_up"], cfg["plasticity.eta_ip"], cfg["plasticity.eta_pi"]
    cfg.update(
        {
            "network.sizes": [784, 30, 10],
            "plasticity.eta_up": [up[0], up[-1]],
            "plasticity.eta_ip": ip[-1:],
            "plasticity.eta_pi": pi[-1:],
            "experiment.mnist.epochs": 1,
            "experiment.mnist.train_images": train_images,
        }
    )
    return cfg


def read_idx(folder, name):
    """An IDX file of MNIST, plain or gzipped, as a numpy array."""
    path = folder / name
    data = path.read_bytes() if path.exists() else gzip.decompress((folder / f"{name}.gz").read_bytes())
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


@pytest.mark.skipif(not os.environ.get("APICAL_DATA_DIR"), reason="needs MNIST in $APICAL_DATA_DIR/mnist")
def test_an_epoch_from_python_equals_the_binarys_mnist_run(cli_run, tmp_path):
    n = 1000
    cfg = small_mnist_config(n)
    theirs, metrics = cli_run(cfg, tmp_path)

    mnist = Path(os.environ["APICAL_DATA_DIR"]) / "mnist"
    images = read_idx(mnist, "train-images-idx3-ubyte").reshape(-1, 784)[:n].astype(np.float64) / 255.0
    labels = read_idx(mnist, "train-labels-idx1-ubyte")[:n]
    test_images = read_idx(mnist, "t10k-images-idx3-ubyte").reshape(-1, 784).astype(np.float64) / 255.0
    test_labels = read_idx(mnist, "t10k-labels-idx1-ubyte")

    net = apical.TwoStepNetwork(cfg)
    assert net.train_epoch(images, labels) == metrics["train_error_pct"][0]
    assert net.evaluate(test_images, test_labels) == metrics["test_error_pct"][0]
    ours = net.weights()
    for name in theirs.files:
        assert ours[name].tobytes() == theirs[name].tobytes(), name


def test_training_on_a_learnable_rule_lowers_the_error():
    # Ten sparse prototypes, each image one of them with noise: a rule the network can learn.
    rng = np.random.default_rng(0)
    prototypes = (rng.uniform(0, 1, (10, 784)) < 0.15).astype(np.float64)
    labels = rng.integers(0, 10, 6000)
    images = np.clip(prototypes[labels] + rng.normal(0, 0.3, (6000, 784)), 0, 1)
    train, held_out = slice(0, 5000), slice(5000, 6000)
    net = apical.TwoStepNetwork(small_mnist_config(1000))
    before = net.evaluate(images[held_out], labels[held_out])
    errors = [net.train_epoch(images[train], labels[train]) for _ in range(3)]
    after = net.evaluate(images[held_out], labels[held_out])
    assert net.epochs_done == 3
    assert before > 80 and after < before / 3, (before, errors, after)
    predicted = net.predict(images[held_out])
    assert predicted.dtype == np.int64 and after == 100 * np.mean(predicted != labels[held_out])


def test_bad_images_and_labels_raise():
    net = apical.TwoStepNetwork(small_mnist_config(1000))
    images = np.zeros((200, 784))
    with pytest.raises(ValueError, match=r"images: expected shape \(n, 784\), got \[200, 783\]"):
        net.train_epoch(np.zeros((200, 783)), np.zeros(200, dtype=np.int64))
    with pytest.raises(TypeError, match="labels: expected an integer dtype, got float64"):
        net.train_epoch(images, np.zeros(200))
    with pytest.raises(ValueError, match=r"labels: the label at \[5\] is 10, not a class 0 … 9"):
        net.train_epoch(images, np.where(np.arange(200) == 5, 10, 0))
    with pytest.raises(ValueError, match=r"labels: expected shape \(200,\)"):
        net.evaluate(images, np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="TwoStepNetwork needs an \\[experiment.mnist\\] configuration, got fig1"):
        apical.TwoStepNetwork(apical.Config.preset("fig1"))
    assert net.epochs_done == 0


def test_a_two_step_network_refuses_f32():
    cfg = small_mnist_config(100)
    cfg.set("plasticity.precision", "f32")
    with pytest.raises(ValueError, match="plasticity.precision: a TwoStepNetwork computes in f64"):
        apical.TwoStepNetwork(cfg)
