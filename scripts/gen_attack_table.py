#!/usr/bin/env python3
"""Regenerate ``src/otshield/data/attack-ics.json`` from MITRE's ATT&CK for ICS STIX bundle.

    .venv/bin/python scripts/gen_attack_table.py ../shared/data/standards/ics-attack.json

The licence notice (``attack-ics.LICENSE.txt``) is copied beside the table, as MITRE's terms
require for any copy of ATT&CK content.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import msgspec

from otshield.detect.attack import DATA, table_from_bundle


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    bundle = Path(argv[1])
    table = table_from_bundle(bundle)
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_bytes(msgspec.json.format(msgspec.json.encode(table), indent=1) + b"\n")
    licence = bundle.with_name(bundle.stem + ".LICENSE.txt")
    if licence.exists():
        shutil.copyfile(licence, DATA.with_name("attack-ics.LICENSE.txt"))
    else:
        print(f"warning: no licence file {licence}; add MITRE's notice by hand",
              file=sys.stderr)
    print(f"{DATA}: ATT&CK for ICS {table.version}, {len(table.techniques)} techniques, "
          f"{len(table.tactics)} tactics")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
