"""A tiny OpenID provider for the benchmark: discovery, JWKS and RFC 9068 access tokens.

One HTTP server on 127.0.0.1 (stdlib, in a thread) serves any number of issuers under paths:
issuer ``http://127.0.0.1:<port>/<tenant>`` has ``/<tenant>/.well-known/openid-configuration``
and ``/<tenant>/jwks``. The benchmark gives every board its own tenant (as a board-wide Entra ID
or Google Workspace tenant would be); tokens are minted here, in the benchmark process, with the
tenant's RSA key, and checked by the web app exactly as real ones: discovery, JWKS, RS256,
``typ: at+jwt``, iss, aud, exp.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from joserfc import jwt
from joserfc.jwk import RSAKey

KEY_ID = "bench-1"
AUDIENCE = "vangnet-bench-api"
CLIENT_ID = "vangnet-bench"
GROUP = "bench-contact-persons"


class Issuer:
    """The running provider. Use as a context manager (starts and stops the server)."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig"})
        self.jwks = json.dumps({"keys": [self.key.as_dict(private=False)]}).encode()
        self.requests = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.requests += 1
                tenant, _, rest = self.path.lstrip("/").partition("/")
                if rest == ".well-known/openid-configuration":
                    base = issuer.url(tenant)
                    body = json.dumps(
                        {
                            "issuer": base,
                            "jwks_uri": base + "/jwks",
                            "authorization_endpoint": base + "/authorize",
                            "token_endpoint": base + "/token",
                            "response_types_supported": ["code"],
                            "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["RS256"],
                        }
                    ).encode()
                elif rest == "jwks":
                    body = issuer.jwks
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, tenant: str) -> str:
        return f"http://127.0.0.1:{self.port}/{tenant}"

    def token(
        self, tenant: str, sub: str, *, groups: list[str] | None = None, ttl: int = 4 * 3600
    ) -> str:
        """A signed RFC 9068 access token of ``tenant`` (default: a contact person's groups)."""
        now = int(time.time())
        claims = {
            "iss": self.url(tenant),
            "sub": sub,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + ttl,
            "client_id": CLIENT_ID,
            "jti": f"{sub}-{now}",
            "groups": groups if groups is not None else [GROUP],
        }
        header = {"alg": "RS256", "typ": "at+jwt", "kid": KEY_ID}
        return jwt.encode(header, claims, self.key)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
