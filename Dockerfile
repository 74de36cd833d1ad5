# The advisor's Telegram bot. Build: docker build -t outsourcing-advisor .
# Run:   docker run --env-file advisor.env -v advisor-data:/data outsourcing-advisor
#        (advisor.env, mode 600: TELEGRAM_BOT_TOKEN=...; never the token on the command line)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ADVISOR_DB=/data/advisor.db

WORKDIR /app
COPY pyproject.toml README.md babel.cfg ./
COPY advisor ./advisor
COPY bot ./bot
COPY storage ./storage
COPY flows ./flows
COPY locales ./locales
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 advisor \
    && mkdir -p /data \
    && chown advisor:advisor /data

USER 10001
VOLUME ["/data"]
EXPOSE 8443
CMD ["advisor", "run"]
