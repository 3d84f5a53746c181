"""Sound only, by choice: the pure rule (gateway/core/media_choice.py) and its message."""

from __future__ import annotations

import pytest

from gateway.core.lifecycle import Leg
from gateway.core.media_choice import (
    MediaMode,
    VideoPath,
    notice_key,
    parse_mode,
    restarts_control,
    sends_video,
    video_path,
    wants_video,
)
from signaling import messages as m

K, R = Leg.KIOSK, Leg.RELATIVE
V, OFF, AUDIO = MediaMode.VIDEO, MediaMode.CAMERA_OFF, MediaMode.AUDIO_ONLY


def test_each_choice_says_who_decides_on_the_video_to_each_side() -> None:
    # (mode, receiver) -> path
    table = {
        (V, R): VideoPath.CONTROLLED,
        (V, K): VideoPath.CONTROLLED,
        # Camera off: the relative still gets the kiosk's video (bandwidth rule as usual);
        # the kiosk gets nothing, so there is nothing to judge.
        (OFF, R): VideoPath.CONTROLLED,
        (OFF, K): VideoPath.IDLE,
        # Sound only: nothing to the relative, never probed; nothing from them either.
        (AUDIO, R): VideoPath.REFUSED,
        (AUDIO, K): VideoPath.IDLE,
    }
    assert {(mode, leg): video_path(mode, leg) for mode in MediaMode for leg in Leg} == table


def test_only_the_relatives_media_follow_the_choice() -> None:
    for mode in MediaMode:
        assert sends_video(mode, K) and wants_video(mode, K)  # the kiosk's camera stays on
    assert [sends_video(mode, R) for mode in (V, OFF, AUDIO)] == [True, False, False]
    assert [wants_video(mode, R) for mode in (V, OFF, AUDIO)] == [True, True, False]


def test_the_controller_starts_afresh_only_when_video_comes_back_to_it() -> None:
    assert restarts_control(AUDIO, V, R) and restarts_control(AUDIO, OFF, R)
    assert restarts_control(OFF, V, K) and restarts_control(AUDIO, V, K)
    assert not restarts_control(OFF, AUDIO, K)  # still nothing from the relative
    assert not restarts_control(V, OFF, R)  # the relative's reception never stopped
    assert not any(restarts_control(mode, mode, leg) for mode in MediaMode for leg in Leg)
    assert not restarts_control(V, AUDIO, R)


def test_the_kiosk_is_told_plainly_and_nothing_when_video_is_back() -> None:
    assert notice_key(OFF) == "media.camera_off_there"
    assert notice_key(AUDIO) == "media.audio_only_there"
    assert notice_key(V) is None
    from gateway.core.i18n import message

    assert message("media.camera_off_there", "fr") == "Votre proche a coupé sa caméra"
    assert message("media.audio_only_there", "fr") == (
        "Votre proche a choisi l'appel audio seulement"
    )
    assert message("media.audio_only_there", "en") == "Your relative chose a sound-only call"


@pytest.mark.parametrize("raw", [None, 3, "", "VIDEO", "audio", ["video"], "sound_only"])
def test_anything_but_a_known_mode_is_no_mode(raw: object) -> None:
    assert parse_mode(raw) is None


def test_the_media_message_is_parsed_checked_and_the_relatives_alone() -> None:
    msg = m.parse('{"type": "media", "mode": "audio_only"}')
    assert msg == m.ChooseMedia(mode=AUDIO)
    m.check_role(msg, "relative")
    with pytest.raises(m.ProtocolError) as refused:
        m.check_role(msg, "kiosk")
    assert refused.value.code == m.OUT_OF_ORDER
    for bad in ('{"type": "media"}', '{"type": "media", "mode": "hd"}'):
        with pytest.raises(m.ProtocolError) as malformed:
            m.parse(bad)
        assert malformed.value.code == m.MALFORMED

