"""The production build and the API's contract (issue 8, items 2 and 12). The full proof runs in
CI against gunicorn (scripts/prod_smoke.py, scripts/api_fuzz.py); these catch the same breakages
in the test suite: a static file the manifest storage cannot build, a compose file that drifted
from the image, an API answer the schema does not describe."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "static" / "vendor"
SOURCE_MAP = re.compile(r"sourceMappingURL=(\S+?)\s*(?:\*/)?\s*$")


def test_every_source_map_a_vendored_file_names_is_shipped():
    named = {}
    for path in [*VENDOR.rglob("*.js"), *VENDOR.rglob("*.css")]:
        tail = path.read_text(encoding="utf-8", errors="replace")[-300:]
        found = SOURCE_MAP.search(tail)
        if found:
            named[path.relative_to(VENDOR).as_posix()] = (path.parent / found.group(1)).exists()
    assert named == {
        "bootstrap-5.3.9/css/bootstrap.min.css": True,
        "bootstrap-5.3.9/js/bootstrap.bundle.min.js": True,
        "chartjs-4.6.1/chart.umd.min.js": True,
    }


def test_collectstatic_builds_with_the_production_storage(tmp_path):
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", "--noinput", verbosity=0)
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert re.search(
        r'"vendor/chartjs-4\.6\.1/chart\.umd\.min\.js": "vendor/chartjs-4\.6\.1/chart\.umd\.min\.[0-9a-f]{12}\.js"',
        manifest,
    )


def test_compose_file_parses_and_runs_the_images_command():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compose_check.py"), "check"], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout.splitlines()[-1]) == (
        0,
        "docker-compose.yml parses; web runs the Dockerfile's CMD: gunicorn salon_crm.wsgi:application "
        "--bind 0.0.0.0:8000 --workers 3 --access-logfile -",
    )


# ---- the API's answers, as the schema says --------------------------------------------------------


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_documents_its_error_answers(schema):
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            wanted = {"400"}
            wanted |= {"429"} if path == "/api/v1/auth/token/" else {"401", "403"}
            if "{" in path:
                wanted.add("404")
            if method != "get":
                wanted.add("409")
            if not wanted <= codes:
                missing.append((method.upper(), path, sorted(wanted - codes)))
    assert missing == []


def test_paginated_lists_are_documented_as_pages(schema):
    for path in ["/api/v1/customers/", "/api/v1/formulas/"]:
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        component = schema["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]
        assert sorted(component["properties"]) == ["count", "next", "previous", "results"]


def test_date_parameters_are_dates(schema):
    params = schema["paths"]["/api/v1/appointments/"]["get"]["parameters"]
    assert next(p for p in params if p["name"] == "date")["schema"] == {"type": "string", "format": "date"}


@pytest.mark.django_db
def test_an_unknown_api_url_is_a_json_404_and_a_page_stays_html(client):
    api = client.get("/api/v1/visits/not-a-number/")
    assert (api.status_code, api["Content-Type"], api.json()) == (
        404,
        "application/json",
        {"detail": "Not found."},
    )
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
