"""Rewrite build-machine paths baked into the ROS 2 PyPI wheels' CMake export files.

The ``ros-*`` interface wheels ship ``share/<pkg>/cmake/*__rosidl_generator_pyExport.cmake`` files
that name the Python and NumPy include directories of the machine the wheels were built on
(``/opt/python/cp3XX-cp3XX/...``). A downstream ``rosidl_generate_interfaces`` (our
humanoid_interfaces) then fails to compile its Python type support. This rewrites those paths to
the running interpreter's include directories. It is idempotent and prints what it changed.
"""

from __future__ import annotations

import pathlib
import re
import sys
import sysconfig

import numpy

PYTHON_INCLUDE = re.compile(r"/opt/python/cp\d+-cp\d+/include/python3\.\d+")
NUMPY_INCLUDE = re.compile(
    r"/opt/python/cp\d+-cp\d+/lib/python3\.\d+/site-packages/numpy/(?:_core|core)/include"
)


def main() -> int:
    prefix = pathlib.Path(sys.prefix)
    python_include = sysconfig.get_paths()["include"]
    numpy_include = numpy.get_include()
    changed = 0
    for path in sorted((prefix / "share").glob("*/cmake/*.cmake")):
        text = path.read_text()
        if "/opt/python/" not in text:
            continue
        new_text = NUMPY_INCLUDE.sub(numpy_include, text)
        new_text = PYTHON_INCLUDE.sub(python_include, new_text)
        if new_text != text:
            path.write_text(new_text)
            changed += 1
    print(f"fix_rosidl_cmake_paths: rewrote {changed} CMake file(s) under {prefix / 'share'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
