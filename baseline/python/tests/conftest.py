import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))      # make `bitnet_ref` importable


def shared_dir():
    return os.environ.get("BITNET_SHARED_DIR", "/work/shared")


@pytest.fixture(scope="session")
def fixture_dir():
    d = os.path.join(shared_dir(), "fixtures", "bitnet-cpp")
    if not os.path.isfile(os.path.join(d, "tiny-i2_s.gguf")):
        pytest.skip(f"bitnet.cpp fixture not found under {d} (set BITNET_SHARED_DIR)")
    return d
