"""Slip detection on one pad, stepped every frame while the pad is in contact.

The slip score in [0, 1] combines three cues as a noisy-OR, ``1 - (1 - a)(1 - b)(1 - c)``:

a. **CoP motion.** The centre-of-pressure velocity is the slope of an exponentially weighted
   linear regression of the CoP over time (time constant ``cop_window_s``), so it reacts within a
   few frames (the CoP and force used here weigh taxels by their pressure above the noise floor,
   see :class:`SlipDetector`). Its noise is predicted from the pressure noise
   (``pressure_noise_kpa``, spread over the loaded taxels) and ``noise_sigmas`` standard
   deviations are subtracted, so a light, noisy contact does not look like slip;
   ``a = clip(speed / cop_speed_slip_m_s, 0, 1)`` [m/s].
b. **Friction cone.** With shear, ``r = |shear| / (mu * force)``;
   ``b = clip((r - shear_ratio_onset) / (1 - shear_ratio_onset), 0, 1)``.
c. **Vibration.** The total force is high-pass filtered (two cascaded first-order sections at
   ``vibration_cutoff_hz``: a single section passes ``rate x RC`` of every smooth force ramp, so a
   grip-force change would read as vibration, and a grip reflex reacting to slip would feed
   itself); the excess RMS of that signal above ``noise_sigmas`` x its predicted noise, averaged
   over ``vibration_window_s``, relative to the mean force, gives
   ``c = clip(rms / (vibration_slip_ratio * mean_force), 0, 1)``.

A slip event is a rising edge of ``score >= slip_threshold`` while in contact, at least
``settle_s`` after contact onset (contact formation moves the CoP) and ``refractory_s`` after the
previous event, so one slip gives one event. Out of contact, or after a time gap longer than
``max_gap_s``, the state is reset and the score is 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from tactile_driver.core.contacts import PadContact
from tactile_driver.core.filters import TrendEstimator, VibrationMeter
from tactile_driver.core.pad_geometry import PadGeometry
from tactile_driver.errors import TactileDriverError

_PA_PER_KPA = 1000.0


@dataclass(frozen=True)
class SlipParams:
    """Parameters of :class:`SlipDetector`.

    Attributes:
        slip_threshold: Score at which a slip event fires, in (0, 1].
        refractory_s: Minimum time between two events [s].
        settle_s: Time after contact onset without events [s].
        cop_speed_slip_m_s: CoP speed that gives cue (a) the value 1 [m/s].
        cop_window_s: Time constant of the CoP velocity regression [s].
        mu: Friction coefficient estimate (cue (b)).
        shear_ratio_onset: Fraction of the friction cone where cue (b) starts, in [0, 1).
        vibration_cutoff_hz: Cut-off of the force high-pass filter [Hz].
        vibration_window_s: Averaging time constant of vibration energy and mean force [s].
        vibration_slip_ratio: High-frequency RMS force / mean force that gives cue (c) the
            value 1.
        pressure_noise_kpa: Standard deviation of the per-taxel pressure noise [kPa].
        noise_sigmas: Noise standard deviations subtracted from cues (a) and (c).
        max_gap_s: A time step longer than this resets the detector [s].
    """

    slip_threshold: float = 0.5
    refractory_s: float = 0.1
    settle_s: float = 0.03
    cop_speed_slip_m_s: float = 0.04
    cop_window_s: float = 0.004
    mu: float = 0.5
    shear_ratio_onset: float = 0.7
    vibration_cutoff_hz: float = 100.0
    vibration_window_s: float = 0.01
    vibration_slip_ratio: float = 0.05
    pressure_noise_kpa: float = 0.1
    noise_sigmas: float = 3.0
    max_gap_s: float = 0.1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TactileDriverError(f"{f.name} = {value!r}: expected a number")
            if not math.isfinite(value) or value < 0.0:
                raise TactileDriverError(f"{f.name} = {value!r}: expected a finite number >= 0")
        positive = ("slip_threshold", "cop_speed_slip_m_s", "cop_window_s", "mu")
        positive += ("vibration_cutoff_hz", "vibration_window_s", "vibration_slip_ratio")
        positive += ("max_gap_s",)
        for name in positive:
            if getattr(self, name) <= 0.0:
                raise TactileDriverError(f"{name} = {getattr(self, name)!r}: expected > 0")
        if self.slip_threshold > 1.0:
            raise TactileDriverError(
                f"slip_threshold = {self.slip_threshold!r}: expected a score in (0, 1]"
            )
        if self.shear_ratio_onset >= 1.0:
            raise TactileDriverError(
                f"shear_ratio_onset = {self.shear_ratio_onset!r}: expected a fraction in [0, 1)"
            )


class SlipEstimate(NamedTuple):
    """Slip state of one pad in one frame.

    Attributes:
        score: Slip score, 0 = stable .. 1 = slipping.
        event: True in the frame a slip event is detected.
        cop_speed_m_s: CoP speed above noise [m/s].
        shear_ratio: |shear| / (mu * force); 0 without shear.
        vibration_ratio: High-frequency force RMS above noise / mean force.
    """

    score: float
    event: bool
    cop_speed_m_s: float = 0.0
    shear_ratio: float = 0.0
    vibration_ratio: float = 0.0


_NO_SLIP = SlipEstimate(0.0, False)


class SlipDetector:
    """Slip detector of one pad.

    CoP motion and vibration are measured on the pressures minus ``floor_kpa`` (clipped at 0):
    a taxel that pops in and out at a hard noise floor then enters with weight 0 instead of a
    jump of ``floor_kpa``, which at light loads would move the CoP and the force by more than the
    noise model predicts.

    Args:
        geometry: The pad's geometry (taxel positions and area, for the noise model).
        params: Detector parameters.
        floor_kpa: Noise floor already applied to the pressures (values below it were set to 0)
            [kPa], >= 0.
    """

    def __init__(self, geometry: PadGeometry, params: SlipParams, floor_kpa: float = 0.0) -> None:
        if not (math.isfinite(floor_kpa) and floor_kpa >= 0.0):
            raise TactileDriverError(f"floor_kpa = {floor_kpa!r}: expected a finite value >= 0")
        self.geometry = geometry
        self.params = params
        self.floor_kpa = float(floor_kpa)
        xy = geometry.taxel_xy_pad
        # Columns 1, x, y, x^2 + y^2: weights @ moments and support @ moments are the sums that
        # step_from_sums takes.
        self.moments = np.column_stack([np.ones(len(xy)), xy, (xy * xy).sum(axis=1)])
        self._kpa_to_n = _PA_PER_KPA * geometry.taxel_area
        self._trend = TrendEstimator(params.cop_window_s)
        self._vibration = VibrationMeter(params.vibration_cutoff_hz, params.vibration_window_s)
        self.reset()

    def reset(self) -> None:
        """Forget everything (as after losing contact)."""
        self._active = False
        self._t = self._t_onset = 0.0
        self._t_event = -math.inf
        self._above = False
        self._last = _NO_SLIP

    def step(self, t: float, contact: PadContact, pressure_kpa: np.ndarray) -> SlipEstimate:
        """Advance by one frame.

        Args:
            t: Time of the frame [s] (monotonic).
            contact: The pad's contact in this frame.
            pressure_kpa: The pad's pressures [kPa], shape (rows * cols,), >= 0.

        Returns:
            The slip estimate of this frame.
        """
        weights = np.maximum(np.asarray(pressure_kpa, dtype=float) - self.floor_kpa, 0.0)
        sums = np.stack([weights, np.sign(weights)]) @ self.moments
        return self.step_from_sums(t, contact, sums[0].tolist(), sums[1].tolist())

    def step_from_sums(
        self,
        t: float,
        contact: PadContact,
        weighted: Sequence[float],
        support: Sequence[float],
    ) -> SlipEstimate:
        """Advance by one frame, given the pad's sums (a caller can compute them for many pads).

        With ``w = max(pressure - floor_kpa, 0)``: ``weighted = w @ self.moments`` and
        ``support = (w > 0) @ self.moments``.

        Args:
            t: Time of the frame [s] (monotonic).
            contact: The pad's contact in this frame.
            weighted: Sums of w, w x, w y (and w r^2, unused) [kPa, kPa m, kPa m].
            support: Count, sum of x, y and x^2 + y^2 of the taxels with w > 0 [1, m, m, m^2].

        Returns:
            The slip estimate of this frame.
        """
        if not contact.in_contact or contact.force_n <= 0.0:
            self.reset()
            return _NO_SLIP
        dt = t - self._t
        if self._active:
            if dt == 0.0:
                return self._last._replace(event=False)
            if dt < 0.0 or dt > self.params.max_gap_s:
                self.reset()
        total = weighted[0]
        if total > 0.0:
            cop_x, cop_y = weighted[1] / total, weighted[2] / total
        elif self._active:  # nothing above the floor: no news on the CoP
            cop_x, cop_y = self._trend.mean
        else:
            cop_x, cop_y = float(contact.cop_pad[0]), float(contact.cop_pad[1])
        force = total * self._kpa_to_n
        self._t = t
        if not self._active:
            self._active = True
            self._t_onset = t
            self._trend.reset(t, cop_x, cop_y)
            self._vibration.reset(force)
            return self._last
        p = self.params
        sigma_cop, sigma_force = self._noise(total, cop_x, cop_y, support)
        speed, slope_noise = self._trend.update(t, cop_x, cop_y, dt)
        speed = max(0.0, speed - p.noise_sigmas * sigma_cop * slope_noise)
        cue_a = min(1.0, speed / p.cop_speed_slip_m_s)
        shear_ratio = cue_b = 0.0
        if contact.has_shear:
            shear = contact.shear_n_link
            shear_ratio = math.sqrt(float(shear @ shear)) / (p.mu * contact.force_n)
            onset = p.shear_ratio_onset
            cue_b = min(1.0, max(0.0, (shear_ratio - onset) / (1.0 - onset)))
        gain = self._vibration.update(force, dt)
        excess = self._vibration.energy - (p.noise_sigmas * sigma_force) ** 2 * gain
        mean_force = self._vibration.mean
        vibration = math.sqrt(excess) / mean_force if excess > 0.0 and mean_force > 0.0 else 0.0
        cue_c = min(1.0, vibration / p.vibration_slip_ratio)
        score = 1.0 - (1.0 - cue_a) * (1.0 - cue_b) * (1.0 - cue_c)
        event = False
        if t - self._t_onset >= p.settle_s:
            above = score >= p.slip_threshold
            if above and not self._above and t - self._t_event >= p.refractory_s:
                event = True
                self._t_event = t
            self._above = above
        self._last = SlipEstimate(score, event, speed, shear_ratio, vibration)
        return self._last

    def _noise(
        self, total_kpa: float, cop_x: float, cop_y: float, support: Sequence[float]
    ) -> tuple[float, float]:
        """Predicted standard deviations of the CoP [m] and of the total force [N]."""
        count, sum_x, sum_y, sum_r2 = support[0], support[1], support[2], support[3]
        if count <= 0.0 or total_kpa <= 0.0:
            return 0.0, 0.0
        spread = sum_r2 - 2.0 * (cop_x * sum_x + cop_y * sum_y)
        spread += count * (cop_x * cop_x + cop_y * cop_y)
        noise_kpa = self.params.pressure_noise_kpa
        sigma_cop = noise_kpa * math.sqrt(max(spread, 0.0)) / total_kpa
        return sigma_cop, noise_kpa * self._kpa_to_n * math.sqrt(count)
