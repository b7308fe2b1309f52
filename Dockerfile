# Gatehouse: one image for web, workers, beat and the migration job (the command differs).
# Build: docker build -t gatehouse .            GPU workers: docker build --build-arg EXTRAS=gpu -t gatehouse-gpu .
# The GPU image gets onnxruntime-gpu with the CUDA and cuDNN libraries as wheels ([cuda,cudnn]), loaded by
# registry.evidence.onnx (onnxruntime.preload_dlls); the host needs only the NVIDIA driver and container toolkit.

# --- build: wheels for the app and its dependencies, compilers stay here ------------------------------------
FROM python:3.12-slim-bookworm AS build
ARG EXTRAS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY portal ./portal
COPY registry ./registry
COPY approvals ./approvals
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install ".${EXTRAS:+[$EXTRAS]}" \
 && if [ "$EXTRAS" = "gpu" ]; then \
      /opt/venv/bin/pip uninstall -y onnxruntime \
      && /opt/venv/bin/pip install "onnxruntime-gpu[cuda,cudnn]"; \
    fi

# --- runtime: the virtualenv and the code, run as an unprivileged user ------------------------------------
FROM python:3.12-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    GATEHOUSE_VAR_DIR=/var/lib/gatehouse DJANGO_SETTINGS_MODULE=portal.settings
RUN groupadd --system --gid 10001 gatehouse \
 && useradd --system --uid 10001 --gid gatehouse --home-dir /app --shell /usr/sbin/nologin gatehouse \
 && mkdir -p /var/lib/gatehouse && chown gatehouse:gatehouse /var/lib/gatehouse
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=gatehouse:gatehouse manage.py ./
COPY --chown=gatehouse:gatehouse portal ./portal
COPY --chown=gatehouse:gatehouse registry ./registry
COPY --chown=gatehouse:gatehouse approvals ./approvals
COPY --chown=gatehouse:gatehouse templates ./templates
COPY --chown=gatehouse:gatehouse static ./static
COPY --chown=gatehouse:gatehouse bench ./bench
# Static files are collected at build time and served by whitenoise, compressed.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0 \
 && chown -R gatehouse:gatehouse /var/lib/gatehouse
USER gatehouse
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["gunicorn", "-c", "python:portal.gunicorn_conf", "portal.wsgi:application"]
