"""Accessibility checks in the browser: axe-core (npm, ``idp/package.json``) run on a page.

axe's script is evaluated through the browser's DevTools protocol (Playwright's ``evaluate``),
which the page's Content-Security-Policy does not apply to: the app's strict CSP stays on for
everything the page itself loads. Each checked page is also kept as a full-page screenshot in
:data:`ARTIFACTS` (``tests/e2e/artifacts``, not committed), with its height in the report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import IDP_DIR

AXE_JS = IDP_DIR / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
#: The impacts the pages must have none of.
BLOCKING = frozenset({"serious", "critical"})
#: WCAG 2.1 A and AA, and axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"axe-core is missing: run npm ci in {IDP_DIR}")
    return AXE_JS.read_text(encoding="utf-8")


def check_page(page: Any, name: str) -> list[dict[str, Any]]:
    """Run axe on the page as it is now; keep a screenshot and the report under ``name``;
    return the serious and critical violations (each with the offending elements)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        TAGS,
    )
    height = page.evaluate("() => document.documentElement.scrollHeight")
    violations = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
    ]
    report = {"page": name, "url": page.url, "height_px": height, "violations": violations}
    (ARTIFACTS / f"{name}.axe.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return [v for v in violations if v["impact"] in BLOCKING]
