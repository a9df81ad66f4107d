# radrag API image: multi-stage, non-root. Build: `docker build -t radrag-api .`
# The knowledge base lives under RADRAG_HOME=/data: mount a volume there (compose.yaml does),
# or bake the default KB into the image with `--build-arg BUILD_KB=1` (fetches the IU X-ray
# reports from PyPI and embeds them at build time; a mounted volume starts as that copy).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# torch's CPU build (the lock pins torch==2.13.0 without CUDA). Set this to PyPI's index to
# take the default build instead (GPU hosts; much larger image).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG BUILD_KB=0
# DL3064 reads "TOKENIZERS_PARALLELISM" as a secret; it is a thread switch.
# hadolint ignore=DL3064
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false
WORKDIR /app
RUN python -m venv /opt/venv
COPY requirements.lock ./
# torch first (no deps) from its CPU index; then every pinned file with its sha256. The lock's
# torch line is already satisfied by the CPU build (same version, local label +cpu).
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --index-url "${TORCH_INDEX_URL}" \
        "torch==2.13.0" \
    && /opt/venv/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY rag ./rag
COPY prompts ./prompts
COPY knowledge_base ./knowledge_base
COPY models ./models
# Installed in place (--no-deps, editable): prompts/, models/ and knowledge_base/ are found
# next to the package, as in a checkout.
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps -e . \
    && mkdir -p /data \
    && if [ "${BUILD_KB}" = "1" ]; then RADRAG_HOME=/data /opt/venv/bin/radrag kb ensure; fi

FROM ${PYTHON_IMAGE} AS runtime
# hadolint ignore=DL3064
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    RADRAG_HOME=/data \
    RADRAG_HOST=0.0.0.0 \
    RADRAG_PORT=8000
RUN groupadd --system --gid 10001 radrag \
    && useradd --system --uid 10001 --gid radrag --home-dir /data --shell /usr/sbin/nologin radrag
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
COPY --from=build --chown=radrag:radrag /data /data
WORKDIR /app
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
# slim has no curl: the probe is Python's own HTTP client.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["python", "-m", "rag.cli"]
CMD ["serve"]
