"""Attack evaluation on top of an :class:`~helpers.experiment.Experiment`.

One object answers every question the chapters ask about attacks:

>>> ev = AttackEvaluation(Experiment("quick"))
>>> ev.scores("salem_cnn", "target", "standard", "target_members")   # computed once
>>> attacks = ev.fitted_attacks("salem_cnn", "standard")              # fitted on the shadow
>>> ev.evaluate("salem_cnn", "standard")                              # tidy table (test non-members)
>>> ev.evaluate("salem_cnn", "standard", source="scaled", nonmember_x=x_scaled)

Variants (each applied identically to target and shadow, as the attacker knows the recipe):

* ``standard``, ``label_smoothing``, ``l2``: training variants (:mod:`helpers.experiment`);
* ``temperature``: the standard model's logits divided by ``profile.temperature`` (or the
  evaluation's own ``temperature``);
* ``laplace``: a last-layer KFAC Laplace approximation around the standard model, its
  Hessian fitted on that model's own training split and its prior precision chosen on the
  held-out calibration split (lowest negative log-likelihood), so no evaluation
  non-member is ever seen while fitting it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from .attacks import Attack, fit_attacks
from .cache import cached_tensors, fingerprint
from .calibration import LaplacePredictor, expected_calibration_error, laplace_last_layer, overconfidence_error
from .config import ConfigError
from .experiment import Experiment
from .metrics import evaluate_attacks
from .paths import atomic_write_text
from .labels import MODEL_METRIC_LABELS, fmt_pct, labelled, row_key
from .scores import Scores, scores_from_logits, scores_from_probs
from .training import cached_logits
from .variants import check_variant, training_variant

ATTACK_NAMES = ("entropy", "max_score", "top3")
REPORT_VERSION = "report-3"  # bump when attacks or metrics change (invalidates cached reports); 2: paired recall - precision error; 3: precision 0 in replicates that flag nothing
SCORES_VERSION = "scores-2"  # bump when scoring changes (invalidates cached scores); 2: batch 128 on CPUs
LAPLACE_SETTINGS = "last-layer kron, prior by gridsearch on the calibration split, probit"


def _read_prior(path: Any) -> list[float] | None:
    """The prior precision an earlier Laplace fit chose (``derived/laplace-prior-*.json``),
    or ``None`` when there is no usable entry (then the grid search runs)."""
    try:
        values = json.loads(path.read_text())["prior_precision"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    ok = isinstance(values, list) and values and all(
        isinstance(v, (int, float)) and np.isfinite(v) and v > 0 for v in values)
    return [float(v) for v in values] if ok else None


class AttackEvaluation:
    """Scores, fitted attacks and metric tables for one experiment, each computed once.

    ``temperature`` is the ``T`` of the ``temperature`` variant (default
    ``profile.temperature``): ``AttackEvaluation(exp, temperature=t)`` evaluates another
    temperature on the same experiment's models, e.g. one fitted on the calibration split.
    """

    def __init__(self, experiment: Experiment, attacks: Sequence[str] = ATTACK_NAMES, rule: str = "ranked",
                 temperature: float | None = None):
        if temperature is not None and not (isinstance(temperature, (int, float)) and np.isfinite(temperature)
                                            and temperature > 0):
            raise ConfigError(f"parameter 'temperature' has value {temperature!r}; allowed: a number > 0 or None")
        self.exp = experiment
        self.temperature = experiment.profile.temperature if temperature is None else temperature
        self.attack_names = tuple(attacks)
        self.rule = rule
        self._scores: dict[tuple, Scores] = {}
        self._attacks: dict[tuple, dict[str, Attack]] = {}
        self._laplace: dict[tuple, LaplacePredictor] = {}
        self._reports: dict[tuple, pd.DataFrame] = {}  # like the scores: one per (model, variant, source name)

    # ----------------------------------------------------------------- predictors
    def _check_variant(self, variant: str) -> None:
        check_variant(variant)

    def base_model(self, architecture: str, role: str, variant: str) -> torch.nn.Module:
        """The trained network behind a variant (post-hoc variants reuse the standard one)."""
        self._check_variant(variant)
        training = training_variant(variant)
        return self.exp.model(architecture, role, training).model

    def laplace(self, architecture: str, role: str) -> LaplacePredictor:
        """Last-layer Laplace around the standard model, fitted on its own training split."""
        key = (architecture, role)
        if key not in self._laplace:
            model = self.base_model(architecture, role, "standard")
            split = f"{role}_train"
            x_fit, y_fit = self.exp.input_set(split)
            x_eval_non, _ = self.exp.input_set(f"{role}_nonmembers")
            x_cal, y_cal = self.exp.input_set("calibration")
            dev = self.exp.device
            digest = hashlib.sha256(self._predictor_key(architecture, role, "laplace").encode()).hexdigest()
            prior_file = self.exp.cache_dir / "derived" / f"laplace-prior-{digest[:32]}.json"
            la = laplace_last_layer(
                model, x_fit.to(dev), y_fit.to(dev), method="gridsearch",
                prior_fit_x=x_cal.to(dev), prior_fit_y=y_cal.to(dev),
                seed=self.exp.profile.seed, fit_key=split, prior_key="calibration",
                forbidden={f"{role}_nonmembers": x_eval_non.to(dev)},
                prior_precision=_read_prior(prior_file),
            )
            if not la.fitted_on["prior_reused"]:
                prior_file.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(json.dumps({"prior_precision": la.prior_precision.tolist()}), prior_file)
            self._laplace[key] = la
        return self._laplace[key]

    def _predictor_key(self, architecture: str, role: str, variant: str) -> str:
        """What a variant's predictions depend on: the trained model's cache key, and the
        temperature, or (Laplace) the splits, the seed and the fit's settings."""
        training = training_variant(variant)
        parts = [SCORES_VERSION, self.exp.model(architecture, role, training).key, variant]
        if variant == "temperature":
            parts.append(repr(self.temperature))
        if variant == "laplace":
            parts += [self.exp.splits.key(), str(self.exp.profile.seed), LAPLACE_SETTINGS]
        return "|".join(parts)

    def predict_scores(self, architecture: str, role: str, variant: str, x: torch.Tensor) -> Scores:
        """Scores of arbitrary inputs ``x`` under one model variant.

        The logits of the trained models are cached on disk (:func:`helpers.training.cached_logits`),
        and so are the Laplace predictive's probabilities (``derived/laplace-*.pt``, keyed by
        :meth:`_predictor_key` and a hash of the inputs): a later chapter or a re-run reads
        them instead of recomputing them.
        """
        self._check_variant(variant)
        device = self.exp.device
        if variant != "laplace":
            training = training_variant(variant)
            trained = self.exp.model(architecture, role, training)
            logits = cached_logits(trained, x, cache_dir=self.exp.profile.cache_dir, device=device)
            temperature = self.temperature if variant == "temperature" else 1.0
            return scores_from_logits(logits.numpy(), temperature=temperature)
        key = hashlib.sha256(f"{self._predictor_key(architecture, role, variant)}|{fingerprint(x)}".encode())
        path = self.exp.cache_dir / "derived" / f"laplace-{key.hexdigest()[:32]}.pt"
        stored = cached_tensors(path, lambda: {
            "probs": torch.from_numpy(self.laplace(architecture, role).predict_proba(x.to(device)))})
        return scores_from_probs(stored["probs"].numpy())

    def scores(self, architecture: str, role: str, variant: str, set_name: str,
               x: torch.Tensor | None = None) -> Scores:
        """Scores of a named input set, computed once per (model, variant, set).

        ``set_name`` is a split of the experiment (``target_members`` ...) or, with ``x``
        given, any name for those inputs (e.g. a non-member source).
        """
        key = (architecture, role, variant, set_name)
        if key not in self._scores:
            if x is None:
                x, y = self.exp.input_set(set_name)
                s = self.predict_scores(architecture, role, variant, x)
                s = Scores(probs=s.probs, log_probs=s.log_probs, logits=s.logits, labels=y.numpy())
            else:
                s = self.predict_scores(architecture, role, variant, x)
            self._scores[key] = s
        return self._scores[key]

    # ------------------------------------------------------------------- attacks
    def fitted_attacks(self, architecture: str, variant: str) -> dict[str, Attack]:
        """The attacks fitted on the shadow model's members vs non-members (same variant)."""
        key = (architecture, variant)
        if key not in self._attacks:
            members = self.scores(architecture, "shadow", variant, "shadow_members")
            nonmembers = self.scores(architecture, "shadow", variant, "shadow_nonmembers")
            self._attacks[key] = fit_attacks(self.attack_names, members, nonmembers,
                                             seed=self.exp.profile.seed, rule=self.rule)
        return self._attacks[key]

    def evaluate(self, architecture: str, variant: str = "standard", source: str = "test",
                 nonmember_x: torch.Tensor | None = None) -> pd.DataFrame:
        """Tidy metrics of every attack on the target: members vs one non-member source.

        ``source='test'`` uses the target's own held-out non-members; any other source needs
        ``nonmember_x`` (inputs already in the target's preprocessing).
        """
        if source != "test" and nonmember_x is None:
            raise ConfigError(f"parameter 'nonmember_x' is missing for source {source!r}; "
                              "allowed: tensors of that source (only 'test' is built in)")
        key = (architecture, variant, source)
        if key not in self._reports:
            self._reports[key] = self._cached_report(architecture, variant, source, nonmember_x)
        return self._reports[key].copy()

    def _cached_report(self, architecture: str, variant: str, source: str,
                       nonmember_x: torch.Tensor | None) -> pd.DataFrame:
        """:meth:`evaluate`'s table, computed once and stored (``derived/report-*.json``)
        under the target's and shadow's predictor keys, the splits, the non-members' hash,
        the attacks, the tie rule and the seed: the attack fits and bootstraps of one chapter
        serve every later chapter and re-run."""
        digest = hashlib.sha256("|".join([
            REPORT_VERSION, self._predictor_key(architecture, "target", variant),
            self._predictor_key(architecture, "shadow", variant), self.exp.splits.key(), self.exp.data_key,
            source, ",".join(self.attack_names), self.rule, str(self.exp.profile.seed),
            fingerprint(nonmember_x) if nonmember_x is not None and source != "test" else ""]).encode())
        path = self.exp.cache_dir / "derived" / f"report-{digest.hexdigest()[:32]}.json"
        if path.is_file():
            try:
                return pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
            except ValueError:
                path.unlink(missing_ok=True)  # unreadable: computed again below
        members = self.scores(architecture, "target", variant, "target_members")
        if source == "test":
            nonmembers = self.scores(architecture, "target", variant, "target_nonmembers")
        else:
            nonmembers = self.scores(architecture, "target", variant, f"source:{source}", nonmember_x)
        report = evaluate_attacks(self.fitted_attacks(architecture, variant), members, nonmembers,
                                  architecture=architecture, variant=variant, source=source)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(json.dumps(report.to_dict(orient="records"), default=float), path)
        return report

    # -------------------------------------------------------------- model tables
    def model_metrics(self, architecture: str, variant: str = "standard") -> dict[str, float]:
        """Train/test accuracy of the target and its ECE / OE on the target's test non-members."""
        out: dict[str, float] = {}
        for split, label in (("target_members", "train"), ("target_nonmembers", "test")):
            s = self.scores(architecture, "target", variant, split)
            out[f"{label}_accuracy"] = float((s.probs.argmax(1) == s.labels).mean())
        s = self.scores(architecture, "target", variant, "target_nonmembers")
        out["ece"] = expected_calibration_error(s.probs, s.labels)
        out["oe"] = overconfidence_error(s.probs, s.labels)
        return out

    def table(self, architectures: Sequence[str], variant: str = "standard",
              metrics: Sequence[str] = ("precision", "recall", "fpr", "auroc"),
              with_calibration: bool = False) -> pd.DataFrame:
        """A paper-style table on test non-members: columns are architectures, rows are
        named ``train_accuracy``, ``test_accuracy`` (``ece``, ``oe`` with calibration) and
        ``<attack>_<metric>`` (:func:`helpers.labels.row_key`); show it with
        :func:`helpers.labels.labelled`."""
        model_rows = list(MODEL_METRIC_LABELS) if with_calibration else ["train_accuracy", "test_accuracy"]
        columns = {}
        for arch in architectures:
            m = self.model_metrics(arch, variant)
            col = {name: m[name] for name in model_rows}
            rep = self.evaluate(arch, variant).set_index("attack")
            for attack in self.attack_names:
                for metric in metrics:
                    col[row_key(attack, metric)] = rep.loc[attack, metric]
            columns[arch] = col
        return pd.DataFrame(columns)


def styled_percent(table: pd.DataFrame, digits: int = 2) -> Any:
    """A pandas Styler that prints fractions as percentages (for notebook display)."""
    return table.style.format(lambda v: f"{100 * v:.{digits}f} %" if isinstance(v, (float, np.floating)) and np.isfinite(v) else v)


def variant_table(ev: AttackEvaluation, architectures: Sequence[str], variants: Sequence[str]) -> pd.DataFrame:
    """The paper's Table 2 layout: rows are named metrics (see :meth:`AttackEvaluation.table`),
    columns ``(architecture, variant)``."""
    columns = {}
    for arch in architectures:
        for variant in variants:
            columns[(arch, variant)] = ev.table([arch], variant, with_calibration=True)[arch]
    return pd.DataFrame(columns)


def with_arrows(table: pd.DataFrame, base: str = "standard", min_change: float = 0.01) -> pd.DataFrame:
    """For display: percent strings, with an arrow where a variant differs from ``base`` by
    at least ``min_change``, and the paper's labels (:func:`helpers.labels.labelled`).

    ``table`` has ``(architecture, variant)`` columns, as :func:`variant_table` returns.
    """
    out = table.map(lambda v: f"{100 * v:.1f} %")
    for arch, variant in table.columns:
        if variant == base:
            continue
        delta = table[(arch, variant)] - table[(arch, base)]
        arrows = np.where(delta >= min_change, "↑ ", np.where(delta <= -min_change, "↓ ", ""))
        out[(arch, variant)] = [a + s for a, s in zip(arrows, out[(arch, variant)])]
    return labelled(out)


def change_between(table: pd.DataFrame, row: str, variant: str, base: str = "standard") -> str:
    """``'arch: x % to y %; ...'``: one row of a :func:`variant_table`, from ``base`` to
    ``variant``, for every architecture in the table (for prose)."""
    archs = list(dict.fromkeys(a for a, _ in table.columns))
    return "; ".join(f"{a}: {fmt_pct(table.loc[row, (a, base)])} to {fmt_pct(table.loc[row, (a, variant)])}"
                     for a in archs)


def count_lower(table: pd.DataFrame, row: str, variant: str, base: str = "standard") -> str:
    """``'k of n'``: for how many architectures ``variant`` is below ``base`` in ``row``."""
    archs = list(dict.fromkeys(a for a, _ in table.columns))
    n = sum(bool(table.loc[row, (a, variant)] < table.loc[row, (a, base)]) for a in archs)
    return f"{n} of {len(archs)}"
