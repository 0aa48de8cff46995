"""``neurorrn probe CONFIG``: PSI map with clusters, probes over time and RSA, with figures.

The config (YAML, validated by :class:`ProbeConfig`) names a store exported from a trained model
(``neurorrn export``) -- or a model bundle and a corpus to export first -- and the settings of each
analysis.  :func:`run_probe` writes into the output directory:

``psi.nc``              PSI⁺/PSI⁻ over the criterion sweep (threshold or ranksum method)
``fsi.nc``              the same over features
``clusters.nc``         hierarchical unit/phone clusters of the map at ``psi.criterion`` and K-means unit clusters
``probes.nc``           probe scores per target, lag and fold (+ chance, control)
``probes_by_layer.nc``  phone probes of each layer's units (stores with several layers)
``generalization.nc``   temporal generalisation of phone identity (optional)
``rsa.json``            RDM correlations and permutation p-values against every reference
``summary.json``        the headline numbers and the config
``figures/*.png``       one figure per analysis
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import xarray as xr
from pydantic import Field

from ..config import ConfigModel
from ..store import open_store
from ..utils._io import write_text_atomic
from ..utils._logging import logger, use_log_level


class PSISettings(ConfigModel):
    align: Literal["onset", "interval", "stimulus"] = "onset"
    window: tuple[float, float] = (0.05, 0.15)
    absolute: bool = True
    method: Literal["threshold", "ranksum"] = "threshold"
    criteria: tuple[float, float, float] = Field((0.0, 0.5, 0.01), description="start, stop (inclusive), step")
    criterion: float = 0.0
    alpha: float = 0.001
    min_tokens: int = 3
    n_unit_clusters: int = 8
    n_phone_clusters: int = 6


class ProbeSettings(ConfigModel):
    lags: tuple[float, float] = (-0.1, 0.5)
    lag_step: float = 0.02
    targets: list[str] = ["phone", "voiced", "nasal", "fricative", "plosive", "syllabic"]
    group_by: Literal["word", "talker", "word+talker", "none"] = "word"
    n_splits: int = 5
    estimator: Literal["logistic", "ridge"] = "logistic"
    control: bool = False
    generalization: bool = True
    by_layer: bool = True


class RSASettings(ConfigModel):
    metric: Literal["correlation", "cosine", "euclidean"] = "correlation"
    method: Literal["pearson", "spearman", "rho-a", "tau-a"] = "pearson"
    references: dict[str, str] = {}
    n_permutations: int = 10000


class ProbeConfig(ConfigModel):
    """Settings of ``neurorrn probe``."""

    store: Optional[str] = None
    bundle: Optional[str] = None
    corpus: Optional[str] = None
    out: Optional[str] = None
    layer: Optional[str] = None
    component: Optional[str] = "h"
    psi: PSISettings = PSISettings()
    probe: ProbeSettings = ProbeSettings()
    rsa: RSASettings = RSASettings()
    kmeans_clusters: int = 8
    random_state: int = 0
    figures: bool = True


def _load_store(cfg: ProbeConfig, out: Path) -> xr.Dataset:
    if cfg.store:
        return open_store(cfg.store).load()
    if not (cfg.bundle and cfg.corpus):
        raise ValueError("the probe config needs `store` (an exported ActivationStore) or both `bundle` and `corpus`")
    from ..models.export import export_corpus
    from ..speech import load_corpus

    path = out / "store.nc"
    if not path.exists():
        export_corpus(cfg.bundle, load_corpus(cfg.corpus), path)
    return open_store(path).load()


def _save(fig, path: Path) -> str:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


def run_probe(cfg: ProbeConfig, out=None, verbose=None) -> dict:
    """Run the analyses of ``cfg`` and write results and figures under ``out``; return the summary."""
    from . import figures as F
    from .clustering import hierarchical_clustering, kmeans_units
    from .features import phone_feature_table
    from .probes import probe_over_time, temporal_generalization
    from .responses import phone_epochs, phone_tokens
    from .rsa import feature_rdm, load_rdm, permutation_test, rdm
    from .selectivity import fsi, psi, squeeze

    out = Path(out or cfg.out or "probe_out")
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    with use_log_level(verbose):
        store = _load_store(cfg, out)
        if cfg.layer is not None or cfg.component is not None:
            from ..store import select

            store = select(store, layer=cfg.layer, component=cfg.component)
        summary: dict = {"config": json.loads(cfg.to_json()), "n_units": int(store.sizes["unit"]),
                         "n_stimuli": int(store.sizes["stimulus"]), "figures": []}
        p = cfg.psi
        tokens = phone_tokens(store, p.window, align=p.align, absolute=p.absolute)
        from .features import ANALYSIS_PHONES

        counts = {ph: int(n) for ph, n in zip(*np.unique(tokens["phone"].values.astype(str), return_counts=True))}
        phones = [ph for ph in ANALYSIS_PHONES if counts.get(ph, 0) >= p.min_tokens]
        dropped = [ph for ph in ANALYSIS_PHONES if ph not in phones]
        if dropped:
            logger.warning("phones with fewer than %d tokens are left out: %s", p.min_tokens, dropped)
        if len(phones) < 3:
            raise ValueError(f"only {len(phones)} analysis phones have >= {p.min_tokens} tokens in the store; "
                             "PSI, probes and RSA need more")
        tokens = tokens.isel(token=np.flatnonzero(np.isin(tokens["phone"].values.astype(str), phones)))
        summary["n_tokens"] = int(tokens.sizes["token"])
        summary["phones"] = phones
        crit = np.round(np.arange(p.criteria[0], p.criteria[1] + p.criteria[2] / 2, p.criteria[2]), 6)
        table = phone_feature_table(phones)
        psi_ds = psi(tokens, crit, phones, method=p.method, alpha=p.alpha)
        fsi_ds = fsi(tokens, crit, table, method=p.method, alpha=p.alpha)
        psi_ds.to_netcdf(out / "psi.nc", engine="h5netcdf")
        fsi_ds.to_netcdf(out / "fsi.nc", engine="h5netcdf")
        pmap = psi_ds["positive"]
        if p.method == "threshold":
            c = float(crit[np.argmin(np.abs(crit - p.criterion))])
            pmap = pmap.sel(criterion=c)
            summary["criterion"] = c
            summary["figures"].append(_save(F.plot_psi_by_criterion(psi_ds), fig_dir / "psi_by_criterion.png"))
        smap = squeeze(pmap)
        summary["n_selective_units"] = int(smap.sizes["unit"])
        clusters = xr.Dataset()
        if smap.sizes["unit"] >= 2:
            hc = hierarchical_clustering(smap.transpose("phone", "unit"))
            k_units = min(p.n_unit_clusters, smap.sizes["unit"])
            clusters["unit_cluster"] = hc.unit_clusters(k_units).rename({"unit": "selective_unit"})
            clusters["phone_cluster"] = ("phone", hc.row_clusters(min(p.n_phone_clusters, len(phones))))
            clusters = clusters.assign_coords(phone=phones)
            summary["phone_clusters"] = {str(k): [ph for ph, lab in zip(phones, clusters["phone_cluster"].values)
                                                  if lab == k] for k in np.unique(clusters["phone_cluster"].values)}
            smap.name = "PSI⁺"
            summary["figures"].append(_save(F.plot_psi_heatmap(smap.transpose("phone", "unit"), hc,
                                                               title=f"PSI⁺ ({p.method}), {smap.sizes['unit']} units"),
                                            fig_dir / "psi_heatmap.png"))
        else:
            logger.warning("fewer than 2 selective units; no PSI clustering")
        k = min(cfg.kmeans_clusters, store.sizes["unit"])
        km = kmeans_units(store, k, random_state=cfg.random_state)
        clusters["kmeans"] = km["cluster"]
        clusters.to_netcdf(out / "clusters.nc", engine="h5netcdf")

        # probes
        q = cfg.probe
        lags = np.round(np.arange(q.lags[0], q.lags[1] + q.lag_step / 2, q.lag_step), 6)
        epochs = phone_epochs(store, lags, phones=phones)
        probes = {}
        for target in q.targets:
            probes[target] = probe_over_time(epochs, target, group_by=q.group_by, n_splits=q.n_splits,
                                             estimator=q.estimator, control=q.control, table=table,
                                             random_state=cfg.random_state)
        xr.concat([r.expand_dims(target=[t]) for t, r in probes.items()], dim="target",
                  combine_attrs="drop").to_netcdf(out / "probes.nc", engine="h5netcdf")
        summary["probes"] = {t: {"peak": float(np.nanmax(r["mean"])),
                                 "peak_lag": float(r["lag"].values[int(np.nanargmax(r["mean"].values))]),
                                 "chance": float(r["chance"]), "scoring": r.attrs["scoring"]}
                             for t, r in probes.items()}
        summary["figures"].append(_save(F.plot_probe_time_course(probes), fig_dir / "probes.png"))
        layers = sorted(set(store["layer"].values.astype(str).tolist())) if "layer" in store.coords else []
        if q.by_layer and len(layers) > 1:
            by_layer = {}
            for ln in layers:
                ep_l = epochs.isel(unit=np.flatnonzero(epochs["layer"].values.astype(str) == ln))
                by_layer[ln] = probe_over_time(ep_l, "phone", group_by=q.group_by, n_splits=q.n_splits,
                                               estimator=q.estimator, table=table, random_state=cfg.random_state)
            xr.concat([r.expand_dims(layer=[ln]) for ln, r in by_layer.items()], dim="layer",
                      combine_attrs="drop").to_netcdf(out / "probes_by_layer.nc", engine="h5netcdf")
            summary["probes_by_layer"] = {ln: {"peak": float(np.nanmax(r["mean"])),
                                               "peak_lag": float(r["lag"].values[int(np.nanargmax(r["mean"].values))])}
                                          for ln, r in by_layer.items()}
            summary["figures"].append(_save(F.plot_probe_time_course(by_layer, title="Phone probes by layer"),
                                            fig_dir / "probes_by_layer.png"))
        if q.generalization and "phone" in q.targets:
            tg = temporal_generalization(epochs, "phone", group_by=q.group_by, n_splits=q.n_splits,
                                         estimator=q.estimator, table=table, random_state=cfg.random_state)
            tg.to_netcdf(out / "generalization.nc", engine="h5netcdf")
            summary["figures"].append(_save(F.plot_temporal_generalization(tg), fig_dir / "generalization.png"))

        # RSA
        r = cfg.rsa
        pm = pmap.sel(phone=phones).transpose("phone", "unit").astype(float)
        vals = pm.values
        flat = (np.ptp(vals, axis=1) == 0) if r.metric == "correlation" else ~vals.any(axis=1)
        rsa_phones = [ph for ph, f in zip(phones, flat) if not f]
        if len(rsa_phones) < len(phones):
            logger.warning("RSA leaves out phones whose PSI pattern is constant (the %s distance is undefined): %s",
                           r.metric, [ph for ph, f in zip(phones, flat) if f])
        model = rdm(pm.sel(phone=rsa_phones), "phone", r.metric)
        ftab = phone_feature_table(rsa_phones)
        fflat = (np.ptp(ftab.values, axis=1) == 0) if r.metric == "correlation" else ~ftab.values.any(axis=1)
        if fflat.any():
            raise ValueError(f"the feature table has constant rows for {list(np.array(rsa_phones)[fflat])}")
        refs = {"features": feature_rdm(r.metric, rsa_phones)}
        for name, path in r.references.items():
            refs[name] = load_rdm(path)
        rsa_out = {}
        for name, ref in refs.items():
            res = permutation_test(model, ref, r.method, r.n_permutations, random_state=cfg.random_state)
            rsa_out[name] = {"r": res.r, "p": res.pvalue, "n_permutations": res.n_permutations,
                             "null_mean": float(res.null.mean()), "null_sd": float(res.null.std()),
                             "counting": res.counting}
            summary["figures"].append(_save(F.plot_rsa(model, ref, res, names=("model PSI⁺", name)),
                                            fig_dir / f"rsa_{name}.png"))
        summary["rsa"] = {"metric": r.metric, "method": r.method, "phones": rsa_phones, "results": rsa_out}
        write_text_atomic(out / "rsa.json", json.dumps(summary["rsa"], indent=2))
        write_text_atomic(out / "summary.json", json.dumps(summary, indent=2, default=str, ensure_ascii=False))
        logger.info("probe results written to %s", out)
    return summary


__all__ = ["ProbeConfig", "run_probe"]
