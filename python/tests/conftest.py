"""Shared fixtures: models written by `bitnet fixture`, the `bitnet` CLI and the C helper.

BITNET_BIN (the CLI) and BITNET_CAPI_DUMP (python/tests/capi_dump.c, built by
CMake) come from ci/test-python-package.sh / CTest.
"""

import os
import subprocess

import pytest


def _tool(var):
    path = os.environ.get(var)
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"${var} must name the executable (run through ci/test-python-package.sh)")
    return path


@pytest.fixture(scope="session")
def bitnet_bin():
    return _tool("BITNET_BIN")


@pytest.fixture(scope="session")
def capi_dump():
    return _tool("BITNET_CAPI_DUMP")


def _fixture(tmp_path_factory, bitnet_bin, name, *args):
    path = tmp_path_factory.mktemp("models") / f"{name}.gguf"
    subprocess.run([bitnet_bin, "fixture", "-q", "-o", str(path), *args], check=True)
    return str(path)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory, bitnet_bin):
    return _fixture(tmp_path_factory, bitnet_bin, "tiny", "--preset", "tiny")


@pytest.fixture(scope="session")
def small(tmp_path_factory, bitnet_bin):
    return _fixture(tmp_path_factory, bitnet_bin, "small", "--preset", "small")


@pytest.fixture(scope="session")
def tiny_bpe(tmp_path_factory, bitnet_bin):
    """llama3-style: BPE vocabulary and <|eot_id|> (chat format llama3)."""
    return _fixture(tmp_path_factory, bitnet_bin, "tiny-bpe", "--preset", "tiny", "--arch",
                    "bitnet-b1.58", "--vocab", "bpe")


def bitnet_run(bitnet_bin, model, prompt, *args):
    """stdout of `bitnet run` as bytes (the CLI prints the generated text only)."""
    r = subprocess.run([bitnet_bin, "run", "-m", model, "-p", prompt, "-t", "1", *args],
                       capture_output=True, check=True)
    return r.stdout


@pytest.fixture
def model(tiny):
    import bitnet

    with bitnet.Model(tiny) as m:
        yield m
