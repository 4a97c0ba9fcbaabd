FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install . \
    && useradd --create-home --uid 10001 finetune

USER finetune
# Seed tiktoken's cache from the bundled encodings at build time (no download at run time).
ENV TIKTOKEN_CACHE_DIR=/home/finetune/.cache/tiktoken
RUN python -c "from bot.core.tokens import get_encoding; get_encoding('o200k_base'); get_encoding('cl100k_base')"

EXPOSE 3000
CMD ["finetune-bot", "serve"]
