"""axe-core in the browser tests: `assert_no_serious_violations(page, name)` runs axe on the page
as it stands and fails listing every serious or critical violation (rule id, impact, the CSS
targets of its nodes). The report of each run is written to test-results/axe-<name>.json.

axe-core comes from npm (tests/tooling/package.json, locked; `npm ci --prefix tests/tooling`,
a step of .ci/run). How it gets into the page under the strict Content-Security-Policy
(script-src 'self'): Playwright's add_script_tag(path=... or content=...) adds an inline
<script>, which the policy blocks. page.evaluate(source) instead runs through the DevTools
protocol, which a page's CSP does not govern, so axe is defined in the page's own window while
the policy stays on for everything the page itself does (no bypass_csp context needed, and a
CSP mistake of the page would still show in the test).
"""

import json
import os
from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parent / "tooling" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
SERIOUS = ("serious", "critical")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The WCAG 2.1 A/AA rules and axe's best practices, as the audit ran them.
RUN_OPTIONS = {"resultTypes": ["violations"]}


def _inject(page) -> None:
    if page.evaluate("typeof window.axe !== 'undefined'"):
        return
    if not AXE_JS.exists():
        message = f"axe-core is not installed at {AXE_JS}: run `npm ci --prefix tests/tooling`"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))


def axe_run(page, *, context: dict | None = None, options: dict | None = None) -> list[dict]:
    """axe's violations on the page (every impact). `context` is axe's include/exclude.

    Colours are measured at rest: reduced motion (Bootstrap then has no transitions, so a button
    just clicked is not caught half-way between two colours) and the pointer off the page."""
    _inject(page)
    page.emulate_media(reduced_motion="reduce")
    page.mouse.move(0, 0)
    return page.evaluate(
        "([context, options]) => axe.run(context || document, options).then(r => r.violations)",
        [context, {**RUN_OPTIONS, **(options or {})}],
    )


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}  [{len(v['nodes'])} node(s)]")
        for node in v["nodes"][:10]:
            lines.append(f"    {' '.join(map(str, node['target']))}")
        if len(v["nodes"]) > 10:
            lines.append(f"    … and {len(v['nodes']) - 10} more")
    return "\n".join(lines)


def assert_no_serious_violations(
    page, name: str, *, context: dict | None = None, options: dict | None = None
) -> list[dict]:
    """Run axe on `page`; fail if any violation is serious or critical. Returns every violation
    (minor and moderate ones too, for a count in a note) and writes them to
    test-results/axe-<name>.json."""
    violations = axe_run(page, context=context, options=options)
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    report = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]],
        }
        for v in violations
    ]
    (Path(SHOTS) / f"axe-{name}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    serious = [v for v in violations if v["impact"] in SERIOUS]
    assert not serious, (
        f"axe: {len(serious)} serious or critical violation(s) on {name} ({page.url}):\n" + describe(serious)
    )
    return violations
