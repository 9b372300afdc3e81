"""The web app over HTTP: auth, CSRF, throttling, escaping, four-eyes through routes, the push API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from webutil import (
    HOSTILE_TEXT,
    PASSWORD,
    add_flag,
    csrf_from,
    factory_for,
    login,
    seed_basic,
    settings_for,
    sqlite_url,
)

from netral.db.schema import Account, AuditRecord, Flag, Post, Report, TrainJob
from netral.review import users as user_service
from netral.serve.app import create_app
from netral.settings import Settings
from netral.vocabulary import TrainRunState

RAW_SCRIPT = "<script>alert(1)</script>"
RAW_IMG = "<img src=x onerror=alert(2)>"
ESC_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESC_IMG = "&lt;img src=x onerror=alert(2)&gt;"
REASON = "Mengajak memilih paslon nomor 2 secara terbuka."


@dataclass
class Env:
    factory: sessionmaker[Session]
    settings: Settings
    ids: dict[str, int]
    tmp: Path

    def client(self, **overrides: object) -> TestClient:
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        return TestClient(create_app(settings, retrain_runner=_fake_runner(self.factory)))


def _fake_runner(factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    def run(job_id: int) -> None:
        with factory() as s:
            job = s.get(TrainJob, job_id)
            assert job is not None
            job.status, job.progress, job.message, job.model_version = TrainRunState.DONE, 1.0, "selesai", "uji-1"
            s.commit()

    return run


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    yield Env(factory, settings_for(url, tmp_path), seed_basic(factory), tmp_path)
    factory.kw["bind"].dispose()


def _token(client: TestClient, path: str = "/queue") -> str:
    return csrf_from(client.get(path).text)


def _post(client: TestClient, path: str, token: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def _status(env: Env) -> str:
    with env.factory() as s:
        flag = s.get(Flag, env.ids["flag"])
        assert flag is not None
        return flag.status


def _confirm_via_http(client: TestClient, flag_id: int) -> None:
    token = _token(client, f"/flags/{flag_id}")
    assert _post(client, f"/flags/{flag_id}/claim", token).status_code == 303
    r = _post(client, f"/flags/{flag_id}/confirm", token, category="SOLICITATION", behaviour="ajakan_berpihak",
              reason=REASON)
    assert r.status_code == 303


# --- auth, session, headers -------------------------------------------------------------------------

def test_pages_need_login_and_roles(env: Env) -> None:
    client = env.client()
    r = client.get("/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/queue")
    assert login(client, "rina").headers["location"] == "/queue"
    for path in ("/admin/users", "/audit", "/training", "/second-review", "/reports"):
        assert client.get(path).status_code == 403, path
    analyst = env.client()
    login(analyst, "ana")
    assert analyst.get("/queue").status_code == 403
    assert analyst.get("/training").status_code == 200
    r = client.get("/login?next=//evil.example", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/queue"  # home, never the foreign host


def test_wrong_password_and_session_cookie_flags(env: Env) -> None:
    client = env.client()
    r = login(client, "rina", "salah-sekali-123")
    assert r.status_code == 401 and "salah" in r.text
    r = login(client, "rina")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    secure = env.client(secure_cookies=True)
    # httpx keeps Secure cookies only for https, so read the header of the login response itself.
    page = secure.get("/login")
    assert "secure" in page.headers["set-cookie"].lower()


def test_security_headers(env: Env) -> None:
    client = env.client()
    r = client.get("/login")
    csp = r.headers["content-security-policy"]
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'self'" in script_src
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in r.text.replace('<script src="/static/app.js" defer></script>', "")


# --- CSRF -------------------------------------------------------------------------------------------

def test_post_forms_without_csrf_token_are_refused(env: Env) -> None:
    flag = env.ids["flag"]
    anonymous = env.client()
    anonymous.get("/login")
    r = anonymous.post("/login", data={"username": "rina", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    r = anonymous.post("/login", data={"username": "rina", "password": PASSWORD, "csrf_token": "palsu"},
                       follow_redirects=False)
    assert r.status_code == 403

    reviewer = env.client()
    login(reviewer, "rina")
    supervisor = env.client()
    login(supervisor, "sari")
    admin = env.client()
    login(admin, "adi")
    analyst = env.client()
    login(analyst, "ana")
    cases = [
        (reviewer, f"/flags/{flag}/claim", {}),
        (reviewer, f"/flags/{flag}/release", {}),
        (reviewer, f"/flags/{flag}/confirm", {"category": "SUPPORT", "behaviour": "kampanye_daring", "reason": REASON}),
        (reviewer, f"/flags/{flag}/dismiss", {"reason": REASON}),
        (reviewer, f"/flags/{flag}/more-info", {"reason": REASON}),
        (supervisor, f"/flags/{flag}/verify", {"reason": REASON}),
        (supervisor, f"/flags/{flag}/return", {"reason": REASON}),
        (supervisor, f"/flags/{flag}/report", {}),
        (admin, "/admin/users", {"username": "baru", "role": "admin", "password": "kata-sandi-baru-1"}),
        (admin, f"/admin/users/{env.ids['rina']}/role", {"role": "admin"}),
        (admin, f"/admin/users/{env.ids['ana']}/tokens", {"name": "curian"}),
        (analyst, "/training/start", {}),
        (reviewer, "/logout", {}),
    ]
    for client, path, data in cases:
        assert client.post(path, data=data, follow_redirects=False).status_code == 403, path
        assert client.post(path, data={**data, "csrf_token": "x" * 43}, follow_redirects=False).status_code == 403
    with env.factory() as s:
        flag_row = s.get(Flag, flag)
        assert flag_row is not None and flag_row.claimed_by is None and flag_row.status == "pending"
        assert user_service.get_user(s, "baru") is None
        assert user_service.get_user(s, "rina").role == "reviewer"  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(TrainJob)) == 0
    assert reviewer.get("/queue").status_code == 200  # still signed in: logout without token did nothing


# --- hostile post text ------------------------------------------------------------------------------

def _assert_inert(html: str) -> None:
    assert RAW_SCRIPT not in html and RAW_IMG not in html
    assert "onerror=alert" not in html.replace(ESC_IMG, "")
    assert ESC_SCRIPT in html


def test_hostile_post_is_inert_in_queue_flag_page_and_report(env: Env) -> None:
    flag = env.ids["flag"]
    reviewer = env.client()
    login(reviewer, "rina")
    queue_html = reviewer.get("/queue").text
    _assert_inert(queue_html)
    page = reviewer.get(f"/flags/{flag}").text
    _assert_inert(page)
    assert ESC_IMG in page
    assert "Kata pendorong skor" in page  # the occlusion drivers are shown, escaped like the post
    # Evidence is highlighted, each piece escaped.
    assert '<mark class="ev ev-pair" title="Pasangan calon">Andi-Budi</mark>' in page
    assert 'href="https://twitter.com/budi_s/status/1001" target="_blank" rel="noopener noreferrer"' in page
    _confirm_via_http(reviewer, flag)
    supervisor = env.client()
    login(supervisor, "sari")
    second = supervisor.get("/second-review").text
    assert "Dukung paslon 02" in second
    _assert_inert(second)
    token = _token(supervisor, f"/flags/{flag}")
    assert _post(supervisor, f"/flags/{flag}/verify", token, reason="Setuju, ajakan memilih.").status_code == 303
    r = _post(supervisor, f"/flags/{flag}/report", token)
    assert r.status_code == 303 and r.headers["location"].startswith("/reports/")
    report_path = r.headers["location"]
    doc = supervisor.get(report_path + "/html")
    _assert_inert(doc.text)
    assert "script-src" not in doc.headers["content-security-policy"]  # default-src 'none': no script at all
    pdf = supervisor.get(report_path + "/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]


def test_non_http_urls_are_not_links(env: Env) -> None:
    with env.factory() as s:
        account = s.get(Account, env.ids["account"])
        assert account is not None
        fid = add_flag(s, account, post_id="777", url="javascript:alert(3)", text="Teks biasa").id
        s.commit()
    client = env.client()
    login(client, "rina")
    page = client.get(f"/flags/{fid}").text
    assert 'href="javascript:' not in page and "javascript:alert(3)" in page


# --- four-eyes and reports through HTTP -------------------------------------------------------------

def test_supervisor_cannot_verify_own_confirmation_over_http(env: Env) -> None:
    flag = env.ids["flag"]
    sari = env.client()
    login(sari, "sari")
    _confirm_via_http(sari, flag)
    page = sari.get(f"/flags/{flag}").text
    assert "empat mata" in page and f'action="/flags/{flag}/verify"' not in page
    r = _post(sari, f"/flags/{flag}/verify", _token(sari), reason="Verifikasi diri sendiri.")
    assert r.status_code == 403
    assert _status(env) == "confirmed"
    tono = env.client()
    login(tono, "tono")
    assert _post(tono, f"/flags/{flag}/verify", _token(tono), reason="Setuju dengan konfirmasi.").status_code == 303
    assert _status(env) == "verified"


def test_no_http_route_reports_an_unverified_flag(env: Env) -> None:
    flag = env.ids["flag"]
    reviewer = env.client()
    login(reviewer, "rina")
    supervisor = env.client()
    login(supervisor, "sari")
    token = _token(supervisor)
    # pending
    r = _post(supervisor, f"/flags/{flag}/report", token)
    assert r.status_code == 303 and r.headers["location"] == f"/flags/{flag}"
    assert "terverifikasi" in supervisor.get(f"/flags/{flag}").text
    # confirmed, not yet verified
    _confirm_via_http(reviewer, flag)
    assert _post(supervisor, f"/flags/{flag}/report", token).headers["location"] == f"/flags/{flag}"
    # a reviewer cannot issue one even for a verified flag
    tono = env.client()
    login(tono, "tono")
    assert _post(tono, f"/flags/{flag}/verify", _token(tono), reason="Setuju dengan konfirmasi.").status_code == 303
    assert _post(reviewer, f"/flags/{flag}/report", _token(reviewer)).status_code == 403
    with env.factory() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 0
    assert _status(env) == "verified"
    r = _post(supervisor, f"/flags/{flag}/report", token)
    assert r.headers["location"].startswith("/reports/")
    view = supervisor.get(r.headers["location"]).text
    assert "Cocok dengan sidik saat terbit" in view and "NTR/" in view


def test_claim_conflict_over_http(env: Env) -> None:
    flag = env.ids["flag"]
    rina, rudi = env.client(), env.client()
    login(rina, "rina")
    login(rudi, "rudi")
    assert _post(rina, f"/flags/{flag}/claim", _token(rina)).status_code == 303
    r = _post(rudi, f"/flags/{flag}/claim", _token(rudi))
    assert r.status_code == 303
    assert "sedang diklaim" in rudi.get(f"/flags/{flag}").text
    _post(rudi, f"/flags/{flag}/dismiss", _token(rudi), reason="Bukan dukungan sama sekali.")
    assert _status(env) == "pending"


def test_queue_filters_and_counts(env: Env) -> None:
    with env.factory() as s:
        account = s.get(Account, env.ids["account"])
        assert account is not None
        add_flag(s, account, post_id="9", text="Unggahan pemilu lain", election="pemilu-2029", score=0.75)
        s.commit()
    client = env.client()
    login(client, "rina")
    html = client.get("/queue?election=pemilu-2029").text
    assert "Unggahan pemilu lain" in html and "Andi-Budi" not in html
    html = client.get("/queue?category=SUPPORT&date_from=2024-11-01&date_to=2024-11-30").text
    assert "1 indikasi cocok" not in html and "2 indikasi cocok" in html
    assert "0 indikasi cocok" in client.get("/queue?platform=tiktok").text
    assert "0 indikasi cocok" in client.get("/queue?date_from=2025-01-01").text


# --- admin, audit, dashboard, training, docs --------------------------------------------------------

def test_admin_user_and_token_pages(env: Env) -> None:
    admin = env.client()
    login(admin, "adi")
    token = _token(admin, "/admin/users")
    r = _post(admin, "/admin/users", token, username="dewi", full_name="Dewi", role="reviewer",
              password="kata-sandi-dewi-1")  # a password field is ignored: the admin never sets one
    assert r.status_code == 200 and "Tautan penyiapan untuk dewi" in r.text
    link = r.text.split('<pre class="token"><code>')[1].split("</code>")[0]
    assert "/setup/nts_" in link
    assert login(env.client(), "dewi", "kata-sandi-dewi-1").status_code == 401
    r = _post(admin, f"/admin/users/{env.ids['ana']}/tokens", token, name="crawler-bkpsdm")
    assert r.status_code == 200 and "tidak akan ditampilkan lagi" in r.text
    plain = r.text.split('<pre class="token"><code>')[1].split("</code>")[0]
    assert plain.startswith("ntr_")
    assert plain not in admin.get("/admin/users").text  # shown once only
    with env.factory() as s:
        assert user_service.user_for_token(s, plain).username == "ana"  # type: ignore[union-attr]
        assert s.scalars(select(AuditRecord).where(AuditRecord.action == "user.create")).all()


def test_audit_page_and_chain_check(env: Env) -> None:
    client = env.client()
    login(client, "sari")
    r = client.get("/audit?check=1")
    assert r.status_code == 200 and "Rantai utuh" in r.text and "user.create" in r.text


def test_dashboard_chart_is_server_side_svg(env: Env) -> None:
    client = env.client()
    login(client, "ana")
    html = client.get("/dashboard").text
    assert "<svg" in html and "Dinas Pendidikan" in html
    assert "cdn" not in html.lower()


def test_training_job_runs_in_background_and_is_polled(env: Env) -> None:
    client = env.client()
    login(client, "ana")
    assert _post(client, "/training/start", _token(client, "/training")).status_code == 303
    with env.factory() as s:
        job = s.scalars(select(TrainJob)).one()
    for _ in range(50):
        data = client.get(f"/training/jobs/{job.id}.json").json()
        if data["done"]:
            break
        time.sleep(0.1)
    assert data == {"id": job.id, "status": "done", "status_label": "Selesai", "progress": 1.0, "message": "selesai",
                    "model_version": "uji-1", "done": True}


def test_training_job_crash_is_recorded(env: Env) -> None:
    def broken(job_id: int) -> None:
        raise RuntimeError("GPU hilang")

    app = create_app(env.settings, retrain_runner=broken)
    client = TestClient(app)
    login(client, "ana")
    _post(client, "/training/start", _token(client, "/training"))
    deadline = time.time() + 5
    while time.time() < deadline:
        with env.factory() as s:
            job = s.scalars(select(TrainJob)).one()
        if job.status == "failed":
            break
        time.sleep(0.05)
    assert job.status == "failed" and "GPU hilang" in job.message


def test_docs_are_served_without_cdn(env: Env) -> None:
    client = env.client()
    r = client.get("/docs")
    assert r.status_code == 200 and "/api/posts" in r.text and "Bearer" in r.text
    assert "cdn.jsdelivr" not in r.text and "unpkg" not in r.text
    spec = client.get("/openapi.json").json()
    assert "/api/posts" in spec["paths"] and not any(p.startswith("/flags") for p in spec["paths"])


# --- API ----------------------------------------------------------------------------------------------

def _api_token(env: Env, username: str) -> str:
    with env.factory() as s:
        user = user_service.get_user(s, username)
        assert user is not None
        _, plain = user_service.create_api_token(s, user, "uji", actor=None)
        s.commit()
    return plain


def _record(post_id: str, author: str = "@budi_s", **extra: object) -> dict[str, object]:
    return {"platform": "twitter", "post_id": post_id, "author": author, "url": f"https://x.com/a/status/{post_id}",
            "created_at": "2024-11-12T10:00:00+07:00", "text": f"Teks {post_id} " + HOSTILE_TEXT, "kind": "post",
            **extra}


def test_api_requires_a_valid_token_and_role(env: Env) -> None:
    client = env.client()
    body = [_record("a1")]
    assert client.post("/api/posts", json=body).status_code == 401
    assert client.post("/api/posts", json=body, headers={"Authorization": "Bearer ntr_palsu"}).status_code == 401
    reviewer_token = _api_token(env, "rina")
    assert client.post("/api/posts", json=body,
                       headers={"Authorization": f"Bearer {reviewer_token}"}).status_code == 403
    # A signed-in browser session is not an API credential.
    login(client, "adi")
    assert client.post("/api/posts", json=body).status_code == 401
    with env.factory() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == 1  # only the seeded post


def test_api_stores_roster_posts_and_rejects_others(env: Env) -> None:
    client = env.client()
    auth = {"Authorization": f"Bearer {_api_token(env, 'ana')}"}
    body = [_record("a1"), _record("a2", author="@bukan_asn"), _record("a3", created_at="kemarin"),
            _record("a1")]
    r = client.post("/api/posts", json=body, headers=auth)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["received"] == 4 and data["stored"] == 1 and data["not_on_roster"] == 1
    assert data["duplicates"] == 1 and data["rejected"] == 1
    assert data["rejections"][0]["index"] == 3 and data["rejections"][0]["field"] == "created_at"
    with env.factory() as s:
        ids = set(s.scalars(select(Post.post_id)))
        assert ids == {"1001", "a1"}  # the non-roster post was not kept
        assert not s.scalars(select(Post).where(Post.author_handle == "bukan_asn")).all()


def test_api_refuses_more_posts_than_the_setting_allows(env: Env) -> None:
    client = env.client(api_max_posts=2)
    auth = {"Authorization": f"Bearer {_api_token(env, 'ana')}"}
    r = client.post("/api/posts", json=[_record("b1"), _record("b2"), _record("b3")], headers=auth)
    assert r.status_code == 422 and "2" in r.json()["detail"]
    assert client.post("/api/posts", json=[_record("b1"), _record("b2")], headers=auth).json()["stored"] == 2


@pytest.mark.parametrize("payload", ['{"platform": "twitter"}', "bukan json", "[1, 2]", '"teks"'])
def test_api_malformed_body_is_422(env: Env, payload: str) -> None:
    client = env.client()
    auth = {"Authorization": f"Bearer {_api_token(env, 'ana')}", "Content-Type": "application/json"}
    r = client.post("/api/posts", content=payload, headers=auth)
    assert r.status_code == 422
    with env.factory() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == 1


def test_second_training_job_waits_and_orphans_are_closed(env: Env) -> None:
    release = threading.Event()

    def slow(job_id: int) -> None:
        release.wait(10)

    with env.factory() as s:  # left "running" by a web process that no longer exists
        s.add(TrainJob(started_by="ana", status="running", progress=0.4, message="epoch 2"))
        s.commit()
    client = TestClient(create_app(env.settings, retrain_runner=slow))
    login(client, "ana")
    token = _token(client, "/training")
    _post(client, "/training/start", token)
    _post(client, "/training/start", token)  # refused: the first one is alive
    with env.factory() as s:
        jobs = s.scalars(select(TrainJob).order_by(TrainJob.id)).all()
        assert [j.status for j in jobs] == ["failed", "queued"]
        assert "terputus" in jobs[0].message
    release.set()


def test_queue_page_size_comes_from_the_apps_settings(env: Env) -> None:
    with env.factory() as s:
        account = s.get(Account, env.ids["account"])
        assert account is not None
        add_flag(s, account, post_id="2002", score=0.8)
        s.commit()
    client = env.client(queue_page_size=1)
    login(client, "rina")
    assert "Halaman 1 dari 2" in client.get("/queue").text
    default = env.client()
    login(default, "rina")
    assert "Halaman" not in default.get("/queue").text  # 2 flags fit the default 25 per page
