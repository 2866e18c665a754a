"""Names of other pupils in the free text of a hand-over, found and replaced before sending
(issue 15 §5: the pupil by full name, every other pupil by first name and role only).

The sending school knows whom to look for: the other participants of the cases sent (their
full names, surnames, pupil numbers and groups) and the pupils of its register. Every free-text
passage that would be sent is searched for them, case- and accent-insensitively, on word
boundaries ("Berg" is found in "Joep Berg." but not in "bergen"); a found name becomes the
pupil's first name when they take part in a case sent, else ``[naam]``; a group becomes
``[groep]``. Longer names are tried first ("Joep van der Berg" before "van der Berg" before
"Berg"), and the handed-over pupil's own full name is kept as written.

What is not in the register is not recognised: a pupil of another school, a nickname, a name
misspelt. The contact person sees the preview (every replacement marked) before sending.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

#: What a register pupil's name (not a participant of a case sent) becomes.
UNKNOWN_NAME = "[naam]"
#: What a pupil's group becomes.
GROUP = "[groep]"
#: Dutch surname prefixes (tussenvoegsels): never a name by themselves.
PREFIXES = frozenset(
    [
        "van",
        "de",
        "der",
        "den",
        "het",
        "ten",
        "ter",
        "te",
        "in",
        "'t",
        "op",
        "aan",
        "bij",
        "d'",
        "da",
        "di",
        "du",
        "la",
        "le",
        "del",
        "della",
        "des",
        "el",
        "von",
        "zu",
    ]
)
#: A word shorter than this is never searched for alone (initials, "Bo" as a surname part).
MIN_WORD = 3


def fold(text: str) -> tuple[str, list[int]]:
    """``text`` case- and accent-folded ("Ümit" -> "umit"), with for each folded character the
    index of the character of ``text`` it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, char in enumerate(text):
        for c in unicodedata.normalize("NFKD", char):
            if unicodedata.combining(c):
                continue
            for f in c.casefold():
                out.append(f)
                where.append(i)
    return "".join(out), where


@dataclass(frozen=True)
class Needle:
    """One thing to look for and what it becomes (``keep``: left as written, e.g. the pupil's
    own full name, so a part of it is not replaced)."""

    text: str
    replacement: str
    keep: bool = False


@dataclass(frozen=True)
class Part:
    """A piece of a scrubbed text: as written (``was`` empty) or a replacement (``was``: what
    stood there)."""

    text: str
    was: str = ""


@dataclass(frozen=True)
class Scrubbed:
    parts: tuple[Part, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts)

    @property
    def replaced(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if p.was)


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"\s+", name.strip()) if w]


def name_needles(full_name: str, replacement: str) -> list[Needle]:
    """A pupil's full name and their surname (with and without its prefixes), each becoming
    ``replacement``. The first name alone is not searched (it may be sent)."""
    words = _words(full_name)
    if not words:
        return []
    found = [Needle(" ".join(words), replacement)]
    surname = words[1:]
    if surname:
        found.append(Needle(" ".join(surname), replacement))
        core = [w for w in surname if w.casefold() not in PREFIXES]
        # "van der Berg": also "Berg"; "Berg-de Wit": also "Berg", "Wit" (each whole word).
        for w in core:
            found.append(Needle(w, replacement))
            found.extend(Needle(p, replacement) for p in w.split("-") if p != w)
        if core and core != surname:
            found.append(Needle(" ".join(core), replacement))
        # With the first name: "Joep Berg", "Zoë Çelik" (a surname written shorter).
        shorter = {n.text for n in found[1:]} - {" ".join(surname)}
        found.extend(Needle(f"{words[0]} {s}", replacement) for s in sorted(shorter))
    return found


def _usable(needle: Needle) -> bool:
    folded = fold(needle.text)[0].strip()
    if not folded or folded in PREFIXES:
        return False
    return max((len(w) for w in re.findall(r"\w+", folded)), default=0) >= MIN_WORD


@dataclass
class NameMatcher:
    """Finds the needles in a text (longest first) and replaces them."""

    needles: list[Needle] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._pattern: re.Pattern[str] | None = None
        self._by_folded: dict[str, Needle] = {}

    def add(self, needles: Iterable[Needle]) -> None:
        self.needles.extend(needles)
        self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        if self._pattern is not None:
            return self._pattern
        chosen: dict[str, Needle] = {}
        for needle in self.needles:
            if not _usable(needle):
                continue
            key = " ".join(fold(needle.text)[0].split())
            held = chosen.get(key)
            # The same words for two people: a keep wins, then a participant's first name
            # over "[naam]" (the first one given).
            if held is None or (needle.keep and not held.keep):
                chosen[key] = needle
        if not chosen:
            return None
        self._by_folded = chosen
        alternatives = [
            r"\s+".join(re.escape(w) for w in key.split())
            for key in sorted(chosen, key=len, reverse=True)
        ]
        self._pattern = re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")
        return self._pattern

    def scrub(self, text: str) -> Scrubbed:
        """``text`` with every needle found replaced (a keep left as it is)."""
        pattern = self._compiled()
        if pattern is None or not text:
            return Scrubbed((Part(text),) if text else ())
        folded, where = fold(text)
        parts: list[Part] = []
        done = 0
        for match in pattern.finditer(folded):
            start = where[match.start()]
            end = where[match.end() - 1] + 1
            needle = self._by_folded[" ".join(match.group(0).split())]
            if needle.keep:
                continue
            if start > done:
                parts.append(Part(text[done:start]))
            parts.append(Part(needle.replacement, was=text[start:end]))
            done = end
        if done < len(text):
            parts.append(Part(text[done:]))
        return Scrubbed(tuple(_merged(parts)))


def _merged(parts: list[Part]) -> list[Part]:
    out: list[Part] = []
    for p in parts:
        if out and not p.was and not out[-1].was:
            out[-1] = Part(out[-1].text + p.text)
        else:
            out.append(p)
    return out


@dataclass(frozen=True)
class KnownPupil:
    """Someone the sending school knows by name: a participant of a case sent (``first_name``
    given: what their name becomes) or a pupil of the register."""

    display_name: str
    reference: str = ""
    group: str = ""
    first_name: str = ""


def matcher_for(own_name: str, own_reference: str, others: Iterable[KnownPupil]) -> NameMatcher:
    """The matcher of one hand-over: ``others`` replaced, the pupil's own full name kept (and
    their number replaced: it is not sent)."""
    matcher = NameMatcher()
    own = " ".join(_words(own_name))
    if own:
        matcher.add([Needle(own, own, keep=True)])
    # Participants first: their first name wins over "[naam]" for the same words.
    ordered = sorted(others, key=lambda p: not p.first_name)
    for pupil in ordered:
        replacement = pupil.first_name or UNKNOWN_NAME
        matcher.add(name_needles(pupil.display_name, replacement))
        if pupil.reference:
            matcher.add([Needle(pupil.reference, replacement)])
        if pupil.group:
            matcher.add([Needle(pupil.group, GROUP)])
    if own_reference:
        matcher.add([Needle(own_reference, UNKNOWN_NAME)])
    return matcher


#: Sections whose entries are names already (first names; the pupil's full name): not scrubbed.
NAMED_SECTIONS = frozenset({"participants"})


@dataclass(frozen=True)
class Mark:
    """One replacement in the documents: where (document index, section key, entry index,
    ``title`` or ``line-<n>``), what stood there and what it became."""

    document: int
    section: str
    entry: int
    field: str
    found: str
    replaced_by: str

    @property
    def key(self) -> str:
        return place(self.document, self.section, self.entry, self.field)


def place(document: int, section: str, entry: int, field: str) -> str:
    """The key of one text of the documents (for the preview's marks)."""
    return f"{document}/{section}/{entry}/{field}"


def scrub_documents(
    documents: list[dict[str, object]], matcher: NameMatcher
) -> tuple[list[dict[str, object]], list[Mark], dict[str, tuple[Part, ...]]]:
    """The documents with every free-text passage (entry titles and line values of every section
    but the participants) scrubbed; the marks; and, per text that changed, its parts."""
    out: list[dict[str, object]] = []
    marks: list[Mark] = []
    parts: dict[str, tuple[Part, ...]] = {}
    for d, document in enumerate(documents):
        sections = []
        for section in _dicts(document.get("sections")):
            key = str(section.get("key", ""))
            if key in NAMED_SECTIONS:
                sections.append(section)
                continue
            entries = []
            for e, entry in enumerate(_dicts(section.get("entries"))):
                texts: list[tuple[str, object]] = [("title", entry.get("title"))]
                texts += [(f"line-{n}", line.get("value"))
                          for n, line in enumerate(_dicts(entry.get("lines")))]  # fmt: skip
                done: dict[str, str] = {}
                for name, value in texts:
                    if not isinstance(value, str):
                        continue
                    scrubbed = matcher.scrub(value)
                    if not scrubbed.replaced:
                        continue
                    done[name] = scrubbed.text
                    parts[place(d, key, e, name)] = scrubbed.parts
                    marks.extend(Mark(d, key, e, name, p.was, p.text) for p in scrubbed.replaced)
                new_entry = dict(entry)
                if "title" in done:
                    new_entry["title"] = done["title"]
                new_entry["lines"] = [
                    {**line, "value": done.get(f"line-{n}", line.get("value"))}
                    for n, line in enumerate(_dicts(entry.get("lines")))
                ]
                entries.append(new_entry)
            sections.append({**section, "entries": entries})
        out.append({**document, "sections": sections})
    return out, marks, parts


def _dicts(value: object) -> list[dict[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
