"""Every ```python block of README.md and docs/*.md runs, so a documented example cannot rot.

Conventions (for anyone writing docs):

- A fence whose info string is exactly ``python`` is executed.  The blocks of one file run in
  order in one shared namespace, in a fresh temporary working directory, so a later block may use
  names an earlier one made.
- ``python norun`` marks a block that cannot run here (downloaded weights, a real dataset, a
  cluster): it is compiled and its ``from neurorrn... import`` names are checked, so a syntax
  error or a renamed function is still caught.
- Where a block needs data it does not make itself (``X``, ``Y`` in the encoding guide), the
  per-file setup below puts small data in the namespace or the working directory.  Keep blocks
  fast (seconds): this test runs in the default suite.

- Paper-scale examples (minutes) run only with ``--runslow``: whole files in ``SLOW_DOCS``, single
  blocks in ``SLOW_BLOCKS`` (named by a piece of their code); they are compiled in every run.

Any other info string after ``python`` is an error, so a misspelt ``norun`` cannot silently skip.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUN, NORUN = "run", "norun"

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(\S*)\s*(.*?)\s*$")


def extract_blocks(text: str, source: str = "<doc>") -> list[tuple[int, str, str]]:
    """``[(line of the opening fence, mode, code)]`` for every ``python`` block of a Markdown text.

    ``mode`` is ``"run"`` or ``"norun"``.  Blocks of other languages are skipped; a ``python``
    fence with an unknown option, or one left open, is an error naming the line.
    """
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang, rest = m.groups()
        start = i + 1
        j = i + 1
        while j < len(lines):
            c = re.match(r"^\s*(`{3,}|~{3,})\s*$", lines[j])
            if c and c.group(1)[0] == fence[0] and len(c.group(1)) >= len(fence):
                break
            j += 1
        if j == len(lines):
            raise ValueError(f"{source}:{start}: code fence {fence}{lang} is never closed")
        if lang.lower() in ("python", "py", "python3"):
            opts = rest.split()
            if opts and opts != [NORUN]:
                raise ValueError(f"{source}:{start}: unknown option(s) {opts} after ```{lang}; "
                                 f"the only one allowed is {NORUN!r}")
            body = [ln[len(indent):] if ln.startswith(indent) else ln for ln in lines[i + 1:j]]
            blocks.append((start, NORUN if opts else RUN, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def _check_imports(code: str, source: str, line: int) -> None:
    """The ``neurorrn`` names a block that is not run imports must exist."""
    import ast

    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "neurorrn":
            mod = __import__(node.module, fromlist=["_"])
            missing = [a.name for a in node.names if a.name != "*" and not hasattr(mod, a.name)]
            if missing:
                raise AssertionError(f"{source}: the block at line {line} imports {missing} from "
                                     f"{node.module}, which has no such name")


def run_blocks(blocks, source: str, namespace: dict, skip=()) -> list[int]:
    """Compile every block; execute the runnable ones in order in ``namespace``.

    Blocks containing one of the strings in ``skip`` are only compiled.  Returns the lines of
    the blocks that ran.
    """
    ran = []
    for line, mode, code in blocks:
        # Pad with newlines so tracebacks give the line number in the Markdown file.
        compiled = compile("\n" * line + code, source, "exec")
        if mode == NORUN or any(s in code for s in skip):
            _check_imports(code, source, line)
            continue
        ran.append(line)
        try:
            exec(compiled, namespace)  # noqa: S102 - running our own documentation is the point
        except Exception as err:  # noqa: BLE001
            raise AssertionError(f"{source}: the block at line {line} failed: "
                                 f"{type(err).__name__}: {err}") from err
    return ran


# ------------------------------------------------------------------ per-file setups
# A setup gets the temporary working directory and pytest's monkeypatch; it returns names to put
# in the namespace (and may change directory, e.g. to give ``../shared/data`` a meaning).
def _setup_encoding(tmp: Path, monkeypatch) -> dict:
    """A planted TRF problem: 3 predictors, 4 sensors, 60 s at 100 Hz."""
    rng = np.random.default_rng(0)
    n, sfreq = 6000, 100.0
    X = rng.standard_normal((n, 3))
    kernel = np.zeros((11, 3, 4))
    kernel[2:6] = rng.standard_normal((4, 3, 4))
    Y = sum(np.roll(X, k, axis=0) @ kernel[k] for k in range(kernel.shape[0]))
    Y = Y + 0.5 * rng.standard_normal(Y.shape)
    return {"X": X, "Y": Y, "sfreq": sfreq}


def _setup_shared_data(tmp: Path, monkeypatch) -> dict:
    """Docs that read ``../shared/data`` (relative to the repository root) as the tests do."""
    # the same place as tests/conftest.py's ``shared_data`` fixture
    SHARED_DATA = Path(os.environ.get("NEURORRN_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared reference data not found at {SHARED_DATA}")
    (tmp / "shared").mkdir()
    (tmp / "shared" / "data").symlink_to(SHARED_DATA, target_is_directory=True)
    work = tmp / "repo"
    work.mkdir()
    monkeypatch.chdir(work)
    return {}


def _setup_repo_configs(tmp: Path, monkeypatch) -> dict:
    """Docs that name ``configs/*.yaml`` relative to the repository root."""
    import shutil

    shutil.copytree(REPO / "configs", tmp / "configs")
    return {}


SETUPS = {"encoding.md": _setup_encoding, "zoo_classic.md": _setup_shared_data,
          "pipeline.md": _setup_repo_configs}
#: Docs whose examples run paper-scale work (minutes): run with ``--runslow`` only.
SLOW_DOCS = {"zoo_sequence.md"}
#: Single blocks that take more than a few seconds (paper-scale runs), named by a piece of their
#: code: compiled in the default run, executed with ``--runslow``.  Later blocks of the file must
#: not depend on them.
SLOW_BLOCKS = {
    "pipeline.md": ("run_config(",),                # trains the demo network (minutes)
    "zoo_classic.md": ("DeepDyslexiaModel(",),      # 100 lesions x 3 severities (~40 s)
}


def _doc_params():
    out = []
    for path in DOC_FILES:
        rel = path.relative_to(REPO).as_posix()
        marks = [pytest.mark.slow] if path.name in SLOW_DOCS else []
        out.append(pytest.param(path, id=rel, marks=marks))
    return out


@pytest.mark.parametrize("path", _doc_params())
def test_doc_examples_run(path, tmp_path, monkeypatch, request):
    import matplotlib

    matplotlib.use("Agg")
    source = path.relative_to(REPO).as_posix()
    blocks = extract_blocks(path.read_text(encoding="utf-8"), source)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__doc_example__"}
    setup = SETUPS.get(path.name)
    if setup is not None:
        namespace.update(setup(tmp_path, monkeypatch))
    skip = () if request.config.getoption("--runslow") else SLOW_BLOCKS.get(path.name, ())
    run_blocks(blocks, source, namespace, skip=skip)


@pytest.mark.parametrize("path", [p for p in DOC_FILES if p.name in SLOW_DOCS],
                         ids=lambda p: p.name)
def test_slow_docs_still_compile(path):
    """The slow docs' blocks are at least parsed and compiled in the default run."""
    blocks = extract_blocks(path.read_text(encoding="utf-8"), path.name)
    for line, _mode, code in blocks:
        compile("\n" * line + code, path.name, "exec")


def test_setups_name_existing_files():
    names = {p.name for p in DOC_FILES}
    assert set(SETUPS) <= names, f"setups for missing doc files: {sorted(set(SETUPS) - names)}"
    assert SLOW_DOCS <= names, f"slow docs that do not exist: {sorted(SLOW_DOCS - names)}"
    for name, pieces in SLOW_BLOCKS.items():
        text = (REPO / ("README.md" if name == "README.md" else f"docs/{name}")).read_text(encoding="utf-8")
        codes = [c for _, mode, c in extract_blocks(text, name) if mode == RUN]
        for piece in pieces:
            assert any(piece in c for c in codes), f"SLOW_BLOCKS: no runnable block of {name} contains {piece!r}"


# ------------------------------------------------------------------ the harness itself
def test_extract_blocks_modes_and_languages():
    text = ("intro\n```python\na = 1\n```\n```bash\nexit 1\n```\n"
            "```python norun\nimport weights_we_do_not_have\n```\n  ```python\n  b = a + 1\n  ```\n")
    blocks = extract_blocks(text)
    assert [(b[0], b[1]) for b in blocks] == [(2, RUN), (8, NORUN), (11, RUN)]
    ns: dict = {}
    run_blocks(blocks, "t.md", ns)
    assert ns["b"] == 2


def test_extract_blocks_rejects_unknown_option_and_open_fence():
    with pytest.raises(ValueError, match=r"t.md:1: unknown option.*'no-run'"):
        extract_blocks("```python no-run\nx = 1\n```\n", "t.md")
    with pytest.raises(ValueError, match="never closed"):
        extract_blocks("```python\nx = 1\n", "t.md")


def test_run_blocks_reports_failing_block_and_line():
    blocks = extract_blocks("text\n\n```python\nx = 1\n```\n```python\nundefined_name\n```\n")
    with pytest.raises(AssertionError, match=r"doc.md: the block at line 6 failed: NameError"):
        run_blocks(blocks, "doc.md", {})


def test_skipped_blocks_are_compiled_not_run():
    blocks = extract_blocks("```python\nx = 1\n```\n```python\nraise RuntimeError('slow')\n```\n")
    assert run_blocks(blocks, "doc.md", {}, skip=("RuntimeError",)) == [1]
    bad = extract_blocks("```python\nslow(:\n```\n")
    with pytest.raises(SyntaxError):
        run_blocks(bad, "doc.md", {}, skip=("slow",))


def test_norun_blocks_import_existing_names():
    ok = extract_blocks("```python norun\nfrom neurorrn.store import from_arrays\nload('weights')\n```\n")
    run_blocks(ok, "doc.md", {})
    bad = extract_blocks("```python norun\nfrom neurorrn.speech import no_such_loader\n```\n")
    with pytest.raises(AssertionError, match=r"imports \['no_such_loader'\] from neurorrn.speech"):
        run_blocks(bad, "doc.md", {})


def test_norun_blocks_are_still_compiled():
    blocks = extract_blocks("```python norun\ndef f(:\n```\n")
    with pytest.raises(SyntaxError):
        run_blocks(blocks, "doc.md", {})


def test_doc_files_found():
    assert (REPO / "README.md") in DOC_FILES and len(DOC_FILES) > 3
    assert os.path.isdir(REPO / "docs")
