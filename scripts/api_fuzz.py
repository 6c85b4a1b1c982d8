"""API fuzzing in CI: schemathesis against the running server's own OpenAPI schema
(/api/schema/), once per role (reception, manager, stylist, owner), bounded in examples and
time. Every response must be no 5xx, a documented status code and content type, and a body
that matches the schema; any failure makes this script exit non-zero.

    python scripts/api_fuzz.py --base-url http://127.0.0.1:8123 --host crm.example.com

Runs with the server's environment: tokens come from POST /api/v1/auth/token/ with the demo
logins (password salon-demo-2026); owners and managers add a TOTP code, computed as in
scripts/prod_smoke.py from a phone enrolled in the server's database. The data written by the
fuzzer (clients, bookings, visits) lands in that database: use a scratch one (CI does).

Budget: API_FUZZ_SECONDS per role (default 50; schemathesis's own --max-time) and
API_FUZZ_EXAMPLES per operation (default 25). API_FUZZ_SEED fixes the random seed (default:
a fixed one per role, so CI is repeatable; set it to try others).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from prod_smoke import PASSWORD, Authenticator, Browser, setup_django  # noqa: E402

ROLES = ["reception", "manager", "stylist", "owner"]
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
CASES = re.compile(r"(\d+) generated")


def token_for(browser: Browser, username: str, otp_roles: list[str]) -> str:
    from django.contrib.auth import get_user_model

    from accounts.access import role_of

    data = {"username": username, "password": PASSWORD}
    if role_of(get_user_model().objects.get(username=username)) in otp_roles:
        data["otp"] = Authenticator(username).code()
    response = browser.request("POST", "/api/v1/auth/token/", json=data)
    if response.status_code != 200:
        sys.exit(f"api fuzz: no token for {username}: {response.status_code} {response.text[:300]}")
    return response.json()["token"]


def real_ids() -> dict[str, list[int]]:
    """Ids of rows in the demo salon, so a good share of the generated requests reach real
    clients, bookings and visits (random ids mostly end in 404) and go as deep as the services."""
    from accounts.models import Location, StaffMember
    from appointments.models import Appointment, Service, Visit, WaitlistEntry
    from customers.models import ColourFormula, Customer, PatchTest

    def ids(qs, n: int = 12) -> list[int]:
        return list(qs.order_by("-pk").values_list("pk", flat=True)[:n]) or [1]

    return {
        "locations": ids(Location.objects.all()),
        "services": ids(Service.objects.filter(is_active=True)),
        "staff": ids(StaffMember.objects.all(), 20),
        "customers": ids(Customer.objects.all(), 20),
        "appointments": ids(Appointment.objects.all(), 30),
        "visits": ids(Visit.objects.all(), 20),
        "waitlist": ids(WaitlistEntry.objects.all()),
        "formulas": ids(ColourFormula.objects.all()),
        "patch_tests": ids(PatchTest.objects.all()),
    }


# path regex → the dictionary its {id} is drawn from
PATH_IDS = {
    "^/api/v1/appointments/": "appointments",
    "^/api/v1/visits/": "visits",
    "^/api/v1/customers/": "customers",
    "^/api/v1/waitlist/": "waitlist",
    "^/api/v1/formulas/": "formulas",
    "^/api/v1/patch-tests/": "patch_tests",
}
# request fields (query or body) → dictionary
FIELD_IDS = {
    "query.location": "locations",
    "query.service": "services",
    "query.staff": "staff",
    "body.location": "locations",
    "body.customer": "customers",
    "body.service": "services",
    "body.staff": "staff",
    "body.items[*].service": "services",
    "body.items[*].staff": "staff",
    "body.lines[*].staff": "staff",
    "body.lines[*].service": "services",
    "body.stylist": "staff",
}


def write_config(path: Path, ids: dict[str, list[int]]) -> None:
    """schemathesis.toml: real ids drawn for about half of the id parameters."""
    lines = []
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {values!r}", ""]
    lines.append("[parameters]")
    lines += [f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}' for key, name in FIELD_IDS.items()]
    lines.append("")
    for regex, name in PATH_IDS.items():
        lines += [
            "[[operations]]",
            f'include-path-regex = "{regex}"',
            f'parameters = {{ "path.id" = {{ dictionary = "{name}", probability = 0.6 }} }}',
            "",
        ]
    path.write_text("\n".join(lines))


def run(base_url: str, host: str, roles: list[str]) -> int:
    setup_django()
    from django.conf import settings

    seconds = int(os.environ.get("API_FUZZ_SECONDS", "50"))
    examples = int(os.environ.get("API_FUZZ_EXAMPLES", "25"))
    seed = os.environ.get("API_FUZZ_SEED")
    browser = Browser(base_url, host, "fuzz")
    tokens = {u: token_for(browser, u, list(settings.OTP_REQUIRED_ROLES)) for u in roles}
    report_dir = Path(tempfile.mkdtemp(prefix="api-fuzz-"))
    config = report_dir / "api-fuzz-schemathesis.toml"
    write_config(config, real_ids())
    results = []
    for number, username in enumerate(roles):
        started = time.monotonic()
        cases, code = 0, 0
        for attempt in range(2):
            output, code = fuzz(
                [
                    "--config-file",
                    str(config),
                    "run",
                    f"{base_url}/api/schema/",
                    "--header",
                    f"Host: {host}",
                    "--header",
                    "X-Forwarded-Proto: https",
                    "--header",
                    f"Authorization: Token {tokens[username]}",
                    "--max-examples",
                    str(examples),
                    "--max-time",
                    str(seconds),
                    "--seed",
                    str(int(seed or 8000 + number) + 100 * attempt),
                    *(["--exclude-path", "/api/v1/auth/token/"] if number else []),
                ],
                f"{username}-{attempt}",
                report_dir,
            )
            found = CASES.findall(output)
            cases += int(found[-1]) if found else 0
            if not generator_crash_only(output):
                break
            print(f"   (schemathesis crashed by itself, no check failed: {username} again, another seed)")
        results.append((username, code, cases, time.monotonic() - started))
    print(f"\n== API fuzz summary (full output and JUnit reports in {report_dir})")
    for username, code, cases, took in results:
        print(f"  {username:<10} {'ok' if code == 0 else 'FAILED':<6} {cases:>6} cases  {took:5.0f} s")
    total = sum(r[2] for r in results)
    failed = [r[0] for r in results if r[1] != 0]
    if failed:
        print(f"api fuzz FAILED for {', '.join(failed)} ({total} cases run)")
        return 1
    print(f"api fuzz: {total} cases run as {len(results)} roles; no 5xx, every response as the schema says")
    return 0


def fuzz(args: list[str], name: str, report_dir: Path) -> tuple[str, int]:
    """One schemathesis run with the checks and bounds every role shares; prints its output
    (only the summary when it passed) and returns it with the exit code. The token endpoint
    takes no login and answers every role alike, so only the first role's run fuzzes it."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        *args,
        "--checks",
        CHECKS,
        # One worker: the server has three, and a single client keeps CI's two cores for it.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-shrink",
        "--report",
        "junit",
        "--report-junit-path",
        str(report_dir / f"api-fuzz-{name}.xml"),
        "--output-truncate",
        "true",
    ]
    print(
        f"== schemathesis ({name}): {' '.join(a for a in args if not a.startswith('Authorization'))}",
        flush=True,
    )
    completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    output = completed.stdout + completed.stderr
    (report_dir / f"api-fuzz-{name}.log").write_text(output)
    print(output[-12000:] if completed.returncode else "\n".join(output.splitlines()[-20:]), flush=True)
    return output, completed.returncode


def generator_crash_only(output: str) -> bool:
    """schemathesis stopped on an error of its own, with no check failed: Hypothesis under
    CPython 3.11 sometimes fails in ast.parse ("AST constructor recursion depth mismatch") while
    describing a strategy. The server was not at fault, so the role is fuzzed again instead."""
    return (
        "AST constructor recursion depth mismatch" in output
        and "Failures:" not in output
        and "Server error" not in output
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8123")
    parser.add_argument("--host", default="crm.example.com", help="a host in DJANGO_ALLOWED_HOSTS")
    parser.add_argument("--role", action="append", choices=ROLES, help="only these roles (default: all)")
    args = parser.parse_args()
    return run(args.base_url, args.host, args.role or ROLES)


if __name__ == "__main__":
    sys.exit(main())
