"""The harness works without the web app: Chromium logs in at the test IdP (authorization code
with PKCE) and lands on a tiny local callback server; the code is exchanged with httpx.

The callback server listens on ``idp.web_port`` at the client's registered redirect URI (the
web app's ``/auth/callback``), so these tests exercise exactly the client the web app will use.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.conftest import CALLBACK_PATH, E2E_USERS, Idp

pytestmark = pytest.mark.timeout(120)


@dataclass
class Callback:
    """Query strings of the requests the tiny server received, in order."""

    url: str
    hits: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def last(self, path: str) -> dict[str, str]:
        matching = [query for p, query in self.hits if p == path]
        assert matching, f"no request to {path}; got {[p for p, _ in self.hits]}"
        return matching[-1]


@pytest.fixture
def callback_server(idp: Idp) -> Iterator[Callback]:
    """A stand-in for the web app on ``idp.web_port``: records every GET, answers 200."""
    callback = Callback(url=f"http://127.0.0.1:{idp.web_port}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            callback.hits.append((parts.path, query))
            body = b"<!DOCTYPE html><title>callback</title><p>ok</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output quiet (and free of codes and tokens)

    server = ThreadingHTTPServer(("127.0.0.1", idp.web_port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield callback
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(idp: Idp, *, state: str, nonce: str, challenge: str, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": idp.client_id,
        "redirect_uri": idp.redirect_uri,
        "scope": "openid profile email groups",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{idp.authorization_endpoint}?{urlencode(params)}"


def key_set(idp: Idp) -> KeySet:
    return KeySet.import_key_set(httpx.get(f"{idp.issuer}/jwks", timeout=10).json())


def exchange(idp: Idp, code: str, verifier: str) -> dict[str, Any]:
    response = httpx.post(
        idp.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": idp.redirect_uri,
            "code_verifier": verifier,
        },
        auth=(idp.client_id, idp.client_secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def test_discovery_advertises_what_the_app_relies_on(idp: Idp) -> None:
    meta = httpx.get(idp.discovery_url, timeout=10).json()
    assert meta["issuer"] == idp.issuer
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "groups" in meta["scopes_supported"]
    assert "groups" in meta["claims_supported"]
    assert meta["end_session_endpoint"] == idp.end_session_endpoint


def test_login_with_pkce_gives_code_state_iss_and_jwt_access_token(
    idp: Idp, page: Any, callback_server: Callback
) -> None:
    user = E2E_USERS["contact_person"]
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)

    page.goto(
        authorization_url(idp, state=state, nonce=nonce, challenge=challenge, login_hint=user.sub)
    )
    page.wait_for_url(f"{idp.redirect_uri}?**")

    query = callback_server.last(CALLBACK_PATH)
    assert set(query) >= {"code", "state", "iss"}, sorted(query)
    assert query["state"] == state
    assert query["iss"] == idp.issuer  # RFC 9207

    tokens = exchange(idp, query["code"], verifier)
    keys = key_set(idp)

    access = jwt.decode(tokens["access_token"], keys, algorithms=["RS256"])
    assert access.header["typ"] == "at+jwt"  # RFC 9068
    assert access.claims["iss"] == idp.issuer
    assert access.claims["aud"] == idp.api_audience
    assert access.claims["sub"] == user.sub
    assert access.claims["client_id"] == idp.client_id
    assert access.claims["groups"] == list(user.groups)
    assert access.claims["email"] == user.email
    assert access.claims["name"] == user.name

    id_token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"])
    assert id_token.claims["iss"] == idp.issuer
    assert id_token.claims["aud"] == idp.client_id
    assert id_token.claims["nonce"] == nonce
    assert id_token.claims["sub"] == user.sub
    assert id_token.claims["groups"] == list(user.groups)
    assert id_token.claims["name"] == user.name
    assert id_token.claims["email"] == user.email
    assert id_token.claims["email_verified"] is True


def test_pkce_is_required(idp: Idp) -> None:
    params = {
        "response_type": "code",
        "client_id": idp.client_id,
        "redirect_uri": idp.redirect_uri,
        "scope": "openid",
        "state": "s",
    }
    response = httpx.get(idp.authorization_endpoint, params=params, timeout=10)
    # An invalid request is reported to the (registered) redirect URI.
    assert response.status_code == 303
    error = parse_qs(urlsplit(response.headers["location"]).query)
    assert error["error"] == ["invalid_request"]
    assert "PKCE" in error["error_description"][0]


def test_without_login_hint_a_user_is_picked_on_a_page_and_logout_ends_the_session(
    idp: Idp, page: Any, callback_server: Callback
) -> None:
    user = E2E_USERS["operator"]
    verifier, challenge = pkce_pair()
    page.goto(authorization_url(idp, state="one", nonce="n1", challenge=challenge))
    page.get_by_role("button", name=f"Log in as {user.name}").click()
    page.wait_for_url(f"{idp.redirect_uri}?**")
    tokens = exchange(idp, callback_server.last(CALLBACK_PATH)["code"], verifier)
    id_token = jwt.decode(tokens["id_token"], key_set(idp), algorithms=["RS256"])
    assert id_token.claims["groups"] == ["vangnet-operators"]

    # RP-initiated logout confirms itself and returns to the post-logout URI.
    after_logout = f"{callback_server.url}/"
    page.goto(
        f"{idp.end_session_endpoint}?"
        + urlencode(
            {
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": after_logout,
                "state": "bye",
            }
        )
    )
    page.wait_for_url(f"{after_logout}?**")
    assert callback_server.last("/")["state"] == "bye"

    # The IdP session is gone: a silent login now fails with login_required.
    _, challenge = pkce_pair()
    page.goto(authorization_url(idp, state="two", nonce="n2", challenge=challenge, prompt="none"))
    page.wait_for_url(f"{idp.redirect_uri}?**")
    assert callback_server.last(CALLBACK_PATH)["error"] == "login_required"
