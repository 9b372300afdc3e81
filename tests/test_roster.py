from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from netral import audit
from netral.db.schema import Account, AuditRecord, Handle, IngestRun, Post
from netral.pipeline.ingest import ingest_records
from netral.pipeline.roster import (
    NipError,
    import_roster,
    parse_asn_number,
    parse_employee_number,
    parse_employment_type,
    parse_ni_pppk,
    parse_nip,
)
from netral.review import accounts
from netral.review.errors import ReviewError

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _post(post_id: str, author: str = "@budi_guru85") -> dict[str, object]:
    return {"platform": "twitter", "post_id": post_id, "author": author, "created_at": "2024-11-10T09:00:00+07:00",
            "text": f"unggahan {post_id}"}


def test_parse_nip_extracts_dates() -> None:
    birth, appointed = parse_nip("198503122010011001")
    assert birth == date(1985, 3, 12)
    assert appointed == date(2010, 1, 1)


@pytest.mark.parametrize(
    ("nip", "fragment"),
    [
        ("19850312201001100", "18 digit"),
        ("1985031220100110AB", "18 digit"),
        ("198502302010011001", "tanggal lahir"),  # 30 February
        ("198503122010131001", "TMT"),  # month 13
        ("198503122010013001", "jenis kelamin"),
        ("199003121985011001", "sebelum tanggal lahir"),
    ],
)
def test_parse_nip_rejects(nip: str, fragment: str) -> None:
    with pytest.raises(NipError, match=fragment):
        parse_nip(nip)


def test_import_sample_roster_and_reimport_updates_without_duplicates(factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        first = import_roster(s, SAMPLES / "roster.csv")
        s.commit()
    assert first.ok and first.created == 8
    changed = tmp_path / "roster.csv"
    text = (SAMPLES / "roster.csv").read_text(encoding="utf-8")
    changed.write_text(text.replace("Guru Ahli Pertama", "Guru Ahli Muda").replace(
        "twitter:@budi_guru85;instagram:budisantoso.edu", "twitter:@Budi_Guru85;tiktok:budi.ngajar"), encoding="utf-8")
    with factory() as s:
        second = import_roster(s, changed)
        s.commit()
    assert (second.created, second.updated, second.unchanged) == (0, 1, 7)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Account)) == 8
        budi = s.scalars(select(Account).where(Account.nip == "198503122010011001")).one()
        assert budi.position == "Guru Ahli Muda"
        assert sorted((h.platform, h.handle) for h in budi.handles) == [("tiktok", "budi.ngajar"),
                                                                         ("twitter", "budi_guru85")]
        assert s.scalar(select(func.count()).select_from(Handle)) == 15


def test_bad_rows_are_reported_and_good_rows_kept(factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text(
        "nip,name,unit,position,handles\n"
        "198503122010011001,Budi,Dinas A,Guru,twitter:@budi\n"
        "198502302010011001,Salah Tanggal,Dinas A,Guru,twitter:@salah\n"
        "199001242015032002,,Dinas B,Perawat,twitter:@tanpa_nama\n"
        "199001242015032002,Siti,Dinas B,Perawat,friendster:@siti\n"
        "198711052011011003,Agus,Dinas C,Analis,twitter:@budi\n",
        encoding="utf-8",
    )
    with factory() as s:
        result = import_roster(s, path)
        s.commit()
    assert result.created == 1
    got = {(r.line, r.field) for r in result.rejections}
    assert got == {(3, "nip"), (4, "name"), (5, "handles"), (6, "handles")}
    assert all(r.source == str(path) for r in result.rejections)


def test_missing_column_is_reported(factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cols.csv"
    path.write_text("nip,name\n198503122010011001,Budi\n", encoding="utf-8")
    with factory() as s:
        result = import_roster(s, path)
    assert result.created == 0
    assert result.rejections[0].line == 1 and "unit" in (result.rejections[0].field or "")


# --- employment types: PNS, PPPK, non-ASN ----------------------------------------------------------

# Real-shaped NI PPPK: born 17 April 1991, appointed 2024, code 21, male, serial 003; born 30 July 1988,
# appointed 2025, code 24 (said to mark part-time PPPK), female, serial 005.
PPPK_FULL_TIME = "199104172024211003"
PPPK_PART_TIME = "198807302025242005"


def test_ni_pppk_is_read_as_its_own_format() -> None:
    info = parse_ni_pppk(PPPK_FULL_TIME, today=date(2026, 12, 6))
    assert (info.birth, info.appointed, info.code, info.sex, info.serial) == (
        date(1991, 4, 17), date(2024, 1, 1), "21", "1", "003")
    part = parse_ni_pppk(PPPK_PART_TIME, today=date(2026, 12, 6))
    assert (part.code, part.sex, part.appointed) == ("24", "2", date(2025, 1, 1))
    # Digits 13-14 are a code, not a month: read as a PNS NIP the same number is refused, with a hint.
    with pytest.raises(NipError, match="bila ini NI PPPK"):
        parse_nip(PPPK_FULL_TIME)
    # A code that happens to look like a month is not misread as one either.
    assert parse_asn_number("199104172024111003", "pppk").code == "11"


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("19910417202421100", "18 digit"),
        ("199102302024211003", "tanggal lahir"),  # 30 February
        ("199104172010211003", "sebelum 2018|PP 49/2018"),  # a PNS-era year: not an NI PPPK
        ("199104172031211003", "tahun pengangkatan"),  # years ahead
        ("199104172024213003", "jenis kelamin"),
    ],
)
def test_ni_pppk_rejects(number: str, fragment: str) -> None:
    with pytest.raises(NipError, match=fragment):
        parse_ni_pppk(number, today=date(2026, 12, 6))


def test_non_asn_have_no_nip_and_no_nik() -> None:
    with pytest.raises(NipError, match="non-ASN"):
        parse_asn_number(PPPK_FULL_TIME, "non_asn")
    assert parse_employee_number(" PPNPN-2023-0147 ") == "PPNPN-2023-0147"
    with pytest.raises(ValueError, match="NIK"):
        parse_employee_number("3573015012900001")  # 16 digits: a NIK, which Netral must not keep
    assert parse_employment_type("") == "pns" and parse_employment_type("Honorer") == "non_asn"
    assert parse_employment_type("P3K") == "pppk"
    with pytest.raises(ValueError, match="jenis kepegawaian"):
        parse_employment_type("kontrak")


def test_extended_sample_roster_imports_every_type(factory) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        result = import_roster(s, SAMPLES / "roster_pppk_nonasn.csv")
        s.commit()
    assert result.ok, result.rejections
    assert result.created == 4
    with factory() as s:
        by_name = {a.name: a for a in s.scalars(select(Account))}
        wahyu, rudi = by_name["Wahyu Nugroho"], by_name["Rudi Hartono"]
        assert (wahyu.employment_type, wahyu.nip, wahyu.appointed) == ("pppk", "199104172024211003",
                                                                        date(2024, 1, 1))
        assert (wahyu.rank_grade, wahyu.superior_nip, wahyu.ppk) == ("Golongan IX", "198503122010011001",
                                                                      "Wali Kota Malang")
        assert (rudi.employment_type, rudi.nip, rudi.employee_number, rudi.birth_date) == (
            "non_asn", None, "PPNPN-2023-0147", None)
        assert rudi.identifier == "PPNPN-2023-0147" and all(a.active for a in by_name.values())
        record = s.scalars(select(AuditRecord).where(AuditRecord.action == "roster.import")).one()
        assert record.after["created"] == 4 and record.after["rejected"] == 0  # type: ignore[index]


def test_old_roster_then_extended_roster_updates_the_same_person(factory) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        import_roster(s, SAMPLES / "roster.csv")
        s.commit()
        budi = s.scalars(select(Account).where(Account.nip == "198503122010011001")).one()
        assert (budi.employment_type, budi.rank_grade, budi.superior_nip) == ("pns", "", None)
    with factory() as s:
        result = import_roster(s, SAMPLES / "roster_pppk_nonasn.csv")
        s.commit()
    assert (result.created, result.updated) == (3, 1), result.rejections
    with factory() as s:
        budi = s.scalars(select(Account).where(Account.nip == "198503122010011001")).one()
        assert (budi.rank_grade, budi.superior_nip) == ("Penata Muda / III-a", "197908152005011007")
        assert s.scalar(select(func.count()).select_from(Account)) == 11


def test_roster_rows_are_checked_per_type_with_line_and_field(factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "typed.csv"
    path.write_text(
        "nip,employee_number,employment_type,name,unit,position,rank_grade,superior_nip,ppk,handles\n"
        f"{PPPK_FULL_TIME},,pppk,Wahyu,Dinas A,Guru,IX,,Bupati Malang,twitter:@wahyu\n"  # 2: fine
        f"{PPPK_FULL_TIME},,,Salah Jenis,Dinas A,Guru,,,,twitter:@salah_jenis\n"  # 3: read as PNS: refused
        ",,non_asn,Tanpa Nomor,Dinas B,Pengemudi,,,,twitter:@tanpa_nomor\n"  # 4: no staff number
        "198503122010011001,,non_asn,Honorer Ber-NIP,Dinas B,Staf,,,,twitter:@honorer_nip\n"  # 5: NIP given
        ",3573015012900001,non_asn,Pakai NIK,Dinas B,Staf,,,,twitter:@pakai_nik\n"  # 6: a NIK
        ",PPNPN-01,honorer,Sari,Dinas B,Staf,,19850312201001100,,twitter:@sari_ppnpn\n"  # 7: bad superior
        ",PPNPN-02,kontrak,Joko,Dinas B,Staf,,,,twitter:@joko\n"  # 8: unknown type
        ",PPNPN-03,ppnpn,Dian,Dinas B,Staf,,198503122010011001,Wali Kota Malang,twitter:@dian\n"  # 9: fine
        ",PPNPN-03,ppnpn,Dian Lagi,Dinas B,Staf,,,,twitter:@dian2\n",  # 10: staff number twice
        encoding="utf-8",
    )
    with factory() as s:
        result = import_roster(s, path)
        s.commit()
    assert result.created == 2
    got = {(r.line, r.field) for r in result.rejections}
    assert got == {(3, "nip"), (4, "employee_number"), (5, "nip"), (6, "employee_number"), (7, "superior_nip"),
                   (8, "employment_type"), (10, "employee_number")}
    assert all(r.source == str(path) for r in result.rejections)
    reasons = {r.line: r.reason for r in result.rejections}
    assert "NI PPPK" in reasons[3] and "NIK" in reasons[6]
    with factory() as s:
        dian = s.scalars(select(Account).where(Account.employee_number == "PPNPN-03")).one()
        assert dian.employment_type == "non_asn" and dian.nip is None


def test_roster_of_only_non_asn_staff_needs_no_nip_column(factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "honorer.csv"
    path.write_text("employee_number,employment_type,name,unit,handles\n"
                    "THL-7,honorer,Ani,Kelurahan Oro-oro Dowo,instagram:ani.thl\n", encoding="utf-8")
    with factory() as s:
        result = import_roster(s, path)
        s.commit()
    assert result.ok and result.created == 1
    with factory() as s:
        again = import_roster(s, path)  # keyed by the staff number: no duplicate
        s.commit()
    assert (again.created, again.unchanged) == (0, 1)


# --- deactivation ----------------------------------------------------------------------------------

def test_deactivated_account_posts_are_refused_and_stored_ones_kept(factory) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        import_roster(s, SAMPLES / "roster.csv")
        s.commit()
    first = ingest_records(factory, [(1, _post("1"))], "tes")
    assert first.stored == 1
    with factory() as s:
        budi = accounts.resolve(s, "198503122010011001")
        assert accounts.deactivate(s, budi, reason="Pensiun per 1 Desember 2026", actor=None)
        assert not accounts.deactivate(s, budi, reason="Pensiun per 1 Desember 2026", actor=None)  # no-op
        s.commit()
    later = ingest_records(factory, [(1, _post("2")), (2, _post("3", author="@sitirahma_nakes"))], "tes")
    assert (later.stored, later.not_on_roster, later.deactivated) == (1, 1, 1)
    with factory() as s:
        kept = {p.post_id for p in s.scalars(select(Post))}
        assert kept == {"1", "3"}  # the post stored while active stays; the new one was not kept
        run = s.scalars(select(IngestRun).order_by(IngestRun.id.desc())).first()
        assert run is not None and run.not_on_roster == 1
        records = list(s.scalars(select(AuditRecord).where(AuditRecord.action.in_(
            ("account.deactivate", "account.reactivate", "ingest")))).all())
        deact = [r for r in records if r.action == "account.deactivate"]
        assert len(deact) == 1 and deact[0].reason == "Pensiun per 1 Desember 2026" and deact[0].actor == "cli"
        assert records[-1].after["deactivated"] == 1  # type: ignore[index]
        budi = accounts.resolve(s, "198503122010011001")
        accounts.reactivate(s, budi, reason="Salah input, masih aktif", actor=None)
        s.commit()
    assert ingest_records(factory, [(1, _post("2"))], "tes").stored == 1
    with factory() as s:
        assert audit.verify_chain(s) == []


def test_deactivation_needs_a_reason_and_an_admin(factory) -> None:  # type: ignore[no-untyped-def]
    from webutil import add_user

    with factory() as s:
        import_roster(s, SAMPLES / "roster.csv")
        analyst, admin = add_user(s, "ana", "analyst"), add_user(s, "adi", "admin")
        s.commit()
        budi = accounts.resolve(s, "198503122010011001")
        with pytest.raises(ReviewError, match="alasan"):
            accounts.deactivate(s, budi, reason="pindah", actor=admin)
        with pytest.raises(ReviewError) as exc:
            accounts.deactivate(s, budi, reason="Pindah tugas ke provinsi lain", actor=analyst)
        assert exc.value.kind == "forbidden"
        assert accounts.deactivate(s, budi, reason="Pindah tugas ke provinsi lain", actor=admin)
        s.commit()
        assert not budi.active and budi.deactivation_reason == "Pindah tugas ke provinsi lain"
        with pytest.raises(ReviewError) as missing:
            accounts.resolve(s, "199999999999999999")
        assert missing.value.kind == "not_found"


def test_cli_roster_deactivate_list_and_reactivate(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from netral.cli import app
    from netral.db.engine import clear_engines
    from netral.settings import get_settings

    monkeypatch.setenv("NETRAL_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("NETRAL_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    clear_engines()
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        assert runner.invoke(app, ["roster", "import", str(SAMPLES / "roster_pppk_nonasn.csv")]).exit_code == 0
        refused = runner.invoke(app, ["roster", "deactivate", "PPNPN-2023-0147", "--reason", "singkat"])
        assert refused.exit_code == 1 and "alasan" in refused.output
        done = runner.invoke(app, ["roster", "deactivate", "PPNPN-2023-0147", "--reason",
                                   "Kontrak PPNPN berakhir Desember 2026"])
        assert done.exit_code == 0, done.output
        listing = runner.invoke(app, ["roster", "list"], env={"COLUMNS": "200"}).output
        assert "PPNPN-2023-0147" in listing and "Non-ASN (honorer/PPNPN)" in listing
        assert "Nonaktif (Kontrak PPNPN berakhir Desember 2026)" in listing
        assert "199104172024211003" in listing and "[PPPK]" in listing and "Golongan IX" in listing
        assert "Budi Santoso (198503122010011001)" in listing  # Wahyu's superior, named from the roster
        back = runner.invoke(app, ["roster", "reactivate", "PPNPN-2023-0147", "--reason", "Kontrak diperpanjang 2027"])
        assert back.exit_code == 0 and "diaktifkan kembali" in back.output
        unknown = runner.invoke(app, ["roster", "deactivate", "X-404", "--reason", "Tidak ada orangnya"])
        assert unknown.exit_code == 1 and "tidak ada di daftar ASN" in unknown.output
    finally:
        get_settings.cache_clear()
        clear_engines()
