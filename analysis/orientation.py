"""Body axes of a trunk-worn sensor, for any mounting.

The sensor may be upside down, rotated or tilted; we find, in the sensor's own
frame, unit vectors pointing up, forward and to the wearer's right:

- up: the mean direction of gravity (the accelerometer reads +1 g upward at rest);
- mediolateral: in the horizontal plane, the direction whose acceleration
  reverses from one step to the next (the trunk sways toward the stance leg
  at half the step frequency), i.e. the most negative lag-one-step
  covariance, while vertical and anteroposterior acceleration repeat every step;
- forward: the horizontal axis orthogonal to it, signed so that the trunk
  decelerates forward (jerk along forward is negative) while vertical
  acceleration peaks after heel strike — verified on the Mobilise-D lab
  recordings, where it picks the true forward axis in every file.

``--axes`` replaces all of this with a stated mounting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from analysis.errors import InputError

_AXIS_VECTORS = {"x": np.array([1.0, 0, 0]), "y": np.array([0, 1.0, 0]), "z": np.array([0, 0, 1.0])}


@dataclass(frozen=True)
class BodyAxes:
    """Unit vectors in the sensor frame: ``up``, ``forward``, ``right``.

    ``source`` is "auto" or "override"; ``forward_confidence`` in [0, 1] says
    how clearly the walking dynamics decided the forward sign (1 for override).
    """

    up: np.ndarray
    forward: np.ndarray
    right: np.ndarray
    source: str
    forward_confidence: float

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "up": [round(float(v), 4) for v in self.up],
            "forward": [round(float(v), 4) for v in self.forward],
            "right": [round(float(v), 4) for v in self.right],
            "forward_confidence": round(self.forward_confidence, 3),
        }


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    if norm < 1e-12:
        raise InputError("cannot find a direction: the signal has no energy")
    return v / norm


def estimate_axes(
    gravity_g: np.ndarray, lag_cov: np.ndarray, vertical_jerk: np.ndarray
) -> BodyAxes:
    """Body axes from the mean gravity vector and the walking statistics.

    ``gravity_g`` (3,) mean acceleration over walking (sensor frame);
    ``lag_cov`` (3,3) sum of a(t)·a(t+one step)ᵀ of the dynamic acceleration;
    ``vertical_jerk`` (3,) sum of vertical acceleration × jerk vector.
    Without walking (zero statistics) the horizontal axes are arbitrary but
    orthogonal, and the confidence is 0.
    """
    up = _unit(np.asarray(gravity_g, dtype=float))
    horizontal = np.eye(3) - np.outer(up, up)
    sym = horizontal @ (0.5 * (lag_cov + lag_cov.T)) @ horizontal
    if not np.any(sym):
        seed = np.eye(3)[int(np.argmin(np.abs(up)))]
        lateral = _unit(horizontal @ seed)
        forward = np.cross(lateral, up)
        return BodyAxes(up, forward, np.cross(forward, up), "auto", 0.0)
    values, vectors = np.linalg.eigh(sym)
    # Eigenvectors of the projected matrix: one is `up` (eigenvalue ~0); take the
    # most negative among the horizontal ones.
    horizontal_ones = [i for i in range(3) if abs(vectors[:, i] @ up) < 0.5]
    lateral = vectors[:, min(horizontal_ones, key=lambda i: values[i])]
    forward = _unit(np.cross(lateral, up))
    along = float(vertical_jerk @ forward)
    if along > 0:
        forward = -forward
    scale = float(np.linalg.norm(vertical_jerk)) or 1.0
    confidence = min(1.0, abs(along) / scale)
    right = np.cross(forward, up)
    return BodyAxes(up, forward, right, "auto", confidence)


_TOKEN = re.compile(r"^\s*(V|AP|ML)\s*=\s*([+-]?)\s*([xyz])\s*$", re.IGNORECASE)


def _axis_name(vector: np.ndarray) -> str:
    """A signed unit sensor axis as text: ``x``, ``-z``."""
    index = int(np.argmax(np.abs(vector)))
    return ("-" if vector[index] < 0 else "") + "xyz"[index]


def parse_axes(spec: str) -> BodyAxes:
    """Parse a mounting like ``"V=x,AP=-z,ML=-y"``.

    V = up, AP = forward, ML = wearer's right, each a signed sensor axis. V and
    AP are required; ML, when given, must agree with right = forward × up.
    """
    given: dict[str, np.ndarray] = {}
    for part in spec.split(","):
        m = _TOKEN.match(part)
        if not m:
            raise InputError(
                f"--axes {spec!r}: cannot read {part.strip()!r}; "
                "expected e.g. 'V=x,AP=-z,ML=-y' (V up, AP forward, ML right; "
                "each a signed sensor axis x, y or z)"
            )
        name, sign, axis = m.group(1).upper(), m.group(2), m.group(3).lower()
        given[name] = (-1.0 if sign == "-" else 1.0) * _AXIS_VECTORS[axis]
    if "V" not in given or "AP" not in given:
        raise InputError(f"--axes {spec!r}: both V and AP must be given")
    up, forward = given["V"], given["AP"]
    if abs(up @ forward) > 0.5:
        raise InputError(f"--axes {spec!r}: V and AP name the same sensor axis")
    right = np.cross(forward, up)
    if "ML" in given and given["ML"] @ right < 0.5:
        raise InputError(
            f"--axes {spec!r}: ML points to the wearer's left for this V and AP "
            f"(right = AP × V = {_axis_name(right)}); write ML={_axis_name(right)} "
            "or leave ML out"
        )
    return BodyAxes(up, forward, right, "override", 1.0)


# Below this confidence the walking dynamics do not settle the forward sign; a device
# prior (how the sensor sits when worn as intended) does instead.
PRIOR_DECIDES_BELOW_CONFIDENCE = 0.2
# How far (cosine) the estimate and the prior must disagree to call it worn the wrong way.
WRONG_WAY_COSINE = -0.5


@dataclass(frozen=True)
class WearPrior:
    """Sensor-frame unit vectors the maker documents for the worn sensor: ``forward``
    (out of the chest) and/or ``up``; either may be None. ``spec`` as given."""

    forward: np.ndarray | None
    up: np.ndarray | None
    spec: str


def parse_wear_prior(spec: str) -> WearPrior:
    """A device prior in the ``--axes`` grammar, any subset of V / AP (e.g. ``"AP=+z"``)."""
    given: dict[str, np.ndarray] = {}
    for part in spec.split(","):
        m = _TOKEN.match(part)
        if not m or m.group(1).upper() == "ML":
            raise InputError(f"device prior {spec!r}: cannot read {part.strip()!r} "
                             "(expected V=±axis and/or AP=±axis)")
        sign = -1.0 if m.group(2) == "-" else 1.0
        given[m.group(1).upper()] = sign * _AXIS_VECTORS[m.group(3).lower()]
    return WearPrior(given.get("AP"), given.get("V"), spec)


def apply_wear_prior(axes: BodyAxes, prior: WearPrior | None) -> tuple[BodyAxes, list[str]]:
    """Settle a weak forward sign with the device prior; warn when it is worn the wrong way.

    When the dynamics decided the forward sign clearly and it points against the
    prior, the dynamics are kept (the wearer may have the sensor on the back or
    turned round) and a warning says so. Returns the axes and the warnings.
    """
    if prior is None or axes.source == "override":
        return axes, []
    warnings: list[str] = []
    if prior.up is not None and float(axes.up @ prior.up) < WRONG_WAY_COSINE:
        warnings.append("the sensor seems to be worn upside down (its top points down); "
                        "lean and steps are still measured, but check how it is worn")
    if prior.forward is not None:
        agree = float(axes.forward @ prior.forward)
        if axes.forward_confidence < PRIOR_DECIDES_BELOW_CONFIDENCE:
            if abs(agree) >= 0.5:  # the prior axis is near the body's forward-back line
                if agree < 0:
                    axes = BodyAxes(axes.up, -axes.forward, -axes.right, "auto+prior",
                                    axes.forward_confidence)
                else:
                    axes = BodyAxes(axes.up, axes.forward, axes.right, "auto+prior",
                                    axes.forward_confidence)
        elif agree < WRONG_WAY_COSINE:
            warnings.append("the sensor seems to be worn on the back or turned round (its "
                            "front faces backward); lean and left/right follow the walking "
                            "pattern, but check how it is worn")
    return axes, warnings
