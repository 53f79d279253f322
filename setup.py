"""Build of the optional C accelerator otshield._cnetstack (all metadata is in pyproject.toml).

The extension is optional: without a C compiler or Python headers the install still succeeds
and otshield.netstack keeps its pure-Python decoder.
"""

from __future__ import annotations

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "otshield._cnetstack",
            sources=["src/otshield/_cnetstack.c"],
            optional=True,
        ),
    ],
)
