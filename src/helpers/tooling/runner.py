"""Execute the book's chapters with papermill under a profile, then build the HTML.

The chapters' jupytext sources (``book/chapters/NN_name.py``) are executed into a build
folder (``book/_build/executed`` by default), never over the sources. The HTML build then
renders those executed notebooks with execution switched off, warnings as errors.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..config import ConfigError, Profile, load_profile
from ..paths import REPO_ROOT, atomic_write_text
from ..progress import PROGRESS_ENV
from .assets import AssetError, fetch_all
from .execution_key import execution_key, merge_prose

BOOK_DIR = REPO_ROOT / "book"
CHAPTER_DIR = BOOK_DIR / "chapters"
DEFAULT_BUILD_DIR = BOOK_DIR / "_build"


class ChapterFailed(RuntimeError):
    """A chapter raised while executing; the message holds the failing cell and error."""


@dataclass(frozen=True)
class ChapterResult:
    """Outcome of executing one chapter."""

    chapter: str
    seconds: float
    output: Path
    reused: bool = False  # unchanged since its last execution: the executed notebook was kept


def chapter_sources(chapter_dir: Path = CHAPTER_DIR) -> list[Path]:
    """All chapter sources (``NN_name.py``) in order."""
    return sorted(p for p in chapter_dir.glob("[0-9][0-9]_*.py"))


def select_chapters(selection: Sequence[str] | None, chapter_dir: Path = CHAPTER_DIR) -> list[Path]:
    """Chapters whose number or name matches ``selection`` (all when empty)."""
    sources = chapter_sources(chapter_dir)
    if not selection:
        return sources
    chosen = []
    for wanted in selection:
        hits = [p for p in sources if p.stem == wanted or p.stem.split("_", 1)[0] == wanted.zfill(2)]
        if not hits:
            raise ConfigError(
                f"parameter 'chapters' has value {wanted!r}; allowed: a number or name of "
                f"{[p.stem for p in sources]}"
            )
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def chapter_parameter_names(source: Path) -> set[str]:
    """Names assigned in a chapter's cell tagged ``parameters``.

    Read straight from the ``py:percent`` source (the cell runs from its ``# %%`` marker
    with ``"parameters"`` among its tags to the next ``# %%`` marker), without importing
    jupytext, so checking parameters costs milliseconds.
    """
    import ast

    lines = source.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("# %%")]
    for k, i in enumerate(starts):
        header = lines[i]
        if "tags=" in header and '"parameters"' in header:
            end = starts[k + 1] if k + 1 < len(starts) else len(lines)
            tree = ast.parse("\n".join(lines[i + 1:end]))
            return {t.id for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
    return set()


def split_parameters(
    profile: str, parameters: Mapping[str, Any], chapters: Sequence[Path]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate runner parameters; return (profile overrides, chapter-only parameters).

    A name is either a profile parameter (validated with :func:`load_profile` and handed to
    every chapter in its ``overrides`` dict) or a parameter declared in the ``parameters``
    cell of at least one selected chapter (handed to the chapters that declare it). Anything
    else fails before a kernel starts.
    """

    profile_fields = {f.name for f in fields(Profile)}
    declared = {c.stem: chapter_parameter_names(c) for c in chapters}
    any_declared = set().union(*declared.values()) if declared else set()
    overrides = dict(parameters.get("overrides") or {})
    chapter_only: dict[str, Any] = {}
    for name, value in parameters.items():
        if name == "overrides":
            continue
        if name in profile_fields:
            overrides[name] = value
        elif name in any_declared:
            chapter_only[name] = value
        else:
            allowed = sorted((profile_fields | any_declared) - {"name", "profile", "overrides"})
            raise ConfigError(f"parameter {name!r} has value {value!r}; allowed: a profile parameter "
                              f"or a parameter of the selected chapters: {allowed}")
    load_profile(profile, overrides)
    return overrides, chapter_only


def _notebook_for(source: Path) -> "Any":
    import jupytext

    nb = jupytext.read(source)
    nb.metadata.setdefault(
        "kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"}
    )
    return nb


def _failing_cell_message(exc: BaseException) -> str:
    """Short description of the failing cell from a papermill error."""
    lines = [f"{type(exc).__name__}: {exc}"]
    cell = getattr(exc, "exec_count", None)
    ename = getattr(exc, "ename", None)
    evalue = getattr(exc, "evalue", None)
    if ename:
        lines = [f"cell [{cell}] raised {ename}: {evalue}"]
    return "\n".join(lines)


def execute_chapter(
    source: Path,
    output_dir: Path,
    profile: str,
    parameters: Mapping[str, Any] | None = None,
    kernel_name: str = "python3",
    on_progress: Callable[[str], None] | None = None,
) -> ChapterResult:
    """Execute one chapter source into ``output_dir/NAME.ipynb``; raise ChapterFailed.

    ``on_progress(line)`` receives the progress lines the kernel reports while it runs
    (:mod:`helpers.progress`: training epochs, the generator, Laplace fits, t-SNE).
    """
    import nbformat
    import papermill as pm

    declared = chapter_parameter_names(source)
    overrides, chapter_only = split_parameters(profile, parameters or {}, [source])
    params: dict[str, Any] = {"profile": profile}
    if overrides:
        if "overrides" not in declared:
            raise ConfigError(f"chapter {source.stem} takes no 'overrides' parameter, so "
                              f"{sorted(overrides)} cannot be applied to it")
        params["overrides"] = overrides
    params.update({k: v for k, v in chapter_only.items() if k in declared})
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"{source.stem}.ipynb"
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        input_nb = Path(tmp) / f"{source.stem}.ipynb"
        nbformat.write(_notebook_for(source), input_nb)
        partial = output_dir / f".{source.stem}.partial.ipynb"  # same folder: os.replace is atomic
        follower = _ProgressFollower(Path(tmp) / "progress.log", on_progress)
        try:
            follower.start()
            pm.execute_notebook(
                str(input_nb),
                str(partial),
                parameters=params,
                cwd=str(source.parent),
                kernel_name=kernel_name,
                progress_bar=False,
                log_output=False,
                # the kernel's start-up warning about TCP transport is noise in a local run
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
            )
        except pm.PapermillExecutionError as exc:
            failed = output_dir / f"{source.stem}.failed.ipynb"
            if partial.exists():
                os.replace(partial, failed)
            raise ChapterFailed(
                f"chapter {source.stem} failed: {_failing_cell_message(exc)}\n"
                f"(the partly executed notebook is in {failed})"
            ) from None
        except BaseException:
            partial.unlink(missing_ok=True)  # interrupted: leave nothing half-written behind
            raise
        finally:
            follower.stop()
        os.replace(partial, target)
    return ChapterResult(source.stem, time.perf_counter() - start, target)


class _ProgressFollower:
    """Point the kernel's progress reports at a file and pass each new line on while it runs."""

    def __init__(self, path: Path, on_line: Callable[[str], None] | None, poll: float = 0.5) -> None:
        self.path, self.on_line, self.poll = path, on_line, poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous: str | None = None
        self._offset = 0

    def start(self) -> None:
        self._previous = os.environ.get(PROGRESS_ENV)
        self.path.touch()
        os.environ[PROGRESS_ENV] = str(self.path)  # inherited by the kernel papermill starts
        if self.on_line is not None:
            self._thread = threading.Thread(target=self._follow, daemon=True)
            self._thread.start()

    def _drain(self) -> None:
        with open(self.path, encoding="utf-8") as fh:
            fh.seek(self._offset)
            while True:
                line = fh.readline()
                if not line.endswith("\n"):
                    break  # an incomplete line is read again next time
                self._offset += len(line.encode("utf-8"))
                self.on_line(line.rstrip("\n"))

    def _follow(self) -> None:
        while not self._stop.wait(self.poll):
            self._drain()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._drain()
        if self._previous is None:
            os.environ.pop(PROGRESS_ENV, None)
        else:
            os.environ[PROGRESS_ENV] = self._previous


def execute_chapters(
    chapters: Iterable[Path],
    profile: str,
    parameters: Mapping[str, Any] | None = None,
    build_dir: Path = DEFAULT_BUILD_DIR,
    echo=print,
    force: bool = False,
    pretrain: bool | None = None,
) -> list[ChapterResult]:
    """Execute chapters in order, stopping at the first failure; write timings.json.

    A chapter whose :func:`~helpers.tooling.execution_key.execution_key` (source, parameters,
    profile, the library modules it imports, bundled data, versions) equals the one stored
    beside its executed notebook is not executed again; ``force`` re-executes it anyway.
    ``pretrain``: before executing, train the models the chapters need that are not in the
    cache yet, as many at a time as the cores allow (:func:`pretrain_models`); ``None`` (the default) does
    so when every chapter of the book is selected and at least one must be executed.
    """

    chapters = list(chapters)
    overrides, chapter_only = split_parameters(profile, parameters or {}, chapters)
    out_dir = build_dir / "executed"
    results: list[ChapterResult] = []
    timings_path = build_dir / "timings.json"
    plan = []
    for source in chapters:
        mine = chapter_parameter_names(source)
        params = {**overrides, **{k: v for k, v in chapter_only.items() if k in mine}}
        key = execution_key(source, profile, params)
        key_file = out_dir / f"{source.stem}.key"
        target = out_dir / f"{source.stem}.ipynb"
        unchanged = not force and target.exists() and key_file.exists() and key_file.read_text().strip() == key
        reuse = unchanged and refresh_prose(source, target) is not None
        plan.append((source, params, key, key_file, target, reuse))
    if pretrain is None:
        pretrain = {s.name for s in chapters} >= {s.name for s in chapter_sources()}
    models_seconds = 0.0
    if pretrain and not all(step[-1] for step in plan):
        models_seconds = pretrain_models(profile, overrides, chapter_only.get("variant_references", 2), echo=echo)
    for source, params, key, key_file, target, reuse in plan:
        if reuse:
            result = ChapterResult(source.stem, 0.0, target, reused=True)
            echo(f"[{profile}] {source.stem}: code unchanged, executed notebook reused")
        else:
            key_file.unlink(missing_ok=True)
            result = execute_chapter(source, out_dir, profile, params,
                                     on_progress=lambda line, stem=source.stem: echo(f"    {stem} | {line}", flush=True))
            atomic_write_text(key + "\n", key_file)
            echo(f"[{profile}] {source.stem}: done in {result.seconds:.1f} s", flush=True)
        results.append(result)
        _write_timings(timings_path, profile, results, models_seconds)
    return results


def pretrain_models(profile: str, overrides: Mapping[str, Any], variant_references: int = 2,
                    echo=print) -> float:
    """Train every model of ``profile`` (with ``overrides``) that the chapters would train
    and the cache lacks, as many at a time as the CPU cores allow at ``train_threads``
    threads each; return the seconds spent. The trainings' progress lines go to ``echo``."""
    from .grid import missing_jobs, release_experiments, training_jobs

    start = time.perf_counter()
    prof = load_profile(profile, **overrides)
    try:
        todo = missing_jobs(prof, training_jobs(prof, variant_references=variant_references))
        if todo:
            _train_ahead(prof, todo, echo)
    finally:
        release_experiments()  # the chapters load what they need in their own kernels
    seconds = time.perf_counter() - start
    if todo:
        echo(f"[{profile}] models: {len(todo)} trained in {seconds:.1f} s", flush=True)
    return seconds


def _train_ahead(prof: Profile, todo: list, echo) -> None:
    from .grid import default_workers, train_grid

    workers = default_workers(prof)
    echo(f"[{prof.name}] training {len(todo)} model(s) first, {workers} at a time "
         f"({prof.training_threads} thread(s) each)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        follower = _ProgressFollower(Path(tmp) / "progress.log", lambda line: echo(f"    models | {line}", flush=True))
        follower.start()
        try:
            train_grid(prof, todo, engine="processes" if workers > 1 else "local", workers=workers,
                       echo=lambda line: echo(f"    models | {line}", flush=True))
        finally:
            follower.stop()


def refresh_prose(source: Path, executed: Path) -> bool | None:
    """Bring the markdown of ``source`` into its executed notebook (atomically): ``True``
    when the text changed, ``False`` when it was already current, ``None`` when the code
    cells do not match (or the executed notebook cannot be read), so it must be re-run."""
    import nbformat

    try:
        done = nbformat.read(executed, as_version=4)
    except Exception:  # damaged or partial file: execute again
        return None
    merged = merge_prose(_notebook_for(source), done)
    if merged is None:
        return None
    if merged == done:
        return False
    atomic_write_text(nbformat.writes(merged), executed)
    return True


def _write_timings(path: Path, profile: str, results: list[ChapterResult], models_seconds: float = 0.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "profile": profile,
        "models_seconds": round(models_seconds, 2),  # training ahead of the chapters (pretrain)
        "chapters": {r.chapter: round(r.seconds, 2) for r in results},
        "reused": [r.chapter for r in results if r.reused],
        "total_seconds": round(models_seconds + sum(r.seconds for r in results), 2),
    }
    atomic_write_text(json.dumps(payload, indent=2), path)


def stage_book(build_dir: Path = DEFAULT_BUILD_DIR) -> Path:
    """Copy the book sources into ``build_dir/site-src`` with executed chapters in place."""
    staged = build_dir / "site-src"
    if staged.exists():
        shutil.rmtree(staged)
    ignore = shutil.ignore_patterns("_build", "*.py", "*.ipynb", "__pycache__", ".ipynb_checkpoints")
    shutil.copytree(BOOK_DIR, staged, ignore=ignore)
    executed = build_dir / "executed"
    for source in chapter_sources():
        nb = executed / f"{source.stem}.ipynb"
        if not nb.exists():
            raise ChapterFailed(
                f"chapter {source.stem} has not been executed (no {nb}); run "
                f"`python -m helpers run` first"
            )
        shutil.copyfile(nb, staged / "chapters" / nb.name)
    return staged


def build_html(build_dir: Path = DEFAULT_BUILD_DIR, strict: bool = True) -> Path:
    """Render the executed chapters to HTML with Jupyter Book (execution off)."""
    staged = stage_book(build_dir)

    try:  # the npm packages the build vendors (helpers.tooling.assets): fail here, clearly, if offline
        fetch_all()
    except AssetError as exc:
        raise ChapterFailed(str(exc)) from None
    # Jupyter Book writes to PATH_OUTPUT/_build/html; choose it so that the default
    # build folder book/_build holds the HTML in book/_build/html.
    html_parent = build_dir.parent if build_dir.name == "_build" else build_dir
    cmd = [
        sys.executable, "-m", "jupyter_book", "build", str(staged),
        "--path-output", str(html_parent),
    ]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    if jb:
        cmd = [jb] + cmd[3:]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise ChapterFailed(f"jupyter-book build failed (exit {proc.returncode}):\n{tail}")
    index = html_parent / "_build" / "html" / "index.html"
    if not index.exists():
        raise ChapterFailed(f"jupyter-book reported success but {index} is missing")
    return index
