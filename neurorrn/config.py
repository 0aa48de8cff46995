"""Typed configurations loaded from YAML.

Every config section is a :class:`ConfigModel` (pydantic, unknown keys forbidden).  Errors name
the bad key, say what is allowed and suggest close matches.  :func:`config_hash` gives a stable
hash of a config for caching, and :func:`config_to_json` the string stored in outputs' attrs.

Subsystems define their own models (``neurorrn.speech.config``, ...) by subclassing
:class:`ConfigModel`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .utils._check import check_path

T = TypeVar("T", bound="ConfigModel")


class ConfigError(ValueError):
    """A configuration file or mapping that does not match its schema."""


class ConfigModel(BaseModel):
    """Base for typed configs: unknown keys are errors, values are validated on assignment.

    Floats must be finite: ``.nan`` and ``.inf`` are refused in every setting (a NaN learning
    rate or sampling rate would otherwise run to the end and give NaN results).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=(),
                              allow_inf_nan=False)

    @classmethod
    def from_dict(cls: type[T], data: dict | None, source: str = "config") -> T:
        """Validate a mapping; raise :class:`ConfigError` with readable messages."""
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise ConfigError(_format_errors(err, cls, source)) from None

    @classmethod
    def from_yaml(cls: type[T], path) -> T:
        """Load and validate a YAML file."""
        path, data = _read_yaml(path)
        return cls.from_dict(data, source=str(path))

    def to_json(self) -> str:
        return config_to_json(self)

    def hash(self) -> str:
        return config_hash(self)


def _model_at(cls, loc) -> type[BaseModel] | None:
    """Walk ``loc`` through nested models to find the model that owns the last key."""
    model = cls
    for part in loc[:-1]:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            if isinstance(part, int):
                continue
            return None
        ann = field.annotation
        sub = None
        for cand in (ann, *getattr(ann, "__args__", ())):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                sub = cand
                break
            for inner in getattr(cand, "__args__", ()):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    sub = inner
        model = sub
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _format_errors(err: ValidationError, cls, source: str) -> str:
    lines = [f"{source}: invalid {cls.__name__}"]
    for e in err.errors():
        loc = tuple(e.get("loc", ()))
        key = ".".join(str(p) for p in loc) or "(top level)"
        if e.get("type") == "extra_forbidden":
            owner = _model_at(cls, loc)
            allowed = sorted(owner.model_fields) if owner else []
            msg = f"unknown key {key!r}"
            if allowed:
                msg += f"; allowed keys here: {', '.join(allowed)}"
                close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
                if close:
                    msg += f". Did you mean {close[0]!r}?"
        else:
            msg = f"{key}: {e.get('msg')} (got {e.get('input')!r:.80})"
        lines.append("  - " + msg)
    return "\n".join(lines)


def config_to_json(cfg: Any) -> str:
    """A canonical JSON string (sorted keys) of a config model or mapping."""
    if isinstance(cfg, BaseModel):
        cfg = cfg.model_dump(mode="json")
    return json.dumps(cfg, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(cfg: Any, *extra: Any, length: int = 16) -> str:
    """A stable hex digest of a config (and any extra JSON-able inputs)."""
    h = hashlib.sha256(config_to_json(cfg).encode())
    for x in extra:
        h.update(b"\0" + config_to_json(x).encode())
    return h.hexdigest()[:length]



def _read_yaml(path):
    """``(path, parsed YAML)`` of an existing text file; ConfigError naming the file otherwise."""
    path = check_path(path, "config path", must_exist=True, kind="file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {str(err).replace('<unicode string>', str(path))}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not a text (UTF-8) file: {err}") from None
    return path, data

def load_yaml(path) -> dict:
    """Read a YAML mapping (no schema)."""
    path, data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def dump_yaml(cfg: Any, path) -> Path:
    """Write a config as YAML (atomically)."""
    from .utils._io import write_text_atomic

    if isinstance(cfg, BaseModel):
        cfg = cfg.model_dump(mode="json")
    return write_text_atomic(path, yaml.safe_dump(cfg, sort_keys=False))
