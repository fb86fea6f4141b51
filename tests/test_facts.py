"""The one wording of a session's facts (terminal summary and report): expected sentences."""

from __future__ import annotations

from stridewatch.cli.options import default_rules
from stridewatch.report.durations import format_duration
from stridewatch.report.facts import session_facts
from stridewatch.report.summary import wearer_summary
from tests.fixtures_session import BoutSpec, make_session


def demo_like() -> dict:
    """The demo's numbers: 689 steps in 388.6 s of walking (106.4 steps/min on average, while
    the per-bout cadence median is 111), overall SI 5 % with a 14 % uneven-steps flag, and a
    flag whose hold window ends after the last sample."""
    session = make_session(bouts=(BoutSpec(15.0, 255.0, 112.0, 2.0),
                                  BoutSpec(285.0, 433.6, 110.0, 14.0)),
                           duration_s=434.28, with_flags=False)
    session.update(steps=689, walking_s=388.6, cadence_spm=111.0)
    session["asymmetry"].update(step_time_si_pct=5.0, longer_steps="left")
    session["lean"].update(sagittal_deg_median=6.8, frontal_deg_median=-0.3)
    session["flags"] = [
        {"rule": "uneven-steps", "start_s": 285.4, "end_s": 434.0, "value": 14.2,
         "threshold": 10.0, "unit": "%", "message": "Your steps were uneven."},
        {"rule": "forward-lean", "start_s": 285.0, "end_s": 435.0, "value": 16.0,
         "threshold": 10.0, "unit": "deg", "message": "You leaned forward."},
    ]
    return session


def test_numbers_add_up_and_no_even_next_to_an_uneven_flag() -> None:
    facts = session_facts(demo_like())
    assert facts.sentences == [
        "You took 689 steps in 6 min 28 s of walking (2 walks in a 7 min 14 s recording).",
        "Your average pace was 106 steps a minute: brisk (brisk walking is 100 steps a minute "
        "or more).",  # 689 / (388.6 / 60) = 106.4, not the bout median 111
        "Your steps were uneven for 2 min 28 s: up to 14 % difference in step time between the "
        "legs (limit 10 %); over the whole walk left steps took 5 % longer than the other side.",
    ]
    assert facts.posture.startswith(
        "Your trunk was typically 7° forward of upright, no side tilt (compared with your "
        "standing calibration). It went past your limits: leaning forward for 2 min 29 s.")
    text = wearer_summary(demo_like(), default_rules())
    assert "steps were even" not in text and "-0°" not in text and " 0 %" not in text


def test_flags_are_clipped_to_the_recording() -> None:
    facts = session_facts(demo_like())
    lean = next(f for f in facts.flags if f.rule == "forward-lean")
    assert (lean.start_s, lean.end_s) == (285.0, 434.28)  # not 435.0: the recording ends
    assert (lean.when, lean.duration, lean.value) == ("4:45–7:14", "2 min 29 s",
                                                      "16.0° vs 10.0°")


def test_durations_are_rounded_down_against_goals() -> None:
    assert format_duration(299.6) == "4 min 59 s"  # never "5 min" for a walk short of 5
    assert format_duration(59.99) == "59 s"
    assert format_duration(3600 + 59 * 60 + 59.9) == "1 h 59 min"
    session = make_session(bouts=(BoutSpec(10.0, 309.6, 104.0, 1.0),), with_flags=False)
    assert "in 4 min 59 s of walking" in session_facts(session).sentences[0]


def test_zero_is_said_in_words() -> None:
    session = make_session(bouts=(BoutSpec(10.0, 400.0, 110.0, 0.3),), with_flags=False)
    session["asymmetry"].update(step_time_si_pct=0.3, longer_steps="right")
    session["lean"].update(sagittal_deg_median=-0.4, frontal_deg_median=-0.2)
    facts = session_facts(session)
    assert facts.sentences[2] == ("Your steps were even: left and right steps took the same "
                                  "time (limit 8 %).")
    assert facts.posture.startswith("Your trunk was typically upright, no side tilt")
    session["lean"].update(sagittal_deg_median=-3.4, frontal_deg_median=2.6)
    assert session_facts(session).posture.startswith(
        "Your trunk was typically 3° backward of upright, side tilt 3°")


def test_uneven_overall_but_never_flagged_is_not_called_even() -> None:
    session = make_session(bouts=(BoutSpec(10.0, 400.0, 110.0, 12.0),), with_flags=False)
    session["asymmetry"].update(step_time_si_pct=12.0, longer_steps="left")
    assert session_facts(session).sentences[2] == (
        "Over the whole walk left steps took 12 % longer than the other side (limit 8 %), "
        "though never for long enough to be flagged.")


def test_pace_verdict_follows_the_slow_pace_flag() -> None:
    session = make_session(bouts=(BoutSpec(10.0, 400.0, 104.0, 1.0),), with_flags=False)
    session["flags"] = [{"rule": "slow-pace", "start_s": 100.0, "end_s": 250.0, "value": 92.0,
                         "threshold": 100.0, "unit": "steps/min", "message": "slow"}]
    assert session_facts(session).sentences[1].startswith(
        "Your average pace was 104 steps a minute: slower than brisk for 2 min 30 s of it")


def test_lean_reference_is_named_and_posture_not_judged_without_one() -> None:
    session = make_session(with_flags=False)
    session["lean"].update(reference="standing", reference_segment_s=[2.0, 12.0])
    assert "(compared with you standing still at 2–12 s)" in session_facts(session).posture
    session["lean"].update(reference="relative", reference_segment_s=None)
    posture = session_facts(session).posture
    assert posture.startswith("Posture could not be judged: this recording has no upright")
    assert "typically" not in posture


def test_short_walk_message_does_not_round_up_to_the_goal() -> None:
    import numpy as np

    from analysis.rules import RuleInputs, evaluate

    bout_end_s = 10.0 + 299.6  # 4 min 59.6 s of walking against a 5-minute goal
    empty = np.array([])
    x = RuleInputs(second_t_s=np.arange(0.0, 320.0), walking=np.zeros(320, bool),
                   sagittal_deg=np.full(320, np.nan), frontal_deg=np.full(320, np.nan),
                   bout_start_s=np.array([10.0]), bout_end_s=np.array([bout_end_s]),
                   bout_cadence_spm=np.array([110.0]), ic_t_s=empty, sides=empty,
                   ic_bout=empty.astype(int), session_start_s=0.0, session_end_s=320.0)
    [flag] = [f for f in evaluate(default_rules(), x) if f.rule == "short-walk"]
    assert flag.message.startswith("You walked 4.9 minutes in this session (aim for at least 5)")
