"""Double talk: is someone speaking over Haven, or is it only Haven's own voice?

While Haven speaks, its voice reaches the microphone too, a little later and quieter,
smeared by the room. Haven knows exactly what it played and when (the speaker's
:class:`assistant.playback.PlaybackTap`), so it can tell how much of what the microphone
heard its own voice explains. In twelve frequency bands, 10 ms step by step: at the delay
that fits best, Haven's played level in each band plus that band's gain (the
speaker-to-microphone path), with a decaying tail for the room's reverberation, predicts
the microphone's level there. A step in which several bands stand ``margin_db`` above
that prediction (and above the noise) holds a voice that is not Haven's. A partner who
says "we need a pause" over a prompt fills a few tenths of a second with such steps, in
the gaps between Haven's words and over them, since two voices fill different bands;
Haven's voice alone fills almost none, whatever words the recognizer makes of it.

Each band's gain is fitted on the steps where Haven was loud in it. Nothing here needs
the two clocks to agree closely: the delay is searched from ``min_lag_s`` to
``max_lag_s`` (the one where Haven's overall level follows the microphone's best), and
Haven's levels are spread ``jitter_s`` either side, since on a busy machine the output
underruns now and then, and Haven's voice runs a little later than it was sent. The
levels are compared, not the waveforms, so this cancels nothing: it only tells whether
there is someone else to listen to.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ..audio import RATE
from ..vad import FRAME_MS


@dataclass(frozen=True)
class DoubleTalkConfig:
    """How :func:`foreign_seconds` compares the microphone with Haven's playback."""

    max_lag_s: float = 0.6
    """Longest delay from playback to microphone searched (device buffers, sound server,
    room)."""
    min_lag_s: float = -0.2
    """Shortest (negative: the microphone's clock ahead of the speaker's stamps, which
    only estimate when a block leaves the device)."""
    tail_db_per_s: float = 60.0
    """Slowest decay of Haven's voice in the room after it stops (60 dB/s: a reverberation
    time of a second, longer than a living room's), so a reverberant tail is Haven's."""
    loud_db: float = 20.0
    """Frames within this of Haven's loudest (in the window) fit the echo's gain."""
    gain_percentile: float = 50.0
    """Which percentile of the microphone's excess over Haven's level, per band on those
    frames, is the echo's gain there (the median: at the 30th, a reverberant room's
    frame-to-frame colouring of Haven's voice left up to 3 s of it unexplained in
    ``bench/doubletalk.py``)."""
    margin_db: float = 12.0
    """A band is someone else's when it is this far above what Haven's voice explains (at
    9 dB, Haven's voice alone opened the test in 9 of 128 utterances of that bench; at
    12 dB in none, while a partner's pause over Haven at the same loudness opened it in 22
    of 40)."""
    floor_margin_db: float = 9.0
    """...and this far above the noise floor."""
    bands: int = 12
    """Mel-spaced bands compared (a partner's voice over Haven's fills bands Haven's does
    not, even where the two are equally loud overall)."""
    jitter_s: float = 0.1
    """How far Haven's playback may run early or late within one utterance (output
    underruns on a busy machine slip silence in): each step is explained by Haven's
    loudest within this either side."""
    near: int = 2
    """Delays this many 10 ms steps either side of the best-fitting one are tried too (the
    fewest foreign steps count): the fit is on overall level, the test per band."""
    min_bands: int = 3
    """Bands above what Haven's voice explains that make a frame someone else's."""


def played_span(start: float, seconds: float,
                config: DoubleTalkConfig | None = None) -> tuple[float, float]:  # fmt: skip
    """The stretch of playback to compare with ``seconds`` of microphone audio that began
    at ``start`` (any clock): (from, to)."""
    cfg = config or DoubleTalkConfig()
    return start - cfg.max_lag_s, start + seconds - cfg.min_lag_s


def window_of(timeline: np.ndarray, start: float, end: float) -> np.ndarray:
    """``timeline`` (16 kHz audio from 0 s, such as a recording of what Haven played) from
    ``start`` to ``end`` seconds, silent where it does not reach."""
    a, b = round(start * RATE), round(end * RATE)
    out = np.zeros(max(0, b - a), dtype=np.int16)
    part = timeline[max(0, a) : max(0, b)]
    out[max(0, -a) : max(0, -a) + len(part)] = part[: len(out) - max(0, -a)]
    return out


def band_levels(samples: np.ndarray, bands: int = 12) -> np.ndarray:
    """Level (dBFS, mean power as ``vad.frame_levels`` gives it) in ``bands`` mel-spaced
    bands from 100 Hz to 7 kHz of each 10 ms step (25 ms Hann windows): frames x bands."""
    frame, hop = RATE // 40, RATE * FRAME_MS // 1000
    x = np.asarray(samples, dtype=np.float64) / 32768.0
    if len(x) < frame:
        return np.zeros((0, bands))
    count = 1 + (len(x) - frame) // hop
    index = np.arange(frame)[None, :] + hop * np.arange(count)[:, None]
    window = np.hanning(frame)
    spectrum = np.abs(np.fft.rfft(x[index] * window, 512)) ** 2
    mels = np.linspace(_mel(100.0), _mel(7000.0), bands + 1)
    edges = np.round(700.0 * (10.0 ** (mels / 2595.0) - 1.0) / RATE * 512).astype(int)
    power = np.stack([spectrum[:, a : max(a + 1, b)].sum(axis=1)
                      for a, b in pairwise(edges)], axis=1)  # fmt: skip
    power *= 2.0 / (512 * np.sum(window**2))  # mean power, the scale of ``vad.frame_levels``
    return np.asarray(10.0 * np.log10(np.maximum(power, 1e-12)), dtype=np.float64)


def _mel(hz: float) -> float:
    return float(2595.0 * np.log10(1.0 + hz / 700.0))


def _with_tail(levels: np.ndarray, db_per_frame: float) -> np.ndarray:
    """Each frame's levels, or a louder earlier frame's decayed by ``db_per_frame`` a frame."""
    out = levels.copy()
    for i in range(1, len(out)):
        out[i] = np.maximum(out[i], out[i - 1] - db_per_frame)
    return out


def _spread(levels: np.ndarray, frames: int) -> np.ndarray:
    """Each step's levels: the loudest within ``frames`` steps either side."""
    if frames <= 0 or not len(levels):
        return levels
    edge = np.full((frames, levels.shape[1]), -100.0)
    padded = np.concatenate([edge, levels, edge])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * frames + 1, axis=0)
    return np.asarray(windows.max(axis=-1), dtype=np.float64)


def foreign_seconds(
    mic: np.ndarray, played: np.ndarray, floor_db: float | None = None,
    config: DoubleTalkConfig | None = None,
) -> float:  # fmt: skip
    """Seconds of ``mic`` that Haven's own voice does not explain.

    ``mic``: 16 kHz int16 audio heard. ``played``: 16 kHz audio Haven played over the same
    stretch of time, from ``config.max_lag_s`` before it to ``-config.min_lag_s`` after it
    (zeros where Haven was silent; see :func:`played_span`). ``floor_db``: the noise floor
    (dBFS per 10 ms frame; default the microphone's 10th percentile). Returns the count of
    frames, at the best-fitting delay, in which at least ``config.min_bands`` bands stand
    above what Haven's voice explains, in seconds.
    """
    cfg = config or DoubleTalkConfig()
    heard = band_levels(mic, cfg.bands)
    n = len(heard)
    if n == 0:
        return 0.0
    total = _overall(heard)
    floor = float(np.percentile(total, 10)) if floor_db is None else floor_db
    audible = total > floor + cfg.floor_margin_db
    noisy = heard > np.percentile(heard, 10, axis=0) + cfg.floor_margin_db
    lead = round(cfg.max_lag_s * 1000 / FRAME_MS)
    trail = round(-cfg.min_lag_s * 1000 / FRAME_MS)
    ours = _with_tail(band_levels(played, cfg.bands), cfg.tail_db_per_s * FRAME_MS / 1000)
    ours = np.concatenate([ours[: lead + n + trail],
                           np.full((max(0, lead + n + trail - len(ours)), cfg.bands), -100.0)])
    spread = _spread(ours, round(cfg.jitter_s * 1000 / FRAME_MS))
    overall = _overall(ours)
    lags = range(-trail, lead + 1)  # frame i of the microphone is frame i + lead - lag there
    fit = [_fit(total, overall[lead - lag : lead - lag + n]) for lag in lags]
    found = int(np.argmax(fit))
    best = int(np.count_nonzero(audible))
    for lag in lags[max(0, found - cfg.near) : found + cfg.near + 1]:
        echo = ours[lead - lag : lead - lag + n]
        loud = (echo > echo.max(axis=0) - cfg.loud_db) & (echo > -90.0) & audible[:, None]
        fitted = loud.sum(axis=0) >= 3
        if not fitted.any():
            continue  # Haven was silent at this delay: nothing is explained
        excess = np.where(loud, heard - echo, np.nan)[:, fitted]
        gain = np.full(cfg.bands, float(np.nanmedian(excess)))
        gain[fitted] = np.nanpercentile(excess, cfg.gain_percentile, axis=0)
        late = spread[lead - lag : lead - lag + n]  # a little early or late, too
        above = (heard > late + gain + cfg.margin_db) & noisy
        foreign = audible & (above.sum(axis=1) >= cfg.min_bands)
        best = min(best, int(np.count_nonzero(foreign)))
    return best * FRAME_MS / 1000


def _overall(levels: np.ndarray) -> np.ndarray:
    """Each step's level over all bands (dB), from its band levels."""
    return np.asarray(10.0 * np.log10(np.sum(10.0 ** (levels / 10.0), axis=1)), dtype=np.float64)


def _fit(total: np.ndarray, ours: np.ndarray) -> float:
    """How well Haven's overall level (``ours``, dB) follows the microphone's (``total``):
    their correlation (0 where Haven was silent throughout)."""
    ours = np.maximum(ours, ours.max() - 40.0)
    if ours.std() < 1e-6 or total.std() < 1e-6:
        return 0.0
    return float(np.corrcoef(total, ours)[0, 1])
