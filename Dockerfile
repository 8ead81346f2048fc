# The one image for web, the workers and the one-shot set-up steps (see docker-compose.yml).
FROM python:3.11.13-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
# .dockerignore keeps .env, secrets/, var/, .git, .venv, caches and test output out of the image.
COPY . .
# Static files belong to the image: collected once here. The settings need a SECRET_KEY to load
# with DEBUG=0 (and a CACHE_URL, never connected to here); this throwaway key signs nothing and is not
# in any running container.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-signs-nothing CACHE_URL=redis://build-time-unused:6379/0 \
        FLONIKS_VAR_DIR=/tmp/build-var \
        python manage.py collectstatic --noinput -v0 \
    && rm -rf /tmp/build-var \
    && useradd --create-home --uid 10001 floniks \
    && mkdir -p /app/var && chown floniks /app/var
# The code stays owned by root: the app user can write only /app/var and /tmp.
USER floniks
EXPOSE 8000
# gunicorn reads ./gunicorn.conf.py (workers, timeouts, access log, trusted proxies).
CMD ["gunicorn", "floniks.wsgi", "--bind", "0.0.0.0:8000"]
