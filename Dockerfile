# Production image of the SAM suite: gunicorn serves the web app; the same image runs the Celery
# worker and beat (see docker-compose.yml). Static files are collected at build time and served
# by WhiteNoise.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SAM_VAR_DIR=/var/lib/sam \
    MEDIA_ROOT=/var/lib/sam/media \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app

# Dependencies first, exactly as locked (hash-checked), so a code change reuses this layer.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY . .
RUN pip install --no-deps . \
    && useradd --system --home /var/lib/sam --create-home sam \
    && mkdir -p /var/lib/sam/media \
    && chown -R sam:sam /var/lib/sam \
    # collectstatic needs settings that pass the production checks; these values are build-only.
    && SAM_ENV=production SECRET_KEY=collectstatic-only-build-key-not-used-at-runtime ALLOWED_HOSTS=build \
       DATABASE_URL=sqlite:////tmp/build.sqlite3 python manage.py collectstatic --noinput

USER sam
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=5 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=5).status == 200 else 1)"
CMD ["gunicorn", "sam.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", \
     "--access-logfile", "-"]
