"""The last step every benchmark shares: write its result object to a file and print it as the last line."""

from __future__ import annotations

import json
from pathlib import Path


def emit(result: dict, json_out: Path | None) -> None:
    """Write ``result`` (indented) to ``json_out`` when given, then print it as one JSON line."""
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
