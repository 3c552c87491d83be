"""The review web app: server-rendered pages (FastAPI + Jinja2, autoescaped, no JavaScript).

Cases come from the SQLite case store, details from the lake's Parquet files; the run's DuckDB
file is never opened. Every page needs a signed-in analyst; every POST a CSRF token. See
``docs/REVIEW.md``.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader

from cases import charts, details, export, queries, store
from cases.security import (
    NONCE_COOKIE,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    TOKEN_ENV,
    Guard,
    check_bind,
    valid_name,
)
from cases.words import STATUS_NAMES, typology_words

__all__ = ["TOKEN_ENV", "ReviewSettings", "create_app", "serve"]
_STATIC = Path(__file__).with_name("static")


@dataclass
class ReviewSettings:
    """Where the app reads from and how it checks who is acting."""

    cases_path: Path
    lake: Path | None = None
    guard: Guard = field(default_factory=Guard)
    tx_per_page: int = 50


class _SignInRequired(Exception):
    """Raised by :func:`_analyst` when the request has no valid session."""


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("cases", "templates"), autoescape=True)
    env.filters["status"] = lambda s: STATUS_NAMES.get(s, s)
    env.filters["typology_words"] = typology_words
    env.filters["money"] = lambda v: "" if v is None else f"{v:,.2f}"
    return env


def create_app(settings: ReviewSettings) -> FastAPI:
    """The review app over ``settings.cases_path`` (created if missing) and ``settings.lake``."""
    store.init(settings.cases_path)
    lake = settings.lake
    if lake is None:  # the lake of the last sync
        with store.connect(settings.cases_path) as con:
            remembered = queries.latest_lake(con)
        lake = Path(remembered) if remembered else None
    view = details.LakeView(lake)
    guard = settings.guard
    templates = Jinja2Templates(env=_environment())
    app = FastAPI(title="moneytrail review", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(_SignInRequired)
    async def sign_in(request: Request, exc: _SignInRequired) -> Response:
        if request.method == "GET":
            return RedirectResponse("/login", status_code=303)
        return PlainTextResponse("sign in first", status_code=403)

    def _analyst(request: Request) -> str:
        name = guard.analyst(request.cookies.get(SESSION_COOKIE))
        if name is None:
            raise _SignInRequired
        return name

    def _check_csrf(request: Request, csrf: str) -> Response | None:
        if not guard.csrf_ok(request.cookies.get(SESSION_COOKIE), csrf):
            return PlainTextResponse("missing or invalid CSRF token", status_code=403)
        return None

    def _render(request: Request, name: str, context: dict, status_code: int = 200) -> HTMLResponse:
        cookie = request.cookies.get(SESSION_COOKIE)
        base = {"analyst": guard.analyst(cookie), "csrf": guard.csrf_token(cookie) if cookie else ""}
        return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    @app.get("/static/style.css")
    def stylesheet() -> Response:
        return Response((_STATIC / "style.css").read_text(), media_type="text/css")

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, error: str = "") -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        response = _render(
            request,
            "login.html",
            {"login_csrf": guard.login_token(nonce), "needs_token": guard.token is not None, "error": error},
            status_code=401 if error else 200,
        )
        response.set_cookie(NONCE_COOKIE, nonce, httponly=True, samesite="strict")
        return response

    @app.post("/login")
    def login(
        request: Request,
        name: Annotated[str, Form()] = "",
        token: Annotated[str, Form()] = "",
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        if not guard.login_ok(request.cookies.get(NONCE_COOKIE), csrf):
            return PlainTextResponse("missing or invalid CSRF token", status_code=403)
        if not guard.token_ok(token):
            return login_form(request, error="wrong access token")
        try:
            analyst = valid_name(name)
        except ValueError as exc:
            return login_form(request, error=str(exc))
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, guard.session_cookie(analyst), httponly=True, samesite="strict")
        response.delete_cookie(NONCE_COOKIE)
        return response

    @app.post("/logout")
    def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
        _analyst(request)
        if (refused := _check_csrf(request, csrf)) is not None:
            return refused
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/", response_class=HTMLResponse)
    def queue(
        request: Request,
        *,
        status: str = "open",
        typology: str = "",
        assignee: str = "",
        sort: str = "score",
        page: int = 1,
    ) -> HTMLResponse:
        _analyst(request)
        wanted = queries.QueueFilter(status, typology, assignee, sort, page)
        with store.connect(settings.cases_path) as con:
            result = queries.queue(con, wanted)
        return _render(
            request,
            "queue.html",
            {
                "page": result,
                "statuses": store.STATUSES,
                "sorts": list(queries.SORTS),
                "unassigned": queries.UNASSIGNED,
            },
        )

    def _case_facts(con: sqlite3.Connection, case: dict) -> dict:
        """What both the page and the export bundle show: alerts, subjects, window, transactions."""
        alerts = queries.case_alerts(con, case["case_id"])
        account_ids = sorted({a["account_id"] for a in alerts})
        alert_days = sorted({date.fromisoformat(a["eval_date"]) for a in alerts})
        window = details.Window.around(alert_days[0], alert_days[-1])
        accounts = view.accounts()
        linked, linked_total = details.linked_accounts(accounts, account_ids)
        return {
            "case": case,
            "alerts": alerts,
            "alert_days": alert_days,
            "account_ids": account_ids,
            "profiles": details.profiles(accounts, account_ids, alert_days[-1]),
            "linked": linked,
            "linked_total": linked_total,
            "window": window,
            "all_transactions": view.transactions(account_ids, window),
            "notes": queries.notes(con, case["case_id"]),
            "audit": queries.audit_trail(con, case["case_id"]),
        }

    def _case_context(con: sqlite3.Connection, case: dict, tx_page: int) -> dict:
        facts = _case_facts(con, case)
        transactions, account_ids = facts["all_transactions"], facts["account_ids"]
        per_page = settings.tx_per_page
        pages = max(1, -(-transactions.height // per_page))
        tx_page = min(max(1, tx_page), pages)
        net = details.network(view, account_ids, facts["window"], facts["alert_days"])
        flagged = queries.flagged_accounts(con, [n["id"] for n in net["nodes"]])
        return facts | {
            "transactions": transactions.slice((tx_page - 1) * per_page, per_page).to_dicts(),
            "tx_total": transactions.height,
            "tx_page": tx_page,
            "tx_pages": pages,
            "chart": charts.amount_chart(
                details.daily_amounts(transactions, account_ids),
                facts["alert_days"],
                facts["window"].start.date(),
                (facts["window"].end - timedelta(days=1)).date(),
            ),
            "graph": charts.network_layout(net, flagged),
            "transitions": store.TRANSITIONS,
        }

    def _case_page(
        request: Request, case_id: int, tx_page: int = 1, *, error: str = "", status_code: int = 200
    ) -> HTMLResponse:
        with store.connect(settings.cases_path) as con:
            case = queries.get_case(con, case_id)
            if case is None:
                return _render(request, "missing.html", {"case_id": case_id}, status_code=404)
            context = _case_context(con, case, tx_page)
        return _render(request, "case.html", {**context, "error": error}, status_code=status_code)

    @app.get("/cases/{case_id}", response_class=HTMLResponse)
    def case_page(request: Request, case_id: int, tx_page: int = 1) -> HTMLResponse:
        _analyst(request)
        return _case_page(request, case_id, tx_page)

    @app.post("/cases/{case_id}/action")
    def case_action(
        request: Request,
        case_id: int,
        action: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        analyst = _analyst(request)
        if (refused := _check_csrf(request, csrf)) is not None:
            return refused
        try:
            with store.connect(settings.cases_path) as con:
                store.apply(con, case_id, action, analyst, reason)
        except KeyError:
            return _render(request, "missing.html", {"case_id": case_id}, status_code=404)
        except store.CaseConflict as exc:
            return _case_page(request, case_id, error=str(exc), status_code=409)
        except ValueError as exc:
            return _case_page(request, case_id, error=str(exc), status_code=422)
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @app.post("/cases/{case_id}/note")
    def case_note(
        request: Request,
        case_id: int,
        body: Annotated[str, Form()] = "",
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        analyst = _analyst(request)
        if (refused := _check_csrf(request, csrf)) is not None:
            return refused
        try:
            with store.connect(settings.cases_path) as con:
                store.add_note(con, case_id, analyst, body)
        except KeyError:
            return _render(request, "missing.html", {"case_id": case_id}, status_code=404)
        except ValueError as exc:
            return _case_page(request, case_id, error=str(exc), status_code=422)
        return RedirectResponse(f"/cases/{case_id}#notes", status_code=303)

    @app.post("/cases/{case_id}/export")
    def case_export(request: Request, case_id: int, csrf: Annotated[str, Form()] = "") -> Response:
        analyst = _analyst(request)
        if (refused := _check_csrf(request, csrf)) is not None:
            return refused
        with store.connect(settings.cases_path) as con:
            case = queries.get_case(con, case_id)
            if case is None:
                return _render(request, "missing.html", {"case_id": case_id}, status_code=404)
            facts = _case_facts(con, case)
            store.record_export(con, case_id, analyst)
        transactions = facts["all_transactions"]
        document = export.case_json(
            {key: facts[key] for key in ("case", "alerts", "profiles", "linked", "notes", "audit")}
            | {"window": {"start": facts["window"].start, "end": facts["window"].end}}
        )
        xml = export.str_xml(case, transactions, view.accounts(), analyst)
        payload = export.bundle_zip(document, export.transactions_csv(transactions), xml)
        return Response(
            payload,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="case-{case_id}.zip"'},
        )

    return app


def serve(cases_path: Path, lake: Path | None, host: str, port: int, token: str | None) -> None:
    """Run the app with uvicorn; refuse a non-loopback ``host`` without an access token."""
    check_bind(host, token)
    app = create_app(ReviewSettings(cases_path, lake, Guard(token=token)))
    uvicorn.run(app, host=host, port=port, log_level="info")
