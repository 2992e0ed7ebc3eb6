"""Honest outputs: only heads the checkpoint's metadata shows trained are decoded and published."""

from __future__ import annotations

from types import SimpleNamespace

import pylsl
import pytest
import torch

import app.pipeline.recovery as recovery
from app.pipeline import LivePipeline, PipelineConfig, PipelineError, StreamSelector
from app.pipeline.heads import checkpoint_heads, in_sample_notice
from helpers.lsl import SyntheticEEGSource, unique_name, wait_until
from helpers.models import small_config
from samba_core import CheckpointMetadata, Samba, load_checkpoint, save_checkpoint
from samba_core.preprocessing import PreprocessConfig

CLASSES = {"mi": ["left", "right"], "distraction": ["attentive", "distracted"]}
MI_REPORT = {"kind": "within-subject", "mean_trial_accuracy": 0.6, "chance": 0.51, "config": {"window_s": [0.5, 4.0]}}
UNTRAINED = "untrained: needs a head-training or calibration step"


def fake(provenance: dict, name: str = "x.samba"):
    return SimpleNamespace(path=name, metadata=SimpleNamespace(provenance=provenance, classes=CLASSES),
                           config=SimpleNamespace(head_classes=CLASSES))


@pytest.mark.parametrize(
    ("provenance", "decoded", "status"),
    [
        ({"pretraining": {}, "heads": {"mi": MI_REPORT, "distraction": UNTRAINED}}, ("mi",), "trained"),
        ({"pretraining": {}, "heads": {"mi": UNTRAINED, "distraction": UNTRAINED}}, (), "untrained"),
        ({"pretraining": {}, "heads": {"mi": {"kind": "x"}}}, (), "untrained"),  # a report without evaluation
        ({}, ("mi", "distraction"), "unknown"),  # no training record at all
        ({"kind": "subject-calibration", "task": "mi", "scores": {"samba": {"balanced_accuracy": 0.72}},
          "base_checkpoint": {"provenance": {"heads": {"mi": UNTRAINED, "distraction": UNTRAINED}}}},
         ("mi",), "calibrated"),
    ],
)
def test_head_status_comes_from_the_checkpoint_metadata(provenance, decoded, status):
    heads = checkpoint_heads(fake(provenance))
    assert heads.decoded == decoded
    assert heads.heads["mi"].status == status
    if status in ("trained", "calibrated"):
        assert heads.heads["mi"].accuracy in (0.6, 0.72)
        assert "calibrated for this user" in heads.heads["mi"].describe() or status == "trained"
    assert "untrained" in heads.heads["distraction"].describe() or not provenance


@pytest.mark.parametrize(("evaluated", "corpus", "seen"), [
    (["S002", "S003"], {"subjects": ["S002", "S003", "S005"]}, 2),  # every evaluation subject pretrained on
    (["S002", "S010"], {"subjects": ["S002", "S003"]}, 1),  # some
    (["S010", "S011"], {"subjects": ["S002", "S003"]}, 0),  # held out of pretraining: no caveat
    (["S2", "s003", "S010"], {"subjects": ["S002", "S003"]}, 2),  # ids written two ways are the same subjects
    (["Subject1"], {"subjects": ["Subject01", "S001"]}, 1),
    (["S002"], None, 0),  # the checkpoint records no corpus: cannot tell
    (None, {"subjects": ["S002"]}, 0),  # the report names no subjects
])
def test_an_accuracy_on_subjects_the_base_was_pretrained_on_is_called_optimistic(evaluated, corpus, seen):
    report = dict(MI_REPORT, **({"subjects": evaluated} if evaluated is not None else {}))
    prov = {"pretraining": {}, "heads": {"mi": report, "distraction": UNTRAINED}}
    if corpus is not None:
        prov["corpus"] = corpus
    for provenance in (prov, {"kind": "subject-calibration", "task": "distraction", "base_checkpoint": {"provenance": prov},
                              "scores": {"samba": {"balanced_accuracy": 0.7}}}):
        mi = checkpoint_heads(fake(provenance)).heads["mi"]  # the base's head, also inside a calibration
        assert mi.seen_in_pretraining == seen
        assert ("optimistic for new users" in mi.describe()) == bool(seen)
        n = len(evaluated or ())
        share = f"all {n} of its evaluation" if seen == n else f"{seen} of its {n} evaluation"
        assert (share in mi.describe()) == bool(seen)


def save(path, provenance):
    torch.manual_seed(0)
    return save_checkpoint(path, Samba(small_config()).eval(), CheckpointMetadata(
        sample_rate=256.0, preprocessing=PreprocessConfig().to_dict(), classes=CLASSES, provenance=provenance))


@pytest.mark.parametrize(("accuracy", "chance", "flagged"),
                         [(0.49, 0.50, True), (0.52, 0.50, True), (0.53, 0.50, False), (0.30, 0.25, False),
                          (0.26, 0.25, True)])
def test_a_head_evaluated_at_chance_is_named(accuracy, chance, flagged):
    report = dict(MI_REPORT, mean_trial_accuracy=accuracy, chance=chance)
    heads = checkpoint_heads(fake({"pretraining": {}, "heads": {"mi": report, "distraction": UNTRAINED}}))
    assert heads.at_chance() == (("mi",) if flagged else ())
    untrained = checkpoint_heads(fake({"pretraining": {}, "heads": {"mi": UNTRAINED, "distraction": UNTRAINED}}))
    assert untrained.at_chance() == ()  # not decoded at all: reported as untrained instead


def test_replaying_a_recording_the_checkpoint_was_calibrated_on_is_called_in_sample(tmp_path):
    from samba_core.recordings import file_sha256

    seen, unseen = tmp_path / "S001R04.edf", tmp_path / "S001R06.edf"
    seen.write_bytes(b"calibration run")
    unseen.write_bytes(b"another run")
    calibrated = fake({"kind": "subject-calibration", "task": "mi",
                       "sessions": [{"path": "elsewhere/S001R04.edf", "sha256": file_sha256(seen)}]}, "s001.samba")
    notice = in_sample_notice(calibrated, seen)
    assert notice is not None and "S001R04.edf" in notice and "s001.samba" in notice and "in-sample" in notice
    assert in_sample_notice(calibrated, unseen) is None  # same subject, another file: out of sample
    assert in_sample_notice(calibrated, "a recording in memory") is None
    assert in_sample_notice(fake({"pretraining": {}}), seen) is None  # no calibration sessions recorded


def test_an_untrained_head_is_neither_published_nor_decided(tmp_path):
    ckpt = load_checkpoint(save(tmp_path / "m.samba", {"heads": {"mi": MI_REPORT, "distraction": UNTRAINED}}))
    source = SyntheticEEGSource(unique_name("eeg"))
    prefix = unique_name("out")
    decisions: list = []
    pipeline = LivePipeline(PipelineConfig(StreamSelector(name=source.name), ckpt.path, outlet_prefix=prefix),
                            checkpoint=ckpt, on_decision=decisions.append)
    try:
        pipeline.start()
        assert wait_until(lambda: len(decisions) >= 5)
        names = {s.name() for s in pylsl.resolve_streams(1.0)}
        snap = pipeline.snapshot()
    finally:
        pipeline.stop()
        source.stop()
    assert f"{prefix}-mi" in names and f"{prefix}-decisions" in names and f"{prefix}-distraction" not in names
    assert all(set(d.smoothed) == {"mi"} for d in decisions)
    assert all(m.startswith("mi:") for d in decisions for m in d.markers)
    assert list(snap.classes) == ["mi"] and snap.heads.hidden == ("distraction",)
    assert "distraction" in " ".join(n.message for n in pipeline.notices.history("heads"))


@pytest.mark.parametrize(("options", "backend"), [({}, "fused"), ({"spatial": "virtual-sites"}, "fused"),
                                               ({"differential_form": "paper"}, "onnx")])
def test_the_decoding_step_in_use_is_said_and_a_fallback_is_a_notice(tmp_path, options, backend):
    path = tmp_path / "m.samba"
    torch.manual_seed(0)
    save_checkpoint(path, Samba(small_config(**options)).eval(), CheckpointMetadata(
        sample_rate=256.0, preprocessing=PreprocessConfig().to_dict(), classes=CLASSES,
        provenance={"heads": {"mi": MI_REPORT, "distraction": UNTRAINED}}))
    ckpt = load_checkpoint(path)
    source = SyntheticEEGSource(unique_name("eeg"))
    decisions: list = []
    pipeline = LivePipeline(PipelineConfig(StreamSelector(name=source.name), ckpt.path, outlet_prefix=unique_name("out")),
                            checkpoint=ckpt, on_decision=decisions.append)
    try:
        pipeline.start()
        assert wait_until(lambda: len(decisions) >= 3)
    finally:
        pipeline.stop()
        source.stop()
    said = [(n.level, n.message) for n in pipeline.notices.history("decoding")]
    assert ("info", f"decoding step: {backend}" + ("" if backend == "fused" else " (asked for fused)")) in said
    fallback = [m for level, m in said if level == "warning"]
    assert bool(fallback) == (backend == "onnx") and all("--backend onnx" in m for m in fallback)


def test_a_checkpoint_without_any_trained_head_is_refused(tmp_path):
    ckpt = load_checkpoint(save(tmp_path / "m.samba", {"heads": {"mi": UNTRAINED, "distraction": UNTRAINED}}))
    source = SyntheticEEGSource(unique_name("eeg"))
    try:
        with pytest.raises(PipelineError, match="none of its heads .* was trained.*calibrate"):
            LivePipeline(PipelineConfig(StreamSelector(name=source.name), ckpt.path,
                                        outlet_prefix=unique_name("out")), checkpoint=ckpt).start()
    finally:
        source.stop()


def test_a_recording_that_cannot_be_finished_names_recover(tmp_path, checkpoint, monkeypatch):
    def full_disk(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(recovery, "recover_recording", full_disk)
    source = SyntheticEEGSource(unique_name("eeg"))
    out = tmp_path / "r.fif"
    pipeline = LivePipeline(PipelineConfig(StreamSelector(name=source.name), checkpoint.path, record=out,
                                           outlet_prefix=unique_name("out")), checkpoint=checkpoint)
    try:
        pipeline.start()
        assert wait_until(lambda: pipeline.samples_received > 256)
    finally:
        pipeline.stop()
        source.stop()
    message = pipeline.notices.history("recording")[-1].message
    assert "No space left" in message and f"samba-live --recover {out}.partial" in message
    assert (tmp_path / "r.fif.partial").stat().st_size > 0
