"""Two instances on one stream: their outlets never share a source_id, say where they come from, and the clash is reported."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pylsl

from app.pipeline import LivePipeline, PipelineConfig, StreamSelector
from helpers.lsl import SyntheticEEGSource, unique_name, wait_until


def outlets_named(name: str) -> list[pylsl.StreamInfo]:
    """Full infos (with <desc>) of every stream called ``name``."""
    infos = []
    for sinfo in pylsl.resolve_byprop("name", name, minimum=2, timeout=5.0):
        inlet = pylsl.StreamInlet(sinfo)
        infos.append(inlet.info(timeout=5.0))
        inlet.close_stream()
    return infos


def test_two_instances_get_distinct_source_ids_and_a_warning(checkpoint, checkpoint_path):
    source = SyntheticEEGSource(unique_name("eeg"))
    prefix = unique_name("twin")
    cfg = PipelineConfig(StreamSelector(name=source.name), checkpoint_path, outlet_prefix=prefix)
    first, second = LivePipeline(cfg, checkpoint=checkpoint), LivePipeline(cfg, checkpoint=checkpoint)
    try:
        first.start()
        second.start()
        assert not first.notices.history("outlets")
        clash = [n.message for n in second.notices.history("outlets")]
        assert {f"{prefix}-mi", f"{prefix}-decisions"} <= {m.split("'")[1] for m in clash}
        assert all("--outlet-prefix" in m for m in clash)
        for name in (f"{prefix}-mi", f"{prefix}-decisions"):
            infos = outlets_named(name)
            assert len(infos) == 2
            assert len({i.source_id() for i in infos}) == 2  # a client can never slide from one to the other
            for info in infos:
                desc = ET.fromstring(info.as_xml()).find("./desc/samba_live")
                assert desc.findtext("source_stream") == source.name
                assert desc.findtext("source_stream_id") == source.name
                assert desc.findtext("checkpoint") == str(checkpoint_path)
                assert desc.findtext("checkpoint_sha256") == checkpoint.sha256 != ""
            instances = {ET.fromstring(i.as_xml()).find("./desc/samba_live").findtext("instance") for i in infos}
            assert len(instances) == 2
        assert wait_until(lambda: first.n_decisions > 0 and second.n_decisions > 0)
    finally:
        first.stop()
        second.stop()
        source.stop()
