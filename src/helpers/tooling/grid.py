"""Train a profile's models ahead of the chapters: one independent job per model.

The models a profile needs do not depend on each other: every target and shadow model
(architecture x role x training variant) and the reference models of chapter 8. Each job
trains (or finds) its model in the shared, verified model cache; the chapters then run on
the warm cache and train nothing. Locally the jobs run one after another in this process;
with ``engine="ray"`` each becomes a Ray task, on this machine or on a cluster whose nodes
share the cache folder (``python -m helpers train --engine ray --address HOST:PORT``).

>>> jobs = training_jobs(load_profile("quick"))
>>> train_grid(load_profile("quick"), jobs)                      # here, one after another
>>> train_grid(load_profile("quick"), jobs, engine="ray")        # a local Ray instance
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from ..cache import default_cache_dir
from ..config import ConfigError, Profile
from ..experiment import Experiment
from ..reference_models import ReferenceModels
from ..training import ROLES
from ..variants import TRAINING_VARIANTS

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class TrainingJob:
    """One model: a target or shadow model, or reference model ``k`` of ``n_references``."""

    architecture: str
    role: str  # "target", "shadow" or "reference"
    variant: str
    k: int = 0
    n_references: int = 0

    def label(self) -> str:
        if self.role == "reference":
            return f"{self.architecture} reference {self.k + 1}/{self.n_references} ({self.variant})"
        return f"{self.architecture} {self.role} ({self.variant})"


def training_jobs(profile: Profile, *, references: bool = True, variant_references: int = 2) -> list[TrainingJob]:
    """Every model the chapters train under ``profile``.

    Targets and shadows of every architecture and training variant; with ``references``,
    chapter 8's reference models of the first architecture: ``profile.n_references`` of the
    standard recipe and ``variant_references`` (chapter 8's parameter) of each other one.
    """
    if not isinstance(variant_references, int) or variant_references < 0:
        raise ConfigError(f"parameter 'variant_references' has value {variant_references!r}; "
                          "allowed: an integer >= 0")
    jobs = [TrainingJob(a, role, v) for a in profile.architectures for v in TRAINING_VARIANTS for role in ROLES]
    if references:
        arch = profile.architectures[0]
        for v in TRAINING_VARIANTS:
            n = profile.n_references if v == "standard" else min(variant_references, profile.n_references)
            jobs += [TrainingJob(arch, "reference", v, k, n) for k in range(n)]
    return jobs


def run_job(profile: Profile, job: TrainingJob) -> dict[str, Any]:
    """Train (or load from the cache) the model of ``job``; returns what happened."""
    exp = Experiment(profile, progress=False)
    start = time.perf_counter()
    if job.role == "reference":
        trained = ReferenceModels(exp, job.architecture, job.variant, job.n_references).model(job.k)
    else:
        trained = exp.model(job.architecture, job.role, job.variant)
    return {"job": job.label(), "key": trained.key, "from_cache": trained.from_cache,
            "seconds": round(time.perf_counter() - start, 1)}


def _line(result: dict[str, Any], done: int, total: int) -> str:
    how = "from the cache" if result["from_cache"] else f"trained in {result['seconds']:.0f} s"
    return f"[{done}/{total}] {result['job']}: {how}"


def train_grid(profile: Profile, jobs: list[TrainingJob], *, engine: str = "local", address: str | None = None,
               echo: Callable[[str], Any] = print) -> list[dict[str, Any]]:
    """Run ``jobs`` with ``engine`` (``local`` or ``ray``) and return one result per job.

    The cache folder is resolved here to an absolute path, so that every worker writes into
    the same cache; on a cluster it must be a folder all nodes share. ``address`` is a Ray
    cluster's address (``None``: start a local Ray instance for these jobs).
    """
    if engine not in ENGINES:
        raise ConfigError(f"parameter 'engine' has value {engine!r}; allowed: one of {list(ENGINES)}")
    profile = profile.replace(cache_dir=str(default_cache_dir(profile.cache_dir).resolve()))
    results: list[dict[str, Any]] = []
    if engine == "local":
        for job in jobs:
            results.append(run_job(profile, job))
            echo(_line(results[-1], len(results), len(jobs)))
        return results
    try:
        import ray  # optional: only this engine needs it
    except ImportError as err:  # pragma: no cover - ray is in the pinned environment
        raise ConfigError("parameter 'engine' has value 'ray', but Ray is not installed; "
                          "allowed: 'local', or install ray (see requirements.txt)") from err
    started = not ray.is_initialized()
    if started:
        local = {} if address else {"object_store_memory": 256 * 1024**2}  # models travel via the cache
        ray.init(address=address, include_dashboard=False, log_to_driver=False, **local)
    try:
        task = ray.remote(num_cpus=profile.cpu_threads)(run_job)
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
