"""Secrets and sessions (issue 11, item 2): no start with a weak key, revocable server-side sessions,
Secure cookies and HSTS by default, self-service password change, setup links instead of admin-chosen
passwords, visible supervisor grants, and the password policy."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import itsdangerous
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner
from webutil import PASSWORD, csrf_from, factory_for, login, seed_basic, settings_for, sqlite_url

from netral.db.schema import AuditRecord, User, WebSession
from netral.review import users as user_service
from netral.review.errors import ReviewError
from netral.review.passwords import check_password
from netral.serve.app import create_app
from netral.serve.security import InsecureConfig, resolve_secret_key
from netral.settings import Settings

NEW_PASSWORD = "lembayung-senja-di-kaki-gunung"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], Settings, dict[str, int]]]:
    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    yield factory, settings_for(url, tmp_path), seed_basic(factory)
    factory.kw["bind"].dispose()


def _client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


# --- secret key -------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["", "dev-only-change-me", "test-secret-key", "kurang-dari-32-karakter"])
def test_server_refuses_a_missing_default_or_short_key(tmp_path: Path, key: str) -> None:
    settings = settings_for(sqlite_url(tmp_path), tmp_path, secret_key=key)
    with pytest.raises(InsecureConfig, match="NETRAL_SECRET_KEY"):
        create_app(settings)


def test_dev_mode_generates_and_keeps_a_random_key(tmp_path: Path) -> None:
    settings = settings_for(sqlite_url(tmp_path), tmp_path, secret_key="", dev_mode=True)
    first = resolve_secret_key(settings)
    assert len(first) >= 32 and first == resolve_secret_key(settings)  # kept in data_dir, not regenerated
    key_file = settings.data_dir / "secret_key"
    assert key_file.read_text().strip() == first and (key_file.stat().st_mode & 0o077) == 0
    other = settings_for(sqlite_url(tmp_path / "b"), tmp_path / "b", secret_key="", dev_mode=True)
    assert resolve_secret_key(other) != first  # random per installation, never a published default


def test_cli_serve_exits_with_a_message_on_a_weak_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    from netral.cli.serve import run_server

    app = typer.Typer()
    app.command()(lambda: run_server(settings_for(sqlite_url(tmp_path), tmp_path, secret_key="pendek"), None, None))
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 1 and "NETRAL_SECRET_KEY" in result.output


def test_forged_uid_cookie_signed_with_the_old_default_key_opens_nothing(env) -> None:  # type: ignore[no-untyped-def]
    """The attack of finding 2: a cookie {"uid": admin} signed with the public default key."""
    _, settings, ids = env
    client = _client(settings)
    for key in ("dev-only-change-me", settings.secret_key):  # even with the real key: uid is not a session
        payload = base64.b64encode(json.dumps({"uid": ids["adi"]}).encode())
        forged = itsdangerous.TimestampSigner(key).sign(payload).decode()
        client.cookies.set("netral_session", forged)
        r = client.get("/admin/users", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_secure_cookies_and_hsts_are_the_default(tmp_path: Path) -> None:
    defaults = Settings(database_url=sqlite_url(tmp_path), data_dir=tmp_path / "var", secret_key="k" * 40)
    assert defaults.secure_cookies is True
    r = _client(defaults).get("/login")
    assert "secure" in r.headers["set-cookie"].lower()
    assert r.headers["strict-transport-security"].startswith("max-age=")


# --- sessions ---------------------------------------------------------------------------------------

def _copied_cookie_client(settings: Settings, client: TestClient) -> TestClient:
    thief = _client(settings)
    thief.cookies.set("netral_session", client.cookies["netral_session"])
    return thief


def _logout(client: TestClient) -> None:
    token = csrf_from(client.get("/queue").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303


def test_logout_ends_the_session_for_a_copied_cookie(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, _ = env
    client = _client(settings)
    login(client, "rina")
    thief = _copied_cookie_client(settings, client)
    assert thief.get("/queue").status_code == 200
    _logout(client)
    r = thief.get("/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with factory() as s:
        row = s.scalars(select(WebSession)).one()
        assert row.revoked_reason == "logout" and row.revoked_at is not None


def test_password_change_ends_other_sessions_and_keeps_this_one(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, _ = env
    client = _client(settings)
    login(client, "rina")
    thief = _copied_cookie_client(settings, client)
    token = csrf_from(client.get("/account").text)
    bad = client.post("/account/password", data={"csrf_token": token, "current": "salah-sekali-1234",
                                                 "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert bad.status_code == 400 and "saat ini salah" in bad.text
    weak = client.post("/account/password", data={"csrf_token": token, "current": PASSWORD,
                                                  "new": "password1234", "repeat": "password1234"})
    assert weak.status_code == 400 and "terlalu umum" in weak.text
    r = client.post("/account/password", data={"csrf_token": token, "current": PASSWORD, "new": NEW_PASSWORD,
                                               "repeat": NEW_PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/queue").status_code == 200  # this browser got a fresh session
    assert thief.get("/queue", follow_redirects=False).status_code == 303  # the copied cookie is dead
    assert login(_client(settings), "rina").status_code == 401
    assert login(_client(settings), "rina", NEW_PASSWORD).status_code == 303
    with factory() as s:
        assert s.scalars(select(AuditRecord).where(AuditRecord.action == "user.password_change")).one()


def test_deactivation_and_role_change_end_sessions(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    rina, rudi = _client(settings), _client(settings)
    login(rina, "rina")
    login(rudi, "rudi")
    with factory() as s:
        admin = s.get(User, ids["adi"])
        user_service.set_active(s, s.get(User, ids["rina"]), False, actor=admin)  # type: ignore[arg-type]
        user_service.set_role(s, s.get(User, ids["rudi"]), "supervisor", actor=admin)  # type: ignore[arg-type]
        s.commit()
    assert rina.get("/queue", follow_redirects=False).status_code == 303
    assert rudi.get("/queue", follow_redirects=False).status_code == 303
    assert login(rudi, "rudi").status_code == 303 and rudi.get("/second-review").status_code == 200


def test_expired_session_is_refused(env) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from netral.db.types import utcnow
    from netral.review import sessions

    factory, _, ids = env
    with factory() as s:
        user = s.get(User, ids["rina"])
        assert user is not None
        token = sessions.start(s, user, ip="127.0.0.1", hours=8, now=utcnow() - timedelta(hours=9))
        live = sessions.start(s, user, ip="127.0.0.1", hours=8)
        s.commit()
        assert sessions.user_for(s, token) is None
        assert sessions.user_for(s, live) is not None
        assert s.scalars(select(WebSession.token_sha256)).all()  # only digests are stored
        assert token not in {row for row in s.scalars(select(WebSession.token_sha256))}


# --- setup links: an admin never knows another person's password ------------------------------------

def test_new_user_sets_own_password_through_a_one_time_link(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        admin = s.get(User, ids["adi"])
        with pytest.raises(ReviewError, match="tautan penyiapan"):
            user_service.create_user(s, username="dewi", role="supervisor", password=NEW_PASSWORD, actor=admin)
        s.rollback()
        user, plain = user_service.invite(s, username="dewi", role="supervisor", full_name="Dewi", actor=admin)
        s.commit()
        assert user.setup_token_sha256 != plain and plain not in user.password_hash
        assert user_service.authenticate(s, "dewi", "") is None
    anonymous = _client(settings)
    page = anonymous.get(f"/setup/{plain}")
    assert page.status_code == 200 and "Siapkan akun dewi" in page.text
    token = csrf_from(page.text)
    weak = anonymous.post(f"/setup/{plain}", data={"csrf_token": token, "new": "aaaaaaaaaaaa",
                                                  "repeat": "aaaaaaaaaaaa"})
    assert weak.status_code == 400 and "berulang" in weak.text
    ok = anonymous.post(f"/setup/{plain}", data={"csrf_token": token, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD},
                        follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/login"
    assert anonymous.get(f"/setup/{plain}").status_code == 404  # one use only
    assert login(_client(settings), "dewi", NEW_PASSWORD).status_code == 303
    with factory() as s:
        done = s.scalars(select(AuditRecord).where(AuditRecord.action == "user.password_setup")).one()
        assert done.actor == "dewi"


def test_reset_link_kills_old_password_and_sessions(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    client = _client(settings)
    login(client, "rina")
    with factory() as s:
        plain = user_service.reset_password(s, s.get(User, ids["rina"]), actor=s.get(User, ids["adi"]))  # type: ignore[arg-type]
        s.commit()
    assert client.get("/queue", follow_redirects=False).status_code == 303
    assert login(_client(settings), "rina").status_code == 401
    with factory() as s:
        user_service.complete_setup(s, plain, NEW_PASSWORD)
        s.commit()
        with pytest.raises(ReviewError):
            user_service.complete_setup(s, plain, NEW_PASSWORD + "x")


def test_supervisor_grant_is_on_the_dashboard_and_in_the_audit(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        admin = s.get(User, ids["adi"])
        user_service.set_role(s, s.get(User, ids["rudi"]), "supervisor", actor=admin, reason="mutasi")  # type: ignore[arg-type]
        user_service.invite(s, username="dewi", role="supervisor", actor=admin)
        s.commit()
        actions = s.scalars(select(AuditRecord.action).where(AuditRecord.actor == "adi")).all()
        assert "user.role_change" in actions and "user.create" in actions
    reviewer = _client(settings)
    login(reviewer, "rina")  # every role sees it, not only the admin who granted it
    html = reviewer.get("/dashboard").text
    section = html.split('id="privilege-grants"')[1].split("</section>")[0]
    assert "rudi" in section and "dewi" in section and "adi" in section
    assert "rina" not in section  # reviewers are not listed


def test_cli_add_prints_a_setup_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from netral.cli.users import app
    from netral.settings import get_settings

    url = sqlite_url(tmp_path)
    monkeypatch.setenv("NETRAL_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["add", "sigit", "--role", "supervisor"])
        assert result.exit_code == 0, result.output
        link = next(line for line in result.stdout.splitlines() if "/setup/" in line)
        factory = factory_for(url)
        with factory() as s:
            assert user_service.user_for_setup(s, link.rsplit("/", 1)[1]) is not None
        factory.kw["bind"].dispose()
    finally:
        get_settings.cache_clear()


# --- password policy --------------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["aaaaaaaaaa", "password12", "aaaaaaaaaaaa", "Password1234!", "123456789012",
                                      "qwertyuiop123", "bismillah123", "P@ssw0rd2024", "rina-punya-sandi"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(ReviewError):
        check_password(password, "rina")


@pytest.mark.parametrize("password", [PASSWORD, NEW_PASSWORD, "kopi tubruk tanpa gula 7"])
def test_reasonable_passwords_pass(password: str) -> None:
    check_password(password, "rina")
