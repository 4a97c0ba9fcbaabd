"""The Dockerfile's shape, checked fast (no container engine here; .ci/container.sh runs the
image's contents for real): two stages, dependencies cached before the code, a runtime stage
holding only the venv, a non-root USER owning the /data VOLUME where DATABASE_URL points, a
HEALTHCHECK on /healthz without curl, tiktoken seeded through the installed package."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.dockerfile import (
    DOCKERFILE,
    Instruction,
    Stage,
    env_pairs,
    healthcheck,
    instructions,
    map_paths,
    read,
)

ROOT = DOCKERFILE.parent
SOURCE = {"bot", "handlers", "storage"}


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return read()


@pytest.fixture(scope="module")
def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


def copied(instruction: Instruction) -> tuple[list[str], str]:
    """COPY's sources (options dropped) and its destination."""
    words = [w for w in instruction.args.split() if not w.startswith("--")]
    return words[:-1], words[-1]


def position(stage: Stage, predicate: Callable[[Instruction], object]) -> int:
    """Index of the stage's first instruction matching `predicate`."""
    found = [n for n, i in enumerate(stage.instructions) if predicate(i)]
    assert found, "instruction not found"
    return found[0]


def test_two_stages_a_named_builder_and_a_slim_runtime(stages: list[Stage]) -> None:
    assert len(stages) == 2
    builder, runtime = stages
    assert builder.name == "builder"
    assert runtime.base.startswith("python:3.11") and runtime.base.endswith("-slim")


def test_dependencies_are_installed_before_the_code_is_copied(stages: list[Stage]) -> None:
    builder = stages[0]
    first_copy = builder.all("COPY")[0]
    assert copied(first_copy)[0] == ["pyproject.toml"]
    deps = position(builder, lambda i: i.keyword == "RUN" and "pip install -r" in i.args)
    code = position(builder, lambda i: i.keyword == "COPY" and (SOURCE | {"."}) & set(copied(i)[0]))
    assert deps < code, "the dependencies layer must come before the code"
    wheel = position(builder, lambda i: i.keyword == "RUN" and "pip wheel" in i.args)
    assert code < wheel
    assert re.search(r"pip install --no-deps \S+\.whl", builder.all("RUN")[-1].args)


def test_the_builder_copies_every_package_of_the_wheel(stages: list[Stage]) -> None:
    sources = {s.rstrip("/") for i in stages[0].all("COPY") for s in copied(i)[0]}
    assert sources >= SOURCE
    assert {"pyproject.toml", "README.md"} <= sources  # README.md: the wheel's readme


def test_the_runtime_holds_only_the_venv(stages: list[Stage], runtime: Stage) -> None:
    copies = runtime.all("COPY")
    assert copies and all(f"--from={stages[0].name}" in i.args for i in copies)
    assert [copied(i) for i in copies] == [(["/venv"], "/venv")]
    env = runtime.env(base={"PATH": "/usr/local/bin:/usr/bin"})
    assert env["PATH"].startswith("/venv/bin:")


def test_a_non_root_user_owns_the_data_volume(runtime: Stage) -> None:
    user = runtime.last("USER")
    assert user is not None and user.args not in {"root", "0"} and not user.args.startswith("0:")
    volumes = runtime.all("VOLUME")
    assert [v.args for v in volumes] == ["/data"]
    # Created and chowned to the user before VOLUME (later changes to a volume are discarded).
    made = position(
        runtime,
        lambda i: i.keyword == "RUN" and f"chown {user.args}" in i.args and "/data" in i.args,
    )
    assert made < position(runtime, lambda i: i.keyword == "VOLUME")
    assert position(runtime, lambda i: i.keyword == "USER") > max(
        n for n, i in enumerate(runtime.instructions) if i.keyword == "RUN"
    ), "every RUN as root, the process as the user"


def test_the_default_database_lives_in_the_volume(runtime: Stage) -> None:
    url = runtime.env(base={})["DATABASE_URL"]
    assert url.startswith("sqlite:////")
    database = Path(url.removeprefix("sqlite:///"))
    assert any(database.is_relative_to(v.args) for v in runtime.all("VOLUME"))


def test_the_working_directory_holds_no_source(runtime: Stage) -> None:
    workdir = runtime.last("WORKDIR")
    assert workdir is not None and workdir.args not in {"/data", "/venv"}
    assert all(copied(i)[1] != workdir.args for i in runtime.all("COPY"))


def test_tiktoken_is_seeded_through_the_installed_package(runtime: Stage) -> None:
    seed = position(runtime, lambda i: i.keyword == "RUN" and "bot.core.tokens" in i.args)
    assert position(runtime, lambda i: i.keyword == "COPY" and "/venv" in i.args) < seed
    assert position(runtime, lambda i: i.keyword == "WORKDIR") < seed  # runs in the empty /app
    cache = runtime.env(base={})["TIKTOKEN_CACHE_DIR"]
    assert cache.startswith("/venv/")  # root-owned, read by the user, never written at run time


def test_healthcheck_asks_healthz_on_port_without_curl(runtime: Stage) -> None:
    check = healthcheck(runtime)
    assert check is not None
    options, command = check
    assert isinstance(command, str) and command.startswith("python -c ")
    assert "/healthz" in command and "os.environ.get('PORT')" in command
    assert not re.search(r"\b(curl|wget)\b", command)
    assert {"interval", "timeout", "start-period", "retries"} <= set(options)


def test_cmd_serves(runtime: Stage) -> None:
    cmd = runtime.last("CMD")
    assert cmd is not None and json.loads(cmd.args) == ["finetune-bot", "serve"]
    expose = runtime.last("EXPOSE")
    assert expose is not None and expose.args == "3000"


def test_dockerignore_lets_in_exactly_what_is_copied(stages: list[Stage]) -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    sources = {
        s.rstrip("/")
        for stage in stages
        for i in stage.all("COPY")
        if "--from=" not in i.args
        for s in copied(i)[0]
    }
    assert allowed == sources
    assert all((ROOT / name).exists() for name in sources)


def test_reader_joins_continuations_and_expands_like_docker() -> None:
    text = 'FROM x AS b\n# c\nENV A=1 \\\n    # inside\n    B="two words"\nRUN echo \\\n  hi\n'
    assert [(i.keyword, i.args, i.line) for i in instructions(text)] == [
        ("FROM", "x AS b", 1),
        ("ENV", 'A=1 B="two words"', 3),
        ("RUN", "echo hi", 6),
    ]
    assert env_pairs("LEGACY some value") == {"LEGACY": "some value"}
    paths = {"/venv": "/tmp/s/venv", "/tmp": "/tmp/s/tmp", "/data": "/d"}
    assert map_paths("/venv/bin:/tmp/x:/srv/data/y:sqlite:////data/z", paths) == (
        "/tmp/s/venv/bin:/tmp/s/tmp/x:/srv/data/y:sqlite:////d/z"
    )
