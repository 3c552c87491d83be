"""The review app through FastAPI's TestClient: queue, case page, actions, export, labels."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from cases import labels, testing
from cases.review_app import ReviewSettings, create_app


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    lake, cases_path, _ = testing.build(tmp_path_factory.mktemp("review"))
    return lake, cases_path


@pytest.fixture
def fresh(built: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the case store (tests that act on cases must not see each other)."""
    lake, cases_path = built
    copy = tmp_path / "cases.sqlite"
    copy.write_bytes(cases_path.read_bytes())
    return lake, copy


def _client(lake: Path, cases_path: Path, name: str = "ann") -> TestClient:
    return testing.sign_in(TestClient(create_app(ReviewSettings(cases_path, lake))), name)


def _act(client: TestClient, case_id: int, page: str, **form: str):
    return client.post(
        f"/cases/{case_id}/action", data={**form, "csrf": testing.csrf_field(page)}, follow_redirects=False
    )


def test_queue_lists_cases_by_score_with_links(built) -> None:
    client = _client(*built)
    page = client.get("/")
    assert page.status_code == 200
    assert page.text.index('href="/cases/1"') < page.text.index('href="/cases/2"')
    assert "2 case(s)" in page.text


def test_queue_filters_by_typology_and_pages(built) -> None:
    client = _client(*built)
    assert "1 case(s)" in client.get("/", params={"typology": "fan_out"}).text
    assert "0 case(s)" in client.get("/", params={"status": "closed_reported"}).text
    assert "page 1 of 1" in client.get("/", params={"page": 9}).text  # past the end: the last page


def test_case_page_shows_profile_reasons_timeline_network_and_linked_accounts(built) -> None:
    client = _client(*built)
    page = client.get("/cases/1")
    assert page.status_code == 200
    text = page.text
    assert "fan-in: many distinct accounts pay one account" in text  # typology in words
    assert "near-threshold cash" in text  # reason codes
    assert "produce" in text and "business" in text and "yes" in text  # sector, kind, PEP
    assert "0.8 years" in text  # age at the last alert (opened 2023-06-01, alert 2024-03-22)
    assert "device_hash" in text  # linked through the shared device
    assert text.count('class="edge scheme"') >= 1  # the fan-in edges inside the alert window
    assert '<rect class="inbound"' in text and 'aria-label="counterparty network"' in text
    assert "transaction(s); page 1 of" in text


def test_case_page_paginates_transactions(built) -> None:
    lake, cases_path = built
    client = testing.sign_in(TestClient(create_app(ReviewSettings(cases_path, lake, tx_per_page=5))), "ann")
    first = client.get("/cases/1")
    total = int(first.text.split(" transaction(s); page 1 of ")[0].rsplit(">", 1)[1])
    pages = -(-total // 5)
    assert total > 5 and f"page 1 of {pages}<" in first.text and "?tx_page=2" in first.text
    last = client.get("/cases/1", params={"tx_page": 999})
    assert f"page {pages} of {pages}<" in last.text and "?tx_page=" + str(pages - 1) in last.text


def test_take_note_close_and_audit(fresh) -> None:
    client = _client(*fresh)
    page = client.get("/cases/1")
    assert _act(client, 1, page.text, action="take").status_code == 303
    page = client.get("/cases/1")
    assert 'id="case-assignee">ann<' in page.text
    note = client.post(
        "/cases/1/note",
        data={"body": "called the bank", "csrf": testing.csrf_field(page.text)},
        follow_redirects=False,
    )
    assert note.status_code == 303
    closed = _act(client, 1, page.text, action="close_false_positive", reason="payroll")
    assert closed.status_code == 303
    page = client.get("/cases/1")
    assert "closed: false positive" in page.text and "called the bank" in page.text
    actions = [a for a in ("created", "take", "note", "close_false_positive") if f">{a}<" in page.text]
    assert actions == ["created", "take", "note", "close_false_positive"]


def test_second_analyst_cannot_take_a_taken_case(fresh) -> None:
    ann, bob = _client(*fresh, "ann"), _client(*fresh, "bob")
    ann_page, bob_page = ann.get("/cases/1").text, bob.get("/cases/1").text
    assert _act(ann, 1, ann_page, action="take").status_code == 303
    refused = _act(bob, 1, bob_page, action="take")
    assert refused.status_code == 409 and "already taken by ann" in refused.text
    assert _act(bob, 1, bob_page, action="close_reported", reason="x").status_code == 409


def test_empty_reason_and_missing_case_are_reported(fresh) -> None:
    client = _client(*fresh)
    page = client.get("/cases/1").text
    _act(client, 1, page, action="take")
    assert _act(client, 1, page, action="close_reported", reason=" ").status_code == 422
    assert client.get("/cases/999").status_code == 404


def test_export_bundle_holds_json_csv_and_a_goaml_shaped_report(fresh) -> None:
    client = _client(*fresh)
    page = client.get("/cases/1").text
    response = client.post("/cases/1/export", data={"csrf": testing.csrf_field(page)})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["case.json", "str.xml", "transactions.csv"]
    document = json.loads(archive.read("case.json"))
    assert document["case"]["subject"] == testing.HUB
    csv = pl.read_csv(io.BytesIO(archive.read("transactions.csv")))
    assert csv.height >= 8 and testing.HUB in csv["dst_account"].to_list()
    report = ET.fromstring(archive.read("str.xml"))
    assert report.tag == "report" and report.findtext("report_code") == "STR"
    descriptions = [t.findtext("transaction_description") for t in report.iter("transaction")]
    assert f"invoice {testing.SCRIPT}" in descriptions  # the payload is text, escaped by the XML writer
    assert report.find("transaction/t_to_my_client/to_account/account").text == testing.HUB
    assert "export" in client.get("/cases/1").text


def test_dispositions_export_as_labels(fresh, tmp_path: Path) -> None:
    lake, cases_path = fresh
    client = _client(lake, cases_path)
    for case_id, action in [(1, "close_reported"), (2, "close_false_positive")]:
        page = client.get(f"/cases/{case_id}").text
        _act(client, case_id, page, action="take")
        _act(client, case_id, page, action=action, reason="decided")
    out = tmp_path / "labels.parquet"
    assert labels.export_labels(cases_path, out) == 2
    frame = pl.read_parquet(out)
    assert frame.columns == labels.CASE_LABELS.names
    assert dict(frame.select("account_id", "label").iter_rows()) == {testing.HUB: 1, f"acct{testing.SQL}": 0}
    assert frame["decided_by"].to_list() == ["ann", "ann"]


def test_open_cases_give_no_labels(built, tmp_path: Path) -> None:
    assert labels.read_labels(built[1]).height == 0
