"""Security headers on every response: a Content-Security-Policy without inline script, no
framing, no sniffing, and no caching of pages or API answers (they hold children's data).

When the public URL is https (``VANGNET_PUBLIC_URL``), every answer also carries HSTS: browsers
then never try the site over plain http again (two years, subdomains included: a school's
pages hold children's data, and a downgrade would expose the session cookie's first request).
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}
HSTS = "max-age=63072000; includeSubDomains"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = {**HEADERS, **({"strict-transport-security": HSTS} if hsts else {})}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                # A route that sets "no-referrer" (a link whose token is in the address: the
                # hand-over receipt) keeps it; "same-origin" would still send the token to this
                # site's own style sheet and pages.
                kept_referrer = (
                    "no-referrer" if headers.get("referrer-policy") == "no-referrer" else None
                )
                for name, value in self.headers.items():
                    headers[name] = value
                if kept_referrer is not None:
                    headers["referrer-policy"] = kept_referrer
                if not static:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_wrapper)
