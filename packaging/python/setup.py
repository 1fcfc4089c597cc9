"""Tags the wheel py3-none-<platform of the packed library>.

The Python code is pure (ctypes), the library beside it is not: the tag comes from the library
file itself, so a wheel can never claim a platform its library does not run on. Linux:
manylinux_2_N for the newest GLIBC_2.N symbol version the library needs (what auditwheel
reports). Windows: win_amd64 or win32 from the PE machine field.
"""
import pathlib
import re

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.dist import Distribution

HERE = pathlib.Path(__file__).resolve().parent
LIBRARIES = ("libCloudPayAPI_SDK_CPP.so", "CloudPayAPI_SDK_CPP.dll")


def platform_tag() -> str:
    found = [HERE / "cloudpay" / n for n in LIBRARIES if (HERE / "cloudpay" / n).is_file()]
    if len(found) != 1:
        raise SystemExit(f"cloudpay/ must hold exactly one of {LIBRARIES}, has {[p.name for p in found]}")
    data = found[0].read_bytes()
    if data[:4] == b"\x7fELF":
        machine = {62: "x86_64", 183: "aarch64"}[int.from_bytes(data[18:20], "little")]
        glibc = max((int(a), int(b)) for a, b in re.findall(rb"GLIBC_(\d+)\.(\d+)", data))
        return f"manylinux_{glibc[0]}_{glibc[1]}_{machine}"
    if data[:2] == b"MZ":
        pe = int.from_bytes(data[0x3C:0x40], "little")
        return {0x8664: "win_amd64", 0x14C: "win32"}[int.from_bytes(data[pe + 4:pe + 6], "little")]
    raise SystemExit(f"{found[0].name}: neither ELF nor PE")


class NativeDistribution(Distribution):
    def has_ext_modules(self):
        return True   # a native library is inside: platlib, not purelib


class PlatformWheel(bdist_wheel):
    def get_tag(self):
        return "py3", "none", platform_tag()


setup(version=(HERE / "VERSION").read_text(encoding="utf-8").strip(), distclass=NativeDistribution,
      cmdclass={"bdist_wheel": PlatformWheel})
