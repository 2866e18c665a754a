"""SCIM 2.0 (RFC 7643/7644) per school: the school's directory (Microsoft Entra ID, Google
Workspace, ...) keeps its staff in step with Vangnet's.

``/scim/v2/{school slug}/...``: ``Users`` (create, get, replace, patch, delete, list with
``filter``, ``startIndex`` and ``count``), ``ServiceProviderConfig``, ``ResourceTypes`` and
``Schemas``; errors as SCIM error responses. The protocol is scim2-server's (``ScimService`` and
``AsyncScimHandler``); this module is its Litestar adapter and a storage on the staff directory
(:class:`DirectoryStorage`).

The school is the one in the path, and the request must carry *that school's* bearer token
(``Authorization: Bearer <token>``; its SHA-256 is in the registry, set by the operator and shown
once): another school's token, no token or a wrong one is 401, and nothing of the school is
read. A school without a token has SCIM off (401 too, no hint). The discovery endpoints answer
without a token (RFC 7643 §5 for ``ServiceProviderConfig``; the others say nothing school
specific either).

What a SCIM User is in Vangnet (``services/people/README.md``):

- ``id``: the person id; ``userName`` (unique per school, case-insensitively), ``externalId``
  (unique per school), ``displayName`` (else ``name.formatted``, else given + family name, else
  ``userName``), the primary (else first) of ``emails``, ``active``;
- ``roles``: the values are Vangnet role names (``contact_person``, ``teacher``, ...; in Entra
  ID: app roles with these values). They say which parts the person can be picked for before
  their first login; what a person may *do* is decided at each login by the school's claim
  rules, which then also refresh these roles. Left out of a write, the roles stay as they are.
- ``DELETE``: the person is removed (cannot log in, is not offered, 404 in SCIM, userName and
  externalId free again); their name stays for the history of the cases they acted in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, route
from litestar.params import FromPath
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ETag,
    External,
    Filter,
    InvalidFilterException,
    InvalidValueException,
    NotFoundException,
    Patch,
    Reference,
    Resource,
    ResourceType,
    Returned,
    Schema,
    SCIMException,
    ScimProvider,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
    UnauthorizedException,
    UniquenessException,
)
from scim2_models.path import CompareOperator, Comparison
from scim2_server.handler import AsyncScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import Operation
from scim2_server.service import ScimService
from scim2_server.storage import AsyncScimStorage, SearchPage
from scim2_server.utils import load_default_schemas

from infra.adapters.people.store import PersonRow, PostgresPeopleStore
from infra.entrypoints.web.auth.gate import PeopleGate
from infra.entrypoints.web.guards import PUBLIC
from services.access.roles import Role
from services.people.directory import Directory, PersonNotFound, Provisioned, Taken
from services.people.domain import Profile
from services.shared.errors import ConcurrencyConflict, InvalidInput, SchoolNotFound
from services.shared.text import clean_text
from tenants.login import ClaimRule, map_claims
from tenants.registry import Registry, School

logger = logging.getLogger("vangnet.scim")

PREFIX = "/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
#: The most Users one page lists.
MAX_RESULTS = 200
#: The token's shape: a prefix (so a leaked one is recognised) and 43 URL-safe characters.
TOKEN_PREFIX = "vgscim_"  # noqa: S105 - a recognisable prefix, not a secret


# --- tokens ----------------------------------------------------------------------------------


def new_token() -> tuple[str, str]:
    """A fresh SCIM token and its SHA-256 (hex): show the first once, store the second."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_sha256(token)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_matches(school: School, presented: str) -> bool:
    """Whether ``presented`` is the school's SCIM token (constant time)."""
    expected = school.scim_token_sha256
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected, token_sha256(presented))


def rotate_token(registry: Registry, school_id: UUID, **kwargs: Any) -> str:
    """A new SCIM token for the school (the old one stops working); returns it, once."""
    token, digest = new_token()
    registry.set_scim_token(school_id, digest, **kwargs)
    return token


# --- the service ------------------------------------------------------------------------------


def _provider() -> ScimProvider:
    schemas = load_default_schemas()
    user_type = ResourceType.model_validate(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A member of the school's staff",
            "schema": USER_SCHEMA,
        }
    )
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="The school's SCIM token, set by the platform operator",
                spec_uri=Reference[External]("https://datatracker.ietf.org/doc/html/rfc6750"),
                primary=True,
            )
        ],
    )
    return ScimProvider.from_discovery(
        [user_schema(schemas[USER_SCHEMA])], [user_type], config=config
    )


#: The User attributes Vangnet keeps. Every other attribute of the standard schema (phone
#: numbers, addresses, photos, title, name parts, ...) is accepted, so a school's directory can
#: send its usual mapping, and not retained (data minimisation: Vangnet has no use for them),
#: which the announced schema says with ``returned: never`` (RFC 7643 §2.4: "the original
#: attribute value is not retained by the service provider").
KEPT_ATTRIBUTES = frozenset({"userName", "displayName", "emails", "active", "roles"})


def user_schema(standard: Schema) -> Schema:
    """The standard User schema, the attributes Vangnet does not keep marked ``never``."""
    attributes = [
        a if a.name in KEPT_ATTRIBUTES else a.model_copy(update={"returned": Returned.never})
        for a in standard.attributes or []
    ]
    return standard.model_copy(update={"attributes": attributes})


PROVIDER = _provider()
SERVICE = ScimService(PROVIDER)
#: The service's User model (built from the schema it announces).
USER_MODEL: Any = PROVIDER.model_for(PROVIDER.resource_types[0])


# --- User <-> person ---------------------------------------------------------------------------


def user_of(row: PersonRow) -> Resource[Any]:
    """The SCIM User of a person's index row (the service's own User model)."""
    roles = row.given_roles if row.given_roles is not None else [r.value for r in row.roles]
    data: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": str(row.person_id),
        "userName": row.user_name or str(row.person_id),
        "displayName": row.display_name,
        "active": row.active,
        "meta": {
            "resourceType": "User",
            "created": row.created_at.isoformat(),
            "lastModified": row.updated_at.isoformat(),
            "version": f'W/"{row.version}"',
        },
    }
    if row.external_id:
        data["externalId"] = row.external_id
    if row.email:
        data["emails"] = [{"value": row.email, "primary": True, "type": "work"}]
    if roles:
        data["roles"] = [{"value": value} for value in roles]
    user: Resource[Any] = USER_MODEL.model_validate(data)
    return user


def _display_name(user: Any) -> str:
    if user.display_name and user.display_name.strip():
        return str(user.display_name)
    name = user.name
    if name is not None:
        if name.formatted and name.formatted.strip():
            return str(name.formatted)
        parts = [p for p in (name.given_name, name.family_name) if p and p.strip()]
        if parts:
            return " ".join(parts)
    return user.user_name or ""


def _email(user: Any) -> str:
    emails = [e for e in user.emails or [] if e.value]
    primary = [e for e in emails if e.primary]
    chosen = (primary or emails)[:1]
    return str(chosen[0].value) if chosen else ""


#: At most this many role values per person.
MAX_ROLE_VALUES = 50


def _roles(
    values: Sequence[Any] | None, rules: Sequence[ClaimRule]
) -> tuple[tuple[Role, ...] | None, tuple[str, ...] | None]:
    """(the Vangnet roles, the values as sent) of a SCIM ``roles`` attribute; (None, None)
    when it was not sent. A value that is a Vangnet role name is that role; any value counts
    as the ``roles`` claim under the school's claim rules (``role:Mentor=teacher``); others
    are kept (and answered back) but give no role."""
    if values is None:
        return None, None
    given: list[str] = []
    for item in values:
        value = str(getattr(item, "value", None) or "").strip()
        if not value:
            continue
        try:
            value = clean_text(value, "roles", max_len=256)
        except InvalidInput as error:
            raise InvalidValueException(detail=error.message) from None
        if value not in given:
            given.append(value)
    if len(given) > MAX_ROLE_VALUES:
        raise InvalidValueException(detail=f"roles: at most {MAX_ROLE_VALUES} values")
    named = {Role(v) for v in given if v in Role._value2member_map_}
    mapped = set(map_claims({"roles": given}, rules))
    roles = tuple(r for r in Role if r in named | mapped and r is not Role.OPERATOR)
    return roles, tuple(given)


def provisioned_of(user: Any, rules: Sequence[ClaimRule] = ()) -> Provisioned:
    """What the school's directory says of a person, or a SCIM ``invalidValue``."""
    if not user.user_name or not str(user.user_name).strip():
        raise InvalidValueException(detail="userName is required")
    profile = Profile(
        display_name=_display_name(user),
        email=_email(user),
        user_name=str(user.user_name),
        external_id=str(user.external_id or ""),
    )
    try:
        profile = profile.cleaned()
    except InvalidInput as error:
        raise InvalidValueException(detail=error.message) from None
    roles, given = _roles(user.roles, rules)
    return Provisioned(
        profile=profile,
        roles=roles,
        active=True if user.active is None else bool(user.active),
        given_roles=given,
    )


# --- the storage --------------------------------------------------------------------------------


def _person_id(resource_id: str) -> UUID:
    try:
        return UUID(resource_id)
    except ValueError:
        raise NotFoundException(detail=f"no User {resource_id[:64]!r}") from None


def _equality(search: SearchRequest[Any]) -> tuple[str, str] | None:
    """(attribute, value) when the filter is one ``userName``/``externalId``/``id`` eq a
    string: answered from the index. Anything else is matched person by person."""
    scim_filter = search.filter
    if scim_filter is None:
        return None
    node = scim_filter.ast
    if not isinstance(node, Comparison) or node.op != CompareOperator.eq:
        return None
    if not isinstance(node.value, str):
        return None
    name = str(node.attr_path).rsplit(":", 1)[-1].lower()
    if name in ("username", "externalid", "id"):
        return name, node.value
    return None


class DirectoryStorage(AsyncScimStorage):
    """scim2-server's storage on one school's staff directory (run in worker threads: the
    directory is the synchronous event store)."""

    def __init__(
        self, store: PostgresPeopleStore, gate: PeopleGate, rules: Sequence[ClaimRule] = ()
    ) -> None:
        self.store = store
        self.directory = Directory(store, store.school_id)
        self.gate = gate
        self.rules = tuple(rules)

    async def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: Any = None,
    ) -> Resource[Any]:
        row = await anyio.to_thread.run_sync(self.store.row, _person_id(resource_id))
        if row is None or row.removed:
            raise NotFoundException(detail=f"no User {resource_id[:64]!r}")
        return user_of(row)

    async def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        start = search_request.start_index_0 or 0
        count = MAX_RESULTS if search_request.count is None else search_request.count
        equality = _equality(search_request)
        if equality is not None and equality[0] != "id":
            kind, value = equality
            total, rows = await anyio.to_thread.run_sync(
                lambda: self.store.search(
                    user_name=value if kind == "username" else None,
                    external_id=value if kind == "externalid" else None,
                    offset=start,
                    limit=count,
                )
            )
            found: list[Resource[Any]] = [user_of(r) for r in rows] if count else []
            return SearchPage(total, found)
        # Any other filter: a school's staff is small, so it is matched person by person.
        _, rows = await anyio.to_thread.run_sync(lambda: self.store.search(offset=0, limit=100_000))
        users: list[Resource[Any]] = [user_of(r) for r in rows]
        if search_request.filter is not None:
            try:
                users = [u for u in users if search_request.filter.match(u)]
            except (TypeError, ValueError) as error:
                raise InvalidFilterException(detail=str(error)[:200]) from None
        return SearchPage(len(users), users[start : start + count])

    async def create(self, resource_type: ResourceType, resource: Any) -> Resource[Any]:
        given = provisioned_of(resource, self.rules)
        person = await self._run(self.directory.provision, given)
        return await self._user(person.id)

    async def update(
        self, resource_type: ResourceType, resource: Any, *, expected_version: str | None = None
    ) -> Resource[Any]:
        person_id = _person_id(str(resource.id))
        given = provisioned_of(resource, self.rules)
        await self._run(self.directory.replace, person_id, given)
        self.gate.forget(person_id)
        return await self._user(person_id)

    async def delete(
        self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None
    ) -> None:
        person_id = _person_id(resource_id)
        await self._run(self.directory.remove, person_id)
        self.gate.forget(person_id)

    async def _user(self, person_id: UUID) -> Resource[Any]:
        row = await anyio.to_thread.run_sync(self.store.row, person_id)
        if row is None:
            raise NotFoundException(detail=f"no User {person_id}")
        return user_of(row)

    async def _run(self, fn: Any, *args: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        except Taken as error:
            raise UniquenessException(detail=error.message) from None
        except PersonNotFound:
            raise NotFoundException(detail="no such User") from None
        except ConcurrencyConflict as error:
            raise UniquenessException(detail=error.message) from None
        except InvalidInput as error:
            raise InvalidValueException(detail=error.message) from None


# --- the Litestar adapter ----------------------------------------------------------------------


def _headers(request: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.headers.items()]


async def _school(request: Request[Any, Any, Any], slug: str) -> School | None:
    registry: Registry = request.app.state.registry
    try:
        return await anyio.to_thread.run_sync(registry.school_by_slug, slug)
    except (SchoolNotFound, InvalidInput):
        return None


def _authenticated(school: School | None, request: ScimRequest) -> bool:
    scheme, _, token = (request.header("Authorization") or "").partition(" ")
    return school is not None and scheme.lower() == "bearer" and token_matches(school, token)


def _to_response(response: ScimResponse) -> Response[Any]:
    headers = dict(response.headers)
    media_type = headers.pop("Content-Type", "application/scim+json")
    status = int(response.status)
    return Response(
        content=response.body if response.body is not None else b"",
        status_code=status,
        media_type=media_type,
        headers=headers,
    )


async def serve(request: Request[Any, Any, Any], slug: str, path: str) -> Response[Any]:
    """Serve one SCIM request for the school ``slug``."""
    base_url = str(request.base_url).rstrip("/") + f"{PREFIX}/{slug}"
    scim_request = ScimRequest(
        method=request.method,
        base_url=base_url,
        path=path.removesuffix(".scim") or "/",
        query={k: v for k, v in request.query_params.items() if isinstance(v, str)},
        headers=_headers(request),
        body=await request.body(),
    )
    try:
        target = SERVICE.match(scim_request)
        school = await _school(request, slug)
        discovery = target.operation in (
            Operation.service_provider_config,
            Operation.resource_types,
            Operation.resource_type,
            Operation.schemas,
            Operation.schema,
        )
        if not discovery and not _authenticated(school, scim_request):
            logger.warning("SCIM request refused: no valid token (school %s)", slug[:63])
            raise UnauthorizedException(detail="send this school's SCIM bearer token")
        storage: AsyncScimStorage
        if school is None:  # discovery of an unknown school: the same, schoolless answers
            storage = _NoStorage()
        else:
            gate: PeopleGate = request.app.state.people
            store = gate.store(school)
            await anyio.to_thread.run_sync(store.ensure)
            rules = school.login.rules if school.login is not None else ()
            storage = DirectoryStorage(store, gate, rules)
        response = await AsyncScimHandler(SERVICE, storage).handle(scim_request)
        if not discovery and school is not None:
            logger.info(
                "SCIM %s %s (school %s) -> %d",
                request.method,
                target.operation.value,
                school.slug,
                int(response.status),
            )
    except SCIMException as error:
        response = SERVICE.error_response(error)
    response.headers.setdefault("Cache-Control", "no-cache")
    return _to_response(response)


class _NoStorage(AsyncScimStorage):
    """The discovery endpoints read no storage."""

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        raise NotFoundException

    async def search(self, *args: Any, **kwargs: Any) -> SearchPage:
        raise NotFoundException

    async def create(self, *args: Any, **kwargs: Any) -> Any:
        raise NotFoundException

    async def update(self, *args: Any, **kwargs: Any) -> Any:
        raise NotFoundException

    async def delete(self, *args: Any, **kwargs: Any) -> None:
        raise NotFoundException


SCIM_METHODS: list[Any] = ["GET", "POST", "PUT", "PATCH", "DELETE"]
#: Not in the OpenAPI document: SCIM describes itself (``ServiceProviderConfig``, ``Schemas``,
#: ``ResourceTypes``, RFC 7643 §5-7), speaks ``application/scim+json`` and answers SCIM error
#: bodies, not problem details; its clients (Entra ID, Google) read the SCIM discovery, and its
#: conformance is checked with scim2-tester (tests/integration/test_scim.py).
#: Bearer tokens only (no cookie authority, so no CSRF); no login: SCIM has its own per-school
#: token, checked by every handler here (as /metrics has its own).
_OPTS = {"exclude_from_csrf": True, **PUBLIC}


@route(
    f"{PREFIX}/{{slug:str}}",
    http_method=SCIM_METHODS,
    include_in_schema=False,
    opt=_OPTS,
    name="scim-root",
)
async def scim_root(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[Any]:
    return await serve(request, slug, "/")


@route(
    f"{PREFIX}/{{slug:str}}/{{path:path}}",
    http_method=SCIM_METHODS,
    include_in_schema=False,
    opt=_OPTS,
    name="scim",
)
async def scim_path(
    request: Request[Any, Any, Any],
    slug: FromPath[str],
    path: Annotated[str, "the SCIM path"],
) -> Response[Any]:
    return await serve(request, slug, path)


SCIM_ROUTES = [scim_root, scim_path]

__all__ = [
    "SCIM_ROUTES",
    "DirectoryStorage",
    "new_token",
    "rotate_token",
    "token_matches",
    "user_of",
]
