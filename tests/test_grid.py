"""`helpers train`: a profile's models as independent jobs, locally and on a local Ray instance."""

import pytest

from helpers.config import ConfigError, load_profile
from helpers.experiment import Experiment
from helpers.reference_models import ReferenceModels
from helpers.tooling.grid import TrainingJob, train_grid, training_jobs


def _tiny(tmp_path, **more):
    return load_profile("digits", architectures=["salem_cnn"], epochs=1, train_size=60, test_size=60,
                        n_members=30, calibration_size=20, cache_dir=str(tmp_path / "cache"), **more)


def test_the_grid_lists_every_model_the_chapters_train():
    profile = load_profile("quick")
    jobs = training_jobs(profile)
    models = [j for j in jobs if j.role != "reference"]
    refs = [j for j in jobs if j.role == "reference"]
    assert len(models) == len(profile.architectures) * 3 * 2
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
