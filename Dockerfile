# Mikrogranty's image: one image for every process, chosen by the command.
#
#   docker build -t mikrogranty .
#   docker run … mikrogranty                                    the web server (gunicorn, port 8000)
#   docker run … mikrogranty flask jobs worker                  the background jobs (RQ worker)
#   docker run … mikrogranty flask jobs tick                    one periodic sweep
#   docker run … mikrogranty flask db upgrade                   the migrations
#
# Configuration comes from the environment (deploy/env.example; SECRET_KEY, DATABASE_URL,
# REDIS_URL, BASE_DOMAIN, MAIL_*).  compose.yaml and deploy/helm/mikrogranty run it.
# Uploaded call documents are written to /app/instance/uploads: give it a volume.

FROM python:3.11-slim-bookworm

# WeasyPrint (the PDF documents) loads Pango and HarfBuzz at run time; fontconfig finds
# DejaVu, whose glyphs cover Polish and Ukrainian.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
        libfontconfig1 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The pinned dependencies of pyproject.toml first, in their own layer: a change of the
# code alone does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The application, installed in place as `make install` does (an editable install): it
# finds migrations/, translations/ and tenants/ beside core/, in /app.
COPY README.md ./
COPY core ./core
COPY plugins ./plugins
COPY migrations ./migrations
COPY translations ./translations
COPY tenants ./tenants
COPY deploy ./deploy
RUN pip install --no-deps -e . \
    && for folder in translations plugins/*/translations; do \
           pybabel compile --use-fuzzy -d "$folder" >/dev/null || exit 1; \
       done

# The processes run as an unprivileged user who may write only instance/ (uploads).
RUN groupadd --system --gid 10001 mikrogranty \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home mikrogranty \
    && install -d -o mikrogranty -g mikrogranty /app/instance /app/instance/uploads
USER 10001:10001

# In a container gunicorn listens on every interface and believes the proxy in front of
# it, whose address is not known in advance: publish port 8000 to the proxy only (the
# host's nginx, the cluster's ingress), never to the world.  gunicorn's control socket,
# fontconfig's cache and other scratch files go to /tmp (a read-only root file system
# then works with a writable /tmp).
ENV FLASK_APP=core \
    GUNICORN_BIND=0.0.0.0:8000 \
    FORWARDED_ALLOW_IPS=* \
    XDG_RUNTIME_DIR=/tmp \
    XDG_CACHE_HOME=/tmp/.cache
EXPOSE 8000

# Meant for the web container; compose.yaml turns it off for the others.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]

CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py"]
