"""The zoo's run format: summaries with published vs ours and a rule-based verdict, and figures.

Every registered runner returns ``dict(store=Path, figure=Path, summary=dict)``; the summary has
the keys :data:`SUMMARY_KEYS`: ``reference`` (citation), ``published`` (named published values),
``ours`` (the same names, our values from this run), ``verdict`` (one of :data:`VERDICTS`,
decided by a rule in the model's code), ``seeds`` and ``budget``, plus any model-specific
``details``.  :func:`check_summary` validates one; :func:`verdict_from_checks` is the rule most
classic models use.
"""

from __future__ import annotations

import math
from typing import Mapping

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402

#: The verdicts a summary may give.
VERDICTS = ("reproduced", "approximate", "not reproduced")
#: Keys every run summary has.
SUMMARY_KEYS = ("reference", "published", "ours", "verdict", "seeds", "budget")


def verdict_from_checks(checks: Mapping[str, bool], core: tuple = ()) -> str:
    """``"reproduced"`` when every check holds, ``"not reproduced"`` when a ``core`` check (or,
    without ``core``, more than half of the checks) fails, ``"approximate"`` otherwise."""
    if not checks:
        raise ValueError("verdict_from_checks needs at least one check")
    unknown = [c for c in core if c not in checks]
    if unknown:
        raise ValueError(f"core checks {unknown} are not among the checks {sorted(checks)}")
    if all(checks.values()):
        return "reproduced"
    if core:
        return "not reproduced" if not all(checks[c] for c in core) else "approximate"
    return "not reproduced" if sum(map(bool, checks.values())) < len(checks) / 2 else "approximate"


def make_summary(reference: str, published: Mapping, ours: Mapping, verdict: str, seeds, budget: str,
                 **details) -> dict:
    """A run summary with the shared keys (``details`` go under their own names)."""
    out = {"reference": reference, "published": dict(published), "ours": dict(ours), "verdict": verdict,
           "seeds": [int(s) for s in seeds], "budget": str(budget)}
    out.update(details)
    check_summary(out)
    return out


def check_summary(summary: Mapping, name: str = "summary") -> None:
    """Raise ``ValueError`` naming the problem if ``summary`` lacks the shared keys or is inconsistent."""
    missing = [k for k in SUMMARY_KEYS if k not in summary]
    if missing:
        raise ValueError(f"{name} lacks the keys {missing} (a zoo summary needs {list(SUMMARY_KEYS)})")
    if summary["verdict"] not in VERDICTS:
        raise ValueError(f"{name}['verdict'] must be one of {VERDICTS}, got {summary['verdict']!r}")
    for key in ("published", "ours"):
        if not isinstance(summary[key], Mapping) or not summary[key]:
            raise ValueError(f"{name}[{key!r}] must be a non-empty dict of named values")
    extra = sorted(set(summary["published"]) - set(summary["ours"]))
    if extra:
        raise ValueError(f"{name}['ours'] lacks the published names {extra}")
    if not isinstance(summary["seeds"], (list, tuple)):
        raise ValueError(f"{name}['seeds'] must be a list of ints, got {summary['seeds']!r}")


def format_value(v) -> str:
    """A short text form of a published or measured value."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    return str(v)


def comparison_lines(summary: Mapping) -> list[str]:
    """Published vs ours, one line per named value, then the verdict, seeds and budget."""
    names = list(summary["published"]) + [k for k in summary["ours"] if k not in summary["published"]]
    rows = [(n, format_value(summary["published"].get(n, "-")), format_value(summary["ours"].get(n, "-")))
            for n in names]
    w0 = max(len("quantity"), *(len(r[0]) for r in rows))
    w1 = max(len("published"), *(len(r[1]) for r in rows))
    lines = [f"{'quantity':<{w0}}  {'published':<{w1}}  ours", f"{'-' * w0}  {'-' * w1}  ----"]
    lines += [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    lines.append(f"verdict: {summary['verdict']}   seeds: {list(summary['seeds'])}   budget: {summary['budget']}")
    lines.append(f"reference: {summary['reference']}")
    return lines


def new_figure(n_panels: int = 1, width: float = 4.2, height: float = 3.2):
    """A figure with ``n_panels`` axes side by side (Agg backend)."""
    fig, axes = plt.subplots(1, n_panels, figsize=(width * n_panels, height), squeeze=False)
    return fig, list(axes[0])


def table_figure(rows, col_labels, title: str = ""):
    """A figure that shows a table (e.g. error counts per lesion site)."""
    fig, ax = plt.subplots(figsize=(1.4 * len(col_labels) + 1.5, 0.4 * len(rows) + 1.2))
    ax.axis("off")
    cells = [[format_value(v) for v in r] for r in rows]
    tab = ax.table(cellText=cells, colLabels=list(col_labels), loc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(8)
    tab.scale(1.0, 1.3)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def save_figure(fig, path, overwrite: bool = False):
    """Write ``fig`` to ``path`` (PNG) and close it; an existing file needs ``overwrite``."""
    from pathlib import Path

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"'{path}' already exists; pass overwrite=True to replace it")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


__all__ = ["SUMMARY_KEYS", "VERDICTS", "check_summary", "comparison_lines", "make_summary",
           "save_figure", "table_figure", "verdict_from_checks"]
