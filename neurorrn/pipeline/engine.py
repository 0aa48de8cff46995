"""A small stage engine with content-addressed caching, resumable runs and per-run logs.

A pipeline is an ordered list of :class:`Stage` objects.  Each stage names the config
section(s) it reads and the stages whose outputs it uses.  Its cache **key** is

    config_hash({"stage": name, "version": version, "config": <its sections>}, *<input keys>)

(:func:`neurorrn.config.config_hash`), so a key changes when the stage's own settings change or
when any upstream key changes (a Merkle chain): changing one setting re-runs that stage and
everything downstream of it, and nothing else.

Files outside ``out_dir`` that a stage reads (an existing corpus, a lexicon, a reference RDM, a
dataset root) are part of its key too: every string value in the stage's sections under a key
that names a path (``root``, ``path``, ``manifest``, ``reference_rdm``, or ending in ``_path``,
``_root``, ``_file``, ``_dir``), and every dotted key listed in :attr:`Stage.external`, that
points at an existing file or folder adds a fingerprint of it (for each file below it: relative
name, size and modification time; :func:`input_fingerprint`).  Rebuilding a corpus in place
therefore re-runs the stages that read it.

One run at a time per ``out_dir``: :meth:`Pipeline.run` holds an exclusive lock
(``out_dir/.neurorrn.lock``); a second run of the same folder fails at once with a message naming
the holder's process (or waits ``lock_timeout`` seconds).

On disk (``out_dir``)::

    stages/<name>/<key>/           the stage's outputs (moved into place in one rename)
    stages/<name>/<key>/result.json  what the stage returned (JSON), its key, inputs, timing
    stages/<name>/<key>/COMPLETE   written last: a stage is done iff this marker exists
    stages/<name>/<key>.work/      scratch that survives a crash (checkpoints to resume from)
    logs/run-<UTC time>.log        one log file per run
    run.json                       the keys of the latest run, stage by stage

A stage writes into a fresh temporary directory; on success the engine writes ``result.json``,
renames the directory to its key and then writes the ``COMPLETE`` marker.  A crash at any point
leaves either no directory for the key or one without a marker, and the next run redoes only that
stage (and those after it), reusing every completed upstream stage.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as _dt
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..config import config_hash, config_to_json
from ..utils._check import check_option, validate_type
from ..utils._io import remove_stale_temps, temp_name, write_text_atomic
from ..utils._lock import hold
from ..utils._logging import logger, progress, use_log_level

COMPLETE = "COMPLETE"
RESULT = "result.json"


class PipelineError(RuntimeError):
    """A pipeline definition or run that cannot proceed (names the stage and the reason)."""


@dataclasses.dataclass(frozen=True)
class Stage:
    """One step of a pipeline.

    Parameters
    ----------
    name : str
        Unique within the pipeline; also the directory name of its outputs.
    func : callable
        ``func(ctx: StageContext) -> dict | None``.  Writes its files under ``ctx.out``; the
        returned mapping (JSON-able) is stored in ``result.json`` and handed to later stages
        as ``ctx.inputs[name].meta``.
    sections : tuple of str
        Top-level config sections the stage reads (its cache depends on exactly these).
        A dotted name (``"brain.simulate"``) selects a nested key.
    inputs : tuple of str
        Names of earlier stages whose outputs it reads.
    version : str
        Bump to invalidate caches after a change of the stage's code.
    external : tuple of str
        Dotted config keys whose values are paths of files or folders the stage reads (besides
        the ones found by key name, see the module docstring); their content is in the key.
    description : str
        One line shown in logs and ``--help`` listings.
    unkeyed : tuple of str
        Dotted settings inside ``sections`` that cannot change the stage's result and so stay
        out of its cache key (e.g. ``"train.max_time_s"``: a safety net that fails the stage
        instead of shortening training; raising it then resumes the same work folder).
    """

    name: str
    func: Callable[["StageContext"], Mapping[str, Any] | None]
    sections: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    version: str = "1"
    description: str = ""
    unkeyed: tuple[str, ...] = ()
    external: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class StageResult:
    """A completed stage: where its outputs are and what it returned."""

    name: str
    key: str
    path: Path
    meta: dict

    @classmethod
    def load(cls, path: Path) -> "StageResult":
        info = json.loads((path / RESULT).read_text(encoding="utf-8"))
        return cls(name=info["stage"], key=info["key"], path=path, meta=info.get("meta") or {})


@dataclasses.dataclass
class StageContext:
    """What a running stage sees.

    Attributes
    ----------
    stage : Stage
    key : str
        The stage's cache key.
    config : dict
        The whole pipeline config (plain JSON-able mapping); read only your ``sections``.
    sections : dict
        ``{section_name: value}`` for the stage's declared sections.
    inputs : dict of str to StageResult
        Completed upstream stages.
    out : Path
        Temporary directory to write outputs into (renamed into place on success).
    work : Path
        Persistent scratch directory for this key (survives crashes; e.g. checkpoints).
    run_dir : Path
        The pipeline's output root.
    options : dict
        Run-time options that do not change results (device, scheduler address, n_jobs...).
    """

    stage: Stage
    key: str
    config: dict
    sections: dict
    inputs: dict
    out: Path
    work: Path
    run_dir: Path
    options: dict

    def section(self, name: str | None = None) -> Any:
        """The value of one declared section (the only one if ``name`` is None)."""
        if name is None:
            if len(self.sections) != 1:
                raise PipelineError(f"stage {self.stage.name!r} reads {len(self.sections)} sections; "
                                    f"name one of {sorted(self.sections)}")
            return next(iter(self.sections.values()))
        if name not in self.sections:
            raise PipelineError(f"stage {self.stage.name!r} did not declare section {name!r}; "
                                f"it declared {sorted(self.sections)}")
        return self.sections[name]


PATH_KEYS = ("root", "path", "manifest", "reference_rdm")
PATH_SUFFIXES = ("_path", "_root", "_file", "_dir")
_IGNORED = (".neurorrn.lock",)


def _is_path_key(key: str) -> bool:
    return key in PATH_KEYS or key.endswith(PATH_SUFFIXES)


def input_fingerprint(path) -> dict:
    """What identifies the content of an external input: for a file its size and mtime; for a
    folder a digest over ``(relative name, size, mtime)`` of every file below it (hidden
    temporaries and lock files excluded)."""
    import hashlib

    p = Path(path).expanduser()
    if p.is_file():
        st = p.stat()
        return {"path": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    h = hashlib.sha256()
    n = 0
    for dirpath, dirnames, filenames in os.walk(p):
        dirnames[:] = sorted(d for d in dirnames if ".tmp-" not in d)
        for fn in sorted(filenames):
            if fn in _IGNORED or ".tmp-" in fn or fn.endswith(".lock"):
                continue
            fp = Path(dirpath) / fn
            try:
                st = fp.stat()
            except FileNotFoundError:
                continue
            h.update(f"{fp.relative_to(p).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            n += 1
    return {"path": str(p.resolve()), "n_files": n, "digest": h.hexdigest()[:16]}


def external_inputs(stage: "Stage", config: Mapping) -> dict:
    """``{dotted key: fingerprint}`` of the existing files and folders a stage's config points at."""
    found: dict[str, str] = {}

    def walk(node, where):
        if isinstance(node, Mapping):
            for k, v in node.items():
                key = f"{where}.{k}" if where else str(k)
                if isinstance(v, str) and _is_path_key(str(k)):
                    found[key] = v
                else:
                    walk(v, key)

    for sec in stage.sections:
        walk(_get_section(config, sec), sec)
    for dotted in stage.external:
        v = _get_section(config, dotted)
        if isinstance(v, str):
            found[dotted] = v
        elif v is not None:
            raise PipelineError(f"stage {stage.name!r}: external input {dotted!r} must be a path string, got "
                                f"{type(v).__name__}")
    out = {}
    for k, v in sorted(found.items()):
        if v and Path(v).expanduser().exists():
            out[k] = input_fingerprint(v)
    return out


def _get_section(config: Mapping, dotted: str):
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _without(config: Mapping, sections: Sequence[str], unkeyed: Sequence[str]) -> dict:
    """``{section: value}`` for ``sections`` with the dotted settings ``unkeyed`` left out."""
    sect = {s: copy.deepcopy(_get_section(config, s)) for s in sections}
    for dotted in unkeyed:
        head, _, rest = dotted.partition(".")
        node = sect.get(head)
        parts = rest.split(".") if rest else []
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if parts and isinstance(node, dict):
            node.pop(parts[-1], None)
    return sect


class Pipeline:
    """An ordered, validated list of stages.

    Parameters
    ----------
    name : str
    stages : sequence of Stage
        In execution order; every input must name an earlier stage.
    """

    def __init__(self, name: str, stages: Sequence[Stage]):
        validate_type(name, str, "name")
        self.name = name
        self.stages: list[Stage] = []
        seen: set[str] = set()
        for st in stages:
            validate_type(st, Stage, "stage")
            if st.name in seen:
                raise PipelineError(f"pipeline {name!r}: duplicate stage name {st.name!r}")
            for inp in st.inputs:
                if inp not in seen:
                    raise PipelineError(f"pipeline {name!r}: stage {st.name!r} reads {inp!r}, which is not "
                                        f"an earlier stage (earlier: {sorted(seen) or 'none'})")
            seen.add(st.name)
            self.stages.append(st)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def __getitem__(self, name: str) -> Stage:
        check_option(name, self.names, "stage")
        return next(s for s in self.stages if s.name == name)

    # ------------------------------------------------------------------ graph helpers
    def ancestors(self, name: str) -> set[str]:
        """Every stage ``name`` depends on, directly or not (excluding itself)."""
        out: set[str] = set()
        todo = list(self[name].inputs)
        while todo:
            n = todo.pop()
            if n not in out:
                out.add(n)
                todo.extend(self[n].inputs)
        return out

    def descendants(self, name: str) -> set[str]:
        """Every stage that depends on ``name``, directly or not (excluding itself)."""
        self[name]
        out: set[str] = set()
        for st in self.stages:
            if any(i == name or i in out for i in st.inputs):
                out.add(st.name)
        return out

    def keys(self, config: Mapping) -> dict[str, str]:
        """The cache key of every stage for ``config`` (reads only the metadata of external inputs)."""
        keys: dict[str, str] = {}
        for st in self.stages:
            sect = _without(config, st.sections, st.unkeyed)
            payload = {"stage": st.name, "version": st.version, "config": sect}
            ext = external_inputs(st, config)
            if ext:
                payload["external"] = ext
            keys[st.name] = config_hash(payload, *[keys[i] for i in st.inputs])
        return keys

    # ------------------------------------------------------------------ running
    def status(self, config: Mapping, out_dir) -> dict[str, bool]:
        """``{stage: is it complete for this config}``."""
        out_dir = Path(out_dir)
        return {n: (out_dir / "stages" / n / k / COMPLETE).is_file() for n, k in self.keys(config).items()}

    def run(self, config: Mapping, out_dir, *, until: str | None = None, from_: str | None = None,
            options: Mapping | None = None, verbose=None, lock_timeout: float | None = 0) -> dict[str, StageResult]:
        """Run the stages that are not up to date; return every stage's result.

        Parameters
        ----------
        config : mapping
            The full config (already validated; plain JSON-able values).
        out_dir : path-like
            Output root; created if needed.
        until : str, optional
            Stop after this stage: only it and the stages it depends on run.
        from_ : str, optional
            Re-run this stage and every stage after it that depends on it, even if cached.
        options : mapping, optional
            Run-time options passed to stages as ``ctx.options`` (not part of any key).
        verbose : bool | str | int | None
            Log level for the console; the run's log file always records INFO.
        lock_timeout : float | None
            How long to wait for another run of the same ``out_dir`` to finish (0: fail at once
            with :class:`~neurorrn.utils._lock.LockedError` naming it; None: wait for ever).

        Returns
        -------
        results : dict of str to StageResult
            For every stage that ran or was found in the cache.
        """
        config = json.loads(config_to_json(config))
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        with hold(out_dir, folder=True, reentrant=True, timeout=lock_timeout, what="pipeline folder"):
            return self._run_locked(config, out_dir, until=until, from_=from_, options=options, verbose=verbose)

    def _run_locked(self, config, out_dir: Path, *, until, from_, options, verbose) -> dict[str, StageResult]:
        selected = list(self.names)
        if until is not None:
            check_option(until, self.names, "until")
            keep = self.ancestors(until) | {until}
            selected = [n for n in selected if n in keep]
        forced: set[str] = set()
        if from_ is not None:
            check_option(from_, self.names, "from")
            if until is not None and from_ not in selected:
                raise PipelineError(f"--from {from_!r} is not needed for --until {until!r}; "
                                    f"stages run for it: {', '.join(selected)}")
            forced = {from_} | self.descendants(from_)
        keys = self.keys(config)
        log_path = out_dir / "logs" / f"run-{_dt.datetime.now(_dt.timezone.utc):%Y%m%dT%H%M%S%fZ}.log"
        results: dict[str, StageResult] = {}
        with use_log_level(verbose), _file_log(log_path):
            logger.info("pipeline %s: %d stage(s) selected, output in %s", self.name, len(selected), out_dir)
            t_run = time.perf_counter()
            for name in progress(selected, desc=f"{self.name}", unit="stage", verbose=verbose):
                st = self[name]
                results[name] = self._run_stage(st, keys[name], config, results, out_dir,
                                                force=name in forced, options=dict(options or {}))
            summary = {"pipeline": self.name, "out_dir": str(out_dir.resolve()), "log": str(log_path),
                       "stages": {n: {"key": r.key, "path": str(r.path)} for n, r in results.items()},
                       "seconds": round(time.perf_counter() - t_run, 3),
                       "finished": _dt.datetime.now(_dt.timezone.utc).isoformat()}
            write_text_atomic(out_dir / "run.json", json.dumps(summary, indent=2))
            logger.info("pipeline %s finished in %.1f s", self.name, summary["seconds"])
        return results

    def _run_stage(self, st: Stage, key: str, config: dict, results: dict, out_dir: Path, *,
                   force: bool, options: dict) -> StageResult:
        stage_dir = out_dir / "stages" / st.name
        final = stage_dir / key
        if (final / COMPLETE).is_file() and not force:
            logger.info("stage %-10s up to date (key %s)", st.name, key)
            if (stage_dir / f"{key}.work").exists():  # a run killed between COMPLETE and the clean-up
                shutil.rmtree(stage_dir / f"{key}.work", ignore_errors=True)
            return StageResult.load(final)
        missing = [i for i in st.inputs if i not in results]
        if missing:  # only possible with a broken selection; guard anyway
            raise PipelineError(f"stage {st.name!r} needs {missing}, which did not run")
        stage_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(stage_dir)
        work = stage_dir / f"{key}.work"
        work.mkdir(exist_ok=True)
        tmp = stage_dir / temp_name(key)
        tmp.mkdir()
        ctx = StageContext(stage=st, key=key, config=config,
                           sections={s: _get_section(config, s) for s in st.sections},
                           inputs={i: results[i] for i in st.inputs}, out=tmp, work=work,
                           run_dir=out_dir, options=options)
        logger.info("stage %-10s running (key %s)%s", st.name, key, " [forced]" if force else "")
        t0 = time.perf_counter()
        rewrite = _FinalPaths(tmp, final)
        logger.addFilter(rewrite)
        try:
            meta = st.func(ctx)
            meta = {} if meta is None else dict(meta)
            info = {"stage": st.name, "key": key, "version": st.version,
                    "inputs": {i: results[i].key for i in st.inputs},
                    "external": external_inputs(st, config),
                    "config": ctx.sections, "seconds": round(time.perf_counter() - t0, 3),
                    "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(), "meta": meta}
            (tmp / RESULT).write_text(json.dumps(info, indent=2, default=_json_default), encoding="utf-8")
        except BaseException:
            logger.removeFilter(rewrite)
            logger.exception("stage %s failed after %.1f s; completed stages stay cached",
                             st.name, time.perf_counter() - t0)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        logger.removeFilter(rewrite)
        if final.exists():  # an incomplete leftover, or a forced re-run
            old = stage_dir / temp_name(key, ".old")
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, final)
        write_text_atomic(final / COMPLETE, _dt.datetime.now(_dt.timezone.utc).isoformat() + "\n")
        shutil.rmtree(work, ignore_errors=True)
        logger.info("stage %-10s done in %.1f s", st.name, time.perf_counter() - t0)
        return StageResult.load(final)


class _FinalPaths(logging.Filter):
    """While a stage runs, log messages name its outputs where they will be (the stage's final
    folder), not the temporary folder that is renamed when the stage completes."""

    def __init__(self, tmp: Path, final: Path):
        super().__init__()
        self.pairs = [(str(tmp), str(final)), (str(tmp.resolve()), str(final.resolve()))]

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        new = msg
        for a, b in self.pairs:
            new = new.replace(a, b)
        if new != msg:
            record.msg, record.args = new, ()
        return True


def _json_default(obj):
    import numpy as np

    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"stage result is not JSON-able: {type(obj).__name__} ({obj!r:.60})")


@contextlib.contextmanager
def _file_log(path: Path):
    """Attach a file handler (INFO) to the package logger for the duration of a run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    old_level = logger.level
    old_handler_levels = {h: h.level for h in logger.handlers}
    if old_level > logging.INFO or old_level == logging.NOTSET:
        # the file records INFO while the console keeps showing only what it showed before
        for h in logger.handlers:
            if h.level == logging.NOTSET:
                h.setLevel(old_level or logging.WARNING)
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        handler.close()
        for h, lv in old_handler_levels.items():
            h.setLevel(lv)
        logger.setLevel(old_level)
