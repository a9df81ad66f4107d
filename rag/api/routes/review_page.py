"""The radiologist's review page: worklist, study view, label and text edits, signing.

Server-rendered HTML with plain forms (no JavaScript). The browser signs in once with an API
key holding the `reviewer` scope; the key is kept in an HttpOnly, SameSite=Strict cookie
scoped to /review, so other sites cannot make the browser post forms with it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from rag.api.draft_schemas import DraftPatch, TextEditIn
from rag.api.routes.drafts import WORKLIST, ImageId, apply_patch, sign_draft_now, store_of
from rag.api.schemas import validation_message
from rag.domain import FINDING_NAMES, Finding
from rag.review.lifecycle import flagged
from rag.review.models import EDIT_REASONS
from rag.services import Services
from rag.store.drafts import DraftConflict, DraftNotFound
from rag.store.monitor_queries import monitor_report

HERE = Path(__file__).resolve().parents[1]
COOKIE = "radrag_review_key"
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/review", include_in_schema=False)
static = StaticFiles(directory=HERE / "static")


def _svc(request: Request) -> Services:
    return request.app.state.services


def reviewer_of(request: Request) -> str | None:
    """The key id of the signed-in reviewer, or None (auth off: the loopback developer)."""
    svc = _svc(request)
    if svc.settings.auth == "disabled":
        return "loopback-dev"
    key = request.cookies.get(COOKIE)
    rec = svc.keys.lookup(key) if key else None
    return rec.id if rec is not None and "reviewer" in rec.scopes else None


def _login() -> RedirectResponse:
    return RedirectResponse("/review/login", status_code=303)


def _back(draft_id: str, error: str | None = None) -> RedirectResponse:
    url = f"/review/drafts/{draft_id}" + (f"?error={quote(error)}" if error else "")
    return RedirectResponse(url, status_code=303)


def _page(request: Request, name: str, who: str | None, **ctx: object) -> HTMLResponse:
    ctx = {"reviewer": who, "error": request.query_params.get("error"), **ctx}
    return templates.TemplateResponse(request, name, ctx)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> HTMLResponse:
    """The sign-in form."""
    return _page(request, "login.html", None)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the key (reviewer scope) and keep it in the session cookie."""
    form = await request.form()
    key = str(form.get("key", "")).strip()
    rec = _svc(request).keys.lookup(key) if key else None
    if rec is None or "reviewer" not in rec.scopes:
        page = _page(
            request, "login.html", None, error="unknown key, or a key without the reviewer scope"
        )
        page.status_code = 401
        return page
    out = RedirectResponse("/review", status_code=303)
    out.set_cookie(
        COOKIE,
        key,
        httponly=True,
        samesite="strict",
        path="/review",
        secure=request.url.scheme == "https",
    )
    return out


@router.post("/logout")
async def logout() -> Response:
    """Forget the key."""
    out = _login()
    out.delete_cookie(COOKIE, path="/review")
    return out


@router.get("", response_class=HTMLResponse)
async def worklist(
    request: Request, status: Annotated[str | None, Query(max_length=20)] = None
) -> Response:
    """The worklist: studies awaiting review, drafted and abstained (or one status)."""
    who = reviewer_of(request)
    if who is None:
        return _login()
    wanted = (status,) if status in (*WORKLIST, "signed") else WORKLIST
    drafts = await run_in_threadpool(store_of(_svc(request)).worklist, wanted)
    return _page(request, "worklist.html", who, drafts=drafts, filters=(*WORKLIST, "signed"))


@router.get("/drafts/{draft_id}", response_class=HTMLResponse)
async def study_view(request: Request, draft_id: str) -> Response:
    """One study: images, proposed and current labels, the verified draft, sign."""
    who = reviewer_of(request)
    if who is None:
        return _login()
    store = store_of(_svc(request))
    try:
        d = await run_in_threadpool(store.get, draft_id)
    except DraftNotFound:
        return HTMLResponse("no such draft", status_code=404)
    signed = await run_in_threadpool(store.signed_report, draft_id)
    by_section = {
        name: [s for s in d.content.sentences if s.section == name]
        for name in ("findings", "impression")
    }
    return _page(
        request,
        "draft.html",
        who,
        d=d,
        c=d.content,
        by_section=by_section,
        signed=signed,
        editable=d.status != "signed",
        flagged=len(flagged(d)),
        findings=list(Finding),
        names=FINDING_NAMES,
        reasons=EDIT_REASONS,
    )


def _fmt(v: object) -> str:
    return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


@router.get("/monitor", response_class=HTMLResponse)
async def monitor_page(
    request: Request, since: Annotated[str, Query(max_length=40)] = "30d"
) -> Response:
    """The monitor's figures over a window, with its alerts."""
    from rag.review.window import parse_when

    who = reviewer_of(request)
    if who is None:
        return _login()
    store_of(_svc(request))
    try:
        t0 = parse_when(since)
    except ValueError as exc:
        return HTMLResponse(str(exc), status_code=422)
    svc = _svc(request)
    report = await run_in_threadpool(monitor_report, svc.settings, t0, datetime.now(UTC), svc.db)
    return _page(request, "monitor.html", who, r=report, since=since, fmt=_fmt)


@router.get("/images/{image_id}.png")
async def image(request: Request, image_id: ImageId) -> Response:
    """A study image's de-identified preview (cookie auth)."""
    if reviewer_of(request) is None:
        return Response(status_code=401)
    try:
        png = await run_in_threadpool(store_of(_svc(request)).image, image_id)
    except DraftNotFound:
        return Response(status_code=404)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private"})


async def _apply(request: Request, draft_id: str, patch_body: dict) -> Response:
    who = reviewer_of(request)
    if who is None:
        return _login()
    try:
        patch = DraftPatch.model_validate(patch_body)
        patch.label_set()
        await run_in_threadpool(apply_patch, _svc(request), draft_id, patch, who)
    except ValidationError as exc:
        return _back(draft_id, validation_message(exc))
    except (DraftConflict, IndexError) as exc:
        return _back(draft_id, str(exc))
    except DraftNotFound:
        return HTMLResponse("no such draft", status_code=404)
    return _back(draft_id)


def _revision(form) -> int | None:
    value = str(form.get("revision", ""))
    return int(value) if value.isdigit() else None


@router.post("/drafts/{draft_id}/labels")
async def edit_labels(request: Request, draft_id: str) -> Response:
    """The reviewer's labels: the study is re-drafted and re-verified."""
    form = await request.form()
    labels = {f.value: str(form[f.value]) for f in Finding if form.get(f.value)}
    if not labels:
        return _back(draft_id, "assess at least one finding")
    return await _apply(request, draft_id, {"revision": _revision(form), "labels": labels})


@router.post("/drafts/{draft_id}/text")
async def edit_text(request: Request, draft_id: str) -> Response:
    """Edit, remove or add one sentence; new text is verified and flagged when unsupported."""
    form = await request.form()
    op = str(form.get("op", "edit"))
    index = str(form.get("index", ""))
    text = str(form.get("text", "")).strip() or None
    try:
        edit = TextEditIn(
            section=str(form.get("section", "")),  # type: ignore[arg-type]
            index=None if op == "add" else int(index) if index.isdigit() else -1,
            text=None if op == "remove" else text,
            reason=str(form.get("reason", "other")),
        )
    except ValidationError as exc:
        return _back(draft_id, validation_message(exc))
    if op != "remove" and edit.text is None:
        return _back(draft_id, "text: write a sentence (or use Remove)")
    body = {"revision": _revision(form), "text_edits": [edit.model_dump()]}
    return await _apply(request, draft_id, body)


@router.post("/drafts/{draft_id}/sign")
async def sign(request: Request, draft_id: str) -> Response:
    """Sign; a flagged sentence needs the acknowledgement box."""
    who = reviewer_of(request)
    if who is None:
        return _login()
    form = await request.form()
    ack = form.get("acknowledge_flagged") == "1"
    try:
        await run_in_threadpool(sign_draft_now, _svc(request), draft_id, ack, who)
    except DraftConflict as exc:
        return _back(draft_id, str(exc))
    except DraftNotFound:
        return HTMLResponse("no such draft", status_code=404)
    return _back(draft_id)


@router.post("/drafts/{draft_id}/correct")
async def correct(request: Request, draft_id: str) -> Response:
    """Open a correction of a signed report and go to it."""
    who = reviewer_of(request)
    if who is None:
        return _login()
    try:
        new = await run_in_threadpool(store_of(_svc(request)).correct, draft_id, who)
    except DraftConflict as exc:
        return _back(draft_id, str(exc))
    except DraftNotFound:
        return HTMLResponse("no such draft", status_code=404)
    return _back(new.id)
