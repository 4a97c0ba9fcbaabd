"""A small Dockerfile reader: stages, instructions, ENV, HEALTHCHECK (for the checks and the CI
emulation of the image, which must read the same values the image is built with)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass(frozen=True)
class Instruction:
    """One instruction, continuation lines joined; `line` is where it starts (1-based)."""

    keyword: str
    args: str
    line: int


@dataclass(frozen=True)
class Stage:
    """A build stage: FROM `base` [AS `name`] and the instructions after it."""

    base: str
    name: str | None
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[Instruction]:
        """The stage's instructions with this keyword, in order."""
        return [i for i in self.instructions if i.keyword == keyword.upper()]

    def last(self, keyword: str) -> Instruction | None:
        """The stage's last instruction with this keyword (the one that counts for USER, CMD…)."""
        found = self.all(keyword)
        return found[-1] if found else None

    def env(self, *, base: dict[str, str], paths: dict[str, str] | None = None) -> dict[str, str]:
        """The ENV values, `$VAR` expanded as Docker does (earlier values, then `base`).

        `paths` maps image directories to stand-ins (e.g. "/data" to a temporary directory); it
        applies to the Dockerfile's own text only, never to expanded `base` values.
        """
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            before = {**base, **values}  # one ENV line sees only the values set before it
            for key, raw in env_pairs(instruction.args).items():
                values[key] = expand(map_paths(raw, paths or {}), before)
        return values


def read(path: Path = DOCKERFILE) -> list[Stage]:
    """The stages of a Dockerfile."""
    stages: list[Stage] = []
    current: tuple[str, str | None] | None = None
    body: list[Instruction] = []
    for instruction in instructions(path.read_text()):
        if instruction.keyword == "FROM":
            if current is not None:
                stages.append(Stage(current[0], current[1], tuple(body)))
            words = instruction.args.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            current, body = (words[0], name), []
        elif current is not None:
            body.append(instruction)
    if current is not None:
        stages.append(Stage(current[0], current[1], tuple(body)))
    return stages


def instructions(text: str) -> list[Instruction]:
    """Every instruction: comments and blank lines dropped, `\\` continuations joined."""
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # also inside a continuation, as Docker does
        if not pending:
            start = number
        continued = stripped.endswith("\\")
        pending.append(stripped[:-1].strip() if continued else stripped)
        if not continued:
            keyword, _, args = " ".join(pending).partition(" ")
            found.append(Instruction(keyword.upper(), args.strip(), start))
            pending = []
    return found


def env_pairs(args: str) -> dict[str, str]:
    """`ENV A=1 B="two words"` (or the legacy `ENV A 1`) as a dict, quotes removed."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


def expand(value: str, variables: dict[str, str]) -> str:
    """`$NAME` and `${NAME}` replaced by their values (unset: empty), as Docker does."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1) or m.group(2), ""), value)


def map_paths(value: str, paths: dict[str, str]) -> str:
    """Replace image directories by their stand-ins where they are whole path prefixes (one pass,
    so a stand-in is never mapped again)."""
    if not paths:
        return value
    images = "|".join(re.escape(p) for p in sorted(paths, key=len, reverse=True))
    pattern = r"(?<![\w.-])(" + images + r")(?=/|:|$)"
    return re.sub(pattern, lambda m: paths[m.group(1)], value)


def healthcheck(stage: Stage) -> tuple[dict[str, str], str | list[str]] | None:
    """HEALTHCHECK's options and its command (a shell string, or an exec-form list)."""
    instruction = stage.last("HEALTHCHECK")
    if instruction is None:
        return None
    options: dict[str, str] = {}
    rest = instruction.args
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        key, _, value = option[2:].partition("=")
        options[key] = value
        rest = rest.lstrip()
    keyword, _, command = rest.partition(" ")
    if keyword.upper() != "CMD":
        return options, ""  # HEALTHCHECK NONE
    command = command.strip()
    return options, json.loads(command) if command.startswith("[") else command
