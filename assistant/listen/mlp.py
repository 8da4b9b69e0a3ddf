"""A small MLP in numpy: standardized embedding windows -> class probabilities.

Inference is two matrix products; training is mini-batch Adam on a weighted softmax
cross-entropy, driven by a seeded numpy Generator (the same seed gives the same weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mlp:
    """Weights of one detector head. Class 0 is always "none"."""

    mean: np.ndarray
    """Per-feature mean of the training windows (flattened frames x 96)."""
    scale: np.ndarray
    """Per-feature 1 / standard deviation."""
    w1: np.ndarray
    """First layer weights (features, hidden)."""
    b1: np.ndarray
    """First layer bias (hidden,)."""
    w2: np.ndarray
    """Output layer weights (hidden, classes)."""
    b2: np.ndarray
    """Output layer bias (classes,)."""

    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        """Class probabilities (n, classes) of windows (n, frames, 96)."""
        x = windows.reshape(len(windows), -1).astype(np.float32)
        h = np.maximum(0.0, ((x - self.mean) * self.scale) @ self.w1 + self.b1)
        logits = h @ self.w2 + self.b2
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float32)


@dataclass(frozen=True)
class TrainSettings:
    """How to fit one head."""

    hidden: int = 64
    """Hidden units."""
    epochs: int = 10
    """Passes over the positives (negatives are sampled each step)."""
    batch: int = 256
    """Windows per step."""
    lr: float = 1e-3
    """Adam step size."""
    weight_decay: float = 1e-3
    """L2 penalty on the weights."""
    negative_share: float = 0.6
    """Share of each batch drawn from the negatives."""
    hard_share: float = 0.3
    """Share of the negative draws taken from the hardest negatives after the first epoch."""
    dropout: float = 0.3
    """Dropout on the hidden layer while training."""
    min_steps: int = 150
    """Fewest steps per epoch (small runs still get trained)."""


def fit(
    x: np.ndarray, y: np.ndarray, classes: int, settings: TrainSettings, seed: int
) -> Mlp:
    """Train on windows ``x`` (n, frames, 96) with labels ``y`` (0 = none)."""
    rng = np.random.default_rng(seed)
    flat = x.reshape(len(x), -1).astype(np.float32)
    mean = flat.mean(axis=0)
    scale = (1.0 / (flat.std(axis=0) + 1e-3)).astype(np.float32)
    feats = (flat - mean) * scale
    dim = feats.shape[1]
    params = [
        (rng.standard_normal((dim, settings.hidden)) * np.sqrt(2.0 / dim)).astype(np.float32),
        np.zeros(settings.hidden, dtype=np.float32),
        (rng.standard_normal((settings.hidden, classes)) * np.sqrt(1.0 / settings.hidden)).astype(
            np.float32
        ),
        np.zeros(classes, dtype=np.float32),
    ]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    neg = np.flatnonzero(y == 0)
    pos = np.flatnonzero(y != 0)
    n_neg = int(settings.batch * settings.negative_share)
    n_pos = settings.batch - n_neg
    steps_per_epoch = max(
        settings.min_steps, int(np.ceil(max(len(pos) / max(1, n_pos), len(neg) / max(1, n_neg))))
    )
    hard = neg
    step = 0
    for epoch in range(settings.epochs):
        if epoch > 0 and len(neg):
            probs = _forward(feats[neg], params)[2]
            order = np.argsort(probs[:, 0])
            hard = neg[order[: max(1, len(neg) // 20)]]
        for _ in range(steps_per_epoch):
            step += 1
            n_hard = int(n_neg * settings.hard_share) if epoch > 0 else 0
            parts = [
                rng.choice(pos, n_pos) if len(pos) else np.zeros(0, dtype=int),
                rng.choice(neg, n_neg - n_hard) if len(neg) else np.zeros(0, dtype=int),
                rng.choice(hard, n_hard) if n_hard else np.zeros(0, dtype=int),
            ]
            idx = np.concatenate(parts)
            grads = _gradients(feats[idx], y[idx], params, settings.dropout, rng)
            for i, grad in enumerate(grads):
                if i % 2 == 0:
                    grad = grad + settings.weight_decay * params[i]
                moments[i] = 0.9 * moments[i] + 0.1 * grad
                squares[i] = 0.999 * squares[i] + 0.001 * grad * grad
                m_hat = moments[i] / (1 - 0.9**step)
                v_hat = squares[i] / (1 - 0.999**step)
                params[i] = (params[i] - settings.lr * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(
                    np.float32
                )
    return Mlp(mean.astype(np.float32), scale, params[0], params[1], params[2], params[3])


def _forward(
    feats: np.ndarray, params: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pre = feats @ params[0] + params[1]
    hidden = np.maximum(0.0, pre)
    logits = hidden @ params[2] + params[3]
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return pre, hidden, e / e.sum(axis=1, keepdims=True)


def _gradients(
    feats: np.ndarray,
    labels: np.ndarray,
    params: list[np.ndarray],
    dropout: float,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    pre = feats @ params[0] + params[1]
    mask = (rng.random(pre.shape) >= dropout).astype(np.float32) / (1.0 - dropout)
    hidden = np.maximum(0.0, pre) * mask
    logits = hidden @ params[2] + params[3]
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    probs = e / e.sum(axis=1, keepdims=True)
    d_logits = probs
    d_logits[np.arange(len(labels)), labels] -= 1.0
    d_logits /= len(labels)
    g_w2 = hidden.T @ d_logits
    g_b2 = d_logits.sum(axis=0)
    d_hidden = (d_logits @ params[2].T) * mask * (pre > 0)
    g_w1 = feats.T @ d_hidden
    g_b1 = d_hidden.sum(axis=0)
    return [g_w1, g_b1, g_w2, g_b2]
