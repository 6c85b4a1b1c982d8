#!/usr/bin/env sh
# Collect the static files for production (whitenoise's compressed manifest storage, as with
# DEBUG off), exactly as the Docker image is built: the Dockerfile runs this script, and CI
# runs it before starting gunicorn, so CI proves the image's build step.
# The build-time key and secret only let settings import; the real ones come from the
# environment at run time. No database, broker or cache is needed (or read).
#   usage: scripts/build_static.sh [PYTHON]      (default: python)
set -eu
PYTHON=${1:-python}
cd "$(dirname "$0")/.."
env -u DATABASE_URL -u CELERY_BROKER_URL -u CACHE_URL -u DJANGO_DEBUG \
  DJANGO_SECRET_KEY=build-only \
  FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1ub3QtYS1yZWFsLWtleS0wMTIzNDU= \
  "$PYTHON" manage.py collectstatic --noinput --clear -v 1
