"""Validation errors of the API as sentences, one per field.

Litestar refuses a body or parameter that does not match its declared type with messages of
msgspec (``Expected `int` >= 1``, ``Object missing required field `summary` ``) and a key. This
module turns each into the shape the domain's :class:`~services.shared.errors.InvalidInput`
already uses in problem details: ``{"field", "reason", "message"}``, where ``field`` is the
name the client sent (``forms[1]``, ``steps[0].label``, ``from``), ``reason`` a stable word
and ``message`` one English sentence naming the field and what is wrong.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from enum import Enum
from typing import Any

from litestar import Request
from litestar.exceptions import ValidationException

#: Nouns for msgspec's type names, as a sentence uses them.
TYPE_NOUNS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Object missing required field `(?P<name>[^`]+)`$"), "required"),
    (re.compile(r"^Expected `(?P<want>\w+)`, got `(?P<got>\w+)`$"), "wrong_type"),
    (re.compile(r"^Expected `(?P<want>\w+)` of length (?P<op><=|>=) (?P<n>\d+)$"), "length"),
    (re.compile(r"^Expected `(?P<want>\w+)` (?P<op><=|>=|<|>) (?P<n>-?[\d.]+)$"), "out_of_range"),
    (re.compile(r"^Expected `str` matching regex (?P<pattern>.+)$"), "invalid_format"),
    (re.compile(r"^Invalid enum value (?P<value>.+)$"), "not_allowed"),
    (
        re.compile(r"^Invalid (?P<what>UUID|ISO 8601 date|RFC3339 encoded date(?:time)?).*$"),
        "format",
    ),
    (re.compile(r"^Integer value out of range$"), "out_of_range"),
)
FORMAT_NOUNS = {
    "UUID": "a UUID (such as 0b7d1a40-6a5e-4d0e-9a1f-2c3b4d5e6f70)",
    "ISO 8601 date": "a date (YYYY-MM-DD)",
    "RFC3339 encoded date": "a date (YYYY-MM-DD)",
    "RFC3339 encoded datetime": "a date-time (such as 2026-11-20T14:30:00+01:00)",
}
BOUNDS = {">=": "at least", ">": "more than", "<=": "at most", "<": "less than"}


def field_errors(request: Request[Any, Any, Any], exc: ValidationException) -> list[dict[str, str]]:
    """One ``{"field", "reason", "message"}`` per refused field of ``exc``."""
    entries = exc.extra if isinstance(exc.extra, list) else []
    errors = [
        describe(request, str(e.get("key") or ""), str(e.get("message") or ""), e.get("source"))
        for e in entries
        if isinstance(e, dict)
    ]
    if not errors:
        errors.append({"field": "request", "reason": "invalid", "message": str(exc.detail)})
    return errors


def describe(
    request: Request[Any, Any, Any], key: str, message: str, source: Any = None
) -> dict[str, str]:
    """The error of one field: ``key`` and ``message`` as Litestar reports them."""
    body = source == "body" or key == "data" or key.startswith("data.")
    path = key.removeprefix("data").removeprefix(".") if body else _public_name(request, key)
    if body and message == "'data'":
        return _error("body", "required", "the request needs a JSON body")
    for pattern, kind in _PATTERNS:
        found = pattern.match(message)
        if found:
            return _sentence(request, kind, found.groupdict(), path, body)
    field = path or ("body" if body else "request")
    return _error(field, "invalid", f"{field} is not valid: {message}")


def _sentence(
    request: Request[Any, Any, Any], kind: str, got: dict[str, str], path: str, body: bool
) -> dict[str, str]:
    if kind == "required":
        field = _join(path, got["name"])
        return _error(field, "required", f"{field} is required")
    field = path or "body"
    if kind == "wrong_type":
        want, was = TYPE_NOUNS.get(got["want"], got["want"]), TYPE_NOUNS.get(got["got"], got["got"])
        if field == "body":
            return _error(field, "wrong_type", f"the body must be {want}, not {was}")
        return _error(field, "wrong_type", f"{field} must be {want}, not {was}")
    if kind == "length":
        text = got["want"] == "str"
        at_least = got["op"] == ">="
        if text and at_least and got["n"] == "1":
            return _error(field, "required", f"{field} must not be empty")
        reasons = {(True, True): "too_short", (True, False): "too_long"}
        reason = reasons.get((text, at_least)) or ("too_few" if at_least else "too_many")
        unit = ("character" if text else "item") + ("" if got["n"] == "1" else "s")
        bound = "at least" if at_least else "at most"
        return _error(field, reason, f"{field} must have {bound} {got['n']} {unit}")
    if kind == "out_of_range":
        if "op" not in got:
            return _error(field, "out_of_range", f"{field} is out of range")
        return _error(field, "out_of_range", f"{field} must be {BOUNDS[got['op']]} {got['n']}")
    if kind == "invalid_format":
        return _error(
            field, "invalid_format", f"{field} does not have the documented form ({got['pattern']})"
        )
    if kind == "format":
        noun = FORMAT_NOUNS.get(got["what"], got["what"])
        return _error(field, "invalid_format", f"{field} must be {noun}")
    # not_allowed: name the allowed values when the declared type says them.
    allowed = _allowed_values(request, path, body)
    listed = f": {', '.join(allowed)}" if allowed else " (see the API document)"
    return _error(field, "not_allowed", f"{field} must be one of{listed}")


def _error(field: str, reason: str, message: str) -> dict[str, str]:
    return {"field": field, "reason": reason, "message": message}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _parameters(request: Request[Any, Any, Any]) -> dict[str, Any]:
    handler = request.scope.get("route_handler")
    signature = getattr(handler, "parsed_fn_signature", None)
    return dict(getattr(signature, "parameters", {}) or {})


def _public_name(request: Request[Any, Any, Any], key: str) -> str:
    """A parameter's name as the client sends it (``from``, not the handler's ``start``)."""
    parameter = _parameters(request).get(key)
    kwarg = getattr(parameter, "kwarg_definition", None)
    for alias in ("name", "query", "header", "cookie"):
        name = getattr(kwarg, alias, None)
        if isinstance(name, str) and name:
            return name
    return key


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _allowed_values(request: Request[Any, Any, Any], path: str, body: bool) -> list[str]:
    """The values of the enum declared at ``path`` (``forms[1]``, ``steps[0].event_type``)."""
    parameters = _parameters(request)
    parts = [p for p in re.split(r"\.|\[\d+\]", path) if p]
    if body:
        declared = parameters.get("data")
    else:
        declared = next(
            (p for name, p in parameters.items() if _public_name(request, name) == path), None
        )
        parts = []
    tp = _unwrap(getattr(declared, "annotation", None))
    for part in [*parts, None]:
        while typing.get_origin(tp) in (list, tuple, set, frozenset):
            tp = _unwrap(typing.get_args(tp)[0])
        if part is None:
            break
        if not (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
            return []
        tp = _unwrap(typing.get_type_hints(tp).get(part))
    if isinstance(tp, type) and issubclass(tp, Enum):
        return [str(member.value) for member in tp]
    args = typing.get_args(tp) if typing.get_origin(tp) is typing.Literal else ()
    return [str(a) for a in args]
