"""`otshield policy check|propose|firewall` through the module's own `register`."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from otshield.demo import write_demo_capture
from otshield.errors import OtshieldError
from otshield.policy.cli import register


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="otshield")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        rc: int = args.func(args, Console(width=200), Console(stderr=True, width=200))
    except OtshieldError as exc:  # what otshield.cli.main does
        print(f"otshield: error: {exc}")
        return 2
    return rc


def test_check_exit_codes_and_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("zones:\n  - name: A\n    level: 4\n    subnets: [10.0.0.0/24]\n"
                    "  - name: B\n    level: 1\n    subnets: [10.1.0.0/24]\n"
                    "conduits:\n  - name: c\n    from: A\n    to: B\n    protocols: [modbus]\n")
    assert run(["policy", "check", str(good)]) == 0
    out, err = capsys.readouterr()
    assert f"{good}:11: warning: conduit 'c': level 4 (A) to level 1 (B) skips levels 2, 3" in out
    assert "0 errors, 1 warning; 2 zones, 1 conduits, 0 jump hosts" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("zones:\n  - name: A\n    level: 9\n")
    assert run(["policy", "check", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert f"{bad}:3: error: zones[0].level: Purdue levels are 0-5, got 9" in out
    assert run(["policy", "check", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read the policy" in capsys.readouterr().out


def test_propose_then_check_then_firewall(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    capture = tmp_path / "demo.pcap"
    write_demo_capture(capture)
    policy = tmp_path / "policy.yaml"
    policy.write_text("previous content\n")
    assert run(["policy", "propose", str(capture), "-o", str(policy)]) == 0
    err = capsys.readouterr().err
    assert "wrote a policy to" in err and "9 zones (9 proposed), 8 conduits" in err
    assert policy.read_text().startswith("# Zones-and-conduits policy proposed")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert run(["policy", "check", str(policy)]) == 0
    assert " error" not in capsys.readouterr().out
    rules = tmp_path / "rules.nft"
    assert run(["policy", "firewall", str(policy), "--format", "nftables", "-o",
                str(rules)]) == 0
    text = rules.read_text()
    assert "table inet otshield {" in text
    nft = shutil.which("nft")
    if nft:
        result = subprocess.run([nft, "-c", "-f", str(rules)], capture_output=True, text=True,
                                check=False, timeout=30)
        assert result.returncode == 0 or "Operation not permitted" in result.stderr, \
            result.stderr
    # standard output when no -o is given
    assert run(["policy", "firewall", str(policy)]) == 0
    assert capsys.readouterr().out == text


def test_propose_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["policy", "propose", str(tmp_path / "none.pcap")]) == 2
    assert "none.pcap: no such capture file" in capsys.readouterr().out
    capture = tmp_path / "demo.pcap"
    write_demo_capture(capture)
    target = tmp_path / "no" / "such" / "dir" / "p.yaml"
    assert run(["policy", "propose", str(capture), "-o", str(target)]) == 2
    assert "cannot write here" in capsys.readouterr().out
