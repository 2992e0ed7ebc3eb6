"""The classes a cue protocol can ask for: each one's arrow direction and the words that name it.

Protocol files are checked against these (a feedback phase needs a direction per class), the
cue screen draws the arrows and the instructions name what to imagine.
"""

from __future__ import annotations

#: Arrow direction per class (Graz convention), as an angle in degrees (0 = right, 90 = up).
ARROWS = {"left": 180.0, "right": 0.0, "feet": 270.0, "tongue": 90.0}

#: What to imagine per motor-imagery class, with its cue, for the instructions.
IMAGERY = {"left": "your left hand (arrow to the left)", "right": "your right hand (arrow to the right)",
           "feet": "your feet (arrow down)", "tongue": "your tongue (arrow up)"}


def imagery_words(classes: tuple[str, ...] | list[str]) -> str:
    """The classes in use as one phrase: "your left hand (arrow to the left) or your right hand (...)"."""
    words = [IMAGERY.get(c, c) for c in classes]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
