# kplane's control-plane image: one image for the API, the Celery worker, the beat scheduler and
# the migration Job (helm/kplane picks the command). Build from the repository root:
#
#   docker build -t kplane/control-plane:0.1.0 .
#
# No secret is baked in: every credential arrives as KPLANE_* environment from a Secret at run
# time, and KPLANE_ENVIRONMENT=prod makes the processes refuse placeholders.

# --- stage 1: install kplane and its dependencies into a virtualenv ----------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# Only what the package needs: the dev tools, tests and devstack stay out (.dockerignore).
COPY pyproject.toml ./
COPY app ./app
COPY workers ./workers
RUN /opt/venv/bin/pip install --no-compile . \
 && /opt/venv/bin/python -c "import app.main, workers"

# --- stage 2: the runtime ----------------------------------------------------------------
FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="kplane control plane" \
      org.opencontainers.image.description="kplane API, workers, beat and migrations"
# A fixed non-root uid/gid, matching the chart's securityContext (runAsUser 10001).
RUN groupadd --system --gid 10001 kplane \
 && useradd --system --uid 10001 --gid kplane --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin kplane
COPY --from=build /opt/venv /opt/venv
WORKDIR /opt/kplane
# `alembic upgrade head` runs here: [tool.alembic] in pyproject.toml names ./migrations.
COPY pyproject.toml ./
COPY migrations ./migrations
# The Kafka versions the API offers and the workers run (read at run time, not packaged).
COPY broker/versions.json ./broker/versions.json
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    KPLANE_ENVIRONMENT=prod \
    KPLANE_KAFKA_VERSIONS_FILE=/opt/kplane/broker/versions.json
USER 10001:10001
EXPOSE 8080
CMD ["uvicorn", "app.main:create_app", "--factory", "--host=0.0.0.0", "--port=8080"]
