"""The school's staff as pickers offer them: ``GET /api/people?part=<part>``."""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

import dataclasses
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, get
from litestar.params import QueryParameter

from infra.entrypoints.web.api.responses import problems
from infra.entrypoints.web.context import Services, principal_of, school_of
from infra.entrypoints.web.guards import RequiresPart
from services.access.roles import ROLE_LABELS_NL
from services.casework.vocabulary import ComplaintLevel
from services.people.names import MAX_QUERY, candidates
from services.people.parts import Part, part_permission


@dataclasses.dataclass(frozen=True)
class PersonChoice:
    """One person a picker offers: id, name, and the roles at this school they can take the
    part in (``role``: the one recorded when none is chosen)."""

    person_id: UUID
    display_name: str
    role: str
    role_label: str
    roles: list[str]


#: Picking someone for a part needs the permission of the commands that name it.
PART_GUARD = RequiresPart(part_permission)


@get(
    "/api/people",
    summary="The active people of my school who may take a part, by name",
    description=(
        "For pickers: the active members of staff of the caller's school whose roles can take "
        "``part`` (case_owner, step_assignee, engaged_colleague, lessons_coordinator, "
        "complaint_handler, confidential_advisor), sorted by name; ``q`` filters on the name. "
        "For ``complaint_handler``, ``level`` narrows to that level's deciders. Needs the "
        "permission of the commands that name the part."
    ),
    tags=["people"],
    responses=problems(),
    guards=[PART_GUARD],
)
async def api_people(
    request: Request[Any, Any, Any],
    part: Annotated[Part, QueryParameter(description="The part a person is picked for.")],
    q: Annotated[str, QueryParameter(max_length=MAX_QUERY)] = "",
    level: Annotated[
        ComplaintLevel | None,
        QueryParameter(description="complaint_handler: the complaint's level."),
    ] = None,
) -> list[PersonChoice]:
    school = await school_of(request, await principal_of(request))
    reader = Services.of(request.app.state).people(school)
    found = await anyio.to_thread.run_sync(
        lambda: candidates(
            reader, part, query=q, complaint_level=level.value if level is not None else None
        )
    )
    return [
        PersonChoice(
            person_id=UUID(c.person_id),
            display_name=c.display_name,
            role=c.role.value,
            role_label=ROLE_LABELS_NL[c.role],
            roles=[r.value for r in c.roles],
        )
        for c in found
    ]


PEOPLE_ROUTES: list[Any] = [api_people]
