"""Who decides a complaint, at each level of the complaints procedure (klachtenregeling)."""

from __future__ import annotations

from services.access.roles import Role
from services.casework.vocabulary import ComplaintLevel

#: Who records the decision on a complaint at each level. Seed 001 ("Attenderen op de
#: klachtenregeling") and the Dutch complaints procedure (klachtenregeling, WPO art. 14 and its
#: equivalents for secondary and special education):
#:
#: - directie: the school's management handles and decides a complaint at level 1;
#: - bestuur: the board (bevoegd gezag) decides at level 2;
#: - klachtencommissie: the committee is outside the school and only ADVISES the board; the board
#:   then decides whether it shares the committee's conclusion and which measures it takes, and
#:   records that decision. Management does not decide there: it was a party at level 1.
#:
#: The schoolcontactpersoon is the complainant's point of contact and connects them with the
#: complaint handler and the vertrouwenspersoon (seed 001, "Wie doet wat"); neither of them
#: decides, at any level, nor records a decision on someone else's behalf.
COMPLAINT_DECIDERS: dict[ComplaintLevel, frozenset[Role]] = {
    ComplaintLevel.MANAGEMENT: frozenset({Role.MANAGEMENT}),
    ComplaintLevel.BOARD: frozenset({Role.BOARD}),
    ComplaintLevel.COMMITTEE: frozenset({Role.BOARD}),
}


def may_complain_at_level(role: Role, level: str) -> bool:
    """Whether ``role`` records the decision on a complaint at ``level``
    (:data:`COMPLAINT_DECIDERS`: directie at level 1, bestuur at level 2 and, on the
    klachtencommissie's advice, at the committee). An unknown level: nobody."""
    try:
        deciders = COMPLAINT_DECIDERS[ComplaintLevel(level)]
    except ValueError:
        return False
    return role in deciders
