# The TradeFlood server. Build and run from the repository root:
#   docker build -t tradeflood-server .
#   docker run -p 8000:8000 -e TRADEFLOOD_API_KEYS=change-me tradeflood-server
# Listening on 0.0.0.0 needs API keys (TRADEFLOOD_API_KEYS); the port is TRADEFLOOD_SERVER_PORT (8000).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY tradeflood ./tradeflood
COPY connectors ./connectors
COPY bindings ./bindings
COPY models ./models
COPY server ./server
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir '.[server]'

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 tradeflood
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TRADEFLOOD_SERVER_PORT=8000 \
    TRADEFLOOD_STORE=/home/tradeflood/store/candles.sqlite3
USER tradeflood
RUN mkdir -p /home/tradeflood/store
VOLUME ["/home/tradeflood/store"]
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('TRADEFLOOD_SERVER_PORT', '8000') + '/healthz', timeout=2)"]
CMD ["tradeflood", "serve", "--host", "0.0.0.0"]
