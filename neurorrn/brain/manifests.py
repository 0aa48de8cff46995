"""Dataset manifests: where a dataset comes from, how it is laid out, and a check of a local copy.

A manifest (``data_manifests/<id>.yaml``) is validated by :class:`Manifest`.  Its ``files`` list
holds paths or glob patterns relative to the dataset root, each with a role, whether it is
required, the least number of matches, and an md5 (and size) where the publisher gives one.
:func:`check_dataset` walks a local copy and reports, per entry, ``present`` / ``missing`` /
``corrupt`` (md5 or size mismatch) - ``neurorrn data check MANIFEST ROOT`` prints that report.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import pandas as pd
from pydantic import Field, field_validator

from ..config import ConfigModel
from ..utils._check import check_path

STATUSES = ("present", "missing", "corrupt")


class Access(ConfigModel):
    """How to get the data: ``open`` (anyone), ``registration`` (free account) or ``gated`` (agreement)."""

    kind: Literal["open", "registration", "gated"]
    url: str
    doi: Optional[str] = None
    instructions: Optional[str] = None


class FileEntry(ConfigModel):
    """One path or glob pattern of the layout (relative to the dataset root)."""

    path: str
    role: str
    required: bool = True
    min_count: int = Field(1, ge=0)
    md5: Optional[str] = None
    size: Optional[int] = Field(None, ge=0)
    description: Optional[str] = None

    @field_validator("md5")
    @classmethod
    def _md5(cls, v):
        if v is not None and (len(v) != 32 or any(c not in "0123456789abcdef" for c in v.lower())):
            raise ValueError(f"md5 must be 32 hex digits, got {v!r}")
        return v.lower() if v else v

    @field_validator("path")
    @classmethod
    def _relative(cls, v):
        if v.startswith("/") or ".." in Path(v).parts:
            raise ValueError(f"path must be relative to the dataset root without '..', got {v!r}")
        return v


class Manifest(ConfigModel):
    """Schema of a dataset manifest."""

    id: str
    name: str
    citation: str
    licence: str
    access: Access
    modality: Literal["meg", "eeg", "ecog", "speech", "mixed"]
    language: str = "en"
    sfreq: Optional[float] = Field(None, description="sampling rate of the distributed files (Hz)")
    sfreq_recorded: Optional[float] = None
    channels: Optional[str] = None
    n_subjects: Optional[int] = None
    hours: Optional[float] = None
    stimuli: Optional[str] = None
    alignment_level: Literal["phone", "word", "none"] = "none"
    events: Optional[str] = None
    loader: str
    files: list[FileEntry]
    known_issues: list[str] = Field(default_factory=list)
    notes: Optional[str] = None


def load_manifest(path) -> Manifest:
    """Read and validate a manifest YAML."""
    return Manifest.from_yaml(path)


def md5sum(path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class DatasetReport:
    """Result of :func:`check_dataset`: one row per manifest entry."""

    manifest: str
    root: Path
    rows: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no required entry is missing and nothing is corrupt."""
        return not any((r["status"] == "missing" and r["required"]) or r["status"] == "corrupt" for r in self.rows)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["path", "role", "required", "status", "n_found", "detail"])

    def counts(self) -> dict[str, int]:
        return {s: sum(r["status"] == s for r in self.rows) for s in STATUSES}

    def __str__(self) -> str:
        c = self.counts()
        lines = [f"{self.manifest} at {self.root}: {c['present']} present, {c['missing']} missing, "
                 f"{c['corrupt']} corrupt -> {'OK' if self.ok else 'INCOMPLETE'}"]
        for r in self.rows:
            req = "" if r["required"] else " (optional)"
            lines.append(f"  [{r['status']:>7}] {r['path']}{req}  {r['detail']}")
        return "\n".join(lines)


def check_dataset(manifest, root, checksums: bool = True) -> DatasetReport:
    """Compare a local copy with its manifest.

    Parameters
    ----------
    manifest : Manifest | path
    root : path
        The dataset root on disk.
    checksums : bool
        Verify md5 sums (and sizes) where the manifest gives them.

    Returns
    -------
    DatasetReport
        Per entry: ``present`` (enough matches, checksums agree), ``missing`` (fewer than
        ``min_count`` matches; the detail names the path) or ``corrupt`` (md5/size mismatch; the
        detail names the file and both sums).
    """
    if not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest)
    root = check_path(root, "dataset root", must_exist=True, kind="dir")
    report = DatasetReport(manifest.id, root)
    for entry in manifest.files:
        has_glob = any(ch in entry.path for ch in "*?[")
        found = sorted(p for p in root.glob(entry.path) if p.is_file()) if has_glob else (
            [root / entry.path] if (root / entry.path).is_file() else [])
        row = {"path": entry.path, "role": entry.role, "required": entry.required, "n_found": len(found)}
        if len(found) < max(entry.min_count, 1 if not has_glob else entry.min_count):
            row["status"] = "missing"
            row["detail"] = (f"no file at {root / entry.path}" if not has_glob else
                             f"{len(found)} match(es) of {entry.path!r} under {root}, expected at least {entry.min_count}")
        else:
            row["status"], row["detail"] = "present", f"{len(found)} file(s)"
            if checksums and (entry.md5 or entry.size is not None):
                for f in found:
                    if entry.size is not None and f.stat().st_size != entry.size:
                        row["status"] = "corrupt"
                        row["detail"] = f"{f}: size {f.stat().st_size} bytes, expected {entry.size}"
                        break
                    if entry.md5:
                        got = md5sum(f)
                        if got != entry.md5:
                            row["status"] = "corrupt"
                            row["detail"] = f"{f}: md5 {got}, expected {entry.md5}"
                            break
                else:
                    row["detail"] += ", checksum ok"
        report.rows.append(row)
    return report


def find_manifest(name_or_path, search=None) -> Path:
    """A manifest path from a path or an id looked up in ``data_manifests/`` folders."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    dirs = [Path(d) for d in (search or [])] + [Path.cwd() / "data_manifests",
                                                 Path(__file__).resolve().parents[2] / "data_manifests"]
    for d in dirs:
        for cand in (d / f"{name_or_path}.yaml", d / f"{name_or_path}.yml"):
            if cand.is_file():
                return cand
    known = sorted({q.stem for d in dirs if d.is_dir() for q in d.glob("*.yaml")})
    raise FileNotFoundError(f"manifest {name_or_path!r}: no such file, and no manifest of that id in "
                            f"{[str(d) for d in dirs]}; known ids: {known}")
