"""The model files shipped with SAMBA-Live (see ``MODEL_CARD.md`` beside this file).

:data:`SHIPPED_CHECKPOINT` is the one name of the shipped base model: ``samba-live``, the
window, ``samba-calibrate`` and the benches default to it.
"""

from pathlib import Path

#: The pretrained base checkpoint installed with the package (it may be absent in a source checkout).
SHIPPED_CHECKPOINT = Path(__file__).resolve().with_name("samba-base.samba")

__all__ = ["SHIPPED_CHECKPOINT"]
