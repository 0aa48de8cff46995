"""Typed configs, validation helpers, logging and the CLI shell."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from pydantic import Field
from typer.testing import CliRunner

from neurorrn import store as S
from neurorrn.cli import app
from neurorrn.config import ConfigError, ConfigModel, config_hash
from neurorrn.utils import _check as C
from neurorrn.utils._logging import NeurorrnWarning, logger, use_log_level, warn


class Optim(ConfigModel):
    name: str = "adam"
    lr: float = Field(0.002, gt=0)


class Train(ConfigModel):
    epochs: int = 10
    hidden_size: int = 512
    optimizer: Optim = Optim()


def test_config_yaml_roundtrip_and_hash(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("epochs: 3\noptimizer:\n  lr: 0.01\n")
    cfg = Train.from_yaml(p)
    assert cfg.epochs == 3 and cfg.optimizer.lr == 0.01 and cfg.hidden_size == 512
    assert config_hash(cfg) == config_hash(Train.from_dict({"optimizer": {"lr": 0.01}, "epochs": 3}))
    assert config_hash(cfg) != config_hash(Train.from_dict({"epochs": 4}))


def test_config_unknown_key_named_with_allowed_and_suggestion(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("epochs: 3\nhiden_size: 12\n")
    with pytest.raises(ConfigError, match=r"unknown key 'hiden_size'; allowed keys here: epochs, hidden_size, "
                                          r"optimizer\. Did you mean 'hidden_size'\?"):
        Train.from_yaml(p)
    with pytest.raises(ConfigError, match=r"unknown key 'optimizer.lrr'; allowed keys here: lr, name\. "
                                          r"Did you mean 'lr'\?"):
        Train.from_dict({"optimizer": {"lrr": 1}})
    with pytest.raises(ConfigError, match=r"optimizer.lr: Input should be greater than 0"):
        Train.from_dict({"optimizer": {"lr": -1}})
    with pytest.raises(FileNotFoundError, match="config path: no such file"):
        Train.from_yaml(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        Train.from_yaml(tmp_path / "bad.yaml")


def test_check_helpers():
    with pytest.raises(ValueError, match=r"Invalid value for kind: 'gamatone'\. Allowed values are 'earshot', "
                                         r"'gammatone'\. Did you mean 'gammatone'\?"):
        C.check_option("gamatone", ["earshot", "gammatone"], "kind")
    with pytest.raises(TypeError, match="n_units must be an instance of int, got bool"):
        C.validate_type(True, "int", "n_units")
    with pytest.raises(ValueError, match=r"X contains 1 non-finite value\(s\) \(NaN or inf\); first at index \(1, 0\)"):
        C.check_finite(np.array([[0.0], [np.nan]]), "X")
    with pytest.raises(ValueError, match=r"Y must be 2-D with dims \('time', 'sensor'\), got shape \(3,\)"):
        C.check_ndim(np.zeros(3), 2, "Y", ("time", "sensor"))
    r1, r2 = C.check_random_state(3), C.check_random_state(3)
    assert r1.integers(1000) == r2.integers(1000)
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="device='cuda' was requested but no CUDA device"):
            C.check_device("cuda")
    else:
        assert C.check_device("cuda").type == "cuda"
    assert C.check_device("cpu").type == "cpu"


def test_logging_and_warnings(caplog):
    with use_log_level("INFO"):
        assert logger.level == logging.INFO
    assert logger.level == logging.WARNING
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        warn("something odd")
    assert w and issubclass(w[0].category, NeurorrnWarning)
    with pytest.raises(ValueError, match="verbose must be"):
        with use_log_level("LOUD"):
            pass


def _good_store(tmp_path):
    rng = np.random.default_rng(0)
    ds = S.from_arrays([rng.standard_normal((4, 3)), rng.standard_normal((2, 3))], ["a", "b"], 100.0,
                       word=["cat", "dog"])
    p = tmp_path / "good.nc"
    S.save_store(ds, p)
    return p


def test_cli_info():
    res = CliRunner().invoke(app, ["info"])
    assert res.exit_code == 0, res.output
    for key in ("neurorrn", "torch", "cuda", "espeak-ng"):
        assert key in res.output


def test_cli_store_inspect_and_validate(tmp_path):
    good = _good_store(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["store", "inspect", str(good)])
    assert res.exit_code == 0, res.output
    assert '"n_stimuli": 2' in res.output and '"n_units": 3' in res.output
    res = runner.invoke(app, ["store", "validate", str(good)])
    assert res.exit_code == 0 and "valid" in res.output
    # an invalid store: NaN inside the valid frames, written around our writer
    ds = S.load_store(good)
    ds["activation"][0, 1, 0] = np.nan
    bad = tmp_path / "bad.nc"
    ds.attrs["_neurorrn_complete"] = 1
    ds.to_netcdf(bad, engine="h5netcdf")
    res = runner.invoke(app, ["store", "validate", str(bad)])
    assert res.exit_code == 1
    assert "NaN inside the valid frames of stimulus 'a'" in res.output
    res = runner.invoke(app, ["store", "validate", str(tmp_path / "missing.nc")])
    assert res.exit_code == 1 and "no such file" in res.output
