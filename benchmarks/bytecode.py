"""Compile otshield's bytecode before measuring start-up.

An installed package has its ``.pyc`` files; a checkout run with ``PYTHONDONTWRITEBYTECODE``
set (as on the project's build machines) has none, and then every new process compiles the
~250 modules it imports (about 0.65 s here) before it reads a packet. The benchmarks start
processes (a tool under test, the decoder process of ``analyze``), so they write the bytecode
once first: what they measure is then what a user's installation does. ``compileall`` writes
the files whatever that variable says, and reading them is allowed with it set.
"""

from __future__ import annotations

import compileall
from pathlib import Path

import otshield

__all__ = ["compile_package"]


def compile_package() -> None:
    """Write the missing ``.pyc`` files of the otshield package (quietly)."""
    compileall.compile_dir(str(Path(otshield.__file__).parent), quiet=1)
