"""What the views make of characters PostgreSQL cannot store (issue #10).

PostgreSQL's ``text`` (and ``varchar``, ``text[]``) cannot hold U+0000, ``jsonb`` cannot hold
``\\u0000`` in a string, and no column can hold a lone surrogate (U+D800-U+DFFF: not encodable as
UTF-8). The domain refuses them in what people type (:mod:`services.shared.text`), but an event
already in a log (old data) or written by a future bug may still hold them, and one such event
used to stop every catch-up of its school.

The rule, in one place: the engine passes every event through :func:`storable_event` as it reads
it, before any view sees it, so what a view keeps in memory is exactly what it can store (and a
view's rows do not depend on where a batch starts: replay equals live). Each such character is
replaced by its escape ``\\uXXXX`` (six ASCII characters, e.g. ``a\\u0000b``): visible, and
telling a reader what was there. The views are for reading; the event log keeps the original
bytes for the audit (replay, history, exports).
"""

from __future__ import annotations

import re
from typing import Any

#: Characters no PostgreSQL text or JSON value can hold: NUL and lone surrogates.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def storable_text(text: str) -> str:
    """``text`` with every character PostgreSQL cannot store replaced by its ``\\uXXXX``."""
    return UNSTORABLE.sub(_escape, text)


def storable(value: Any) -> Any:
    """``value`` with every string in it (also dict keys, inside lists, tuples and sets) made
    storable; the same object when nothing needed escaping."""
    if isinstance(value, str):
        return storable_text(value) if UNSTORABLE.search(value) else value
    if isinstance(value, dict):
        items = [(storable(k), storable(v)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if isinstance(value, list | tuple | set | frozenset):
        cleaned = [storable(v) for v in value]
        if all(a is b for a, b in zip(cleaned, value, strict=True)):
            return value
        return type(value)(cleaned)
    return value


def storable_event(event: Any) -> Any:
    """The event with its field values made storable (fields replaced in place: the engine owns
    the freshly decoded event). Envelope fields (ids, version, timestamp) are never strings that
    could need it, but are treated alike."""
    for name, value in vars(event).items():
        cleaned = storable(value)
        if cleaned is not value:
            object.__setattr__(event, name, cleaned)
    return event
