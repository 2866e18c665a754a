"""The platform operator: boards and schools (onboarding). Never case content."""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

import dataclasses
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
import msgspec
from litestar import Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, KwargDefinition

from infra.bootstrap.views import ensure_school_views
from infra.entrypoints.web.api.responses import problems
from infra.entrypoints.web.context import Services, principal_of
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.scim import PREFIX, rotate_token
from services.access.roles import Permission
from services.shared.text import REQUIRED_TEXT_PATTERN
from tenants.registry import NAME_MAX_LENGTH, SLUG_MAX_LENGTH, SLUG_PATTERN, Board, School


@dataclasses.dataclass(frozen=True)
class BoardOut:
    board_id: UUID
    name: str
    slug: str


@dataclasses.dataclass(frozen=True)
class SchoolOut:
    school_id: UUID
    board_id: UUID
    name: str
    slug: str
    protocol_is_default: bool
    login_issuer: str | None
    scim_enabled: bool = False


#: A board's or school's slug (as the registry checks it).
Slug = Annotated[
    str,
    msgspec.Meta(max_length=SLUG_MAX_LENGTH),
    KwargDefinition(
        min_length=2,
        max_length=SLUG_MAX_LENGTH,
        pattern=SLUG_PATTERN,
        description="Lowercase letters and digits joined by single hyphens.",
    ),
]
Name = Annotated[
    str,
    msgspec.Meta(max_length=NAME_MAX_LENGTH),
    KwargDefinition(
        max_length=NAME_MAX_LENGTH,
        pattern=REQUIRED_TEXT_PATTERN,
        description="Printable text, not blank.",
    ),
]


@dataclasses.dataclass(frozen=True)
class NewBoard:
    """A board to register; the slug is derived from the name unless given."""

    name: Name
    slug: Slug | None = None


@dataclasses.dataclass(frozen=True)
class NewSchool:
    """A school to provision for an existing board; the slug must be free platform-wide."""

    board_slug: Slug
    name: Name
    slug: Slug | None = None


def board_out(board: Board) -> BoardOut:
    return BoardOut(board_id=board.id, name=board.name, slug=board.slug)


def school_out(school: School) -> SchoolOut:
    login = getattr(school, "login", None)
    return SchoolOut(
        school_id=school.id,
        board_id=school.board_id,
        name=school.name,
        slug=school.slug,
        protocol_is_default=school.protocol_is_default,
        login_issuer=login.issuer if login is not None else None,
        scim_enabled=getattr(school, "scim_token_sha256", None) is not None,
    )


@get(
    "/api/boards",
    summary="All boards",
    tags=["operator"],
    responses=problems(),
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def api_boards(request: Request[Any, Any, Any]) -> list[BoardOut]:
    registry = Services.of(request.app.state).registry
    boards = await anyio.to_thread.run_sync(registry.list_boards)
    return [board_out(b) for b in boards]


@post(
    "/api/boards",
    summary="Register a board",
    tags=["operator"],
    status_code=201,
    responses=problems(409, 422, body=True),
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def api_create_board(request: Request[Any, Any, Any], data: JSONBody[NewBoard]) -> BoardOut:
    principal = await principal_of(request)
    container = Services.of(request.app.state).container
    board = await anyio.to_thread.run_sync(
        lambda: container.create_board(data.name, slug=data.slug, actor=principal.actor)
    )
    return board_out(board)


@get(
    "/api/schools",
    summary="All schools (optionally of one board)",
    tags=["operator"],
    responses=problems(404),
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def api_schools(
    request: Request[Any, Any, Any], board_slug: FromQuery[Slug | None] = None
) -> list[SchoolOut]:
    registry = Services.of(request.app.state).registry

    def load() -> list[School]:
        board_id = registry.board_by_slug(board_slug).id if board_slug else None
        return registry.list_schools(board_id)

    return [school_out(s) for s in await anyio.to_thread.run_sync(load)]


@post(
    "/api/schools",
    summary="Provision a school (schema, key)",
    tags=["operator"],
    status_code=201,
    responses=problems(404, 409, 422, body=True),
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def api_create_school(
    request: Request[Any, Any, Any], data: JSONBody[NewSchool]
) -> SchoolOut:
    principal = await principal_of(request)
    services = Services.of(request.app.state)

    def provision() -> School:
        school = services.container.create_school(
            data.board_slug, data.name, slug=data.slug, actor=principal.actor
        )
        ensure_school_views(services.container, school.id)
        return school

    return school_out(await anyio.to_thread.run_sync(provision))


@dataclasses.dataclass(frozen=True)
class ScimToken:
    """A school's new SCIM token: shown once, never again (only its SHA-256 is kept)."""

    token: str
    #: The SCIM base URL to give the school's directory (Entra ID "Tenant URL").
    scim_url: str


@post(
    "/api/schools/{school_id:uuid}/scim-token",
    summary="Set a new SCIM token for a school (the old one stops working); shown once",
    tags=["operator"],
    status_code=201,
    responses=problems(404),
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def api_rotate_scim_token(
    request: Request[Any, Any, Any], school_id: FromPath[UUID]
) -> ScimToken:
    principal = await principal_of(request)
    services = Services.of(request.app.state)
    registry = services.registry

    def rotate() -> tuple[str, School]:
        school = registry.school(school_id)
        return rotate_token(registry, school.id, actor=principal.actor), school

    token, school = await anyio.to_thread.run_sync(rotate)
    base = services.settings.public_url.rstrip("/")
    return ScimToken(token=token, scim_url=f"{base}{PREFIX}/{school.slug}")


@delete(
    "/api/schools/{school_id:uuid}/scim-token",
    summary="Turn SCIM off for a school (its token stops working)",
    tags=["operator"],
    status_code=204,
    responses=problems(404),
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def api_revoke_scim_token(request: Request[Any, Any, Any], school_id: FromPath[UUID]) -> None:
    principal = await principal_of(request)
    registry = Services.of(request.app.state).registry
    await anyio.to_thread.run_sync(
        lambda: registry.set_scim_token(school_id, None, actor=principal.actor)
    )


OPERATOR_ROUTES: list[Any] = [
    api_boards,
    api_create_board,
    api_schools,
    api_create_school,
    api_rotate_scim_token,
    api_revoke_scim_token,
]
