"""The installed package, and its ctypes structs against the C compiler's layout."""

import ctypes
import json
import subprocess
import sys
from pathlib import Path

import bitnet
from bitnet import _capi

ROOT = Path(__file__).resolve().parents[2]


def test_imports_the_installed_package():
    # ci/test-python-package.sh runs pytest from the build dir: the package
    # must come from the virtual environment, with its own libbitnet inside
    pkg = Path(bitnet.__file__).resolve().parent
    assert Path(sys.prefix).resolve() in pkg.parents, pkg
    assert Path(bitnet.LIBRARY_PATH).resolve() == pkg / "libbitnet.so"
    assert (pkg / "py.typed").exists()


def test_version_and_abi_match_the_header():
    header = (ROOT / "include" / "bitnet.h").read_text()
    assert f'#define BITNET_VERSION_STRING "{bitnet.__version__}"' in header
    assert f"#define BITNET_ABI_VERSION {bitnet.abi_version()}" in header
    assert bitnet.abi_version() == _capi.ABI_VERSION
    assert "ISA" in bitnet.system_info() or bitnet.system_info()
    assert bitnet.isa_supported("ref")
    assert bitnet.isa_supported(bitnet.isa_default())


def test_structs_match_the_c_layout(capi_dump):
    want = json.loads(subprocess.run([capi_dump, "layout"], capture_output=True, check=True).stdout)
    assert set(want) == set(_capi.STRUCTS)
    for cname, fields in want.items():
        py = _capi.STRUCTS[cname]
        assert ctypes.sizeof(py) == fields["sizeof"], cname
        got = {name: [getattr(py, name).offset, getattr(py, name).size] for name, _ in py._fields_}
        assert got == fields["fields"], cname
