"""Review service rules: four-eyes, no report without verification, atomic claims, audit, CLI paths."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner
from webutil import (
    add_account,
    add_flag,
    add_user,
    factory_for,
    seed_basic,
    settings_for,
    sqlite_url,
)

from netral import audit
from netral.db.schema import Account, ApiToken, AuditRecord, Flag, Report, Review, User
from netral.db.types import utcnow
from netral.review import dashboard, decisions, queue, reports
from netral.review import users as user_service
from netral.review.errors import ReviewError
from netral.settings import Settings

REASON = "Unggahan mengajak memilih paslon nomor 2 secara terbuka."


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], Settings, dict[str, int]]]:
    """Seeded database: SQLite always, PostgreSQL too when NETRAL_TEST_POSTGRES_URL is set (conftest)."""
    factory = factory_for(db_url)
    yield factory, settings_for(db_url, tmp_path), seed_basic(factory)
    factory.kw["bind"].dispose()


def _user(s: Session, ids: dict[str, int], name: str) -> User:
    user = s.get(User, ids[name])
    assert user is not None
    return user


def _confirm(s: Session, ids: dict[str, int], settings: Settings, who: str = "rina") -> None:
    user = _user(s, ids, who)
    queue.claim(s, ids["flag"], user, settings)
    decisions.confirm(s, ids["flag"], user, category="SOLICITATION", behaviour="ajakan_berpihak", reason=REASON,
                      settings=settings)
    s.commit()


def _verified(s: Session, ids: dict[str, int], settings: Settings) -> None:
    _confirm(s, ids, settings)
    decisions.verify(s, ids["flag"], _user(s, ids, "sari"), reason="Setuju: ajakan memilih yang jelas.")
    s.commit()


# --- four-eyes --------------------------------------------------------------------------------------

def test_supervisor_cannot_verify_own_confirmation(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        _confirm(s, ids, settings, who="sari")  # a supervisor may do a first review ...
        with pytest.raises(ReviewError) as exc:
            decisions.verify(s, ids["flag"], _user(s, ids, "sari"), reason="Saya setuju dengan diri sendiri.")
        assert exc.value.kind == "forbidden" and "empat mata" in exc.value.message
        s.rollback()
        assert s.get(Flag, ids["flag"]).status == "confirmed"  # type: ignore[union-attr]
        # ... and a different supervisor can verify it.
        decisions.verify(s, ids["flag"], _user(s, ids, "tono"), reason="Benar, ajakan memilih.")
        s.commit()
        assert s.get(Flag, ids["flag"]).status == "verified"  # type: ignore[union-attr]


def test_reviewer_cannot_verify_at_all(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        _confirm(s, ids, settings, who="rina")
        for name in ("rina", "rudi"):  # the confirmer herself, and another plain reviewer
            with pytest.raises(ReviewError) as exc:
                decisions.verify(s, ids["flag"], _user(s, ids, name), reason="Setuju dengan temuan ini.")
            assert exc.value.kind == "forbidden"
            s.rollback()
        assert s.get(Flag, ids["flag"]).status == "confirmed"  # type: ignore[union-attr]


@pytest.mark.parametrize("status", ["pending", "needs_info", "dismissed"])
def test_nobody_verifies_an_unconfirmed_flag(env, status: str) -> None:  # type: ignore[no-untyped-def]
    factory, _, ids = env
    with factory() as s:
        flag = s.get(Flag, ids["flag"])
        flag.status = status  # type: ignore[union-attr]
        s.commit()
        with pytest.raises(ReviewError) as exc:
            decisions.verify(s, ids["flag"], _user(s, ids, "sari"), reason="Verifikasi tanpa konfirmasi.")
        assert exc.value.kind == "conflict"
        s.rollback()
        assert s.get(Flag, ids["flag"]).status == status  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(Review)) == 0


def test_first_review_needs_the_claim_a_reason_and_known_codes(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        rina, rudi = _user(s, ids, "rina"), _user(s, ids, "rudi")
        with pytest.raises(ReviewError, match="klaim"):
            decisions.dismiss(s, ids["flag"], rina, reason="Bukan dukungan, hanya berita.")
        s.rollback()
        queue.claim(s, ids["flag"], rudi, settings)
        s.commit()
        with pytest.raises(ReviewError, match="diklaim"):
            queue.claim(s, ids["flag"], rina, settings)
        s.rollback()
        with pytest.raises(ReviewError, match="klaim"):
            decisions.dismiss(s, ids["flag"], rina, reason="Bukan dukungan, hanya berita.")
        s.rollback()
        with pytest.raises(ReviewError, match="alasan"):
            decisions.dismiss(s, ids["flag"], rudi, reason="  ")
        s.rollback()
        with pytest.raises(ReviewError, match="kategori"):
            decisions.confirm(s, ids["flag"], rudi, category="PARTY", behaviour="ajakan_berpihak", reason=REASON,
                              settings=settings)
        s.rollback()
        with pytest.raises(ReviewError, match="perilaku"):
            decisions.confirm(s, ids["flag"], rudi, category="SUPPORT", behaviour="apa saja", reason=REASON,
                              settings=settings)
        s.rollback()
        analyst = _user(s, ids, "ana")
        with pytest.raises(ReviewError) as exc:
            queue.claim(s, ids["flag"], analyst, settings)
        assert exc.value.kind == "forbidden"
        s.rollback()
        assert s.get(Flag, ids["flag"]).status == "pending"  # type: ignore[union-attr]


def test_dismiss_more_info_and_return_paths(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        rina = _user(s, ids, "rina")
        queue.claim(s, ids["flag"], rina, settings)
        decisions.request_more_info(s, ids["flag"], rina, reason="Perlu tangkapan layar utas lengkap.")
        s.commit()
        flag = s.get(Flag, ids["flag"])
        assert flag.status == "needs_info" and flag.claimed_by is None  # type: ignore[union-attr]
        _confirm(s, ids, settings, who="rudi")
        decisions.return_flag(s, ids["flag"], _user(s, ids, "sari"), reason="Konteks sindiran; tinjau ulang.")
        s.commit()
        s.refresh(flag)
        assert flag.status == "pending"  # type: ignore[union-attr]
        with pytest.raises(ReviewError):
            decisions.return_flag(s, ids["flag"], _user(s, ids, "sari"), reason="Dua kali dikembalikan.")
        s.rollback()
        queue.claim(s, ids["flag"], rina, settings)
        decisions.dismiss(s, ids["flag"], rina, reason="Sindiran, bukan dukungan.")
        s.commit()
        s.refresh(flag)
        assert flag.status == "dismissed"  # type: ignore[union-attr]
        decisions_made = [r.decision for r in s.scalars(select(Review).order_by(Review.id))]
        assert decisions_made == ["more_info", "confirm", "return", "dismiss"]


def test_second_review_can_be_switched_off(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    single = settings.model_copy(update={"require_second_review": False})
    with factory() as s:
        _confirm(s, ids, single)
        assert s.get(Flag, ids["flag"]).status == "verified"  # type: ignore[union-attr]


# --- claims -----------------------------------------------------------------------------------------

def test_expired_claim_can_be_taken_over(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        past = utcnow() - timedelta(minutes=settings.claim_lease_minutes + 1)
        queue.claim(s, ids["flag"], _user(s, ids, "rina"), settings, now=past)
        s.commit()
        queue.claim(s, ids["flag"], _user(s, ids, "rudi"), settings)
        s.commit()
        assert s.get(Flag, ids["flag"]).claimed_by == ids["rudi"]  # type: ignore[union-attr]
        with pytest.raises(ReviewError):
            queue.release(s, ids["flag"], _user(s, ids, "rina"))
        s.rollback()
        queue.release(s, ids["flag"], _user(s, ids, "rudi"))
        s.commit()
        assert s.get(Flag, ids["flag"]).claimed_by is None  # type: ignore[union-attr]


def _race_for_claim(factory: sessionmaker[Session], flag_id: int, user_ids: list[int],
                    settings: Settings) -> tuple[list[int], list[str], list[BaseException]]:
    """Every user claims the same flag at the same moment, each in its own thread and session."""
    barrier = threading.Barrier(len(user_ids))
    winners: list[int] = []
    losers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt(uid: int) -> None:
        with factory() as session:
            user = session.get(User, uid)
            assert user is not None
            barrier.wait()
            try:
                queue.claim(session, flag_id, user, settings)
                session.commit()
                with lock:
                    winners.append(uid)
            except ReviewError as exc:
                session.rollback()
                with lock:
                    losers.append(exc.message)
            except BaseException as exc:  # noqa: BLE001 - surfaced by the caller
                session.rollback()
                with lock:
                    errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return winners, losers, errors


def test_concurrent_claims_give_the_flag_to_exactly_one(factory: sessionmaker[Session]) -> None:
    """Runs on SQLite, and on PostgreSQL when NETRAL_TEST_POSTGRES_URL is set (conftest ``db_url``)."""
    settings = Settings(claim_lease_minutes=30)
    n_threads, n_flags = 6, 5
    with factory() as s:
        user_ids = [add_user(s, f"peninjau{i}", "reviewer").id for i in range(n_threads)]
        account = add_account(s)
        flag_ids = [add_flag(s, account, post_id=str(5000 + k), text=f"post {k}").id for k in range(n_flags)]
        s.commit()

    for flag_id in flag_ids:
        winners, losers, errors = _race_for_claim(factory, flag_id, user_ids, settings)
        assert not errors, errors
        assert len(winners) == 1, (winners, losers)
        assert len(losers) == n_threads - 1 and all("diklaim" in m for m in losers)
        with factory() as s:
            assert s.get(Flag, flag_id).claimed_by == winners[0]  # type: ignore[union-attr]
            claims = s.scalars(select(AuditRecord).where(AuditRecord.action == "flag.claim",
                                                         AuditRecord.entity_id == str(flag_id))).all()
            assert len(claims) == 1
    with factory() as s:
        assert audit.verify_chain(s) == []


# --- reports ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["pending", "needs_info", "confirmed", "dismissed"])
def test_service_refuses_report_for_unverified_flag(env, status: str) -> None:  # type: ignore[no-untyped-def]
    factory, _, ids = env
    with factory() as s:
        flag = s.get(Flag, ids["flag"])
        flag.status = status  # type: ignore[union-attr]
        s.commit()
        with pytest.raises(ReviewError, match="terverifikasi"):
            reports.create_report(s, ids["flag"], _user(s, ids, "sari"))
        s.rollback()
        assert s.scalar(select(func.count()).select_from(Report)) == 0
        assert s.get(Flag, ids["flag"]).status == status  # type: ignore[union-attr]


def test_database_trigger_refuses_a_raw_report_insert(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        _confirm(s, ids, settings)  # confirmed, not verified
        with pytest.raises(DBAPIError, match="verified"):
            s.execute(text("INSERT INTO reports (flag_id, number, created_by, created_at, content_sha256) "
                           "VALUES (:f, 'NTR/2099/999999', :u, '2024-01-01 00:00:00', :h)"),
                      {"f": ids["flag"], "u": ids["sari"], "h": "0" * 64})
        s.rollback()
        assert s.scalar(select(func.count()).select_from(Report)) == 0


def test_only_supervisors_issue_reports(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        _verified(s, ids, settings)
        for name in ("rina", "ana", "adi"):
            with pytest.raises(ReviewError) as exc:
                reports.create_report(s, ids["flag"], _user(s, ids, name))
            assert exc.value.kind == "forbidden"
            s.rollback()
        assert s.get(Flag, ids["flag"]).status == "verified"  # type: ignore[union-attr]


def test_report_from_verified_flag(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        _verified(s, ids, settings)
        rendered = reports.create_report(s, ids["flag"], _user(s, ids, "tono"))
        s.commit()
        assert rendered.pdf == b""  # rendered after the commit, outside the audit lock
        rendered = reports.with_pdf(rendered)
        report = rendered.report
        assert re.fullmatch(r"NTR/\d{4}/000001", report.number)
        assert report.content_sha256 == hashlib.sha256(rendered.html.encode()).hexdigest()
        assert rendered.pdf.startswith(b"%PDF")
        assert s.get(Flag, ids["flag"]).status == "reported"  # type: ignore[union-attr]
        # Deterministic: re-rendering from the database gives the issued document byte for byte.
        assert reports.render_existing(s, report) == rendered.html
        with pytest.raises(ReviewError):
            reports.create_report(s, ids["flag"], _user(s, ids, "tono"))
        s.rollback()
        html = rendered.html
        for needle in ("Laporan Dugaan Pelanggaran Netralitas ASN", "198501012010011001", "Budi Santoso",
                       "Dinas Pendidikan", "Guru Ahli Pertama", "https://twitter.com/budi_s/status/1001",
                       "ab" * 32, "e5-small-ft-20241101", "0.930", REASON, "Setuju: ajakan memilih yang jelas.",
                       "Rina", "Sari", "UU Nomor 20 Tahun 2023", "PP Nomor 94 Tahun 2021", "PP Nomor 42 Tahun 2004",
                       "Tahun 2022", "pemotongan tunjangan kinerja sebesar 25%", "praduga tak bersalah", "hak jawab",
                       "Hasil verifikasi manusia, bukan keputusan mesin", "#AndiBudiMenang"):
            assert needle in html, needle
        assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_report_numbers_count_up(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        account = s.get(Account, ids["account"])
        assert account is not None
        second = add_flag(s, account, post_id="2002", text="Ayo dukung Andi-Budi").id
        s.commit()
        numbers = []
        for fid in (ids["flag"], second):
            for who, fn in (("rina", "claim"), ("rina", "confirm")):
                user = _user(s, ids, who)
                if fn == "claim":
                    queue.claim(s, fid, user, settings)
                else:
                    decisions.confirm(s, fid, user, category="SUPPORT", behaviour="kampanye_daring", reason=REASON,
                                      settings=settings)
            decisions.verify(s, fid, _user(s, ids, "sari"), reason="Sesuai pedoman SKB.")
            numbers.append(reports.create_report(s, fid, _user(s, ids, "tono")).report.number)
            s.commit()
        assert [n[-6:] for n in numbers] == ["000001", "000002"]


# --- audit ------------------------------------------------------------------------------------------

def test_every_state_change_is_audited(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        _verified(s, ids, settings)
        reports.create_report(s, ids["flag"], _user(s, ids, "tono"))
        s.commit()
        records = {r.action: r for r in s.scalars(select(AuditRecord).where(AuditRecord.entity.in_(["flag",
                                                                                                     "report"])))}
        assert {"flag.claim", "flag.confirm", "flag.verify", "report.create"} <= set(records)
        confirm = records["flag.confirm"]
        assert confirm.actor == "rina" and confirm.reason == REASON
        assert confirm.before["status"] == "pending" and confirm.after["status"] == "confirmed"  # type: ignore[index]
        assert confirm.before["model_version"] == "e5-small-ft-20241101"  # type: ignore[index]
        assert records["flag.verify"].actor == "sari"
        assert records["flag.verify"].after["status"] == "verified"  # type: ignore[index]
        assert records["report.create"].after["status"] == "reported"  # type: ignore[index]
        assert audit.verify_chain(s) == []


def test_users_roles_and_tokens(env) -> None:  # type: ignore[no-untyped-def]
    factory, _, ids = env
    with factory() as s:
        admin, reviewer = _user(s, ids, "adi"), _user(s, ids, "rina")
        with pytest.raises(ReviewError) as exc:
            user_service.set_role(s, _user(s, ids, "rudi"), "supervisor", actor=reviewer)
        assert exc.value.kind == "forbidden"
        user_service.set_role(s, _user(s, ids, "rudi"), "supervisor", actor=admin, reason="promosi")
        s.commit()
        change = s.scalars(select(AuditRecord).where(AuditRecord.action == "user.role_change")).one()
        assert change.before == {"role": "reviewer"}
        assert change.after == {"role": "supervisor", "username": "rudi", "sessions_ended": 0}
        assert change.actor == "adi" and change.reason == "promosi"
        with pytest.raises(ReviewError, match="terakhir"):
            user_service.set_role(s, admin, "reviewer", actor=admin)
        s.rollback()

        stored = s.get(User, ids["rina"])
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
        assert user_service.authenticate(s, "rina", "rahasia-sekali-123") is not None
        assert user_service.authenticate(s, "rina", "salah-sandi-xyz") is None
        with pytest.raises(ReviewError, match="minimal"):
            user_service.create_user(s, username="baru", role="reviewer", password="pendek")
        s.rollback()

        token, plain = user_service.create_api_token(s, _user(s, ids, "ana"), "crawler", actor=admin)
        s.commit()
        row = s.get(ApiToken, token.id)
        assert row is not None and row.token_sha256 == hashlib.sha256(plain.encode()).hexdigest()
        dump = "\n".join(str(v) for r in s.execute(text("SELECT * FROM api_tokens")).all() for v in r)
        assert plain not in dump
        assert plain not in "\n".join(str(r.after) for r in s.scalars(select(AuditRecord)))
        assert user_service.user_for_token(s, plain).username == "ana"  # type: ignore[union-attr]
        assert user_service.user_for_token(s, plain + "x") is None
        user_service.revoke_api_token(s, token.id, actor=admin)
        s.commit()
        assert user_service.user_for_token(s, plain) is None


def test_dashboard_counts(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        other = add_account(s, nip="199002022015022002", name="Siti", unit="Dinas Kesehatan", handle="siti")
        add_flag(s, other, post_id="3003", text="Biasa saja")
        s.commit()
        _confirm(s, ids, settings)
        data = dashboard.build(s)
        assert data.total == 2
        assert data.by_status["confirmed"] == 1 and data.by_status["pending"] == 1
        assert data.by_category == {"SOLICITATION": 1}
        units = {u.unit: (u.total, u.confirmed) for u in data.by_unit}
        assert units == {"Dinas Pendidikan": (1, 1), "Dinas Kesehatan": (1, 0)}
        assert sum(w.total for w in data.by_week) == 2


# --- CLI paths --------------------------------------------------------------------------------------

@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from netral.settings import get_settings

    url = sqlite_url(tmp_path)
    monkeypatch.setenv("NETRAL_DATABASE_URL", url)
    monkeypatch.setenv("NETRAL_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    factory = factory_for(url)
    yield factory, seed_basic(factory), url
    get_settings.cache_clear()


def test_cli_report_refuses_unverified_and_issues_verified(cli_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from netral.cli.report import app

    factory, ids, _ = cli_env
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["create", str(ids["flag"]), "--by", "sari", "--out", str(out)])
    assert result.exit_code == 1
    assert "terverifikasi" in result.output
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 0
        assert not out.exists() or not any(out.iterdir())
        _verified(s, ids, Settings())
    result = runner.invoke(app, ["create", str(ids["flag"]), "--by", "tono", "--out", str(out)])
    assert result.exit_code == 0, result.output
    pdfs = list(out.glob("NTR-*.pdf"))
    assert len(pdfs) == 1 and pdfs[0].read_bytes().startswith(b"%PDF")
    assert "198501012010011001" in next(out.glob("NTR-*.html")).read_text()


def test_cli_audit_verify_detects_tampering(cli_env) -> None:  # type: ignore[no-untyped-def]
    from netral.cli.audit import app

    factory, _, url = cli_env
    runner = CliRunner()
    ok = runner.invoke(app, ["verify"])
    assert ok.exit_code == 0, ok.output
    assert re.match(r"Utuh: \d+ catatan, head [0-9a-f]{64}", ok.output)
    with factory() as s:
        with pytest.raises(DBAPIError):  # the trigger refuses an edit ...
            s.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 2"))
        s.rollback()
        s.execute(text("DROP TRIGGER audit_no_update"))  # ... so the attacker removes it first
        s.execute(text("UPDATE audit_log SET reason = 'diubah diam-diam' WHERE id = 2"))
        s.commit()
    bad = runner.invoke(app, ["verify"])
    assert bad.exit_code == 1
    assert "#2" in bad.output and "sidik" in bad.output
    shown = runner.invoke(app, ["show", "--limit", "3"])
    assert shown.exit_code == 0 and shown.output.count("#") >= 3


def test_cli_users(cli_env) -> None:  # type: ignore[no-untyped-def]
    from netral.cli.users import app

    factory, _, _ = cli_env
    runner = CliRunner()
    added = runner.invoke(app, ["add", "dewi", "--role", "supervisor", "--full-name", "Dewi Lestari",
                                "--password-stdin"], input="kata-sandi-panjang\n")
    assert added.exit_code == 0, added.output
    bad = runner.invoke(app, ["add", "eko", "--role", "raja", "--password-stdin"], input="kata-sandi-panjang\n")
    assert bad.exit_code == 1
    listed = runner.invoke(app, ["list"])
    assert "dewi" in listed.output and "Verifikator" in listed.output
    issued = runner.invoke(app, ["token", "ana", "--name", "crawler"])
    assert issued.exit_code == 0, issued.output
    plain = issued.stdout.strip().splitlines()[0]
    with factory() as s:
        assert user_service.user_for_token(s, plain).username == "ana"  # type: ignore[union-attr]
        assert user_service.authenticate(s, "dewi", "kata-sandi-panjang") is not None
