"""Streaming filters of the slip detector: a CoP trend (velocity) and a vibration meter.

Both run on Python floats (a handful per frame, cheaper than numpy calls on scalars) and take the
time step of each sample, so they work at any, even irregular, frame rate. Their per-step
coefficients are cached by time step at 1 us resolution (frames mostly come at a fixed rate).
"""

from __future__ import annotations

import math

_CACHE_SIZE = 64


def _step_key(dt: float) -> int:
    """Time step in whole microseconds, >= 1 (stamp jitter below 1 us changes nothing)."""
    return max(1, round(dt * 1e6))


def highpass_noise_gain(a: float) -> float:
    """Output / input power of white noise through :class:`VibrationMeter`'s high-pass.

    The filter is two cascaded sections ``y[k] = a (y[k-1] + x[k] - x[k-1])``, i.e.
    ``H(z) = a^2 (1 - z^-1)^2 / (1 - a z^-1)^2``; the gain is the sum of its squared impulse
    response, in closed form.

    Args:
        a: Section coefficient ``RC / (RC + dt)``, in [0, 1).

    Returns:
        The power gain (0 for a = 0, approaching 1 as a approaches 1).
    """
    c, d, q = 1.0 - a, 1.0 - 3.0 * a, a * a
    # Impulse response / a^2: 1, -2c, then a^m (m c + d) c for m = 0, 1, ...
    tail = c * c * q * (1.0 + q) / (1.0 - q) ** 3 + 2.0 * c * d * q / (1.0 - q) ** 2
    tail += d * d / (1.0 - q)
    return q * q * (1.0 + 4.0 * c * c + c * c * tail)


class TrendEstimator:
    """Velocity of a 2-D point: exponentially weighted least-squares line through its samples.

    Sample ``i`` has weight ``exp(-(t_now - t_i) / time_constant_s)``; the velocity is the slope of
    the weighted regression of x and y on t. It also gives the slope's noise for white sample
    noise, so a caller can tell motion from jitter. Updates are O(1) (West's weighted
    Welford-style recursions, all in deviations from the running means, so no cancellation).

    Args:
        time_constant_s: Weighting time constant [s], > 0.
    """

    def __init__(self, time_constant_s: float) -> None:
        self.time_constant_s = float(time_constant_s)
        self._cache: dict[int, float] = {}
        self.reset(0.0, 0.0, 0.0)

    def reset(self, t: float, x: float, y: float) -> None:
        """Start over from one sample at time ``t`` [s]."""
        self._t0 = t
        self._w = self._q0 = 1.0  # sum of weights, of squared weights
        self._mt, self._mx, self._my = 0.0, x, y  # weighted means (time relative to t0)
        self._ctt = self._ctx = self._cty = 0.0  # weighted (co)variance sums
        self._qv = self._qp = 0.0  # sums of w^2 (t - mean)^2 and of w^2 (t - mean)

    @property
    def mean(self) -> tuple[float, float]:
        """Weighted mean position (x, y)."""
        return self._mx, self._my

    def update(self, t: float, x: float, y: float, dt: float) -> tuple[float, float]:
        """Add a sample.

        Args:
            t: Its time [s].
            x: Its x.
            y: Its y.
            dt: Time since the previous sample [s], > 0.

        Returns:
            Speed (norm of the slope) [units/s], and the standard deviation of a slope component
            per unit of sample noise [1/s] (0 while fewer than two samples).
        """
        key = _step_key(dt)
        d = self._cache.get(key)
        if d is None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            d = self._cache[key] = math.exp(-key * 1e-6 / self.time_constant_s)
        d2 = d * d
        tau = t - self._t0
        w = d * self._w + 1.0
        a = 1.0 / w
        dtau = tau - self._mt
        dx, dy = x - self._mx, y - self._my
        shift = a * dtau  # change of the weighted mean time
        self._mt += shift
        self._mx += a * dx
        self._my += a * dy
        keep = 1.0 - a
        self._ctt = d * self._ctt + keep * dtau * dtau
        self._ctx = d * self._ctx + keep * dtau * dx
        self._cty = d * self._cty + keep * dtau * dy
        residual = tau - self._mt
        self._qv = d2 * (self._qv - 2.0 * shift * self._qp + shift * shift * self._q0)
        self._qv += residual * residual
        self._qp = d2 * (self._qp - shift * self._q0) + residual
        self._q0 = d2 * self._q0 + 1.0
        self._w = w
        if self._ctt <= 0.0:
            return 0.0, 0.0
        speed = math.hypot(self._ctx, self._cty) / self._ctt
        return speed, math.sqrt(max(self._qv, 0.0)) / self._ctt


class VibrationMeter:
    """High-frequency content of a signal: high-pass, then a running mean of its square.

    The high-pass is two cascaded first-order sections at ``cutoff_hz``: one section passes
    ``rate x RC`` of any smooth ramp as a constant, two remove ramps too, leaving oscillations and
    sudden changes. The energy and the signal's mean are exponential averages over
    ``window_s``.

    Args:
        cutoff_hz: High-pass cut-off [Hz], > 0.
        window_s: Averaging time constant [s], > 0.
    """

    def __init__(self, cutoff_hz: float, window_s: float) -> None:
        self._rc = 1.0 / (2.0 * math.pi * cutoff_hz)
        self.window_s = float(window_s)
        self._cache: dict[int, tuple[float, float, float]] = {}
        self.reset(0.0)

    def reset(self, value: float) -> None:
        """Start over at a steady ``value``."""
        self._prev = self._mean = value
        self._hp1 = self._hp2 = self.energy = 0.0

    @property
    def mean(self) -> float:
        """Running mean of the signal."""
        return self._mean

    def update(self, value: float, dt: float) -> float:
        """Add a sample taken ``dt`` [s] (> 0) after the previous one.

        Returns:
            The high-pass output's power gain for white noise at this step (see
            :func:`highpass_noise_gain`); the energy (mean square of the high-pass output) is in
            :attr:`energy`.
        """
        key = _step_key(dt)
        coefficients = self._cache.get(key)
        if coefficients is None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            step = key * 1e-6
            a = self._rc / (self._rc + step)
            coefficients = (a, math.exp(-step / self.window_s), highpass_noise_gain(a))
            self._cache[key] = coefficients
        a, keep, gain = coefficients
        hp1 = a * (self._hp1 + value - self._prev)
        self._hp2 = hp2 = a * (self._hp2 + hp1 - self._hp1)
        self._hp1, self._prev = hp1, value
        self.energy = keep * self.energy + (1.0 - keep) * hp2 * hp2
        self._mean = keep * self._mean + (1.0 - keep) * value
        return gain
