FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY . .
# Translations (.mo) are committed, so no gettext is needed in the image. The build-time key
# and secret only let collectstatic import settings; the real ones come from the environment.
RUN pip install --no-cache-dir -c constraints.txt . \
    && DJANGO_SECRET_KEY=build-only FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1ub3QtYS1yZWFsLWtleS0wMTIzNDU= \
       python manage.py collectstatic --noinput
RUN useradd --create-home salon && mkdir -p /app/var && chown -R salon /app/var
USER salon
EXPOSE 8000
CMD ["gunicorn", "salon_crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
