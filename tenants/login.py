"""A school's login configuration: its OpenID provider and how claims map to Vangnet roles.

DESIGN.md §7: each school (or its board) brings its own OpenID Connect provider (Microsoft Entra
ID, Google Workspace, Entree Federatie, ...) and a mapping from claims to roles. This module is
pure data and rules (no network, no framework): :class:`LoginConfig` is what the registry stores,
:class:`ClaimRule` is one line of the mapping, :func:`map_claims` applies the mapping to the
claims of a verified ID token or access token.

A rule is one of four kinds, in a compact text form for the CLI (``KIND:VALUE=ROLE``):

``group:vangnet-apc=coordinator``
    the ``groups`` claim (a list, or a single string) contains ``vangnet-apc``;
``role:Mentor=teacher``
    the ``roles`` claim (app roles, e.g. Entra ID) contains ``Mentor``;
``email_domain:school.example=teacher``
    the ``email`` claim ends with ``@school.example`` (case-insensitive) and the provider did not
    say ``email_verified: false`` (providers that never send ``email_verified``, like Entra ID,
    are trusted for their own directory's addresses);
``claim:eduPersonAffiliation:employee=teacher``
    any other claim (named between the colons) equals the value, or is a list containing it
    (e.g. Entree Federatie attributes).

The secret is never stored here: ``secret_ref`` says where to read it (``env:NAME``,
``file:/absolute/path``, or ``dev:`` for the development identity provider).

Where a reference and an issuer may point is the deployment's decision, not the operator's:
:class:`LoginPolicy` (built from the settings by ``infra.config.settings.Settings.login_policy``)
allows
environment variables with one prefix (default ``VANGNET_IDP_SECRET_``), files inside one
secrets directory (none by default) but never inside Vangnet's data directory, ``dev:`` only
while the development provider runs, and issuers on https (plain http, and any loopback host,
only when the deployment allows loopback issuers: development and tests). The policy is applied
when a configuration is set (:func:`validate_login`, ``Registry.configure_login``) and again when
the secret is read (``infra.adapters.auth.secrets``), where the file system is checked too
(symlinks,
file types). A stored configuration is read back without the policy (:meth:`LoginConfig.from_json`)
so that one made before the rules existed still loads, and fails, clearly, only when used.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

from services.access.roles import Role
from services.shared.errors import InvalidInput

RuleKind = Literal["group", "role", "email_domain", "claim"]
RULE_KINDS: tuple[RuleKind, ...] = ("group", "role", "email_domain", "claim")

#: Claim each list-valued rule kind looks in.
_KIND_CLAIMS: dict[str, str] = {"group": "groups", "role": "roles"}

DEFAULT_SCOPES: tuple[str, ...] = ("openid", "profile", "email")
MAX_RULES = 100
MAX_VALUE = 256
MAX_URL = 500
#: Host names of this machine (plus ``*.localhost`` and every loopback address).
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
#: Default prefix of the environment variables a secret reference may name.
DEFAULT_SECRET_ENV_PREFIX = "VANGNET_IDP_SECRET_"  # noqa: S105 - a name prefix, not a secret
#: Pseudo file systems: their files look regular but are views of processes and devices.
PSEUDO_FILE_SYSTEMS = (PurePosixPath("/proc"), PurePosixPath("/sys"), PurePosixPath("/dev"))

_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_SCOPE_RE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,64}$")  # RFC 6749 scope-token
_CLAIM_NAME_RE = re.compile(r"^[A-Za-z0-9_.:/#-]{1,128}$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class InvalidLoginConfig(InvalidInput):
    """A login configuration was refused; nothing was stored. The message never echoes a
    secret (``secret_ref`` is only ever described, not repeated, when it is wrong).

    ``field`` names the field to blame (``issuer``, ``secret_ref``, ...) and ``reason`` the kind
    of refusal (e.g. ``env_outside_prefix``, ``file_outside_dir``, ``not_https``), for forms
    and logs.
    """

    code = "invalid_login_config"


def _refuse(field: str, reason: str, message: str) -> InvalidLoginConfig:
    return InvalidLoginConfig(message, field=field, reason=reason)


@dataclass(frozen=True)
class ClaimRule:
    """One line of a school's claim mapping: when the claims match, the person gets ``role``.

    ``claim`` names the claim only for kind ``"claim"``; the other kinds imply it.
    """

    kind: RuleKind
    value: str
    role: Role
    claim: str | None = None

    def matches(self, claims: Mapping[str, Any]) -> bool:
        """Whether ``claims`` (already verified) satisfy this rule."""
        if self.kind == "email_domain":
            email = claims.get("email")
            # Only an explicit false disqualifies: several providers omit the claim but only
            # issue addresses of their own verified domains.
            if not isinstance(email, str) or claims.get("email_verified") is False:
                return False
            return email.lower().endswith("@" + self.value)
        name = self.claim if self.kind == "claim" else _KIND_CLAIMS[self.kind]
        return self.value in _as_strings(claims.get(name or ""))

    def to_text(self) -> str:
        """The compact form :func:`parse_rule` reads (``group:x=coordinator``)."""
        if self.kind == "claim":
            return f"claim:{self.claim}:{self.value}={self.role}"
        return f"{self.kind}:{self.value}={self.role}"

    def to_json(self) -> dict[str, Any]:
        """The stored form (``{"kind", "value", "role"}`` plus ``"claim"`` for claim rules)."""
        data: dict[str, Any] = {"kind": self.kind, "value": self.value, "role": str(self.role)}
        if self.claim is not None:
            data["claim"] = self.claim
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClaimRule:
        """Read a rule as stored (see :meth:`to_json`); validated like new input."""
        if not isinstance(data, Mapping):
            raise InvalidLoginConfig("a rule must be an object with kind, value and role")
        unknown = set(data) - {"kind", "value", "role", "claim"}
        if unknown:
            msg = f"a rule has unknown fields: {', '.join(sorted(unknown))}"
            raise InvalidLoginConfig(msg)
        return validate_rule(
            kind=str(data.get("kind", "")),
            value=str(data.get("value", "")),
            role=str(data.get("role", "")),
            claim=None if data.get("claim") is None else str(data["claim"]),
        )


def _as_strings(value: Any) -> list[str]:
    """A claim as a list of strings: providers send one group as a string, several as a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def validate_rule(
    *, kind: str, value: str, role: str | Role, claim: str | None = None
) -> ClaimRule:
    """Build a :class:`ClaimRule`, refusing anything unclear with :class:`InvalidLoginConfig`."""
    if kind not in RULE_KINDS:
        msg = f"unknown rule kind {kind[:32]!r}: use one of {', '.join(RULE_KINDS)}"
        raise InvalidLoginConfig(msg)
    try:
        target = Role(role)
    except ValueError:
        msg = f"unknown role {str(role)[:40]!r}: use one of {', '.join(r.value for r in Role)}"
        raise InvalidLoginConfig(msg) from None
    if target is Role.OPERATOR:
        # A school's own provider must never be able to make someone a platform operator.
        raise InvalidLoginConfig("a school's claim rules may not grant the operator role")
    value = value.strip()
    if not value or len(value) > MAX_VALUE or _CONTROL_RE.search(value):
        msg = f"a {kind} rule needs a value of 1-{MAX_VALUE} printable characters"
        raise InvalidLoginConfig(msg)
    if kind == "email_domain":
        value = value.lower().removeprefix("@")
        if not _DOMAIN_RE.match(value):
            msg = "an email_domain rule needs a domain name such as school.example (no '@')"
            raise InvalidLoginConfig(msg)
    if kind == "claim":
        if claim is None or not _CLAIM_NAME_RE.match(claim):
            msg = "a claim rule needs a claim name (letters, digits, '_', '.', ':', '/', '#', '-')"
            raise InvalidLoginConfig(msg)
        if claim in ("email", "email_verified"):
            # Without the email_verified check an unverified address could grant a role.
            raise InvalidLoginConfig("use an email_domain rule for the email claim")
    elif claim is not None:
        msg = f"only 'claim' rules name a claim; a {kind} rule uses its own claim"
        raise InvalidLoginConfig(msg)
    return ClaimRule(kind=kind, value=value, role=target, claim=claim)


def parse_rule(text: str) -> ClaimRule:
    """Parse the compact form ``KIND:VALUE=ROLE`` (``claim:NAME:VALUE=ROLE`` for other claims).

    The role is after the last ``=`` (values such as LDAP DNs may contain ``=``); the kind is
    before the first ``:`` (values such as URNs may contain ``:``).
    """
    head, sep, role = text.strip().rpartition("=")
    kind, colon, value = head.partition(":")
    if not sep or not colon:
        msg = (
            "a rule looks like KIND:VALUE=ROLE, e.g. group:vangnet-apc=coordinator, "
            "email_domain:school.example=teacher, role:Mentor=teacher, "
            "claim:eduPersonAffiliation:employee=teacher"
        )
        raise InvalidLoginConfig(msg)
    claim: str | None = None
    if kind.strip() == "claim":
        claim, colon, value = value.partition(":")
        if not colon:
            raise InvalidLoginConfig("a claim rule looks like claim:NAME:VALUE=ROLE")
    return validate_rule(kind=kind.strip(), value=value, role=role.strip(), claim=claim)


def map_claims(claims: Mapping[str, Any], rules: Iterable[ClaimRule]) -> tuple[Role, ...]:
    """The roles ``claims`` map to under ``rules``: each role once, in :class:`Role` order.

    The order does not depend on the order of the rules, so the same person always gets the
    same tuple (and the same first role).
    """
    granted = {rule.role for rule in rules if rule.matches(claims)}
    granted.discard(Role.OPERATOR)  # defence in depth: validation already refuses it
    return tuple(role for role in Role if role in granted)


@dataclass(frozen=True)
class LoginConfig:
    """A school's OpenID provider and claim mapping. Build it with :func:`validate_login`."""

    issuer: str
    client_id: str
    secret_ref: str  # a reference (env:/file:/dev:), never the secret itself
    api_audience: str = ""
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    rules: tuple[ClaimRule, ...] = ()

    def __post_init__(self) -> None:
        if not self.api_audience:
            # The audience API clients' access tokens carry defaults to the client id.
            object.__setattr__(self, "api_audience", self.client_id)

    def to_json(self) -> dict[str, Any]:
        """The stored form (what ``School.LoginConfigured`` records)."""
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "secret_ref": self.secret_ref,
            "api_audience": self.api_audience,
            "scopes": list(self.scopes),
            "rules": [rule.to_json() for rule in self.rules],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoginConfig:
        """Read a configuration as stored (see :meth:`to_json`), checking its shape again."""
        if not isinstance(data, Mapping):
            raise InvalidLoginConfig("a login configuration must be an object")
        rules = data.get("rules") or []
        if not isinstance(rules, list):
            raise InvalidLoginConfig("rules must be a list")
        scopes = data.get("scopes")
        # Shape only: where it points is checked when it is set and again when it is used, so
        # a configuration stored before a rule existed loads and fails clearly at use.
        return _build_login(
            issuer=str(data.get("issuer", "")),
            client_id=str(data.get("client_id", "")),
            secret_ref=str(data.get("secret_ref", "")),
            api_audience=str(data.get("api_audience") or "") or None,
            scopes=DEFAULT_SCOPES if scopes is None else tuple(str(s) for s in scopes),
            rules=[ClaimRule.from_json(rule) for rule in rules],
        )


def validate_issuer(issuer: str) -> str:
    """Check the shape of an issuer URL (http or https, a host, nothing else). Where it may
    point is :meth:`LoginPolicy.check_issuer`'s business.

    The issuer is kept exactly as given: ID tokens must carry it character for character.
    """
    msg = f"issuer must be a URL of at most {MAX_URL} characters"
    if not issuer or len(issuer) > MAX_URL or _CONTROL_RE.search(issuer) or " " in issuer:
        raise _refuse("issuer", "malformed", msg)
    try:
        parts = urlsplit(issuer)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:  # e.g. "https://[::1" or a port that is not a number
        raise _refuse("issuer", "malformed", msg) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _refuse("issuer", "not_https", "issuer must be an https:// URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        msg = "issuer must not have a query, fragment or user information"
        raise _refuse("issuer", "malformed", msg)
    return issuer


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` spells, in any form the system resolver accepts without asking
    DNS ("127.1", "2130706433" and "0x7f.0.0.1" are 127.0.0.1 too); ``None`` for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost``, ``*.localhost``, 127.0.0.0/8, ::1)."""
    host = host.lower().rstrip(".")
    if host in LOCAL_HOSTS or host.endswith(".localhost"):
        return True
    address = ip_literal(host)
    return address is not None and address.is_loopback


def url_refusal(url: str, *, loopback: bool) -> tuple[str, str] | None:
    """Why Vangnet must not call ``url`` at an identity provider (``(reason, message)``), or
    ``None`` when it may. One rule for issuers and for every endpoint their documents name.

    https to a public host name or address; never an internal address written as a number
    (link-local such as a cloud metadata service, private, unspecified). A loopback host
    (http or https) only with ``loopback`` (development and tests).
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return ("malformed", "must be a well-formed URL")
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("https", "http") or not host:
        return ("not_https", "must be an https:// URL")
    if is_loopback_host(host):
        if not loopback:
            message = (
                "must not point at this machine (a provider on 127.0.0.1 or localhost is "
                "for development and tests only)"
            )
            return ("loopback_not_allowed", message)
        return None
    if parts.scheme != "https":
        return ("not_https", "must use https")
    address = ip_literal(host)
    if address is not None and not address.is_global:
        return ("internal_address", "must not point at an internal network address")
    return None  # a public address, or a host name (what DNS says is not checked here)


_REF_HELP = (
    "secret_ref must be env:NAME, file:/absolute/path or dev: "
    "(a reference to the client secret, never the secret itself)"
)


@dataclass(frozen=True)
class SecretRef:
    """A parsed secret reference: ``kind`` ``env`` (``target`` a variable name), ``file``
    (``target`` an absolute path) or ``dev`` (no target)."""

    kind: Literal["env", "file", "dev"]
    target: str = ""


def parse_secret_ref(ref: str) -> SecretRef:
    """The reference's kind and target, checked for shape only (:class:`InvalidLoginConfig`
    with reason ``malformed`` or ``relative_path``); never echoes ``ref``."""
    scheme, _, rest = ref.partition(":")
    if scheme == "env" and _ENV_NAME_RE.match(rest):
        return SecretRef("env", rest)
    if scheme == "file" and rest and not _CONTROL_RE.search(rest):
        if not rest.startswith("/"):
            msg = "secret_ref file: needs an absolute path (file:/path/inside/the/secrets/dir)"
            raise _refuse("secret_ref", "relative_path", msg)
        return SecretRef("file", rest)
    if scheme == "dev" and rest == "":
        return SecretRef("dev")
    # Never repeat the value: someone may have pasted the secret itself here.
    raise _refuse("secret_ref", "malformed", _REF_HELP)


def validate_secret_ref(ref: str) -> str:
    """Check that ``ref`` has the shape of a secret reference (see :func:`parse_secret_ref`)."""
    parse_secret_ref(ref)
    return ref


@dataclass(frozen=True)
class LoginPolicy:
    """Where the deployment lets login configurations point (pure: no I/O).

    ``secret_env_prefix``: environment variables a reference may name start with it (the prefix
    alone is not a name). ``secrets_dir``: absolute directory whose files a reference may name
    (``None``: no ``file:`` references at all). ``protected_paths``: never readable, even when
    the secrets directory was configured around them (Vangnet's data directory, which holds the
    master key). ``reserved_env_names``: Vangnet's own settings, never a secret reference
    whatever the prefix. ``loopback_issuers``: providers on this machine (and plain http to
    them) are allowed — development and tests only. ``dev_secret``: ``dev:`` is allowed (the
    development identity provider runs).
    """

    secret_env_prefix: str = DEFAULT_SECRET_ENV_PREFIX
    secrets_dir: str | None = None
    protected_paths: tuple[str, ...] = ()
    reserved_env_names: frozenset[str] = frozenset()
    loopback_issuers: bool = False
    dev_secret: bool = False

    def check_issuer(self, issuer: str, *, field: str = "issuer") -> str:
        """The issuer, or :class:`InvalidLoginConfig` saying why it may not be used."""
        validate_issuer(issuer)
        refusal = url_refusal(issuer, loopback=self.loopback_issuers)
        if refusal is not None:
            reason, message = refusal
            raise _refuse(field, reason, f"{field} {message}")
        return issuer

    def check_secret_ref(self, ref: str, *, field: str = "secret_ref") -> SecretRef:
        """The parsed reference, or :class:`InvalidLoginConfig` naming the kind of refusal.

        Only what can be decided from the text: the file system (symlinks, file types) is
        checked again when the secret is read.
        """
        try:
            parsed = parse_secret_ref(ref)
        except InvalidLoginConfig as error:
            raise _refuse(field, error.reason or "malformed", str(error)) from None
        if parsed.kind == "env":
            self._check_env_name(parsed.target, field)
        elif parsed.kind == "file":
            self.check_secret_path(parsed.target, field=field)
        elif not self.dev_secret:
            msg = f"{field} dev: works only with the development identity provider"
            raise _refuse(field, "dev_not_running", msg)
        return parsed

    def _check_env_name(self, name: str, field: str) -> None:
        prefix = self.secret_env_prefix
        if not name.startswith(prefix) or name == prefix:
            msg = (
                f"{field} env: must name an environment variable starting with {prefix} "
                "(followed by a name of its own)"
            )
            raise _refuse(field, "env_outside_prefix", msg)
        if name in self.reserved_env_names:
            msg = f"{field} env: must not name one of Vangnet's own settings"
            raise _refuse(field, "env_reserved", msg)

    def check_secret_path(self, path: str, *, field: str = "secret_ref") -> PurePosixPath:
        """A ``file:`` path as text: absolute, without ``.``/``..``/empty segments, inside the
        secrets directory, outside the protected paths and the pseudo file systems."""
        if self.secrets_dir is None:
            msg = (
                f"{field} file: is not allowed: this deployment has no secrets directory "
                "(VANGNET_SECRETS_DIR); use env:"
            )
            raise _refuse(field, "file_not_allowed", msg)
        if not path.startswith("/"):
            msg = f"{field} file: needs an absolute path"
            raise _refuse(field, "relative_path", msg)
        if any(part in ("", ".", "..") for part in path[1:].split("/")):
            msg = f"{field} file: path must not contain '.', '..' or empty segments"
            raise _refuse(field, "not_normalized", msg)
        pure = PurePosixPath(path)
        if not is_inside(pure, PurePosixPath(self.secrets_dir)):
            msg = f"{field} file: must name a file inside the secrets directory {self.secrets_dir}"
            raise _refuse(field, "file_outside_dir", msg)
        if any(is_inside(pure, PurePosixPath(p), or_same=True) for p in self.protected_paths):
            msg = f"{field} file: must not name Vangnet's own data (the master key's directory)"
            raise _refuse(field, "protected_path", msg)
        if any(is_inside(pure, root, or_same=True) for root in PSEUDO_FILE_SYSTEMS):
            msg = f"{field} file: must name a regular file"
            raise _refuse(field, "not_regular_file", msg)
        return pure

    def check(self, config: LoginConfig) -> LoginConfig:
        """``config`` when its issuer and secret reference are allowed here."""
        self.check_issuer(config.issuer)
        self.check_secret_ref(config.secret_ref)
        return config


def is_inside(path: PurePosixPath, directory: PurePosixPath, *, or_same: bool = False) -> bool:
    """Whether ``path`` lies below ``directory`` (or is it, with ``or_same``); textual."""
    if path == directory:
        return or_same
    return path.is_relative_to(directory)


def _validate_identifier(name: str, value: str) -> str:
    value = value.strip()
    if not value or len(value) > 255 or _CONTROL_RE.search(value) or " " in value:
        msg = f"{name} must be 1-255 characters without spaces"
        raise _refuse(name, "malformed", msg)
    return value


def validate_login(
    *,
    issuer: str,
    client_id: str,
    secret_ref: str,
    policy: LoginPolicy,
    api_audience: str | None = None,
    scopes: Iterable[str] = DEFAULT_SCOPES,
    rules: Iterable[ClaimRule] = (),
) -> LoginConfig:
    """Build a :class:`LoginConfig`, refusing anything wrong with :class:`InvalidLoginConfig`:
    its shape, and where its issuer and secret reference point under ``policy``."""
    return policy.check(
        _build_login(
            issuer=issuer,
            client_id=client_id,
            secret_ref=secret_ref,
            api_audience=api_audience,
            scopes=scopes,
            rules=rules,
        )
    )


def _build_login(
    *,
    issuer: str,
    client_id: str,
    secret_ref: str,
    api_audience: str | None,
    scopes: Iterable[str],
    rules: Iterable[ClaimRule],
) -> LoginConfig:
    """A :class:`LoginConfig` checked for shape only (stored ones are read back this way)."""
    scope_list: list[str] = []
    for scope in scopes:
        if not _SCOPE_RE.match(scope):
            raise InvalidLoginConfig("scopes must be OAuth scope tokens without spaces")
        if scope not in scope_list:
            scope_list.append(scope)
    if "openid" not in scope_list:
        raise InvalidLoginConfig("scopes must include openid")
    rule_list: list[ClaimRule] = []
    for rule in rules:
        if not isinstance(rule, ClaimRule):
            raise InvalidLoginConfig("rules must be ClaimRule values")
        # Re-validate: a rule built by hand skips validate_rule's checks (e.g. the operator).
        checked = validate_rule(kind=rule.kind, value=rule.value, role=rule.role, claim=rule.claim)
        if checked not in rule_list:
            rule_list.append(checked)
    if len(rule_list) > MAX_RULES:
        raise InvalidLoginConfig(f"at most {MAX_RULES} rules")
    client = _validate_identifier("client_id", client_id)
    return LoginConfig(
        issuer=validate_issuer(issuer),
        client_id=client,
        secret_ref=validate_secret_ref(secret_ref),
        api_audience=_validate_identifier("api_audience", api_audience or client),
        scopes=tuple(scope_list),
        rules=tuple(rule_list),
    )
