"""Helpers shared by the tests and the bench scripts: small real objects, never mocks.

- :mod:`helpers.models`: small model configurations, random montages and random checkpoints
  (small ones for tests, default-architecture ones for the benches, the shipped one when installed);
- :mod:`helpers.lsl`: a synthetic LSL amplifier (pylsl outlet of deterministic EEG) and unique stream names;
- :mod:`helpers.mamba_stub`: the ``import mamba_ssm`` workaround for builds without the Mamba1 extension.

Tests find this package through pytest's ``pythonpath = ["tests"]``; a bench script puts the
``tests`` folder on ``sys.path`` first (``sys.path.insert(0, str(REPO / "tests"))``). The modules
import nothing from pytest, so both can use them.
"""
