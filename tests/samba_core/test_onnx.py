"""The exported decoding step: explicit states, dynamic channel count, parity with torch."""

from __future__ import annotations

import numpy as np
import onnx
import torch

from helpers.models import random_montage, small_config
from samba_core import Samba
from samba_core.onnx_export import EncoderStep, OnnxStepRunner, export_step_onnx


def test_graph_has_every_state_as_input_and_output(tmp_path):
    torch.manual_seed(0)
    model = Samba(small_config())
    path = export_step_onnx(model, tmp_path / "step.onnx", n_channels=5)
    graph = onnx.load(str(path)).graph
    inputs = [i.name for i in graph.input]
    outputs = [o.name for o in graph.output]
    n_blocks = sum(model.config.encoder_depths)
    assert inputs[:2] == ["x", "spatial_weights"]
    assert len(inputs) == 2 + 2 * n_blocks
    assert outputs[:2] == ["logits_mi", "logits_distraction"]
    assert [o.removesuffix("_out") for o in outputs[2:]] == inputs[2:]


def test_runner_matches_torch_step_for_other_channel_counts(tmp_path):
    torch.manual_seed(0)
    model = Samba(small_config()).eval()
    runner = OnnxStepRunner(export_step_onnx(model, tmp_path / "step.onnx", n_channels=5, dynamic_channels=True))
    step = EncoderStep(model)
    hop = model.config.hop
    for channels in (3, 19):  # exported with 5: the channel axis is dynamic
        runner.reset()
        states = step.initial_states()
        coords = torch.from_numpy(random_montage(channels))
        w = model.spatial_weights(coords).detach()
        rng = np.random.default_rng(channels)
        for _ in range(4):
            x = (rng.normal(size=(channels, hop)) * 20).astype(np.float32)
            onnx_logits = runner.step(x, w.numpy())
            with torch.no_grad():
                out = step(torch.from_numpy(x)[None], w, *states)
            states = list(out[2:])
            np.testing.assert_allclose(onnx_logits["mi"], out[0][0].numpy(), atol=1e-4)
            np.testing.assert_allclose(onnx_logits["distraction"], out[1][0].numpy(), atol=1e-4)
