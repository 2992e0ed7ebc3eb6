"""The property the app rests on: streaming outputs equal the offline forward pass, for any chunking."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
import torch

from helpers.models import random_montage, small_config
from samba_core import Samba, SambaConfig, StreamingSession
from samba_core.streaming import BACKENDS, DEFAULT_BACKEND, softmax


def offline(model, x, coords, mask=None, decoder=True):
    with torch.no_grad():
        out = model(torch.from_numpy(x)[None], torch.from_numpy(coords), None if mask is None else torch.from_numpy(mask), decoder=decoder)
    logits = {k: v[0].numpy() for k, v in out.logits.items()}
    recon = out.reconstruction[0].numpy() if decoder else None
    return logits, recon


def stream(session, x, sizes):
    logits, recon, idx, pos = [], [], [], 0
    for n in sizes:
        out = session.push(x[:, pos : pos + n])
        pos += n
        logits.append(out.logits)
        idx.append(out.sample_index)
        if out.reconstruction is not None:
            recon.append(out.reconstruction)
    assert pos == x.shape[1]
    merged = {k: np.concatenate([lg[k] for lg in logits]) for k in logits[0]}
    return merged, (np.concatenate(recon, axis=1) if recon else None), np.concatenate(idx)


def chunkings(total: int, hop: int, factor0: int) -> dict[str, list[int]]:
    rng = np.random.default_rng(7)
    random_sizes, left = [], total
    while left:
        n = int(min(left, rng.integers(1, 3 * hop)))
        random_sizes.append(n)
        left -= n

    def fixed(n):
        return [n] * (total // n) + ([total % n] if total % n else [])

    return {
        "whole": [total], "one-sample": fixed(1), "seven": fixed(7), "hop": fixed(hop), "hop-1": fixed(hop - 1),
        "hop+1": fixed(hop + 1), "stage0-factor": fixed(factor0), "random": random_sizes,
    }


CFG = small_config()
CASES = chunkings(150, CFG.hop, CFG.factors[0])


@pytest.mark.parametrize("backend", ["torch", "fused"])
@pytest.mark.parametrize("name", list(CASES))
def test_stream_equals_offline_for_every_chunking(name, backend):
    """The torch reference also streams the reconstruction; the fused step only the heads."""
    torch.manual_seed(0)
    model = Samba(CFG).eval()
    coords = random_montage(12)
    x = (np.random.default_rng(1).normal(size=(12, 150)) * 20).astype(np.float32)
    decoder = backend == "torch"
    ref_logits, ref_recon = offline(model, x, coords, decoder=decoder)
    session = StreamingSession(model, coords, backend=backend, decoder=decoder)
    assert session.backend == backend
    logits, recon, idx = stream(session, x, CASES[name])
    for head in ref_logits:
        assert logits[head].shape == ref_logits[head].shape
        np.testing.assert_allclose(logits[head], ref_logits[head], atol=1e-4, rtol=0)
        np.testing.assert_allclose(softmax(logits[head]), softmax(ref_logits[head]), atol=1e-4, rtol=0)
    if decoder:
        np.testing.assert_allclose(recon, ref_recon, atol=1e-4, rtol=0)
    np.testing.assert_array_equal(idx, np.arange(150 // CFG.hop) * CFG.hop + CFG.hop - 1)


def test_fused_is_the_default_backend():
    session = StreamingSession(Samba(CFG).eval(), random_montage(4))
    assert session.backend == DEFAULT_BACKEND == BACKENDS[0] == "fused"


def test_onnx_session_leaves_no_temporary_files(tmp_path, monkeypatch):
    """The exported step is loaded into memory and its temporary folder removed at once (nothing left
    for the interpreter to clean up implicitly, with a ResourceWarning, at exit)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    session = StreamingSession(Samba(CFG).eval(), random_montage(4), backend="onnx")
    assert list(tmp_path.iterdir()) == []
    out = session.push(np.zeros((4, 2 * CFG.hop), np.float32))  # still runs without the file
    assert np.isfinite(out.logits["mi"]).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_default_model_64_channels_streams_exactly(backend):
    """The shipped size, 64 channels at 256 Hz, 3 s in random chunks."""
    torch.manual_seed(0)
    model = Samba(SambaConfig()).eval()
    coords = random_montage(64)
    x = (np.random.default_rng(2).normal(size=(64, 768)) * 30).astype(np.float32)
    ref, _ = offline(model, x, coords, decoder=False)
    sizes = chunkings(768, model.config.hop, model.config.factors[0])["random"]
    logits, _, _ = stream(StreamingSession(model, coords, backend=backend), x, sizes)
    for head in ref:
        np.testing.assert_allclose(logits[head], ref[head], atol=1e-4, rtol=0)


def test_onnx_and_torch_backends_agree_with_masked_channel():
    torch.manual_seed(0)
    model = Samba(CFG).eval()
    coords = random_montage(10)
    mask = np.ones(10, bool)
    mask[4] = False
    x = (np.random.default_rng(3).normal(size=(10, 96)) * 20).astype(np.float32)
    x[4] = np.nan  # the dead channel
    ref, _ = offline(model, x, coords, mask, decoder=False)
    for backend in BACKENDS:
        logits, _, _ = stream(StreamingSession(model, coords, mask, backend=backend), x, [5, 40, 51])
        np.testing.assert_allclose(logits["mi"], ref["mi"], atol=1e-4, rtol=0)
        assert np.isfinite(logits["mi"]).all()


def test_channel_mask_change_mid_stream_keeps_state():
    torch.manual_seed(0)
    model = Samba(CFG).eval()
    coords = random_montage(8)
    x = (np.random.default_rng(4).normal(size=(8, 60)) * 20).astype(np.float32)
    s = StreamingSession(model, coords, backend="torch")
    s.push(x[:, :30])
    mask = np.ones(8, bool)
    mask[0] = False
    s.set_channel_mask(mask)
    assert np.all(s.spatial_weights[0] == 0)
    after = s.push(x[:, 30:]).logits["mi"]
    fresh = StreamingSession(model, coords, mask, backend="torch").push(x[:, 30:]).logits["mi"]
    assert not np.allclose(after, fresh)  # history from before the change still counts
    for backend in ("onnx", "fused"):
        other = StreamingSession(model, coords, backend=backend)
        other.push(x[:, :30])
        other.set_channel_mask(mask)
        np.testing.assert_allclose(other.push(x[:, 30:]).logits["mi"], after, atol=1e-4, rtol=0)


def test_reset_starts_a_new_stream():
    torch.manual_seed(0)
    model = Samba(CFG).eval()
    coords = random_montage(6)
    x = (np.random.default_rng(5).normal(size=(6, 48)) * 20).astype(np.float32)
    for backend in BACKENDS:
        s = StreamingSession(model, coords, backend=backend)
        first = s.push(x).logits["mi"]
        s.push(x[:, :5])
        s.reset()
        again = s.push(x)
        np.testing.assert_allclose(again.logits["mi"], first, atol=1e-5)
        assert again.sample_index[0] == CFG.hop - 1


def state_numel(state) -> int:
    total = 0
    for stage in state.encoder + (state.decoder or []):
        for s in stage:
            total += s.conv.numel() + s.ssm.numel()
    total += sum(t.numel() for t in state.downsample)
    total += sum(u.newest.numel() for u in state.upsample or [])
    return total


def test_memory_does_not_grow_with_stream_length():
    torch.manual_seed(0)
    model = Samba(CFG).eval()
    s = StreamingSession(model, random_montage(6), backend="torch", decoder=True)
    rng = np.random.default_rng(6)
    sizes = []
    for i in range(120):
        s.push(rng.normal(size=(6, int(rng.integers(1, 20)))).astype(np.float32))
        sizes.append(state_numel(s._state))
    assert s.samples_pushed > 1000
    assert max(sizes[40:]) <= max(sizes[:40])


def test_model_is_causal():
    torch.manual_seed(0)
    model = Samba(CFG).eval()
    coords = torch.from_numpy(random_montage(6))
    x = torch.randn(1, 6, 90)
    y = x.clone()
    y[..., 60:] += torch.randn(1, 6, 30) * 50
    with torch.no_grad():
        a, b = model(x, coords), model(y, coords)
    torch.testing.assert_close(a.reconstruction[..., :60], b.reconstruction[..., :60])
    tokens_before = 60 // CFG.hop
    torch.testing.assert_close(a.logits["mi"][:, :tokens_before], b.logits["mi"][:, :tokens_before])
    assert not torch.allclose(a.reconstruction[..., 60:], b.reconstruction[..., 60:])


def test_bad_chunk_shape_is_refused():
    model = Samba(CFG).eval()
    s = StreamingSession(model, random_montage(6), backend="torch")
    with pytest.raises(ValueError, match=r"shape \(6, samples\)"):
        s.push(np.zeros((5, 10), np.float32))
    with pytest.raises(ValueError, match="backend"):
        StreamingSession(model, random_montage(6), backend="tensorrt")
