"""A container health check without curl: ``python -m infra.entrypoints.deploy.probe URL``.

GETs ``URL`` (a ``/health/*`` endpoint of ``vangnet serve`` or ``vangnet worker`` on this
machine) and exits 0 when it answers 200 within the timeout, 1 otherwise. It prints one line
(the status or the error class), never the answer's body.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 4.0


def probe(url: str, timeout: float = TIMEOUT_SECONDS) -> int:
    """0 when ``url`` answers 200, else 1. Only http(s) URLs (never ``file:`` and the like)."""
    if urlsplit(url).scheme not in ("http", "https"):
        print(f"probe: not an http(s) URL: {url!r}", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - checked
            status = int(response.status)
    except urllib.error.HTTPError as e:
        status = e.code
    except (OSError, ValueError) as e:
        print(f"probe: {type(e).__name__}")
        return 1
    print(f"probe: HTTP {status}")
    return 0 if status == 200 else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m infra.entrypoints.deploy.probe URL", file=sys.stderr)
        return 2
    return probe(args[0])


if __name__ == "__main__":
    sys.exit(main())
