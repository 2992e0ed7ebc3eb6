"""The notch follows the user's mains, not the mains where the checkpoint was trained."""

from __future__ import annotations

import pytest

from app.cli import build_parser
from app.pipeline.chain import preprocess_config_of
from app.pipeline.errors import PipelineError
from helpers.models import save_random_checkpoint
from samba_core import PreprocessConfig, load_checkpoint


@pytest.fixture
def checkpoint(tmp_path):
    return load_checkpoint(save_random_checkpoint(tmp_path / "m.samba", preprocessing=PreprocessConfig(notch=50.0)))


def test_checkpoint_notch_is_kept_by_default(checkpoint):
    assert preprocess_config_of(checkpoint).notch == 50.0


def test_mains_overrides_or_disables_the_notch(checkpoint):
    assert preprocess_config_of(checkpoint, 60.0).notch == 60.0
    assert preprocess_config_of(checkpoint, 0.0).notch is None
    assert preprocess_config_of(checkpoint, 60.0).bandpass == preprocess_config_of(checkpoint).bandpass
    with pytest.raises(PipelineError, match="mains"):
        preprocess_config_of(checkpoint, -50.0)


def test_cli_flag():
    assert build_parser().parse_args(["--headless", "--replay", "--mains", "60"]).mains == 60.0


# -- the line-noise check -----------------------------------------------------------------

import numpy as np  # noqa: E402

from app.pipeline.mains import MainsCheck, line_noise_frequency  # noqa: E402
from app.pipeline.replay import DEMO_RECORDING, load_recording  # noqa: E402


def eeg_with_line_noise(mains: float | None, rate: float, seconds: float = 10.0, amplitude: float = 5.0,
                        seed: int = 0) -> np.ndarray:
    """(8, n) µV: pink-ish noise plus a mains sine (and its phase per channel) when ``mains`` is set."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    x = np.cumsum(rng.normal(0, 1, (8, n)), axis=1) * 0.2 + rng.normal(0, 5, (8, n))
    if mains is not None:
        t = np.arange(n) / rate
        x += amplitude * np.sin(2 * np.pi * mains * t + rng.uniform(0, 2 * np.pi, (8, 1)))
    return x


@pytest.mark.parametrize("rate", [160.0, 256.0, 500.0])
@pytest.mark.parametrize("mains", [50.0, 60.0, None])
def test_the_line_noise_frequency_is_found(rate, mains):
    assert line_noise_frequency(eeg_with_line_noise(mains, rate), rate) == mains


def test_a_weak_hum_below_the_noise_is_not_claimed():
    assert line_noise_frequency(eeg_with_line_noise(60.0, 256.0, amplitude=0.05), 256.0) is None


def test_a_misplaced_notch_is_reported_once_and_a_right_one_never():
    rate = 256.0
    wrong, right = MainsCheck(rate, notch=50.0, seconds=4.0), MainsCheck(rate, notch=60.0, seconds=4.0)
    x = eeg_with_line_noise(60.0, rate, seconds=8.0)
    messages = []
    for chunk in np.array_split(x, 40, axis=1):
        wrong.add(chunk)
        right.add(chunk)
        messages += [m for m in (wrong.verdict(), right.verdict()) if m]
    assert len(messages) == 1 and "60 Hz" in messages[0] and "--mains 60" in messages[0]
    assert MainsCheck(rate, notch=None).done and MainsCheck(100.0, notch=50.0).done  # nothing to check


def test_the_demo_recording_is_not_mistaken_for_50_hz_data():
    # EEGMMIDB was recorded on 60 Hz mains; its first seconds show no clear line peak at all.
    raw = load_recording(DEMO_RECORDING)
    x = raw.get_data(picks="eeg")[:, : int(10 * raw.info["sfreq"])] * 1e6
    assert line_noise_frequency(x, raw.info["sfreq"]) in (None, 60.0)
