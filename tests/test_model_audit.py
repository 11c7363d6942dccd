"""``python -m helpers audit``: a reader's own model audited without a shadow model; the
numbers equal chapter 8's audit for the same model and sources, TorchScript and state dict
agree, and bad input is refused before any scoring."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from helpers.audit import audit
from helpers.cache import ModelCache
from helpers.config import ConfigError, load_profile
from helpers.data import _list_folder
from helpers.evaluation import AttackEvaluation
from helpers.experiment import Experiment
from helpers.model_audit import AUDIT_ATTACKS, audit_folders, load_model
from helpers.reference_study import ReferenceStudy
from helpers.tooling.cli import main
from test_your_data import make_two_class_folder

pytestmark = pytest.mark.slow  # trains a few tiny models (seconds)

KEY = ["attack", "source", "target_fpr"]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """A tiny two-class experiment of the book, its target's cache file and folders of its
    members, calibration split and test non-members (the very files the data came from)."""
    root = tmp_path_factory.mktemp("audit")
    data = make_two_class_folder(root / "data")
    cfg = load_profile("quick", {"dataset": f"imagefolder:{data}", "sizes": "auto", "architectures": ["salem_cnn"],
                                 "epochs": 3, "replicates": 1, "n_references": 2, "cache_dir": str(root / "cache")})
    exp = Experiment(cfg, progress=False)
    trained = exp.model("salem_cnn")
    classes, files = _list_folder(data)
    folders = {}
    for split, name in (("target_members", "members"), ("calibration", "heldout"), ("target_nonmembers", "test")):
        for i in exp.splits[split]:
            path, label, _ = files[i]
            target = root / name / classes[label]
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target / path.name)
        folders[name] = root / name
    weights, _ = ModelCache(cfg.cache_dir).paths(trained.key)
    with pytest.MonkeyPatch.context() as mp:  # decoded folders (the CLI, the notebook) stay out of the shared cache
        mp.setenv("HELPERS_CACHE_DIR", str(root / "cache"))
        yield exp, trained, weights, folders, root


def _audit(model, book, **kw):
    exp, _, _, folders, root = book
    return audit_folders(model, folders["members"], folders["heldout"], test=folders["test"], mean=exp.data.mean,
                         std=exp.data.std, cache_dir=root / "cache", **kw)


def test_audit_of_a_book_model_equals_chapter_8(book):
    exp, _, weights, _, _ = book
    loaded = load_model(weights)  # a cache entry: the sidecar names the architecture
    assert loaded.kind == "state_dict" and loaded.num_classes == 2
    result = _audit(loaded, book)
    study = ReferenceStudy(AttackEvaluation(exp), "salem_cnn", n_references=2, label_only=False)
    sources = ["test", "scaled", "unnormalized"]
    scores = study.audit_scores(sources)
    chapter8 = audit({a: scores[a] for a in AUDIT_ATTACKS}, fprs=(0.01, 0.05)).set_index(KEY).sort_index()
    ours = result.table[result.table.source.isin(sources)].set_index(KEY).sort_index()
    assert len(ours) == len(chapter8) == len(AUDIT_ATTACKS) * len(sources) * 2
    for col in ("threshold", "false_positives", "fpr", "true_positives", "tpr", "n"):
        np.testing.assert_array_equal(ours[col].to_numpy(), chapter8[col].to_numpy(), err_msg=col)
    # the scaled source of an overconfident model: far above the target FPR, as in chapter 8
    scaled = ours.xs("scaled", level="source")
    assert (scaled.fpr > 0.5).all()
    assert (result.scaling["median max score"].diff().dropna() >= -1e-12).all()  # Theorem 1: it only rises
    # the flags are the book's: the same per-cell p-values as chapter 8's (Holm then runs over
    # every cell of each table, and ours has the permuted source too)
    np.testing.assert_array_equal(ours.p_above.to_numpy(), chapter8.p_above.to_numpy())
    assert ours.above_target.xs("scaled", level="source").all()  # 100 % of scaled images flagged


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch points to torch.export; TorchScript is the point
def test_torchscript_export_gives_the_same_report(book, tmp_path):
    exp, trained, weights, _, _ = book
    example = exp.input_set("target_members")[0][:2]
    scripted = torch.jit.trace(trained.model.cpu().eval(), example)
    path = tmp_path / "model.torchscript.pt"
    torch.jit.save(scripted, str(path))
    loaded = load_model(path)
    assert loaded.kind == "torchscript"
    ts, sd = _audit(loaded, book).table, _audit(load_model(weights), book).table
    pd.testing.assert_frame_equal(ts.drop(columns=["threshold"]), sd.drop(columns=["threshold"]))
    np.testing.assert_allclose(ts.threshold, sd.threshold, rtol=1e-6)


def test_command_line_writes_markdown_html_and_csv(book, tmp_path, capsys):
    exp, _, weights, folders, root = book
    out = tmp_path / "report"
    extra = make_two_class_folder(tmp_path / "other", per_class={"left": 8, "top": 8}, seed=5)
    rc = main(["audit", "--model", str(weights), "--members", str(folders["members"]),
               "--heldout", str(folders["heldout"]), "--source", "other", str(extra), "--out", str(out)])
    assert rc == 0
    said = capsys.readouterr().out
    assert "Scaling check" in said and "report.html" in said
    table = pd.read_csv(out / "audit.csv")
    # held-out split in halves: calibration and test; 3 transformed sources and the extra folder
    assert set(table.source) == {"test", "scaled", "permuted", "unnormalized", "other"}
    assert len(table) == len(AUDIT_ATTACKS) * 5 * 2
    assert (table.n[table.source == "other"] == 16).all()
    report = (out / "report.md").read_text()
    assert "## Scaling check" in report and "audit.png" in report and (out / "audit.png").stat().st_size > 0
    assert "<img" in (out / "report.html").read_text()


def _greyscale(folder: Path, size: int, classes=("a", "b"), n: int = 4) -> Path:
    for c in classes:
        (folder / c).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(np.full((size, size), 40 * i, np.uint8), mode="L").save(folder / c / f"{i}.png")
    return folder


def test_bad_input_gets_one_clear_message_before_any_work(book, tmp_path):
    exp, trained, weights, folders, root = book
    model = load_model(weights)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="parameter 'heldout'.*without images"):
        audit_folders(model, folders["members"], tmp_path / "empty")
    with pytest.raises(ConfigError, match="parameter 'members'.*not a folder"):
        audit_folders(model, tmp_path / "nowhere", folders["heldout"])
    three = _greyscale(tmp_path / "three", 20, classes=("a", "b", "c"))
    with pytest.raises(ConfigError, match="outputs 2 scores per image but parameter 'members' has 3 class"):
        audit_folders(model, three, folders["heldout"], cache_dir=root / "cache")
    big = _greyscale(tmp_path / "big", 24)
    with pytest.raises(ConfigError, match=r"parameter 'members'.*24x24 pixels; allowed: 20x20.*--resize"):
        audit_folders(model, big, folders["heldout"], cache_dir=root / "cache")
    assert audit_folders(model, big, folders["heldout"], resize=True, cache_dir=root / "cache").settings[
        "image_size"] == 20
    bare = tmp_path / "bare.pt"
    torch.save(trained.model.state_dict(), bare)  # no sidecar
    with pytest.raises(ConfigError, match=r"\['architecture', 'num_classes', 'in_channels', 'image_size'\]"):
        load_model(bare)
    assert load_model(bare, architecture="salem_cnn", num_classes=2, in_channels=3, image_size=20).num_classes == 2
    with pytest.raises(ConfigError, match="does not fit architecture 'salem_cnn' with 5 classes"):
        load_model(bare, architecture="salem_cnn", num_classes=5, in_channels=3, image_size=20)
    with pytest.raises(ConfigError, match="parameter 'model'.*not a file"):
        load_model(tmp_path / "missing.pt")
    assert main(["audit", "--model", str(tmp_path / "missing.pt"), "--members", "x", "--heldout", "y"]) == 2


def test_the_audit_notebook_runs_with_papermill_and_writes_the_same_report(book, tmp_path):
    import papermill

    exp, _, weights, folders, root = book
    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "audit_your_model.ipynb"
    out = tmp_path / "report"
    papermill.execute_notebook(str(notebook), str(tmp_path / "out.ipynb"), progress_bar=False,
                               kernel_name="python3", cwd=str(tmp_path),
                               parameters={"model": str(weights), "members": str(folders["members"]),
                                           "heldout": str(folders["heldout"]), "test": str(folders["test"]),
                                           "mean": list(exp.data.mean), "std": list(exp.data.std),
                                           "out": str(out)})
    written = pd.read_csv(out / "audit.csv")
    direct = _audit(load_model(weights), book).table
    np.testing.assert_array_equal(written.false_positives.to_numpy(), direct.false_positives.to_numpy())
    assert list(written.source) == list(direct.source) and (out / "report.html").is_file()
