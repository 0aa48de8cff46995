"""Helpers shared by the command-line sub-apps (``neurorrn zoo``, ``neurorrn benchmark``)."""

from __future__ import annotations

from typing import List, Optional


def parse_sets(items: Optional[List[str]], what: str = "--set") -> dict:
    """``KEY=VALUE`` options to a dict, each value read as YAML (``3`` -> 3, ``[1, 2]`` -> list).

    Raises :class:`typer.BadParameter` naming the option ``what`` for an item without ``=``.
    """
    import typer
    import yaml

    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{what} expects KEY=VALUE, got {item!r}")
        out[key] = yaml.safe_load(value)
    return out
