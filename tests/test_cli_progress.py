"""Progress bars: shown on a terminal (stderr), silent when output is piped."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from moneytrail import cli

CSV = "tx_id,timestamp,src_account,dst_account,amount,currency,channel\nT1,2024-01-05T10:00Z,A,B,5,USD,wire\n"


def _ingest(tmp_path: Path) -> str:
    (tmp_path / "tx.csv").write_text(CSV)
    result = CliRunner().invoke(
        cli.app, ["ingest", str(tmp_path / "tx.csv"), "--lake", str(tmp_path / "lake")]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_piped_output_has_no_progress_bar(tmp_path: Path) -> None:
    output = _ingest(tmp_path)
    assert "\x1b[" not in output and "ingesting" not in output
    assert output.count("\n") == 1 and "1 rows in, 1 loaded, 0 quarantined" in output  # one unwrapped line


def test_a_terminal_gets_a_transient_progress_bar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(cli, "err_console", Console(file=screen, force_terminal=True, width=100))
    _ingest(tmp_path)
    assert "ingesting" in screen.getvalue() and "\x1b[" in screen.getvalue()
