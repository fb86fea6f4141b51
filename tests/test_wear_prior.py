"""Device priors: how a sensor sits when worn as its maker intends (profiles' worn_axes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.orientation import BodyAxes, apply_wear_prior, parse_wear_prior
from analysis.pipeline import analyze
from analysis.simulate import DEFAULT_MOUNT, Phase, rotation_matrix, simulate_walk
from firmware_bridge.emulation.h10_trace import RATE_HZ, write_h10_trace
from firmware_bridge.profiles import get_profile
from stridewatch.cli import main

H10_PRIOR = parse_wear_prior("AP=+z")
X, Y, Z = np.eye(3)


def _axes(forward: np.ndarray, confidence: float) -> BodyAxes:
    return BodyAxes(X, forward, np.cross(forward, X), "auto", confidence)


def test_profiles_state_the_h10_prior_and_none_for_arm_or_clip_sensors():
    polar = get_profile("polar-pmd")
    assert polar.worn_axes("Polar H10 1A2B3C4D") == "AP=+z"
    assert polar.worn_axes("Polar Sense 0A1B2C3D") is None
    assert polar.worn_axes("Polar OH1 12345678") is None
    assert get_profile("metawear").worn_axes("MetaWear") is None


def test_weak_dynamics_take_the_forward_sign_from_the_prior():
    axes, warnings = apply_wear_prior(_axes(-Z, 0.05), H10_PRIOR)
    assert axes.forward @ Z == pytest.approx(1.0) and axes.right @ np.cross(Z, X) > 0.99
    assert axes.source == "auto+prior" and warnings == []


def test_clear_dynamics_against_the_prior_are_kept_with_a_warning():
    axes, warnings = apply_wear_prior(_axes(-Z, 0.8), H10_PRIOR)
    assert axes.forward @ Z == pytest.approx(-1.0) and axes.source == "auto"
    assert len(warnings) == 1 and "on the back" in warnings[0]
    same, none = apply_wear_prior(_axes(Z, 0.8), H10_PRIOR)
    assert none == [] and same.forward @ Z == pytest.approx(1.0)


def test_upside_down_is_warned_when_the_prior_states_up():
    _, warnings = apply_wear_prior(_axes(Z, 0.8), parse_wear_prior("V=-x,AP=+z"))
    assert len(warnings) == 1 and "upside down" in warnings[0]
    unchanged, none = apply_wear_prior(_axes(-Z, 0.05), None)
    assert none == [] and unchanged.forward @ Z == pytest.approx(-1.0)


def _h10(path: Path, acc: np.ndarray) -> Path:
    write_h10_trace(path, acc)
    return path


def _json(capsys: pytest.CaptureFixture, path: Path) -> dict:
    capsys.readouterr()
    assert main(["analyze", "--json", str(path)]) == 0
    return json.loads(capsys.readouterr().out)


PHASES = [Phase("stand", 8, sagittal_deg=0.0), Phase("walk", 120, sagittal_deg=14.0)]


def test_h10_worn_on_the_back_is_warned_about(tmp_path, capsys):
    on_back = DEFAULT_MOUNT @ rotation_matrix(180, 0, 0)  # turned round about the body's up
    sim = simulate_walk(PHASES, fs_hz=RATE_HZ, mount=on_back, noise_g=0.01, seed=31)
    back = _json(capsys, _h10(tmp_path / "back.swtrace", sim.acc))
    assert any("on the back" in w for w in back["warnings"])
    assert back["lean"]["sagittal_deg_median"] == pytest.approx(14.0, abs=2.0)
    worn = simulate_walk(PHASES, fs_hz=RATE_HZ, noise_g=0.01, seed=31)
    front = _json(capsys, _h10(tmp_path / "front.swtrace", worn.acc))
    assert not any("on the back" in w for w in front["warnings"])


def test_h10_prior_settles_the_sides_when_the_gait_has_no_forward_signature(tmp_path,
                                                                             capsys):
    phases = [Phase("stand", 8, sagittal_deg=0.0), Phase("walk", 120, sagittal_deg=0.0)]
    sim = simulate_walk(phases, fs_hz=RATE_HZ, noise_g=0.01, seed=32)
    acc = sim.acc.copy()
    # remove the forward-backward gait dynamics (sensor z = forward in DEFAULT_MOUNT):
    # the walking pattern then cannot say which way is forward
    acc[:, 2] = acc[:, 2].mean()
    n = len(acc)
    without_prior = analyze(np.arange(n) / RATE_HZ, acc, acc_units="g")
    assert without_prior.axes.forward_confidence < 0.2
    session = _json(capsys, _h10(tmp_path / "flat.swtrace", acc))
    assert session["axes"]["source"] == "auto+prior"
    assert session["axes"]["forward"][2] > 0.9
    assert not any("uncertain" in w for w in session["warnings"])
    # right = forward x up, so the settled sign puts left and right steps right (truth)
    truth = sim.truth["initial_contacts"]
    t_true = np.array([c["t"] for c in truth])
    side_true = np.array([c["side"] for c in truth])
    t_found = np.array(session["initial_contacts_s"])
    nearest = np.abs(t_found[:, None] - t_true[None, :]).argmin(axis=1)
    matched = np.abs(t_found - t_true[nearest]) < 0.1
    agree = np.mean(np.array(session["sides"])[matched] == side_true[nearest[matched]])
    assert matched.sum() > 150 and agree > 0.9
