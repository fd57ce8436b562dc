# Charon's image: `charon serve` for the service, and the base image of Charon's KFP components
# (set CHARON_COMPONENT_IMAGE to where you push it before `charon compile`).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CHARON_DATA_DIR=/data \
    CHARON_HTTP_HOST=0.0.0.0 \
    HOME=/home/charon

RUN useradd --create-home --uid 10001 charon && mkdir -p /data && chown charon /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY pipelines ./pipelines
COPY components ./components
COPY templates ./templates
RUN pip install . && python -c "import bot.cli, pipelines.packages"

USER charon
EXPOSE 9991
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:9991/healthz', timeout=4)" || exit 1
CMD ["charon", "serve"]
