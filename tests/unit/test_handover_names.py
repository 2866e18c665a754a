"""The names of other pupils in a hand-over's free text (issue 15 §5): found case- and
accent-insensitively, on word boundaries, longest first, with Dutch surname prefixes; replaced by
the first name (a participant) or ``[naam]`` (the register); the pupil's own name kept. Every
name is fictitious."""

from __future__ import annotations

import pytest

from services.handover.names import (
    GROUP,
    UNKNOWN_NAME,
    KnownPupil,
    matcher_for,
    name_needles,
    scrub_documents,
)

OWN = "Fictieve Pien Verhuis"
JOEP = KnownPupil("Joep van der Berg", "LLN-2042", "groep Zonnebloem", first_name="Joep")
MARIT = KnownPupil("Marit Bakker", "LLN-3001", "")  # the register only
ZOE = KnownPupil("Zoë Çelik-de Wit", "", "", first_name="Zoë")


def scrub(text: str) -> str:
    return matcher_for(OWN, "LLN-1001", [JOEP, MARIT, ZOE]).scrub(text).text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Joep van der Berg duwde haar.", "Joep duwde haar."),
        ("joep VAN DER berg duwde haar.", "Joep duwde haar."),
        ("Van der Berg duwde haar.", "Joep duwde haar."),
        ("Berg duwde haar; Berg lachte.", "Joep duwde haar; Joep lachte."),
        ("Joep Berg duwde haar.", "Joep duwde haar."),
        ("Joep  van\nder Berg", "Joep"),  # any white space between the words
        ("De bergen en de Bergweg", "De bergen en de Bergweg"),  # whole words only
        ("Marit Bakker keek toe.", f"{UNKNOWN_NAME} keek toe."),
        ("De bakker op de hoek.", f"De {UNKNOWN_NAME} op de hoek."),  # a word that is a surname
        ("Bakkerij open", "Bakkerij open"),
        ("Zoe Celik-de Wit en Zoë Çelik", "Zoë en Zoë"),  # accents either way
        ("ZOË ÇELİK-DE WIT", "Zoë"),
        ("Wit zei niets", "Zoë zei niets"),
        ("Leerling LLN-2042 en lln-3001", "Leerling Joep en [naam]"),
        ("In groep zonnebloem gebeurde het", f"In {GROUP} gebeurde het"),
        ("Joep en Marit speelden", "Joep en Marit speelden"),  # first names may be sent
        ("van der de het", "van der de het"),  # prefixes alone are no name
        (f"{OWN} werd gepest door Joep van der Berg", f"{OWN} werd gepest door Joep"),
        ("Nummer LLN-1001", f"Nummer {UNKNOWN_NAME}"),  # the pupil's own number is not sent
        ("", ""),
    ],
)
def test_names_of_other_pupils_are_replaced(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_the_pupils_own_name_is_kept_even_when_a_sibling_shares_the_surname() -> None:
    sibling = KnownPupil("Fictieve Daan Verhuis", "", "", first_name="Fictieve")
    matcher = matcher_for(OWN, "", [sibling])
    assert matcher.scrub(f"{OWN} en Daan Verhuis").text == f"{OWN} en Fictieve"


def test_a_participant_keeps_their_first_name_over_the_register() -> None:
    # The same pupil in the register (no first name given) and in a case sent.
    register = KnownPupil("Joep van der Berg", "LLN-2042", "")
    matcher = matcher_for(OWN, "", [register, JOEP])
    assert matcher.scrub("Joep van der Berg").text == "Joep"


def test_each_replacement_is_marked_with_what_stood_there() -> None:
    scrubbed = matcher_for(OWN, "", [JOEP]).scrub("Toen riep Van der Berg iets.")
    assert [(p.text, p.was) for p in scrubbed.parts] == [
        ("Toen riep ", ""),
        ("Joep", "Van der Berg"),
        (" iets.", ""),
    ]


def test_needles_of_a_name_with_prefixes() -> None:
    texts = {n.text for n in name_needles("Joep van der Berg", "Joep")}
    assert texts == {"Joep van der Berg", "van der Berg", "Berg", "Joep Berg"}
    assert {n.text for n in name_needles("Ali", "Ali")} == {"Ali"}  # a first name only


def test_documents_scrub_free_text_not_the_participants() -> None:
    documents = [
        {
            "format": "x",
            "sections": [
                {"key": "report", "entries": [
                    {"title": "Melding", "lines": [{"label": "Samenvatting",
                                                     "value": "Berg sloeg Pien"}]},
                ]},
                {"key": "participants", "entries": [{"title": "Berg", "lines": []}]},
            ],
        }
    ]  # fmt: skip
    out, marks, parts = scrub_documents(documents, matcher_for(OWN, "", [JOEP]))
    assert out[0]["sections"][0]["entries"][0]["lines"][0]["value"] == "Joep sloeg Pien"  # type: ignore[index]
    assert out[0]["sections"][1]["entries"][0]["title"] == "Berg"  # type: ignore[index]
    assert [(m.section, m.entry, m.field, m.found, m.replaced_by) for m in marks] == [
        ("report", 0, "line-0", "Berg", "Joep")
    ]
    assert list(parts) == ["0/report/0/line-0"]
    assert documents[0]["sections"][0]["entries"][0]["lines"][0]["value"] == "Berg sloeg Pien"  # type: ignore[index]
