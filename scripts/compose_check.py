"""Keep the Dockerfile, docker-compose.yml and CI's production smoke on one command line.

    python scripts/compose_check.py check                  # compose parses; web runs the image's CMD
    python scripts/compose_check.py gunicorn-args --bind 127.0.0.1:8124
    python scripts/compose_check.py healthcheck --port 8124

`check` parses docker-compose.yml (PyYAML), and fails unless every app service builds this
image, `web` runs exactly the Dockerfile's CMD, the app services start only after `migrate`
succeeded, and `web`'s healthcheck is there. `gunicorn-args` prints the CMD's arguments (one per
line) with only the bind address changed, so CI starts the very server the image runs.
`healthcheck` runs `web`'s healthcheck command against a local port, as Docker would.
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ["migrate", "web", "worker", "beat"]


def dockerfile_cmd() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    found = re.search(r"^CMD\s+(\[.*\])\s*$", text, re.MULTILINE)
    if not found:
        sys.exit("Dockerfile: no CMD in exec (JSON) form")
    return json.loads(found.group(1))


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def check() -> int:
    services = compose()["services"]
    problems = []
    for name in APP_SERVICES:
        service = services.get(name) or {}
        if service.get("build") != ".":
            problems.append(f"{name}: does not build this image")
    cmd = dockerfile_cmd()
    if services["web"].get("command") != cmd:
        problems.append(f"web: command {services['web'].get('command')} is not the Dockerfile's CMD {cmd}")
    for name in ["web", "worker", "beat"]:
        after = (services[name].get("depends_on") or {}).get("migrate", {})
        if after.get("condition") != "service_completed_successfully":
            problems.append(f"{name}: does not wait for migrate to complete")
    if not (services["web"].get("healthcheck") or {}).get("test"):
        problems.append("web: no healthcheck")
    for problem in problems:
        print(f"docker-compose.yml: {problem}")
    if problems:
        return 1
    print(f"docker-compose.yml parses; web runs the Dockerfile's CMD: {' '.join(cmd)}")
    return 0


def gunicorn_args(bind: str) -> int:
    cmd = dockerfile_cmd()
    if cmd[0] != "gunicorn" or "--bind" not in cmd:
        sys.exit(f"Dockerfile CMD is not a gunicorn command with --bind: {cmd}")
    args = cmd[1:]
    args[args.index("--bind") + 1] = bind
    print("\n".join(args))
    return 0


def healthcheck(port: int) -> int:
    test = compose()["services"]["web"]["healthcheck"]["test"]
    if test[0] != "CMD" or test[1] != "python":
        sys.exit(f"web healthcheck: expected ['CMD', 'python', ...], got {test}")
    argv = [sys.executable, *(arg.replace(":8000/", f":{port}/") for arg in test[2:])]
    return subprocess.run(argv, timeout=30).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("check")
    p = sub.add_parser("gunicorn-args")
    p.add_argument("--bind", required=True)
    p = sub.add_parser("healthcheck")
    p.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.what == "check":
        return check()
    if args.what == "gunicorn-args":
        return gunicorn_args(args.bind)
    return healthcheck(args.port)


if __name__ == "__main__":
    sys.exit(main())
