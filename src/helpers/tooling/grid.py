"""Train a profile's models ahead of the chapters: one independent job per model.

The models a profile needs do not depend on each other: every target and shadow model
(architecture x role x training variant), chapter 1's SiLU SalemCNN, the attacker's
generator of chapter 4 and the reference models of chapter 8. Each job trains (or finds)
its model in the shared, verified model cache; the chapters then run on the warm cache and
train nothing. Three engines run the jobs:

- ``local``: one after another in this process;
- ``processes``: in ``workers`` worker processes on this machine, most expensive job first
  (the runner uses it before a whole-book run when the cores hold more than one training
  at the profile's ``train_threads``);
- ``ray``: one Ray task per job, on this machine or on a cluster whose nodes share the
  cache folder (``python -m helpers train --engine ray --address HOST:PORT``).

>>> jobs = training_jobs(load_profile("quick"))
>>> train_grid(load_profile("quick"), jobs)                      # here, one after another
>>> train_grid(load_profile("quick"), jobs, engine="processes")  # in parallel processes
>>> train_grid(load_profile("quick"), jobs, engine="ray")        # a local Ray instance
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..cache import ModelCache, default_cache_dir
from ..config import ConfigError, Profile
from ..experiment import Experiment
from ..generator import fake_generator, generator_is_cached, generator_key
from ..reference_models import ReferenceModels
from ..training import ROLES
from ..variants import TRAINING_VARIANTS

ENGINES = ("local", "processes", "ray")
SMOOTH_ACTIVATION = "silu"  # chapter 1 compares the ReLU SalemCNN with this one
SMOOTH_ARCHITECTURE = "salem_cnn"


@dataclass(frozen=True)
class TrainingJob:
    """One model: a target or shadow model, reference model ``k`` of ``n_references``, or
    the attacker's generator (role ``generator``). ``activation`` overrides the profile's."""

    architecture: str
    role: str  # "target", "shadow", "reference" or "generator"
    variant: str = "standard"
    k: int = 0
    n_references: int = 0
    activation: str | None = None
    replicate: int = 0

    def label(self) -> str:
        if self.role == "generator":
            return "the attacker's generator"
        if self.role == "reference":
            return f"{self.architecture} reference {self.k + 1}/{self.n_references} ({self.variant})"
        extra = f", {self.activation}" if self.activation else ""
        extra += f", replicate {self.replicate + 1}" if self.replicate else ""
        return f"{self.architecture} {self.role} ({self.variant}{extra})"


def training_jobs(profile: Profile, *, references: bool = True, variant_references: int = 2,
                  extras: bool = True) -> list[TrainingJob]:
    """Every model the chapters train under ``profile``.

    Targets and shadows of every architecture and training variant, for each of the
    profile's ``replicates`` training runs; with ``extras``,
    chapter 1's SiLU SalemCNN and chapter 4's generator; with ``references``, chapter 8's
    reference models of the first architecture: ``profile.n_references`` of the standard
    recipe and ``variant_references`` (chapter 8's parameter) of each other one.
    """
    if not isinstance(variant_references, int) or variant_references < 0:
        raise ConfigError(f"parameter 'variant_references' has value {variant_references!r}; "
                          "allowed: an integer >= 0")
    jobs = [TrainingJob(a, role, v, replicate=r) for r in range(profile.replicates)
            for a in profile.architectures for v in TRAINING_VARIANTS for role in ROLES]
    if extras:
        if not (SMOOTH_ARCHITECTURE in profile.architectures and profile.activation == SMOOTH_ACTIVATION):
            jobs.append(TrainingJob(SMOOTH_ARCHITECTURE, "target", activation=SMOOTH_ACTIVATION))
        jobs.append(TrainingJob("generator", "generator"))
    if references:
        arch = profile.architectures[0]
        for v in TRAINING_VARIANTS:
            n = profile.n_references if v == "standard" else min(variant_references, profile.n_references)
            jobs += [TrainingJob(arch, "reference", v, k, n) for k in range(n)]
    return jobs


_EXPERIMENTS: dict[str, Experiment] = {}


def _experiment(profile: Profile, activation: str | None = None, replicate: int = 0) -> Experiment:
    """One :class:`Experiment` per profile, replicate and process (data loaded and hashed
    once per profile)."""
    if activation is not None and activation != profile.activation:
        profile = profile.replace(activation=activation)
    key = profile.key()
    if key not in _EXPERIMENTS:
        _EXPERIMENTS[key] = Experiment(profile, progress=False)
    if replicate == 0:
        return _EXPERIMENTS[key]
    return _EXPERIMENTS[key].replicates()[replicate]


def release_experiments() -> None:
    """Drop the experiments this process keeps for its jobs (their data and models)."""
    _EXPERIMENTS.clear()


def job_key(profile: Profile, job: TrainingJob) -> str:
    """The cache key under which ``job``'s model (or generator) is stored."""
    exp = _experiment(profile, job.activation)
    if job.role == "generator":
        return generator_key(exp)
    if job.role == "reference":
        return ReferenceModels(exp, job.architecture, job.variant, job.n_references).config(job.k).key()
    return _experiment(profile, job.activation, job.replicate).train_config(job.architecture, job.role,
                                                                            job.variant).key()


def missing_jobs(profile: Profile, jobs: list[TrainingJob]) -> list[TrainingJob]:
    """The jobs whose model is not in the cache yet (files present; loading verifies them)."""
    cache = ModelCache(profile.cache_dir)
    missing = []
    for job in jobs:
        cached = generator_is_cached(_experiment(profile)) if job.role == "generator" else job_key(profile, job) in cache
        if not cached:
            missing.append(job)
    return missing


def _cost(profile: Profile, job: TrainingJob, rates: dict[tuple, float]) -> float:
    """Estimated training seconds of ``job``, to start the longest jobs first: one timed
    training step per distinct model (``rates`` memoises them) x the steps of its recipe.
    The generator counts as the most expensive job."""
    if job.role == "generator":
        return float("inf")
    import torch

    from ..training import cpu_threads, new_model

    exp = _experiment(profile, job.activation)
    cfg = exp.train_config(job.architecture, "target", job.variant)
    shape = (cfg.architecture, cfg.width, cfg.activation)
    if shape not in rates:
        x, y = (t[: cfg.batch_size] for t in exp.input_set("target_train"))
        model = new_model(cfg).train()
        with cpu_threads(profile.training_threads):
            for step in range(2):  # the first step pays one-off set-up costs
                began = time.perf_counter()
                torch.nn.functional.cross_entropy(model(x), y).backward()
        rates[shape] = (time.perf_counter() - began) / len(x)
    return rates[shape] * cfg.epochs * profile.train_size


def run_job(profile: Profile, job: TrainingJob) -> dict[str, Any]:
    """Train (or load from the cache) the model of ``job``; returns what happened."""
    exp = _experiment(profile, job.activation)
    start = time.perf_counter()
    if job.role == "generator":
        from_cache = generator_is_cached(exp)
        fake_generator(exp)
        return {"job": job.label(), "key": generator_key(exp), "from_cache": from_cache,
                "seconds": round(time.perf_counter() - start, 1)}
    if job.role == "reference":
        trained = ReferenceModels(exp, job.architecture, job.variant, job.n_references).model(job.k)
    else:
        trained = _experiment(profile, job.activation, job.replicate).model(job.architecture, job.role, job.variant)
    return {"job": job.label(), "key": trained.key, "from_cache": trained.from_cache,
            "seconds": round(time.perf_counter() - start, 1)}


def _line(result: dict[str, Any], done: int, total: int) -> str:
    how = "from the cache" if result["from_cache"] else f"trained in {result['seconds']:.0f} s"
    return f"[{done}/{total}] {result['job']}: {how}"


def default_workers(profile: Profile) -> int:
    """Worker processes that fill this machine's cores at ``profile.training_threads`` each."""
    return max(1, (os.cpu_count() or 1) // profile.training_threads)


def train_grid(profile: Profile, jobs: list[TrainingJob], *, engine: str = "local", address: str | None = None,
               workers: int | None = None, echo: Callable[[str], Any] = print) -> list[dict[str, Any]]:
    """Run ``jobs`` with ``engine`` (``local``, ``processes`` or ``ray``); one result per job.

    The cache folder is resolved here to an absolute path, so that every worker writes into
    the same cache; on a cluster it must be a folder all nodes share. ``workers``: processes
    of the ``processes`` engine (default :func:`default_workers`). ``address`` is a Ray
    cluster's address (``None``: start a local Ray instance for these jobs).
    """
    if engine not in ENGINES:
        raise ConfigError(f"parameter 'engine' has value {engine!r}; allowed: one of {list(ENGINES)}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"parameter 'workers' has value {workers!r}; allowed: an integer >= 1")
    profile = profile.replace(cache_dir=str(default_cache_dir(profile.cache_dir).resolve()))
    results: list[dict[str, Any]] = []
    if engine == "local":
        for job in jobs:
            results.append(run_job(profile, job))
            echo(_line(results[-1], len(results), len(jobs)))
        return results
    if engine == "processes":
        return _train_in_processes(profile, jobs, workers or default_workers(profile), echo)
    return _train_with_ray(profile, jobs, address, echo)


def _train_in_processes(profile: Profile, jobs: list[TrainingJob], workers: int,
                        echo: Callable[[str], Any]) -> list[dict[str, Any]]:
    """The ``processes`` engine: a pool of fresh ("spawn") processes, longest job first."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    rates: dict[tuple, float] = {}
    order = sorted(jobs, key=lambda job: -_cost(profile, job, rates))
    results: list[dict[str, Any]] = []
    pool = ProcessPoolExecutor(max_workers=min(workers, len(order)) or 1,
                               mp_context=multiprocessing.get_context("spawn"))
    try:
        pending = {pool.submit(run_job, profile, job) for job in order}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                results.append(future.result())  # a failed job raises here
                echo(_line(results[-1], len(results), len(order)))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def _train_with_ray(profile: Profile, jobs: list[TrainingJob], address: str | None,
                    echo: Callable[[str], Any]) -> list[dict[str, Any]]:
    try:
        import ray  # optional: only this engine needs it
    except ImportError as err:  # pragma: no cover - ray is in the pinned environment
        raise ConfigError("parameter 'engine' has value 'ray', but Ray is not installed; "
                          "allowed: 'local', or install ray (see requirements.txt)") from err
    results: list[dict[str, Any]] = []
    started = not ray.is_initialized()
    if started:
        local = {} if address else {"object_store_memory": 256 * 1024**2}  # models travel via the cache
        ray.init(address=address, include_dashboard=False, log_to_driver=False, **local)
    try:
        task = ray.remote(num_cpus=profile.training_threads)(run_job)
        pending = {task.remote(profile, job): job for job in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            pending.pop(done[0])
            results.append(ray.get(done[0]))
            echo(_line(results[-1], len(results), len(jobs)))
    finally:
        if started:
            ray.shutdown()
    return results
