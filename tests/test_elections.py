"""Election configs: the shipped files load, bad files are rejected with the file and field named."""

from __future__ import annotations

import datetime as dt
import os
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netral.cli.elections import app
from netral.elections import (
    Election,
    ElectionCatalog,
    ElectionConfigError,
    current_catalog,
    load_election_file,
    load_elections,
    read_catalog,
    voter_regions,
)
from netral.settings import REPO_ROOT

SHIPPED = REPO_ROOT / "data" / "elections"
WIB = dt.timezone(dt.timedelta(hours=7))

VALID = textwrap.dedent(
    """\
    id: pilkada-contoh-2024
    name: Pilkada Contoh 2024
    type: pilkada
    region: Kabupaten Contoh
    campaign_start: 2024-09-25
    campaign_end: 2024-11-23
    voting_day: 2024-11-27
    contestants:
      - ballot_number: 1
        names: [Budi Santoso, Siti Aminah]
        nicknames: [Cak Budi]
      - ballot_number: 2
        names: [Agus Salim, Rina Wati]
    gestures:
      - phrases: [salam satu jari]
        ballot_number: 1
    """
)


def with_parties(parties: str) -> str:
    return VALID.replace("    nicknames: [Cak Budi]", f"    nicknames: [Cak Budi]\n    parties: [{parties}]")


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- shipped configs ------------------------------------------------------------------------------------


def test_shipped_configs_load() -> None:
    elections = {e.id: e for e in load_elections(SHIPPED)}
    assert set(elections) == {"pilpres-2024", "pemilu-2024-partai", "pilkada-kota-malang-2024", "pilgub-jatim-2024",
                              "pilkada-kabupaten-malang-2024", "pilkada-kota-batu-2024"}

    pilpres = elections["pilpres-2024"]
    assert pilpres.type == "pilpres"
    assert (pilpres.campaign_start, pilpres.campaign_end, pilpres.voting_day) == (
        dt.date(2023, 11, 28), dt.date(2024, 2, 10), dt.date(2024, 2, 14))
    numbers = {c.ballot_number: c.names for c in pilpres.contestants}
    assert numbers == {
        1: ["Anies Baswedan", "Muhaimin Iskandar"],
        2: ["Prabowo Subianto", "Gibran Rakabuming Raka"],
        3: ["Ganjar Pranowo", "Mahfud MD"],
    }
    assert "#AMINAjaDulu" in pilpres.contestant_by_number(1).hashtags  # type: ignore[union-attr]

    parties = elections["pemilu-2024-partai"]
    by_number = {p.ballot_number: p.label for p in parties.parties}
    assert sorted(by_number) == list(range(1, 25))
    assert by_number[1] == "PKB" and by_number[3] == "PDI-P" and by_number[24] == "Partai Ummat"
    aceh = {p.ballot_number: p.name for p in parties.parties if p.ballot_number in range(18, 24)}
    assert aceh == {18: "Partai Nanggroe Aceh", 19: "Partai Generasi Atjeh Beusaboh Thaat dan Taqwa",
                    20: "Partai Darul Aceh", 21: "Partai Aceh", 22: "Partai Adil Sejahtera Aceh",
                    23: "Partai Soliditas Independen Rakyat Aceh"}

    malang = elections["pilkada-kota-malang-2024"]
    assert malang.voting_day == dt.date(2024, 11, 27)
    assert {c.ballot_number: c.names[0] for c in malang.contestants} == {
        1: "Wahyu Hidayat", 2: "Heri Cahyono", 3: "Mochammad Anton"}
    assert "Lupakan Mantan, Ono Sing Anyar" in malang.contestant_by_number(2).slogans  # type: ignore[union-attr]
    assert [g.ballot_number for g in malang.gestures if "salam metal" in g.phrases] == [3]


@pytest.mark.parametrize(
    ("election_id", "region", "pairs"),
    [
        ("pilgub-jatim-2024", "Jawa Timur", {
            1: ["Luluk Nur Hamidah", "Lukmanul Khakim"],
            2: ["Khofifah Indar Parawansa", "Emil Elestianto Dardak"],
            3: ["Tri Rismaharini", "Zahrul Azhar Asumta"]}),
        ("pilkada-kabupaten-malang-2024", "Kabupaten Malang, Jawa Timur", {
            1: ["Sanusi", "Lathifah Shohib"], 2: ["Gunawan HS", "Umar Usman"]}),
        ("pilkada-kota-batu-2024", "Kota Batu, Jawa Timur", {
            1: ["Nurochman", "Heli Suyanto"], 2: ["Firhando Gumelar", "Rudi"],
            3: ["Krisdayanti", "Kresna Dewanata Phrosakh"]}),
    ],
)
def test_the_27_november_2024_elections(election_id: str, region: str, pairs: dict[int, list[str]]) -> None:
    election = next(e for e in load_elections(SHIPPED) if e.id == election_id)
    assert election.type == "pilkada" and election.region == region and election.timezone == "Asia/Jakarta"
    assert (election.campaign_start, election.campaign_end, election.voting_day) == (
        dt.date(2024, 9, 25), dt.date(2024, 11, 23), dt.date(2024, 11, 27))
    assert {c.ballot_number: c.names for c in election.contestants} == pairs
    assert election.sources, "every fact needs a source"


def test_contestant_label_and_lookups() -> None:
    pilpres = next(e for e in load_elections(SHIPPED) if e.id == "pilpres-2024")
    assert pilpres.contestant_by_number(2).label == "02 Prabowo Subianto – Gibran Rakabuming Raka"  # type: ignore[union-attr]
    assert pilpres.contestant_by_number(9) is None


def test_unconfirmed_facts_are_recorded() -> None:
    elections = load_elections(SHIPPED)
    notes = [note for e in elections for item in [e, *e.contestants, *e.parties, *e.gestures]
             for note in item.unconfirmed]
    assert notes, "configs must say which facts were not verified"
    partai = (SHIPPED / "pemilu-2024-partai.yaml").read_text(encoding="utf-8")
    assert "UNCONFIRMED: the 18-23 order" not in partai  # the Aceh numbers are confirmed now


# --- window note ----------------------------------------------------------------------------------------


@pytest.fixture()
def pilpres() -> Election:
    return next(e for e in load_elections(SHIPPED) if e.id == "pilpres-2024")


@pytest.mark.parametrize(
    ("when", "note"),
    [
        (dt.datetime(2023, 11, 28, 0, 5), None),
        (dt.datetime(2024, 1, 15, 12, 0), None),
        (dt.datetime(2024, 2, 10, 23, 59), None),
        (dt.datetime(2023, 11, 27, 23, 59), "di luar masa kampanye (sebelum masa kampanye 28-11-2023)"),
        (dt.datetime(2024, 2, 12, 9, 0), "di luar masa kampanye (masa tenang 11-02-2024 s.d. 13-02-2024)"),
        (dt.datetime(2024, 2, 14, 8, 0), "di luar masa kampanye (hari pemungutan suara 14-02-2024)"),
        (dt.datetime(2024, 3, 1, 8, 0), "di luar masa kampanye (setelah pemungutan suara 14-02-2024)"),
    ],
)
def test_window_note(pilpres: Election, when: dt.datetime, note: str | None) -> None:
    assert pilpres.window_note(when) == note


def test_window_note_uses_local_date_for_aware_times(pilpres: Election) -> None:
    # 17:30 UTC on 27 Nov is 00:30 WIB on 28 Nov: already inside the campaign.
    assert pilpres.window_note(dt.datetime(2023, 11, 27, 17, 30, tzinfo=dt.UTC)) is None
    assert pilpres.window_note(dt.datetime(2023, 11, 27, 16, 30, tzinfo=dt.UTC)) is not None
    assert pilpres.in_campaign(dt.datetime(2024, 2, 10, 23, 0, tzinfo=WIB))


# --- validation errors ------------------------------------------------------------------------------------


def test_valid_custom_config_loads(tmp_path: Path) -> None:
    write(tmp_path, VALID, "contoh.yaml")
    [election] = load_elections(tmp_path)
    assert election.id == "pilkada-contoh-2024"
    assert election.contestant_by_number(1).nicknames == ["Cak Budi"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("campaign_start: 2024-09-25", "campaign_start: 2024-13-45", "campaign_start", "bukan tanggal yang valid"),
        ("campaign_start: 2024-09-25", "campaign_start: 25-09-2024", "campaign_start", "tulis YYYY-MM-DD"),
        ("campaign_end: 2024-11-23", "campaign_end: 2024-09-01", "campaign_end", "lebih awal dari campaign_start"),
        ("voting_day: 2024-11-27", "voting_day: 2024-11-20", "voting_day", "harus sesudah campaign_end"),
        ("  - ballot_number: 2", "  - ballot_number: 1", "contestants", "nomor urut 1 ganda"),
        ("    nicknames: [Cak Budi]", "    nickname: [Cak Budi]", "contestants.0.nickname", "kolom tidak dikenal"),
        ("type: pilkada", "type: pilgub", "type", "'pilkada' atau 'party_list'"),
        ("region: Kabupaten Contoh\n", "", "region", "wajib diisi"),
        ("    names: [Agus Salim, Rina Wati]", "    names: []", "contestants.1.names", "minimal 1 isian"),
        ("    nicknames: [Cak Budi]", "    nicknames: [Cak Budi]\n    case_sensitive: [BUDI]",
         "contestants.0", "bukan salah satu istilah entri ini"),
        ("id: pilkada-contoh-2024", "id: Pilkada Contoh", "id", "hanya huruf kecil, angka dan '-'"),
        ("  - ballot_number: 2", "  - ballot_number: 0", "contestants.1.ballot_number", "minimal 1"),
        ("region: Kabupaten Contoh\n", "region: Kabupaten Contoh\ntimezone: Asia/Malang\n", "timezone",
         "zona waktu 'Asia/Malang' tidak dikenal"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, old: str, new: str, field: str, message: str) -> None:
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(ElectionConfigError) as caught:
        load_elections(tmp_path)
    error = caught.value
    assert error.path == path
    assert error.field == field
    assert str(error).startswith(f"bad.yaml: {field}: ")
    assert message in str(error)


def test_gesture_must_point_at_a_contestant(tmp_path: Path) -> None:
    write(tmp_path, VALID.replace("    ballot_number: 1\n", "    ballot_number: 7\n"))
    with pytest.raises(ElectionConfigError, match=r"bad\.yaml: \(root\): .*nomor urut 7"):
        load_elections(tmp_path)


def test_yaml_syntax_error_names_file(tmp_path: Path) -> None:
    write(tmp_path, "id: [unclosed\nname: x\n")
    with pytest.raises(ElectionConfigError, match=r"^bad\.yaml: \(yaml\): YAML tidak valid: baris 2, kolom 5: "):
        load_election_file(tmp_path / "bad.yaml")


def test_non_mapping_file_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "- just\n- a list\n")
    with pytest.raises(ElectionConfigError, match=r"bad\.yaml: \(root\): isi file harus berupa pemetaan"):
        load_elections(tmp_path)


def test_unknown_party_reference_names_the_path(tmp_path: Path) -> None:
    write(tmp_path, with_parties("Partai Fiktif"))
    with pytest.raises(ElectionConfigError) as caught:
        load_elections(tmp_path)
    assert caught.value.field == "contestants.0.parties.0"
    assert "partai 'Partai Fiktif' tidak dikenal" in str(caught.value)


def test_party_reference_resolves_across_files(tmp_path: Path) -> None:
    (tmp_path / "partai.yaml").write_text((SHIPPED / "pemilu-2024-partai.yaml").read_text(encoding="utf-8"))
    write(tmp_path, with_parties("pdip, Golkar"), "contoh.yaml")
    assert len(load_elections(tmp_path)) == 2


def test_duplicate_election_id_across_files(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID, "b.yaml")
    with pytest.raises(ElectionConfigError, match=r"^b\.yaml: id: 'pilkada-contoh-2024' sudah dipakai oleh a\.yaml"):
        load_elections(tmp_path)


# --- CLI ------------------------------------------------------------------------------------------------


def test_cli_list_shows_elections_with_counts() -> None:
    result = CliRunner().invoke(app, ["list", "--dir", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert "pilpres-2024" in result.output and "pilkada-kota-malang-2024" in result.output
    assert "pilgub-jatim-2024" in result.output and "Kota Batu, Jawa Timur" in result.output
    assert "3 (3 bernomor)" in result.output and "2 (2 bernomor)" in result.output


def test_cli_validate_ok_and_failure(tmp_path: Path) -> None:
    ok = CliRunner().invoke(app, ["validate", "--dir", str(SHIPPED)])
    assert ok.exit_code == 0, ok.output
    assert "OK: 6" in ok.output

    write(tmp_path, VALID.replace("campaign_end: 2024-11-23", "campaign_end: 2024-09-01"))
    bad = CliRunner().invoke(app, ["validate", "--dir", str(tmp_path)])
    assert bad.exit_code == 1
    assert "bad.yaml: campaign_end:" in bad.output


def test_cli_names_every_bad_file_and_lists_the_good_ones(tmp_path: Path) -> None:
    write(tmp_path, VALID, "baik.yaml")
    write(tmp_path, VALID.replace("id: pilkada-contoh-2024", "id: satu").replace("type: pilkada", "type: pilgub"),
          "satu.yaml")
    write(tmp_path, "id: [unclosed\n", "dua.yaml")
    bad = CliRunner().invoke(app, ["validate", "--dir", str(tmp_path)])
    assert bad.exit_code == 1
    assert "satu.yaml: type:" in bad.output and "dua.yaml: (yaml):" in bad.output
    assert "2 file tidak valid, 1 valid" in bad.output
    listed = CliRunner().invoke(app, ["list", "--dir", str(tmp_path)])
    assert listed.exit_code == 1  # a broken file is a failure for scripts, but the good one is still listed
    assert "pilkada-contoh-2024" in listed.output and "satu.yaml: type:" in listed.output


def test_cli_defaults_to_the_configured_directory(tmp_path: Path) -> None:
    write(tmp_path, VALID, "contoh.yaml")
    result = CliRunner().invoke(app, ["validate"], env={"NETRAL_ELECTIONS_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert "OK: 1 konfigurasi pemilu valid (pilkada-contoh-2024)" in result.output


# --- offices, regions ---------------------------------------------------------------------------------------


def test_office_holder_must_be_a_name_of_the_entry(tmp_path: Path) -> None:
    office = ("    nicknames: [Cak Budi]\n    offices:\n      - holder: [Pak Joko]\n"
              "        titles: [Pj Bupati Contoh]\n        until: 2024-08-10\n")
    write(tmp_path, VALID.replace("    nicknames: [Cak Budi]\n", office))
    with pytest.raises(ElectionConfigError, match="holder 'Pak Joko' bukan salah satu names/nicknames"):
        load_elections(tmp_path)
    write(tmp_path, VALID.replace("    nicknames: [Cak Budi]\n", office.replace("Pak Joko", "Cak Budi")))
    [election] = load_elections(tmp_path)
    assert election.contestant_by_number(1).offices[0].until == dt.date(2024, 8, 10)  # type: ignore[union-attr]


def test_voter_region_comes_from_the_unit_name() -> None:
    elections = load_elections(SHIPPED)
    assert voter_regions("Dinas Pendidikan Kota Batu", elections) == ("Kota Batu", "Jawa Timur")
    assert voter_regions("Pemkab Malang - Dinas Kesehatan", elections) == ("Kabupaten Malang", "Jawa Timur")
    assert voter_regions("Kecamatan Kepanjen Kab. Malang", elections) == ("Kabupaten Malang", "Jawa Timur")
    assert voter_regions("Bagian Umum Pemerintah Kota Malang", elections) == ("Kota Malang", "Jawa Timur")
    assert voter_regions("Biro Umum Pemprov Jatim", elections) == ("Jawa Timur",)
    assert voter_regions("Dinas Pendidikan", elections) is None  # names no region: every election stays
    assert voter_regions("Malang", elections) is None  # Kota or Kabupaten? not guessed
    assert voter_regions("Forum Kota Batu dan Kota Malang", elections) is None  # two areas: not guessed
    assert voter_regions(None, elections) is None


def test_an_election_covers_voters_inside_it() -> None:
    by_id = {e.id: e for e in load_elections(SHIPPED)}
    batu = ("Kota Batu", "Jawa Timur")
    assert by_id["pilpres-2024"].covers(batu) and by_id["pilgub-jatim-2024"].covers(batu)
    assert by_id["pilkada-kota-batu-2024"].covers(batu)
    assert not by_id["pilkada-kota-malang-2024"].covers(batu)
    assert by_id["pilkada-kota-malang-2024"].covers(("Jawa Timur",))  # a provincial ASN may live in any city
    assert not by_id["pilkada-kota-malang-2024"].covers(("Jawa Tengah",))
    assert by_id["pilkada-kota-malang-2024"].covers(())


# --- a bad file does not take down the others; changes are picked up ---------------------------------------


def test_a_bad_file_is_reported_with_file_and_field_and_the_others_stay_usable(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a-baik.yaml")
    write(tmp_path, VALID.replace("id: pilkada-contoh-2024", "id: rusak").replace(
        "voting_day: 2024-11-27", "voting_day: 2024-11-20"), "b-rusak.yaml")
    catalog = read_catalog(tmp_path)
    assert [e.id for e in catalog.elections] == ["pilkada-contoh-2024"]
    [error] = catalog.errors
    assert error.path == tmp_path / "b-rusak.yaml" and error.field == "voting_day"
    assert [f.path.name for f in catalog.files] == ["a-baik.yaml", "b-rusak.yaml"]
    with pytest.raises(ElectionConfigError, match="b-rusak.yaml: voting_day"):
        load_elections(tmp_path)  # the strict reading (validate, tests) still refuses the directory


def test_a_non_utf8_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "latin.yaml").write_bytes("id: caf\xe9\n".encode("latin-1"))
    [error] = read_catalog(tmp_path).errors
    assert str(error) == "latin.yaml: (file): bukan teks UTF-8 (byte ke-7)"


def test_current_catalog_rereads_the_directory_only_when_it_changes(tmp_path: Path) -> None:
    write(tmp_path, VALID, "contoh.yaml")
    first = current_catalog(tmp_path)
    assert current_catalog(tmp_path) is first  # unchanged: the cached reading
    write(tmp_path, VALID.replace("pilkada-contoh-2024", "pilkada-baru-2024"), "baru.yaml")
    second = current_catalog(tmp_path)
    assert second is not first and {e.id for e in second.elections} == {"pilkada-contoh-2024", "pilkada-baru-2024"}
    (tmp_path / "baru.yaml").write_text(VALID.replace("pilkada-contoh-2024", "pilkada-lain-2024"), encoding="utf-8")
    os.utime(tmp_path / "baru.yaml", ns=(1, 1))  # an edit keeping the size is still seen (mtime, inode)
    assert {e.id for e in current_catalog(tmp_path).elections} == {"pilkada-contoh-2024", "pilkada-lain-2024"}
    (tmp_path / "baru.yaml").unlink()
    assert [e.id for e in current_catalog(tmp_path).elections] == ["pilkada-contoh-2024"]


def test_current_catalog_is_read_once_by_concurrent_callers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import netral.elections.catalog as catalog_module

    write(tmp_path, VALID, "contoh.yaml")
    reads: list[Path] = []
    real = catalog_module.read_catalog

    def counting(directory: Path) -> ElectionCatalog:
        reads.append(directory)
        time.sleep(0.05)  # widen the window in which every thread sees a changed directory
        return real(directory)

    monkeypatch.setattr(catalog_module, "read_catalog", counting)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: current_catalog(tmp_path), range(16)))
    assert len(reads) == 1 and all(r is results[0] for r in results)
