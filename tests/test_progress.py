"""Progress of long steps reaches the runner's output while a chapter executes."""

from __future__ import annotations

from helpers import progress
from helpers.tooling.runner import execute_chapters


def test_throttle_reports_at_most_every_interval_and_always_the_last(tmp_path, monkeypatch):
    log = tmp_path / "progress.log"
    monkeypatch.setenv(progress.PROGRESS_ENV, str(log))
    throttle = progress.Throttle(every=3600)
    for i in range(5):
        throttle.update(f"step {i}", final=i == 4)
    assert log.read_text().splitlines() == ["step 4"]
    monkeypatch.delenv(progress.PROGRESS_ENV)
    progress.report("nobody listens")  # no file, no error
    assert progress.eta(1, 4, 10.0) == "about 30 s left"


def test_runner_prints_the_kernels_training_progress(tmp_path):
    source = tmp_path / "01_train.py"
    source.write_text(
        '# %% tags=["parameters"]\nprofile = "digits"\n\n'
        "# %%\nimport torch\nfrom helpers.training import TrainConfig, train_model\n"
        'cfg = TrainConfig(dataset="toy", data_key="k", architecture="mlp", num_classes=2, in_channels=1,\n'
        "                  image_size=4, epochs=3, cpu_threads=1)\n"
        "x, y = torch.randn(40, 1, 4, 4), torch.randint(0, 2, (40,))\n"
        'train_model(cfg, x, y, device="cpu", progress=False)\n'
    )
    lines: list[str] = []
    execute_chapters([source], "digits", build_dir=tmp_path / "build", echo=lambda text="", **kw: lines.append(text))
    progress_lines = [line for line in lines if "| training mlp (target, standard, relu): epoch 3/3" in line]
    assert progress_lines, lines
    assert lines[-1].startswith("[digits] 01_train: done in")
