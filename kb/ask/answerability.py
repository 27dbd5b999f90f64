"""Learned answerability: a calibrated probability that the composer's best answer is right.

A logistic regression over features of what the composer saw (``Answer.features``: lexical support, missing
anchors, whether the sentence holds the asked-for kind of fact, score margin, coverage, the retrievers' raw top
scores), fitted on the user-voice training split by eval/fit_answerability.py and stored as data in
kb/ask/answerability.json with the features it uses. The composer abstains when the probability is below the model's
threshold, chosen on the training split.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MODEL_PATH = Path(__file__).resolve().parent / "answerability.json"


@dataclass(frozen=True)
class AnswerabilityModel:
    """Weights over named features (standardised with ``mean``/``scale``), a bias and the abstention threshold."""

    weights: dict[str, float]
    bias: float
    threshold: float
    mean: dict[str, float] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    transforms: dict[str, str] = field(default_factory=dict)  # feature -> "log1p" where the raw value is skewed

    def value(self, name: str, features: Mapping[str, float]) -> float:
        """One feature, transformed and standardised as in fitting (0 when the composer did not report it)."""
        if name not in features:
            return 0.0  # the mean, standardised
        x = float(features[name])
        if self.transforms.get(name) == "log1p":
            x = math.log1p(max(x, 0.0))
        return (x - self.mean.get(name, 0.0)) / (self.scale.get(name, 1.0) or 1.0)

    def probability(self, features: Mapping[str, float]) -> float:
        """P(the answer is right) for one answer's features."""
        z = self.bias + sum(w * self.value(name, features) for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_dict(self) -> dict:
        """The JSON form stored in kb/ask/answerability.json."""
        return {"weights": self.weights, "bias": self.bias, "threshold": self.threshold, "mean": self.mean,
                "scale": self.scale, "transforms": self.transforms}

    @classmethod
    def from_dict(cls, data: Mapping) -> AnswerabilityModel:
        """A model from its JSON form."""
        return cls(weights=dict(data["weights"]), bias=float(data["bias"]), threshold=float(data["threshold"]),
                   mean=dict(data.get("mean", {})), scale=dict(data.get("scale", {})),
                   transforms=dict(data.get("transforms", {})))


def load_model(path: Path = MODEL_PATH) -> AnswerabilityModel | None:
    """The shipped model, or None when there is none (the composer then uses its lexical threshold)."""
    if not path.exists():
        return None
    return AnswerabilityModel.from_dict(json.loads(path.read_text(encoding="utf-8")))
