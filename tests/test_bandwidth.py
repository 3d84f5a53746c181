"""The bandwidth rule (gateway/core/bandwidth.py), with an injected clock."""

from __future__ import annotations

from gateway.core import bandwidth as bw
from gateway.core.bandwidth import Decision, ReceiverRule, Video


def _run(
    rule: ReceiverRule,
    start: float,
    seconds: float,
    remb: int | None,
    loss: float | None = 0.0,
    own: int | None = 5_000_000,
    step: float = 0.5,
    sent: int | None = None,
) -> list[tuple[float, Decision]]:
    out = []
    t = start
    while t < start + seconds - 1e-9:
        out.append((t, rule.update(t, remb, loss, own, sent)))
        t += step
    return out


def test_the_cap_is_the_weakest_of_the_receivers_remb_and_the_gateways_own_estimate() -> None:
    rule = ReceiverRule()
    assert rule.update(0.0, 600_000, 0.0, 2_000_000).cap == 600_000
    assert rule.update(0.5, 3_000_000, 0.0, 900_000).cap == 900_000
    assert rule.update(1.0, None, None, None).cap is None  # nothing known: no limit
    assert rule.update(1.5, 10_000, 0.0, None).cap == bw.FLOOR_BPS  # never below the floor


def test_heavy_loss_cuts_the_cap_like_gcc_and_low_loss_lets_it_grow_back() -> None:
    rule = ReceiverRule()
    first = rule.update(0.0, 1_000_000, 0.30, 5_000_000)
    assert first.cap == int(1_000_000 * (1 - 0.5 * 0.30))
    again = rule.update(1.0, 1_000_000, 0.30, 5_000_000)  # the same losses, through the window
    assert again.cap == first.cap
    second = rule.update(bw.LOSS_DECREASE_EVERY, 1_000_000, 0.30, 5_000_000)
    assert second.cap == int(1_000_000 * 0.85 * 0.85)
    held = rule.update(3.0, 1_000_000, 0.05, 5_000_000)  # between 2 % and 10 %: hold
    assert held.cap == second.cap
    grown = rule.update(4.0, 1_000_000, 0.0, 5_000_000)
    assert grown.cap == int(second.cap * bw.GROWTH)
    caps = [d.cap for _t, d in _run(rule, 5.0, 20.0, 1_000_000, loss=0.0, step=1.0)]
    assert caps == sorted(caps) and caps[-1] == 1_000_000  # back to the REMB, not above
    # No new report (loss None): the loss cap neither falls nor grows.
    rule = ReceiverRule()
    rule.update(0.0, 1_000_000, 0.5, None)
    assert rule.update(1.0, 1_000_000, None, None).cap == 750_000


def test_video_pauses_only_after_the_budget_stays_low_and_audio_goes_on() -> None:
    rule = ReceiverRule()
    low = bw.AUDIO_BPS + bw.PAUSE_BELOW_BPS - 10_000
    steps = _run(rule, 0.0, bw.PAUSE_AFTER, low)
    assert all(d.video is Video.OK and not d.changed for _t, d in steps)
    paused = rule.update(bw.PAUSE_AFTER, low, 0.0, 5_000_000)
    assert paused.video is Video.PAUSED and paused.changed and not paused.forward_video
    # Paused, this receiver no longer limits the sender: the recording keeps full video.
    assert paused.cap == 5_000_000


def test_a_short_dip_does_not_pause() -> None:
    rule = ReceiverRule()
    low = bw.AUDIO_BPS + 50_000
    _run(rule, 0.0, bw.PAUSE_AFTER - 1.0, low)
    assert rule.update(bw.PAUSE_AFTER - 0.5, 800_000, 0.0, None).video is Video.OK
    steps = _run(rule, bw.PAUSE_AFTER, bw.PAUSE_AFTER - 0.5, low)
    assert all(d.video is Video.OK for _t, d in steps)  # the timer started again


def _paused_rule() -> ReceiverRule:
    rule = ReceiverRule()
    _run(rule, 0.0, bw.PAUSE_AFTER + 0.5, 60_000)
    assert rule.video is Video.PAUSED
    return rule


def test_a_probe_on_a_still_weak_link_fails_and_pauses_again() -> None:
    rule = _paused_rule()
    t0 = rule._paused_at
    quiet = _run(rule, t0, bw.PROBE_EVERY, None, loss=None)
    assert all(d.video is Video.PAUSED for _t, d in quiet)
    probe = rule.update(t0 + bw.PROBE_EVERY, None, None, 5_000_000)
    assert probe.video is Video.PROBING and probe.forward_video and not probe.changed
    assert probe.cap == bw.PROBE_BPS  # probing at a rate the receiver can check
    # The receiver's reports in the probe's second half: heavy loss.
    t = t0 + bw.PROBE_EVERY + bw.PROBE_JUDGE_AFTER
    again = rule.update(t, None, 0.4, 5_000_000)
    assert again.video is Video.PAUSED and not again.changed  # the pages saw no resume


def test_a_probe_on_a_recovered_link_resumes_from_the_probe_rate() -> None:
    rule = _paused_rule()
    t0 = rule._paused_at + bw.PROBE_EVERY
    assert rule.update(t0, None, None, 5_000_000).video is Video.PROBING
    # Early in the probe, the loss of the silence before does not count.
    assert rule.update(t0 + 0.25, None, 0.5, 5_000_000).video is Video.PROBING
    steps = _run(rule, t0 + 0.5, bw.PROBE_FOR, 900_000, loss=0.0)
    resumed = [d for _t, d in steps if d.changed]
    assert len(resumed) == 1 and resumed[0].video is Video.OK
    assert resumed[0].cap is not None and resumed[0].cap <= bw.PROBE_BPS * bw.GROWTH
    # What the adapter paces and thins by is the probe's rate too, from the resume on (the
    # receiver's REMB still measures the probe, and is ignored for a while).
    again = _paused_rule()
    t = again._paused_at + bw.PROBE_EVERY
    while not again.update(t, 90_000, 0.0, 5_000_000).changed:
        t += 0.5
    assert again.video is Video.OK and again.estimate == bw.PROBE_BPS
    # and grows from there to what the receiver estimates
    caps = [d.cap for _t, d in _run(rule, t0 + 5.0, 30.0, 900_000, loss=0.0, step=1.0)]
    assert caps[-1] == 900_000


def test_resume_within_probe_every_plus_probe_for_once_the_link_recovers() -> None:
    rule = _paused_rule()
    t = rule._paused_at
    recovered_at = t + 1.0
    while rule.video is not Video.OK:
        t += 0.5
        good = t >= recovered_at
        rule.update(t, 900_000 if good else None, 0.0 if good else None, 5_000_000)
        assert t - recovered_at < bw.PROBE_EVERY + bw.PROBE_FOR + 1.0


def test_a_low_remb_for_a_low_rate_stream_is_no_reason_to_pause() -> None:
    """A still picture sent at 40 kbit/s: the receiver's REMB (~1.5 times that) is low too,
    but the link is not the limit; when what it is sent comes near its REMB, it is."""
    rule = ReceiverRule()
    steps = _run(rule, 0.0, 3 * bw.PAUSE_AFTER, 70_000, sent=40_000)
    assert all(d.video is Video.OK for _t, d in steps)
    steps = _run(rule, 20.0, bw.PAUSE_AFTER + 1, 70_000, sent=80_000)
    assert steps[-1][1].video is Video.PAUSED
    # Loss that set the cap also says the receiver is the limit, whatever is sent.
    rule = ReceiverRule()
    steps = _run(rule, 0.0, bw.PAUSE_AFTER + 3, 300_000, loss=0.5, sent=10_000)
    assert steps[-1][1].video is Video.PAUSED


def test_a_probe_without_any_receiver_report_does_not_resume() -> None:
    rule = _paused_rule()
    t0 = rule._paused_at + bw.PROBE_EVERY
    steps = _run(rule, t0, 2 * bw.PROBE_FOR + 0.5, None, loss=None)
    assert [d.video for _t, d in steps].count(Video.OK) == 0
    assert steps[0][1].video is Video.PROBING and steps[-1][1].video is Video.PAUSED


def test_heavy_loss_pauses_sooner() -> None:
    rule = ReceiverRule()
    steps = _run(rule, 0.0, bw.PAUSE_AFTER_HEAVY_LOSS + 1.5, 130_000, loss=0.6, sent=150_000)
    paused = [t for t, d in steps if d.changed]
    assert paused and paused[0] < bw.PAUSE_AFTER


def test_after_a_resume_the_remb_of_the_pause_does_not_pause_again() -> None:
    rule = _paused_rule()
    t0 = rule._paused_at + bw.PROBE_EVERY
    rule.update(t0, None, None, 5_000_000)
    steps = _run(rule, t0 + 0.5, bw.PROBE_FOR, 35_000, loss=0.0, sent=40_000)
    assert steps[-1][1].video is Video.OK
    # The REMB still says 35 kbit/s (it measured the probe): for a while loss alone decides.
    after = _run(rule, t0 + 0.5 + bw.PROBE_FOR, bw.RESUME_GRACE - 1, 35_000, sent=180_000)
    assert all(d.video is Video.OK for _t, d in after)
    caps = [d.cap for _t, d in after]  # from the probe's rate, growing; not the sender's own
    assert caps[0] <= bw.PROBE_BPS * bw.GROWTH and caps == sorted(caps) and caps[-1] < 5_000_000
