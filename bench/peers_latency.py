"""Per-decision cost of SAMBA's step against the usual decoders, in the same process and rounds.

All at 64 channels and 16 decisions/s (one decision per 62.5 ms), one thread, random weights
and random EEG-scale data (no downloads); preprocessing is excluded for every candidate
(each receives the raw hop or window):

* ``fused_step``, ``onnx_step``: SAMBA's streaming session pushed one hop (16 samples at 256 Hz);
* ``mdm_{2,4}s``, ``tslr_{2,4}s``: pyRiemann OAS covariances + MDM, or + tangent space +
  logistic regression, re-run on the sliding 2 s / 4 s window at 256 Hz;
* ``eegnet_torch_4s``, ``eegnet_onnx_4s``: braindecode's EEGNet on the sliding 4 s window,
  eager torch and onnxruntime;
* ``labram_4s``: braindecode's LaBraM (a transformer EEG foundation model) on its native
  input: 4 s at 200 Hz, 1 s patches, random weights.

Timing as in ``step_latency.py`` (``interleaved.py``): shuffled rounds, back to back and
live-paced. Bench-only dependencies: ``pip install -e .[bench]``. braindecode imports
torchaudio, whose wheels pin a torch version; where it does not load against the installed
torch, a stub stands in (none of these models calls it). Prints a table, then one JSON
object as the last line.

    python bench/peers_latency.py [--rounds 100] [--out FILE]
"""

from __future__ import annotations

import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from interleaved import (  # noqa: E402
    Candidate, SignalFeed, load_average, montage, parser, print_table, run_rounds, single_thread,
)
from json_result import emit  # noqa: E402
from step_latency import step_candidates  # noqa: E402

from samba_core import Samba, SambaConfig  # noqa: E402
from samba_core.streaming import DEFAULT_BACKEND  # noqa: E402

CHANNELS = 64
RATE_HZ = 256.0


def import_braindecode_models() -> types.ModuleType:
    """braindecode.models, with a stub torchaudio when the installed one does not load."""
    try:
        import torchaudio  # noqa: F401
    except Exception:  # an ABI mismatch raises OSError, a missing wheel ImportError
        for name in [k for k in sys.modules if k.startswith("torchaudio")]:
            del sys.modules[name]

        class Missing:
            def __init__(self, *args, **kwargs):
                raise RuntimeError("torchaudio did not load against this torch")

        def attribute(name: str):
            if name.startswith("__"):
                raise AttributeError(name)
            return Missing

        stubs = {name: types.ModuleType(name) for name in ("torchaudio", "torchaudio.functional", "torchaudio.transforms")}
        for module in stubs.values():
            module.__getattr__ = attribute  # type: ignore[attr-defined]
        stubs["torchaudio"].functional = stubs["torchaudio.functional"]  # type: ignore[attr-defined]
        stubs["torchaudio"].transforms = stubs["torchaudio.transforms"]  # type: ignore[attr-defined]
        sys.modules.update(stubs)
    import braindecode.models

    return braindecode.models


def riemann_candidates(feed: SignalFeed, hop: int) -> list[Candidate]:
    from pyriemann.classification import MDM
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(3)
    out = []
    for seconds in (2, 4):
        length = int(seconds * RATE_HZ)
        trials = (rng.normal(size=(24, CHANNELS, length)) * 20).astype(np.float64)
        labels = np.arange(24) % 2
        for name, pipeline in (
            ("mdm", make_pipeline(Covariances("oas"), MDM())),
            ("tslr", make_pipeline(Covariances("oas"), TangentSpace(), LogisticRegression())),
        ):
            pipeline.fit(trials, labels)
            out.append(Candidate(
                f"{name}_{seconds}s",
                lambda p=pipeline, n=length: p.predict_proba(feed.window(n, hop)[None].astype(np.float64)),
            ))
    return out


def eegnet_candidates(models: types.ModuleType, feed: SignalFeed, hop: int, tmp: Path) -> list[Candidate]:
    import onnxruntime as ort
    from torch.nn.utils import parametrize

    length = int(4 * RATE_HZ)
    net = models.EEGNet(n_chans=CHANNELS, n_outputs=2, n_times=length, sfreq=RATE_HZ).eval()
    for module in net.modules():  # bake the max-norm weight parametrisations in: no aten::renorm to export
        if parametrize.is_parametrized(module, "weight"):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    path = tmp / "eegnet.onnx"
    with torch.no_grad():
        torch.onnx.export(net, (torch.randn(1, CHANNELS, length),), str(path), input_names=["x"], dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def torch_call():
        with torch.no_grad():
            return net(torch.from_numpy(feed.window(length, hop))[None])

    return [
        Candidate("eegnet_torch_4s", torch_call),
        Candidate("eegnet_onnx_4s", lambda: session.run(None, {"x": feed.window(length, hop)[None]})),
    ]


def labram_candidate(models: types.ModuleType, feed: SignalFeed, hop: int) -> Candidate:
    from braindecode.models.labram import LABRAM_CHANNEL_ORDER

    length = 800  # 4 s at LaBraM's native 200 Hz: four 1 s patches per channel
    net = models.Labram(n_chans=CHANNELS, n_outputs=2, n_times=length, sfreq=200).eval()
    names = LABRAM_CHANNEL_ORDER[:CHANNELS]

    def call():
        with torch.no_grad():
            return net(torch.from_numpy(feed.window(length, hop))[None], ch_names=names)

    return Candidate("labram_4s", call, burst=2)


def main() -> None:
    ap = parser(__doc__, rounds=100)
    args = ap.parse_args()
    single_thread()
    torch.manual_seed(0)
    models = import_braindecode_models()
    model = Samba(SambaConfig()).eval()
    hop = model.config.hop
    feed = SignalFeed(CHANNELS, samples=16384)
    load_start = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        candidates = [c for c in step_candidates(model, montage(CHANNELS), feed) if c.name != "torch_step"]
        own = {c.name for c in candidates}  # SAMBA's own steps; every other candidate is a peer
        candidates += riemann_candidates(feed, hop) + eegnet_candidates(models, feed, hop, Path(tmp))
        candidates.append(labram_candidate(models, feed, hop))
        results = run_rounds(candidates, args.rounds)
    ours = results[f"{DEFAULT_BACKEND}_step"]
    peers = [name for name in results if name not in own]
    result = {
        "benchmark": "peers_latency", "channels": CHANNELS, "decision_rate_hz": RATE_HZ / hop, "rounds": args.rounds,
        "default_backend": DEFAULT_BACKEND, "candidates": results,
        "ahead_of_every_peer_paced": {
            q: all(ours["paced"][q] < results[p]["paced"][q] for p in peers) for q in ("p50_ms", "p99_ms")
        },
        "paced_p50_ratio_over_default": {p: results[p]["paced"]["p50_ms"] / ours["paced"]["p50_ms"] for p in peers},
        "keeps_16_per_s_paced_p99": {name: r["paced"]["p99_ms"] < 62.5 for name, r in results.items()},
        "load_average_start": load_start, "load_average_end": load_average(), "threads": 1,
        "torch_version": torch.__version__,
    }
    print_table(results)
    emit(result, args.out)


if __name__ == "__main__":
    main()
