FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY . .
# Translations (.mo) are committed, so no gettext is needed in the image. Static files are
# collected by scripts/build_static.sh (manifest storage, as with DEBUG off); CI runs the same
# script, then this image's CMD, and uses every page through it (.ci/run, production smoke).
# pg_dump / pg_restore for manage.py backup_db / restore_db (the same major version as the
# postgres:15 service of docker-compose.yml; Debian bookworm's postgresql-client is 15).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir -c constraints.txt . \
    && sh scripts/build_static.sh python
RUN useradd --create-home salon && mkdir -p /app/var /backups && chown -R salon /app/var /backups
USER salon
EXPOSE 8000
# docker-compose.yml's web service runs this same command (scripts/compose_check.py checks it);
# gunicorn reads its other settings from /app/gunicorn.conf.py: the access log's format, and the
# metrics of its workers added up (PROMETHEUS_MULTIPROC_DIR: docker-compose.yml sets it, else a
# temporary directory; docs/operations.md, "Observability").
CMD ["gunicorn", "salon_crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
