"""The answer model: two small logistic regressions over evidence features, fitted by
eval/train_answer.py on one question set and checked on others (weights in
service/data/answer_model.json). The ranker scores each candidate as the answer; the
judge says how likely the chosen answer is right, for abstaining."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.evidence import FEATURES as FEATURE_NAMES

RANKER_FEATURES = (*FEATURE_NAMES, "label×row", "cover×sentence", "context×row", "cover×type",
                   "unit×row")

MODEL_FILE = Path(__file__).parent / "data" / "answer_model.json"
# What the judge sees of the chosen candidate and its competition, after the ranker.
JUDGE_FEATURES = ("score", "margin", "cover", "cover_context", "bound", "rarest", "numbers",
                  "dense", "type_fit", "period", "retrieval", "concepts", "cross_lingual")


def ranker_matrix(features: np.ndarray) -> np.ndarray:
    """What the ranker reads of a question's candidates: each feature, and the products that
    say a row's label, or a sentence's words, fit the kind of answer asked. (A feature
    relative to the question's best candidate adds nothing: the ranker is a softmax over
    one question's candidates, unchanged by a shift common to all of them.)"""
    if not len(features):
        return np.zeros((0, len(RANKER_FEATURES)))
    col = {name: features[:, i:i + 1] for i, name in enumerate(FEATURE_NAMES)}
    row = col["row"]
    products = [col["label"] * row, col["cover"] * (1 - row), col["cover_context"] * row,
                col["cover"] * col["type_fit"], col["unit"] * row]
    return np.hstack([features, *products])


@dataclass(frozen=True)
class Logistic:
    """w·x + b, through the logistic function; features scaled as when it was fitted."""

    names: tuple[str, ...]
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def logit(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weights + self.bias

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(x)))

    def to_json(self) -> dict[str, object]:
        return {"names": list(self.names), "weights": self.weights.tolist(), "bias": self.bias,
                "mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Logistic:
        def array(key: str) -> np.ndarray:
            return np.asarray(data[key], dtype=np.float64)

        return cls(tuple(data["names"]), array("weights"), float(data["bias"]),  # type: ignore[arg-type]
                   array("mean"), array("scale"))


def _zero(names: tuple[str, ...]) -> Logistic:
    return Logistic(names, np.zeros(len(names)), 0.0, np.zeros(len(names)), np.ones(len(names)))


@dataclass(frozen=True)
class AnswerModel:
    ranker: Logistic
    judge: Logistic
    threshold: float  # abstain when the judge's probability is below this
    trained_on: str = ""

    @classmethod
    def neutral(cls) -> AnswerModel:
        """Every weight 0: the starting point eval/train_answer.py fits from."""
        return cls(_zero(RANKER_FEATURES), _zero(JUDGE_FEATURES), -1.0)

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> AnswerModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(Logistic.from_json(data["ranker"]), Logistic.from_json(data["judge"]),
                       float(data["threshold"]), str(data.get("trained_on", "")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path.name}: not a readable answer model ({exc}); refit it "
                             "with eval/train_answer.py") from exc

    def save(self, path: Path = MODEL_FILE) -> None:
        path.write_text(json.dumps({"ranker": self.ranker.to_json(),
                                    "judge": self.judge.to_json(),
                                    "threshold": self.threshold,
                                    "trained_on": self.trained_on}, indent=1), encoding="utf-8")
