"""Security of the review app: hostile data renders inert, sessions, CSRF, access token, binding."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cases import store, testing
from cases.review_app import ReviewSettings, create_app
from cases.security import TOKEN_ENV, Guard, SecurityConfigError, check_bind, valid_name
from moneytrail.cli import app as cli

TOKEN = "s3cret-token-of-32-characters-ok"
PAYLOADS = (testing.SCRIPT, testing.SVG)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    lake, cases_path, _ = testing.build(tmp_path_factory.mktemp("hostile"))
    return lake, cases_path


def _client(built, token: str | None = None) -> TestClient:
    lake, cases_path = built
    return TestClient(create_app(ReviewSettings(cases_path, lake, Guard(token=token))))


def _assert_inert(html: str) -> None:
    """No payload survives as markup: every ``<`` of the data arrives as ``&lt;``."""
    for payload in PAYLOADS:
        assert payload not in html
    assert "<script" not in html.lower()
    assert not re.search(r"<svg[^>]*onload", html, re.IGNORECASE)


@pytest.mark.parametrize("path", ["/", "/cases/1", "/cases/2", "/?typology=<script>x</script>"])
def test_hostile_names_references_and_reasons_render_inert(built, path: str) -> None:
    client = testing.sign_in(_client(built), "ann")
    page = client.get(path)
    assert page.status_code == 200
    _assert_inert(page.text)


def test_hostile_strings_are_shown_as_text(built) -> None:
    page = testing.sign_in(_client(built), "ann").get("/cases/1").text
    assert "acct&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in page  # the hub's id, in tables and SVG
    assert "ref &#39;; DROP TABLE cases; --" in page  # an SQL payload in a reference, bound and shown
    assert "Robert&#39;; DROP TABLE cases; -- &#34;&gt;&lt;svg onload=alert(1)&gt;" in page
    assert "<title>acct&lt;script&gt;" in page  # SVG text is escaped too


def test_sql_payloads_left_the_case_store_intact(built) -> None:
    with store.connect(built[1]) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        subjects = {r[0] for r in con.execute("SELECT subject FROM cases")}
    assert {"cases", "audit", "notes", "case_alerts"} <= tables
    assert subjects == {testing.HUB, f"acct{testing.SQL}"}


def test_hostile_notes_and_reasons_from_analysts_are_escaped(built, tmp_path: Path) -> None:
    copy = tmp_path / "c.sqlite"
    copy.write_bytes(built[1].read_bytes())
    client = testing.sign_in(_client((built[0], copy)), "ann")
    page = client.get("/cases/1").text
    client.post("/cases/1/note", data={"body": testing.SCRIPT, "csrf": testing.csrf_field(page)})
    after = client.get("/cases/1").text
    _assert_inert(after)
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in after


def test_every_page_needs_a_session_and_every_post_a_csrf_token(built) -> None:
    anonymous = _client(built)
    assert anonymous.get("/", follow_redirects=False).headers["location"] == "/login"
    assert anonymous.get("/cases/1", follow_redirects=False).status_code == 303
    assert anonymous.post("/cases/1/action", data={"action": "take"}).status_code == 403
    signed = testing.sign_in(_client(built), "ann")
    assert signed.post("/cases/1/action", data={"action": "take"}).status_code == 403
    assert signed.post("/cases/1/action", data={"action": "take", "csrf": "forged"}).status_code == 403
    assert signed.post("/cases/1/note", data={"body": "x"}).status_code == 403
    assert signed.post("/cases/1/export", data={}).status_code == 403
    with store.connect(built[1]) as con:
        assert con.execute("SELECT count(*) FROM audit WHERE actor = 'ann'").fetchone()[0] == 0


def test_csrf_token_of_one_session_does_not_work_for_another(built) -> None:
    ann = testing.sign_in(_client(built), "ann")
    token_of_ann = testing.csrf_field(ann.get("/cases/1").text)
    bob = testing.sign_in(TestClient(ann.app), "bob")
    assert bob.post("/cases/1/action", data={"action": "take", "csrf": token_of_ann}).status_code == 403


def test_login_needs_its_csrf_nonce_and_a_valid_name(built) -> None:
    client = _client(built)
    assert client.post("/login", data={"name": "ann"}).status_code == 403
    form = client.get("/login")
    bad = client.post("/login", data={"name": "<b>x</b>", "csrf": testing.csrf_field(form.text)})
    assert bad.status_code == 401 and "a name is" in bad.text


def test_forged_session_cookie_is_refused(built) -> None:
    client = _client(built)
    client.cookies.set("moneytrail_analyst", "deadbeef.YW5u")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_with_an_access_token_sign_in_requires_it(built) -> None:
    client = _client(built, TOKEN)
    form = client.get("/login")
    assert 'name="token"' in form.text
    wrong = client.post(
        "/login", data={"name": "ann", "token": "nope", "csrf": testing.csrf_field(form.text)}
    )
    assert wrong.status_code == 401 and "wrong access token" in wrong.text
    assert client.get("/", follow_redirects=False).status_code == 303
    testing.sign_in(client, "ann", TOKEN)
    assert client.get("/").status_code == 200


def test_security_headers_forbid_scripts_and_framing(built) -> None:
    response = testing.sign_in(_client(built), "ann").get("/cases/1")
    policy = response.headers["content-security-policy"]
    assert (
        "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors 'none'" in policy
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    cookie = response.request.headers["cookie"]
    assert "moneytrail_analyst=" in cookie


@pytest.mark.parametrize(
    ("host", "token", "ok"),
    [
        ("127.0.0.1", None, True),
        ("localhost", None, True),
        ("::1", None, True),
        ("0.0.0.0", None, False),
        ("192.168.1.5", None, False),
        ("0.0.0.0", TOKEN, True),
        ("0.0.0.0", "short", False),
    ],
)
def test_binding_beyond_loopback_needs_a_token(host: str, token: str | None, ok: bool) -> None:
    if ok:
        check_bind(host, token)
    else:
        with pytest.raises(SecurityConfigError):
            check_bind(host, token)


def test_cli_refuses_to_serve_on_all_interfaces_without_a_token(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    result = CliRunner().invoke(cli, ["review", "--db", str(tmp_path / "m.duckdb"), "--host", "0.0.0.0"])
    assert result.exit_code == 2 and TOKEN_ENV in result.output


@pytest.mark.parametrize("name", ["", " ", "x" * 65, "<script>", "a\nb", "sync"])
def test_unacceptable_analyst_names(name: str) -> None:
    with pytest.raises(ValueError):
        valid_name(name)
