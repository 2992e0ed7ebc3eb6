"""The pipeline on real LSL streams (pylsl outlets on loopback) that behave well and badly."""

from __future__ import annotations

import numpy as np
import pytest

from app.pipeline import (
    AcquisitionConfig, LivePipeline, PipelineConfig, PipelineError, StreamNotFoundError, StreamRateError,
    StreamSelector,
)
from helpers.lsl import SyntheticEEGSource, unique_name, wait_until
from montages import MontageError


@pytest.fixture
def sources():
    made: list[SyntheticEEGSource] = []

    def make(**kw) -> SyntheticEEGSource:
        made.append(SyntheticEEGSource(unique_name("eeg"), **kw))
        return made[-1]

    yield make
    for s in made:
        s.stop()


@pytest.fixture
def pipelines(checkpoint, checkpoint_path):
    made: list[LivePipeline] = []

    def make(name: str, decisions: list | None = None, **acq) -> LivePipeline:
        acquisition = AcquisitionConfig(**{"resolve_timeout_s": 5.0, "rate_window_s": 1.0, **acq})
        cfg = PipelineConfig(StreamSelector(name=name), checkpoint_path, acquisition=acquisition,
                             outlet_prefix=unique_name("out"))
        made.append(LivePipeline(cfg, checkpoint=checkpoint,
                                 on_decision=decisions.append if decisions is not None else None))
        return made[-1]

    yield make
    for p in made:
        p.stop()


def codes(pipeline: LivePipeline) -> list[str]:
    return [n.code for n in pipeline.notices.history()]


def test_decisions_are_stamped_with_the_newest_input_sample_at_1khz(sources, pipelines):
    source = sources(rate=1000.0, chunk=16)
    decisions: list = []
    pipeline = pipelines(source.name, decisions).start()
    assert wait_until(lambda: len(decisions) >= 40)
    pipeline.stop()
    assert pipeline.error is None and pipeline.samples_lost == 0
    seg0 = [d for d in decisions if d.segment == 0]
    model_index = np.array([d.model_index for d in seg0])
    sample_index = np.array([d.sample_index for d in seg0])
    sample_time = np.array([d.sample_time for d in seg0])
    # model rate 256 Hz from 1 kHz: model sample k used input samples up to k * 1000 // 256.
    np.testing.assert_array_equal(sample_index, model_index * 125 // 32)
    # Input sample i of the segment was stamped t0 + (first + i) / 1000 by the source, for one integer `first`:
    # exactly one offset for all decisions; off an integer only by liblsl's time-correction estimate, which
    # shifts every stamp alike (tens of µs on a loaded loopback; an off-by-one sample would be 1.0 here).
    first = (sample_time - source.t0) * 1000.0 - sample_index
    assert np.ptp(first) < 0.05 and abs(first[0] - round(first[0])) < 0.25
    latency = np.array([d.latency_s for d in seg0])
    assert (latency > 0).all()
    probs = np.stack([d.probs["mi"] for d in seg0])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_the_held_back_first_second_warms_the_model_without_a_burst_of_stale_decisions(sources, pipelines, checkpoint):
    # The preprocessor holds the first second back to settle the unit, then releases it at once:
    # its tokens advance the model, but only the newest one is published as a decision.
    source = sources(rate=256.0)
    decisions: list = []
    pipeline = pipelines(source.name, decisions).start()
    assert wait_until(lambda: len(decisions) >= 12)
    pipeline.stop()
    seg0 = [d.model_index for d in decisions if d.segment == 0]  # the model sample of each decision
    hop, one_second = checkpoint.config.hop, int(checkpoint.config.sample_rate)
    assert seg0[0] >= one_second - hop  # nothing published from inside the held-back second but its end
    assert np.array_equal(np.diff(seg0), np.full(len(seg0) - 1, hop))  # from then on, every token is a decision
    first = [d for d in decisions if d.segment == 0][0]
    assert {m.split(":")[0] for m in first.markers} == set(first.smoothed)  # each head's decision at segment start


@pytest.mark.parametrize("rate", [256.0, 500.0])
def test_a_gap_resets_the_model_and_counts_the_lost_samples(sources, pipelines, checkpoint, rate):
    source = sources(rate=rate)
    decisions: list = []
    pipeline = pipelines(source.name, decisions).start()
    assert wait_until(lambda: len(decisions) >= 10)
    source.skip(40)
    assert wait_until(lambda: "gap" in codes(pipeline))
    assert wait_until(lambda: sum(d.segment == 1 for d in decisions) >= 3)
    assert pipeline.samples_lost == 40
    assert pipeline.resets == 1
    after = [d.model_index for d in decisions if d.segment == 1]
    hop, one_second = checkpoint.config.hop, int(checkpoint.config.sample_rate)
    # The fresh state's first second warms it unpublished (its first decisions would be extreme);
    # counting restarted with the new segment, and from then on every token is a decision.
    assert one_second - hop <= after[0] < one_second + hop
    assert np.array_equal(np.diff(after), np.full(len(after) - 1, hop))
    assert pipeline.snapshot().samples_lost == 40


def test_stream_drop_and_return_reattaches_and_resets(sources, pipelines):
    source = sources(rate=256.0)
    decisions: list = []
    pipeline = pipelines(source.name, decisions).start()
    assert wait_until(lambda: len(decisions) >= 5)
    source.close()
    assert wait_until(lambda: pipeline.status == "stream-lost")
    assert "lost" in codes(pipeline)
    source.open()
    assert wait_until(lambda: "reattached" in codes(pipeline))
    assert wait_until(lambda: any(d.segment >= 1 for d in decisions))
    assert pipeline.status == "running" and pipeline.error is None
    messages = [n.message for n in pipeline.notices.history("reattached")]
    assert "model state reset" in messages[0]


def test_a_nan_channel_is_masked_out_of_the_model(sources, pipelines):
    source = sources(rate=256.0, nan_channel=2)
    decisions: list = []
    pipeline = pipelines(source.name, decisions).start()
    assert wait_until(lambda: not pipeline.snapshot().good[2])
    snap = pipeline.snapshot()
    assert snap.quality[2] == "nan"
    assert snap.good.sum() == len(snap.labels) - 1
    assert np.all(snap.spatial_weights[2] == 0) and np.abs(snap.spatial_weights[3]).sum() > 0
    n = len(decisions)
    assert wait_until(lambda: len(decisions) >= n + 5)
    assert all(np.isfinite(d.probs["mi"]).all() for d in decisions[n:])
    assert "channels" in codes(pipeline)


def test_a_stream_slower_than_it_declares_stops_with_a_rate_error(sources, pipelines):
    source = sources(rate=256.0, actual_rate=128.0)
    pipeline = pipelines(source.name).start()
    assert pipeline.wait(timeout=20.0)
    assert isinstance(pipeline.error, StreamRateError)
    assert "declares 256 Hz" in str(pipeline.error)
    assert pipeline.status == "error"


def test_an_irregular_stream_is_refused(sources, pipelines):
    source = sources(srate_zero=True)
    with pytest.raises(StreamRateError, match="irregular"):
        pipelines(source.name).start()


def test_a_rate_the_checkpoint_cannot_use_is_refused(sources, pipelines):
    source = sources(rate=100.0, chunk=4)  # the checkpoint's 50 Hz notch needs a Nyquist frequency above 50 Hz
    with pytest.raises(PipelineError, match="100 Hz stream cannot be preprocessed"):
        pipelines(source.name).start()


def test_unknown_channel_labels_surface_the_montage_error(sources, pipelines):
    source = sources(labels=("foo1", "foo2", "bar", "baz"))
    with pytest.raises(MontageError) as info:
        pipelines(source.name).start()
    message = str(info.value)
    assert "foo1" in message and "montage" in message.lower()


def test_a_missing_stream_is_reported_with_what_is_visible(pipelines):
    with pytest.raises(StreamNotFoundError, match="samba-live --list-streams"):
        pipelines(unique_name("absent"), resolve_timeout_s=0.5).start()


@pytest.mark.parametrize(("scale", "carried"), [(1e-6, "V"), (1e-3, "mV"), (1.0, None)])
def test_a_declared_unit_the_amplitude_contradicts_is_overruled_with_a_warning(sources, pipelines, scale, carried):
    """Channels declaring microvolts but carrying volts (or millivolts) decode in the carried unit."""
    source = sources(rate=256.0, scale=scale)
    decisions: list = []
    pipeline = pipelines(source.name, decisions).start()
    assert wait_until(lambda: len(decisions) >= 10)
    pipeline.stop()
    unit = pipeline._chain.conditioner.preprocessor.unit
    warnings = [n.message for n in pipeline.notices.history() if n.code == "unit" and n.level == "warning"]
    if carried is None:
        assert unit == "uV" and not warnings
    else:
        assert unit == carried
        assert len(warnings) == 1 and "declare" in warnings[0] and carried in warnings[0]
    assert pipeline.error is None
