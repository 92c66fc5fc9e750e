"""The summary plot: mean |SHAP value| per feature, most important on top, one colour per
explained output (stacked), drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TOP_FEATURES = 20


def summary_png(importance: np.ndarray, features: list[str], outputs: list[str], path: Path):
    """Write the bar chart of ``importance`` (features × outputs) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = np.argsort(importance.sum(axis=1))[::-1][:TOP_FEATURES][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(order) + 1.5))
    left = np.zeros(len(order))
    for o, name in enumerate(outputs):
        ax.barh([features[i] for i in order], importance[order, o], left=left, label=name)
        left += importance[order, o]
    ax.set_xlabel("mean |SHAP value| (contribution to the margin)")
    if len(outputs) > 1:
        ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
