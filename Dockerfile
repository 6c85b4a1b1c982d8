FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml constraints.txt README.md ./
COPY . .
RUN pip install --no-cache-dir -c constraints.txt . \
    && DJANGO_SECRET_KEY=build FIELD_ENCRYPTION_KEYS=ZHVtbXktYnVpbGQta2V5LTAxMjM0NTY3ODlhYmNkZWY= \
       python manage.py collectstatic --noinput \
    && DJANGO_SECRET_KEY=build FIELD_ENCRYPTION_KEYS=ZHVtbXktYnVpbGQta2V5LTAxMjM0NTY3ODlhYmNkZWY= \
       python manage.py compilemessages --ignore=/usr/* || true
RUN useradd --create-home salon && mkdir -p /app/var && chown -R salon /app/var
USER salon
EXPOSE 8000
CMD ["gunicorn", "salon_crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
