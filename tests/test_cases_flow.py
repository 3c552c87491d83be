"""The nightly flow's last step fills the case store; the CLI imports and exports labels.

Slow (a Prefect server and a flow run on the tiny data set); the default suite exercises the same
step through tests/test_flow_e2e.py's runs, which now end with it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from cases import labels, store
from moneytrail.cli import app as cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def flow_run(prefect_harness, tiny_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flows.nightly import nightly_flow

    db = tmp_path_factory.mktemp("flowcases") / "moneytrail.duckdb"
    nightly_flow(lake=tiny_lake, db=db)
    return db


def test_nightly_flow_syncs_its_alerts_into_the_case_store_beside_the_db(
    flow_run: Path, tiny_lake: Path
) -> None:
    cases_path = flow_run.with_name("moneytrail.cases.sqlite")
    with duckdb.connect(str(flow_run), read_only=True) as con:
        alert_ids = {r[0] for r in con.execute("SELECT alert_id FROM alerts").fetchall()}
    with store.connect(cases_path) as con:
        synced = {r[0] for r in con.execute("SELECT alert_id FROM case_alerts")}
        lake = con.execute("SELECT lake FROM syncs").fetchone()[0]
    assert alert_ids and synced == alert_ids
    assert lake == str(tiny_lake)


def test_cli_sync_is_idempotent_and_labels_export(flow_run: Path, tmp_path: Path) -> None:
    cases_path = flow_run.with_name("moneytrail.cases.sqlite")
    before = cases_path.read_bytes()
    copy = tmp_path / "copy.cases.sqlite"
    copy.write_bytes(before)
    result = CliRunner().invoke(cli, ["review", "--db", str(flow_run), "--cases", str(copy), "--sync"])
    assert result.exit_code == 0, result.output
    assert "0 new alert(s), 0 new case(s)" in result.output
    with store.connect(copy) as con:
        store.apply(con, 1, "take", "ann")
        store.apply(con, 1, "close_reported", "ann", "filed")
    out = tmp_path / "labels.parquet"
    result = CliRunner().invoke(
        cli, ["review", "--db", str(flow_run), "--cases", str(copy), "--export-labels", str(out)]
    )
    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(out)
    assert frame.schema == pl.from_arrow(labels.CASE_LABELS.empty_table()).schema
    assert frame.height >= 1 and set(frame["label"].to_list()) == {1}
