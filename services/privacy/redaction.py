"""Redaction on erasure: find the passages of free text that mention a pupil (issue #12 §4).

Free text is sealed per passage (:mod:`services.casework.sealing`). Erasing a pupil destroys the
pupil's own key (the participant fields), but a name typed into a summary or a note is in a
passage sealed with a key of its own. The contact person sees each passage that mentions the pupil
— :func:`find_passages` looks for the name and the reference in the decrypted texts — and confirms
which to redact; the ``RedactPassages`` command records that (with the text they read as from then
on) and storage destroys their keys.

What to look for comes from outside (:func:`needles`): the case's participants today, the pupil
register's record of the pupil once it exists: a name, its words (a first name alone), a
reference. Matching ignores case and accents.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from services.access.roles import Permission
from services.casework.application import CaseworkApplication
from services.casework.handlers import authorize
from services.casework.sealing import ERASED
from services.shared.actor import Actor
from services.shared.text import clean_text

#: Words of a name shorter than this are not looked for on their own ("de", "van", "Jo").
MIN_WORD = 3


@dataclass(frozen=True)
class PassageText:
    """One sealed passage of a case, opened: where it is (event version and type, field, item)
    and its text. ``passage_id`` is the id of its key (what ``RedactPassages`` takes)."""

    passage_id: str
    version: int
    event_type: str
    field: str
    text: str


@dataclass(frozen=True)
class FoundPassage:
    passage: PassageText
    #: The needles found in it (as given).
    matches: tuple[str, ...]


def fold(text: str) -> str:
    """Lower case without accents: ``"Zoë"`` and ``"zoe"`` compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def needles(names: Iterable[str], references: Iterable[str] = ()) -> list[str]:
    """What to look for: each name, each of its words of at least :data:`MIN_WORD` letters, and
    each reference; without erased values and doubles, longest first."""
    found: list[str] = []
    for given in names:
        name = given.strip()
        if not name or name == ERASED:
            continue
        found.append(name)
        found.extend(w for w in name.replace("-", " ").split() if len(w) >= MIN_WORD)
    found.extend(r.strip() for r in references if r.strip() and r.strip() != ERASED)
    unique: dict[str, str] = {}
    for needle in found:
        unique.setdefault(fold(needle), needle)
    return sorted(unique.values(), key=lambda n: (-len(n), n))


def find_passages(
    passages: Iterable[PassageText], looking_for: Iterable[str]
) -> list[FoundPassage]:
    """The passages that contain any of ``looking_for`` (in log order)."""
    wanted = [(n, fold(n)) for n in looking_for if n.strip()]
    found: list[FoundPassage] = []
    for passage in passages:
        text = fold(passage.text)
        matches = tuple(n for n, folded in wanted if folded in text)
        if matches:
            found.append(FoundPassage(passage, matches))
    return found


@dataclass(frozen=True)
class PassageSearch:
    """What was looked for in a case and the passages that mention it."""

    case_id: UUID
    version: int
    looking_for: tuple[str, ...]
    found: tuple[FoundPassage, ...]


def search_case(
    app: CaseworkApplication,
    school_id: UUID,
    actor: Actor,
    case_id: UUID,
    *,
    names: Iterable[str] = (),
    references: Iterable[str] = (),
) -> PassageSearch:
    """The passages of a case that mention a pupil, for those who may manage the case. Without
    ``names`` and ``references``: every participant of the case (name and reference)."""
    names = [clean_text(n, f"names[{i}]") for i, n in enumerate(names)]
    references = [clean_text(r, f"references[{i}]") for i, r in enumerate(references)]
    case = app.get_case(case_id, school_id)
    authorize(actor, Permission.CASE_MANAGE, case)
    if not names and not references:
        names = [p.display_name for p in case.participants.values()]
        references = [p.pupil_ref for p in case.participants.values()]
    looking_for = needles(names, references)
    passages = [PassageText(pid, v, t, f, text) for v, t, f, pid, text in app.passages(case_id)]
    return PassageSearch(
        case_id, case.version, tuple(looking_for), tuple(find_passages(passages, looking_for))
    )
