"""Configurations are loaded, overridden and refused as the command-line tool does."""

import pytest

import apical


def cli_error(cli, *args):
    """The one error line of a failing `apical` command, without its `error: ` prefix."""
    done = cli(*args, check=False)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0].removeprefix("error: ")


def test_to_toml_is_what_the_binary_prints(cli):
    for name in apical.presets():
        assert apical.Config.preset(name).to_toml() == cli("config", "--preset", name).stdout


def test_a_file_and_its_text_load_to_the_same_configuration(tmp_path):
    text = apical.Config.preset("fig1").to_toml()
    path = tmp_path / "fig1.toml"
    path.write_text(text)
    assert apical.Config.from_toml(path).to_toml() == text
    assert apical.Config.from_toml(str(path)).to_toml() == text
    assert apical.Config.from_toml(text).to_toml() == text


def test_items_read_and_set_values():
    cfg = apical.Config.preset("fig1")
    assert cfg["network.sizes"] == [30, 20, 10]
    cfg.set("plasticity.eta_up", [0.002, 0.001])
    cfg["experiment.fig1.duration_ms"] = 30000.0
    assert cfg["plasticity.eta_up"] == [0.002, 0.001]
    assert cfg["experiment.fig1.duration_ms"] == 30000.0
    assert cfg.overrides == ["plasticity.eta_up=[0.002, 0.001]", "experiment.fig1.duration_ms=30000.0"]
    with pytest.raises(KeyError, match="no value network.nothing"):
        cfg["network.nothing"]


@pytest.mark.parametrize(
    "key, value, text",
    [
        ("plasticity.eta_up", [0.01], "[0.01]"),
        ("network.sizez", [30, 20, 10], "[30,20,10]"),
        ("experiment.fig1.duration_ms", -5.0, "-5.0"),
        ("dynamics.dt", "fast", "fast"),
        ("experiment.mnist.epochs", 3, "3"),
    ],
)
def test_a_bad_override_raises_the_binarys_error_line(cli, tmp_path, key, value, text):
    cfg = apical.Config.preset("fig1")
    before = cfg.to_toml()
    with pytest.raises(ValueError) as raised:
        cfg.set(key, value)
    expected = cli_error(cli, "run", "--preset", "fig1", "--set", f"{key}={text}", "--out", tmp_path / "out")
    assert str(raised.value) == expected
    assert cfg.to_toml() == before, "a refused override changes nothing"


def test_a_bad_file_raises_the_binarys_error_line(cli, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(apical.Config.preset("fig1").to_toml().replace("tau_w = 30.0", "tau_w = -1.0"))
    with pytest.raises(ValueError) as raised:
        apical.Config.from_toml(path)
    assert str(raised.value) == cli_error(cli, "run", str(path), "--out", tmp_path / "out")
    path.write_text("seed = 0\n[network]\nsizes = [3, 2]\nbogus = 1\n")
    with pytest.raises(ValueError) as raised:
        apical.Config.from_toml(path)
    assert str(raised.value) == cli_error(cli, "run", str(path), "--out", tmp_path / "out")


def test_unknown_presets_and_missing_files_raise():
    with pytest.raises(ValueError, match="unknown preset 'nope' \\(known: quick, "):
        apical.Config.preset("nope")
    with pytest.raises(OSError, match="cannot read missing.toml"):
        apical.Config.from_toml("missing.toml")
    with pytest.raises(TypeError, match="plasticity.eta_up: .* is not a TOML value"):
        apical.Config.preset("fig1").set("plasticity.eta_up", object())


def test_update_changes_values_that_belong_together():
    cfg = apical.Config.preset("fig1")
    with pytest.raises(ValueError):
        cfg.set("network.sizes", [30, 20, 20, 10])
    cfg.update({"network.sizes": [30, 20, 20, 10], "plasticity.eta_up": [0.001, 0.001, 0.001],
                "plasticity.eta_ip": [0.001, 0.001], "plasticity.eta_pi": [0.0005, 0.0005]})
    assert cfg.sizes == [30, 20, 20, 10]
