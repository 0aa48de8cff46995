"""The pipeline's encoding task on a simulated experiment with planted model-unit responses:
the gain over the acoustic baseline appears where the simulation put the units and not
elsewhere, and the dask fan-out on 2 workers gives the same numbers as the serial run."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from _pipeline_sim import smooth_noise as _smooth_noise
from neurorrn.pipeline.distributed import fan_out, make_tasks

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    from neurorrn.brain import SimulationConfig, load_ground_truth, simulate, synthetic_stimuli
    from neurorrn.store import from_arrays, save_store
    from neurorrn.brain import read_bids
    from neurorrn.pipelines.earshot_meg.analysis_stages import unit_r2

    tmp = tmp_path_factory.mktemp("enc")
    rng = np.random.default_rng(0)
    stims = synthetic_stimuli(6, 10, 16000.0, random_state=1)
    arrays = []
    for s in stims:
        n = int(s.audio.size / s.sfreq * 100)
        arrays.append(np.concatenate([_smooth_noise(n, 4, rng), _smooth_noise(n, 4, rng)], 1))
    ds = from_arrays(arrays, [s.id for s in stims], 100.0, [f"l{i // 4}:{i % 4}" for i in range(8)],
                     layer=np.array(["l0"] * 4 + ["l1"] * 4, dtype=object),
                     component=np.array(["h"] * 8, dtype=object), model_id="toy")
    store = save_store(ds, tmp / "streams.nc")
    cfg = SimulationConfig.from_dict({
        "sensors": "eeg64", "sfreq": 100.0, "snr_db": 0.0, "seed": 3,
        "noise": {"brain_dipoles": 20, "blink_rate": 0.0, "line": 0.0},
        "stimuli": {"pre": 0.5, "isi": [0.3, 0.6], "post": 0.5},
        "responses": [
            {"predictor": "envelope", "sources": ["left_auditory", "right_auditory"]},
            {"predictor": "units", "sources": ["left_ifg"], "layer": "l0", "n_units": 4,
             "kernel": {"latencies": [0.1], "widths": [0.03], "amplitudes": [30.0]}}]})
    root = tmp / "bids"
    simulate(cfg, root, stimuli=stims, store=str(store))
    raw, _ = read_bids(root, subject="01", task=cfg.task, preload=True)
    share = unit_r2(load_ground_truth(root, "01", task=cfg.task), raw, 0.5, 20.0)
    tasks = make_tasks(["01"], ["toy"], ["l0", "l1"], bids_root=str(root), bids_task=cfg.task, bids_session=None,
                       store=str(store), stim_dir=str(root / "stimuli" / "audio"), sfreq=100.0, tmin=0.0, tmax=0.3,
                       alphas=None, cv=3, baseline=["hilbert_envelope", "hilbert_onsets"], gammatone_bands=8,
                       units_kind="units", n_components=4, banded=False, alpha_rule="1se", side_dir=str(tmp / "trf"),
                       preprocess={"l_freq": 0.5, "h_freq": 20.0})
    return tmp, tasks, share


@pytest.fixture(scope="module")
def serial(experiment):
    from neurorrn.pipelines.earshot_meg.tasks import encode_task

    tmp, tasks, _ = experiment
    return fan_out(encode_task, tasks, tmp / "serial.zarr", scheduler="serial").load()


def test_gain_where_units_were_planted(experiment, serial):
    """EEG spreads the IFG field over the whole head, so sensors are compared by how much of
    their variance the simulated unit response explains (the ground truth), not by a region."""
    tmp, tasks, truth = experiment
    sh = truth.sel(sensor=serial["sensor"].values).values
    g0 = serial["gain"].sel(task=serial["layer"] == "l0").values[0]
    g1 = serial["gain"].sel(task=serial["layer"] == "l1").values[0]
    # the planted layer adds, at each sensor, about the variance the units put there ...
    assert np.corrcoef(g0, sh)[0, 1] > 0.8
    slope = np.polyfit(sh, g0, 1)[0]
    assert 0.5 < slope < 1.2
    top, bottom = sh >= np.quantile(sh, 0.75), sh <= np.quantile(sh, 0.25)
    assert np.median(g0[top]) > 0.02 and (g0[top] > 0).all()
    # ... little where it put little (at most a tenth of the top quartile's gain) ...
    assert np.median(g0[bottom]) < 0.1 * np.median(g0[top])
    # ... and an unrelated layer adds nothing anywhere (its extra predictors cost a little
    # held-out variance through overfitting, never add any)
    assert -0.03 < np.median(g1) < 0.002 and np.quantile(g1, 0.9) < 0.01
    # the acoustic baseline explains the auditory response in both models
    assert np.nanmax(serial["r2_baseline"].values) > 0.1
    trf = xr.open_dataarray(tmp / "trf" / "trf_01_toy_l0.nc", engine="h5netcdf")
    assert trf.dims == ("sensor", "feature", "lag")
    assert list(trf["feature"].values[:2]) == ["hilbert_envelope", "hilbert_onsets"]
    assert str(trf["feature"].values[2]).startswith("units:")


@pytest.mark.slow
def test_dask_equals_serial_on_the_encoding_task(experiment, serial):
    """Two LocalCluster workers (1 BLAS thread each) against the serial run: equal up to the
    summation order of multithreaded BLAS (bit-identical when the thread counts match)."""
    from neurorrn.pipelines.earshot_meg.tasks import encode_task

    tmp, tasks, _ = experiment
    dist = fan_out(encode_task, tasks, tmp / "dask.zarr", scheduler=None, n_workers=2).load()
    for v in ("r2_baseline", "r2_full", "gain"):
        np.testing.assert_allclose(serial[v].values, dist[v].values, rtol=1e-9, atol=1e-12)
