"""`helpers train`: a profile's models as independent jobs, locally and on a local Ray instance."""

import pytest

from helpers.config import ConfigError, load_profile
from helpers.experiment import Experiment
from helpers.reference_models import ReferenceModels
from helpers.tooling.grid import TrainingJob, job_key, missing_jobs, train_grid, training_jobs
from helpers.tooling.runner import pretrain_models


def _tiny(tmp_path, **more):
    return load_profile("digits", architectures=["salem_cnn"], epochs=1, train_size=60, test_size=60,
                        n_members=30, calibration_size=20, cache_dir=str(tmp_path / "cache"), **more)


def test_the_grid_lists_every_model_the_chapters_train():
    profile = load_profile("quick")
    jobs = training_jobs(profile)
    models = [j for j in jobs if j.role != "reference"]
    refs = [j for j in jobs if j.role == "reference"]
    # every training variant's target and shadow, once per replicate; + chapter 1's SiLU model, the generator
    assert profile.replicates >= 3
    assert len(models) == profile.replicates * len(profile.architectures) * 3 * 2 + 2
    assert {j.replicate for j in models} == set(range(profile.replicates))
    keys = {job_key(profile, j) for j in models if j.role in ("target", "shadow") and j.activation is None}
    assert len(keys) == profile.replicates * len(profile.architectures) * 3 * 2  # replicates train distinct models
    assert TrainingJob("salem_cnn", "target", activation="silu") in models
    assert sum(j.role == "generator" for j in models) == 1
    assert len(set(models)) == len(models)
    assert sum(j.variant == "standard" for j in refs) == profile.n_references
    assert sum(j.variant != "standard" for j in refs) == 2 * 2
    assert {j.architecture for j in refs} == {profile.architectures[0]}
    assert training_jobs(profile, references=False) == models
    with pytest.raises(ConfigError, match="variant_references"):
        training_jobs(profile, variant_references=-1)


def test_local_engine_fills_the_cache_that_the_chapters_read(tmp_path):
    profile = _tiny(tmp_path)
    jobs = [TrainingJob("salem_cnn", "target", "standard"), TrainingJob("salem_cnn", "shadow", "standard")]
    lines = []
    first = train_grid(profile, jobs, echo=lines.append)
    assert [r["from_cache"] for r in first] == [False, False]
    assert lines[0].startswith("[1/2] salem_cnn target (standard): trained in")
    exp = Experiment(profile, progress=False)
    assert exp.model("salem_cnn", "target").from_cache and exp.model("salem_cnn", "shadow").from_cache
    assert {r["key"] for r in first} == {exp.model("salem_cnn", r).key for r in ("target", "shadow")}
    with pytest.raises(ConfigError, match="parameter 'engine' has value 'spark'"):
        train_grid(profile, jobs, engine="spark")


def test_a_two_model_grid_on_a_local_ray_instance(tmp_path):
    profile = _tiny(tmp_path, cpu_threads=1)
    jobs = [TrainingJob("salem_cnn", "target", "standard"),
            TrainingJob("salem_cnn", "reference", "standard", k=1, n_references=2)]
    results = train_grid(profile, jobs, engine="ray", echo=lambda line: None)
    assert sorted(r["job"] for r in results) == sorted(j.label() for j in jobs)
    assert not any(r["from_cache"] for r in results)
    # both cache entries exist and verify: this process now loads them instead of training
    exp = Experiment(profile, progress=False)
    target = exp.model("salem_cnn", "target")
    reference = ReferenceModels(exp, "salem_cnn", "standard", 2).model(1)
    assert target.from_cache and reference.from_cache
    assert {target.key, reference.key} == {r["key"] for r in results}


def test_processes_engine_trains_the_same_weights_as_a_chapter_would(tmp_path):
    """Models trained by the runner's worker processes are bit for bit the models a chapter
    trains in its own kernel (same key, same weights), and the cache then lacks nothing."""
    import torch

    profile = _tiny(tmp_path, train_threads=1, n_references=2, gan_steps=10)
    jobs = training_jobs(profile, variant_references=0)
    assert len(missing_jobs(profile, jobs)) == len(jobs)
    lines = []
    results = train_grid(profile, jobs, engine="processes", workers=2, echo=lines.append)
    assert len(results) == len(jobs) and not any(r["from_cache"] for r in results)
    assert sorted(line.split("] ", 1)[1].split(":")[0] for line in lines) == sorted(j.label() for j in jobs)
    assert missing_jobs(profile, jobs) == []
    here = Experiment(profile.replace(cache_dir=str(tmp_path / "elsewhere")), progress=False)
    for role in ("target", "shadow"):
        fresh = here.model("salem_cnn", role)
        assert not fresh.from_cache
        pooled = Experiment(profile, progress=False).model("salem_cnn", role)
        assert pooled.from_cache and pooled.key == fresh.key
        for name, value in fresh.model.state_dict().items():
            assert torch.equal(value, pooled.model.state_dict()[name]), name
    with pytest.raises(ConfigError, match="parameter 'workers' has value 0"):
        train_grid(profile, jobs, engine="processes", workers=0)


def test_pretrain_trains_only_what_the_cache_lacks(tmp_path):
    overrides = dict(architectures=["salem_cnn"], epochs=1, train_size=60, test_size=60, n_members=30,
                     calibration_size=20, cache_dir=str(tmp_path / "cache"), n_references=2, gan_steps=10)
    profile = load_profile("digits", **overrides)
    Experiment(profile, progress=False).model("salem_cnn", "target")  # one model already there
    lines = []
    pretrain_models("digits", overrides, variant_references=0, echo=lambda text, **kw: lines.append(text))
    total = len(training_jobs(profile, variant_references=0))
    assert lines[0].startswith(f"[digits] training {total - 1} model(s) first")
    assert lines[-1].startswith(f"[digits] models: {total - 1} trained in")
    lines.clear()
    pretrain_models("digits", overrides, variant_references=0, echo=lambda text, **kw: lines.append(text))
    assert lines == []


@pytest.mark.after_book
def test_the_book_trained_exactly_the_models_of_the_grid():
    """After the book's run: every model the grid lists is cached, and every cached model of
    the bundled data is one the grid lists, so the runner's training ahead covered all that
    the chapters use and the chapters trained nothing on their own."""
    import json

    from helpers.cache import ModelCache

    profile = load_profile("quick")
    jobs = training_jobs(profile)
    assert missing_jobs(profile, jobs) == []
    grid = {job_key(profile, job) for job in jobs}
    data_key = Experiment(profile, progress=False).data_key
    cache = ModelCache(profile.cache_dir)
    book = {key for key in cache.keys()
            if json.loads(cache.paths(key)[1].read_text())["config"]["data_key"] == data_key}
    assert book and book <= grid, sorted(book - grid)
