"""The console: whole log lines when redirected, a progress bar in a terminal, warnings once."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest

from neurorrn.utils._logging import LogProgress, progress, use_log_level

SCRIPT = textwrap.dedent("""
    import logging, sys, time, warnings
    from neurorrn.utils._logging import logger, progress, use_log_level, warn, route_warnings_to_log
    route_warnings_to_log()
    with use_log_level("INFO"):
        bar = progress(total=40, desc="training", unit="epoch", min_interval=0)
        for i in range(40):
            bar.update(1)
            bar.set_postfix(loss=f"{1 / (i + 1):.3f}")
            if i % 8 == 0:
                logger.info("epoch %d: a log record", i)
        bar.close()
        warn("something odd happened")
""")


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def test_redirected_output_has_whole_lines_and_no_bar(tmp_path):
    proc = _run([sys.executable, "-c", SCRIPT])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert "\r" not in proc.stderr and "\x1b[" not in proc.stderr  # no bar redraws, no cursor moves
    assert sum("a log record" in ln for ln in lines) == 5
    progress_lines = [ln for ln in lines if "training:" in ln]
    assert len(progress_lines) == 10 and progress_lines[-1].endswith("training: 40/40 epoch (100%), loss=0.025")
    assert all(ln.count(" INFO ") + ln.count(" WARNING ") == 1 for ln in lines)  # one record per line
    assert sum("something odd happened" in ln for ln in lines) == 1  # each warning once
    assert len(lines) < 20


@pytest.mark.skipif(shutil.which("script") is None, reason="util-linux 'script' (a pseudo-terminal) not available")
def test_terminal_gets_a_progress_bar_with_records_above_it(tmp_path):
    f = tmp_path / "s.py"
    f.write_text(SCRIPT)
    proc = _run(["script", "-q", "-e", "-c", f"{sys.executable} {f}", "/dev/null"],
                env={"PATH": "/usr/bin:/bin", "TERM": "xterm", "COLUMNS": "100", "PYTHONPATH": ":".join(sys.path)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "%|" in out and "40/40" in out  # tqdm drew its bar
    # tqdm.write clears the bar before a record: no record shares a screen line with bar text
    for chunk in out.split("\n"):
        last = chunk.split("\r")[-1]
        if "a log record" in last:
            assert "%|" not in last


def test_log_progress_interface():
    with use_log_level("INFO"):
        bar = progress(range(3), desc="x")
    assert isinstance(bar, LogProgress) and list(bar) == [0, 1, 2]
    quiet = progress(range(3), desc="x", verbose=False)
    assert list(quiet) == [0, 1, 2]
    p = LogProgress(total=100, desc="y", initial=50)
    p.update(49)
    assert p.n == 99


def test_quick_loops_log_one_line(caplog):
    with use_log_level("INFO"), caplog.at_level("INFO", logger="neurorrn"):
        list(LogProgress(range(100), desc="quick"))  # default: a line only every 5 s, and at the end
    lines = [r.getMessage() for r in caplog.records if "quick" in r.getMessage()]
    assert lines == ["quick: 100/100 it (100%)"]


def test_version_and_misspelled_stage_options(tmp_path):
    from typer.testing import CliRunner

    from neurorrn.cli import app

    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip().startswith("neurorrn ")
    from pathlib import Path

    cfg = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"
    res = CliRunner().invoke(app, ["run", str(cfg), "--status", "--until", "trian"])
    assert res.exit_code == 1 and "Invalid value for --until: 'trian'" in res.output and "Did you mean 'train'" in res.output
    res = CliRunner().invoke(app, ["run", str(cfg), "--from", "encod"])
    assert res.exit_code == 1 and "Did you mean 'encode'" in res.output
