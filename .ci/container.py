"""The container image, emulated without a container engine (called by .ci/container.sh).

Reads the runtime stage of the Dockerfile and does what the image does, with the installed
wheel's virtual environment standing in for /venv and temporary directories for /data, /tmp
and the working directory:
  - seeds tiktoken's cache with the Dockerfile's own seeding command, from the working directory;
  - as an unprivileged user (setpriv, like USER), from a read-only working directory, with the
    Dockerfile's ENV and nothing else but what `docker run -e` would add (the Slack settings
    and PORT): `finetune-bot validate` on a sample; CMD with DATABASE_URL in the working
    directory (refused in one line); then CMD (`finetune-bot serve`) against a fake Slack; the HEALTHCHECK command answers 0, and non-zero for a port nobody serves;
    a signed slash command is answered; the database is created in the volume;
  - SIGTERM stops it with exit code 0, no traceback and no secret in its output.

Usage: python .ci/container.py --venv DIR --root DIR   (as root, from the repository)
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.dockerfile import healthcheck, read
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.signing import command_request, post

REPO = Path(__file__).resolve().parents[1]
USER = "nobody"  # stands in for the image's USER (any unprivileged account)
SECRET = "container-signing-secret"
# Serving needs a backend key (product §9); this one goes nowhere: the run starts no job.
BACKEND_KEY = {"OPENAI_API_KEY": "sk-container-unused", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
SAMPLE = REPO / "tests/data/samples/drone_training.jsonl"
START_TIMEOUT = 60.0


class Failed(Exception):
    """The emulated container did not behave like the image must."""


def main() -> int:
    """Run the emulation; one line per step, one line on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, required=True, help="venv with the wheel installed")
    parser.add_argument("--root", type=Path, required=True, help="an empty scratch directory")
    args = parser.parse_args()
    try:
        emulate(venv=args.venv.resolve(), root=args.root.resolve())
    except Failed as failure:
        print(f"container emulation FAILED: {failure}", file=sys.stderr)
        return 1
    print("container emulation passed")
    return 0


def emulate(*, venv: Path, root: Path) -> None:
    """Every step of the module docstring, in order."""
    if os.geteuid() != 0:
        raise Failed("run as root: it drops to an unprivileged user as the image's USER does")
    stage = read()[-1]
    workdir, volumes, user = stage.last("WORKDIR"), stage.all("VOLUME"), stage.last("USER")
    if workdir is None or not volumes or user is None:
        raise Failed("the runtime stage needs WORKDIR, VOLUME and USER")
    account = pwd.getpwnam(USER)
    # The image's directories and their stand-ins.
    app, data, tmp = root / "app", root / "data", root / "tmp"
    for directory in (app, data, tmp):
        directory.mkdir(parents=True)
    root.chmod(0o755)
    app.chmod(0o555)  # root-owned and read-only, like WORKDIR /app
    tmp.chmod(0o1777)
    os.chown(data, account.pw_uid, account.pw_gid)  # like `chown finetune /data` before VOLUME
    data.chmod(0o700)
    paths = {"/venv": str(venv), "/tmp": str(tmp), workdir.args: str(app)}
    volume = volumes[-1].args.strip('[]" ')
    paths[volume] = str(data)
    # What the image's process sees: HOME of an account without one, then the Dockerfile's ENV.
    env = {"HOME": "/nonexistent", **stage.env(base=dict(os.environ), paths=paths)}
    print(f"  ENV from the Dockerfile: {', '.join(sorted(env))}")

    seed = [i.args for i in stage.all("RUN") if "bot.core.tokens" in i.args]
    if len(seed) != 1:
        raise Failed("expected one RUN that seeds tiktoken through bot.core.tokens")
    run(["sh", "-c", seed[0]], env=env, cwd=app, what="the tiktoken seeding RUN")
    print("  tiktoken cache seeded through the installed package")

    sample = root / SAMPLE.name
    shutil.copyfile(SAMPLE, sample)
    sample.chmod(0o644)
    out = run(
        [*as_user(), "finetune-bot", "validate", str(sample)], env=env, cwd=app, what="validate"
    )
    if not out.stdout.startswith(f"{SAMPLE.name}: READY TO TRAIN"):
        raise Failed(f"validate printed {out.stdout[:200]!r}")
    print("  validate: READY TO TRAIN (installed wheel, unprivileged, read-only cwd)")

    cmd = stage.last("CMD")
    check = healthcheck(stage)
    if cmd is None or check is None or not isinstance(check[1], str) or not check[1]:
        raise Failed("the runtime stage needs CMD and a shell-form HEALTHCHECK CMD")
    # The old image's mistake, a database in the read-only working directory: one line, at once.
    wrong = {**env, "SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s", **BACKEND_KEY}
    wrong["DATABASE_URL"] = "sqlite:///finetune-bot.db"
    out = run([*as_user(), *json.loads(cmd.args)], env=wrong, cwd=app, what=None)
    if out.returncode != 2 or not out.stderr.startswith("finetune-bot: DATABASE_URL: cannot write"):
        raise Failed(f"a database in the read-only directory gave {out.returncode}: {out.stderr}")
    print("  a database in the read-only working directory: one line naming DATABASE_URL")

    with FakeSlack() as slack:
        serve_env = {
            **env,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.base_url,
            "PORT": "0",  # `docker run -e PORT=…`; the log says which port it took
            **BACKEND_KEY,
        }
        serve(json.loads(cmd.args), check[1], env=serve_env, app=app, data=data)
        if slack.calls_to("auth.test") == []:
            raise Failed("serve never called auth.test on the fake Slack")
    leftovers = sorted(p.name for p in app.iterdir())
    if leftovers:
        raise Failed(f"something was written in the working directory: {leftovers}")


def serve(
    cmd: list[str],
    check: str,
    *,
    env: dict[str, str],
    app: Path,
    data: Path,
) -> None:
    """Start CMD, wait for its port, health-check it, send it a command, then SIGTERM it."""
    proc = subprocess.Popen([*as_user(), *cmd], env=env, cwd=app, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()
    seen: list[str] = []
    reader = threading.Thread(target=_pump, args=(proc, lines), daemon=True)
    reader.start()
    try:
        port = _wait_for_port(proc, lines, seen)
        print(f"  serve: listening on port {port} as {USER}")
        health = run(["sh", "-c", check], env={**env, "PORT": port}, cwd=app, what=None)
        if health.returncode != 0:
            raise Failed(f"HEALTHCHECK exited {health.returncode}: {health.stdout.strip()}")
        with socket.socket() as closed:  # bound, never listening: connections are refused
            closed.bind(("127.0.0.1", 0))
            port_nobody_serves = str(closed.getsockname()[1])
            dead = run(
                ["sh", "-c", check], env={**env, "PORT": port_nobody_serves}, cwd=app, what=None
            )
        if dead.returncode == 0:
            raise Failed("HEALTHCHECK passed against a port nobody serves")
        print(f"  HEALTHCHECK: 0 against serve, {dead.returncode} against a closed port")
        body, headers = command_request(text="help", secret=SECRET)
        status, _, payload = post(f"http://127.0.0.1:{port}/slack/events", body, headers)
        if status != 200 or "/finetune" not in json.loads(payload).get("text", ""):
            raise Failed(f"a signed /finetune help got {status} {payload[:200]!r}")
        database = env["DATABASE_URL"].removeprefix("sqlite:///")
        if not database.startswith(str(data)) or not Path(database).exists():
            raise Failed(f"the database is not in the volume stand-in ({database})")
        print("  signed /finetune help answered; the SQLite database is in the volume")
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise Failed("serve did not stop within 30 s of SIGTERM") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    while not lines.empty() and (line := lines.get_nowait()) is not None:
        seen.append(line)
    output = "".join(seen)
    if code != 0:
        raise Failed(f"serve exited {code} after SIGTERM:\n{output}")
    if "Traceback" in output:
        raise Failed(f"serve printed a traceback:\n{output}")
    if SECRET in output or env["SLACK_BOT_TOKEN"] in output:
        raise Failed("serve printed a secret")
    print("  SIGTERM: exit 0, no traceback, no secret in the log")


def as_user() -> list[str]:
    """The prefix that runs a command as USER, like the image's USER instruction."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise Failed("setpriv (util-linux) is needed to drop to an unprivileged user")
    account = pwd.getpwnam(USER)
    return [
        setpriv,
        f"--reuid={account.pw_uid}",
        f"--regid={account.pw_gid}",
        "--clear-groups",
        "--",
    ]


def run(
    command: list[str], *, env: dict[str, str], cwd: Path, what: str | None
) -> subprocess.CompletedProcess[str]:
    """Run to completion; with `what`, a non-zero exit fails the emulation."""
    out = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    if what and out.returncode != 0:
        raise Failed(f"{what} exited {out.returncode}: {(out.stderr or out.stdout).strip()}")
    return out


def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.put(line)
    lines.put(None)


def _wait_for_port(
    proc: subprocess.Popen[str], lines: queue.Queue[str | None], seen: list[str]
) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            proc.wait()
            raise Failed(f"serve exited {proc.returncode} before listening:\n{''.join(seen)}")
        seen.append(line)
        found = re.search(r"listening on port (\d+)", line)
        if found:
            return found.group(1)
    raise Failed(f"serve did not report its port within {START_TIMEOUT:.0f} s:\n{''.join(seen)}")


if __name__ == "__main__":
    sys.exit(main())
