"""Contestant masking: typed placeholders from the election configs, the same at training and scan."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from netral.elections import load_elections
from netral.pipeline.masking import ContestantMasker, history_elections, masker_for
from netral.settings import Settings

SETTINGS = Settings()


@pytest.fixture(scope="module")
def with_2019() -> ContestantMasker:
    return masker_for(SETTINGS.elections_dir, SETTINGS.history_elections_dir, ("pilpres-2019",))


def test_names_numbers_hashtags_and_gestures_become_placeholders(with_2019: ContestantMasker) -> None:
    assert with_2019("coblos 02 yaa") == "coblos [NOMOR] yaa"  # the vote word stays, the number goes
    assert with_2019("Pilih paslon nomor urut tiga!") == "Pilih paslon nomor urut [NOMOR]!"
    assert with_2019("#2019GantiPresiden jokowi turun") == "[TAGAR] [KANDIDAT] turun"
    assert with_2019("tusuk 02 prabowo sandi") == "tusuk [NOMOR] [PASLON]"
    assert "[GESTUR]" in with_2019("foto bareng salam dua jari") and "[PARTAI]" in with_2019("kader PDIP hadir")


def test_everyday_words_are_left_alone(with_2019: ContestantMasker) -> None:
    for text in ("Amin ya Allah semoga sehat", "antrian nomor 2 di loket", "padi di sawah sudah menguning"):
        assert with_2019(text) == text


def test_an_election_configured_later_masks_its_names_only_when_configured() -> None:
    """Without the 2019 config its pair is unknown; adding the config is what carries the model over."""
    now = masker_for(SETTINGS.elections_dir, SETTINGS.history_elections_dir, ())
    later = masker_for(SETTINGS.elections_dir, SETTINGS.history_elections_dir, ("pilpres-2019",))
    assert "Sandi" in now("menangkan Prabowo-Sandi")
    assert later("menangkan Prabowo-Sandi") == "menangkan [PASLON]"
    assert set(later.election_ids) == {e.id for e in load_elections(SETTINGS.elections_dir)} | {"pilpres-2019"}


def test_history_configs_load_and_a_missing_one_is_named() -> None:
    assert [e.id for e in history_elections(SETTINGS.history_elections_dir, ("pilkada-dki-2017",))] == [
        "pilkada-dki-2017"]
    with pytest.raises(FileNotFoundError, match="pilpres-2029"):
        history_elections(SETTINGS.history_elections_dir, ("pilpres-2029",))


def test_masking_ignores_dates_so_office_titles_and_shared_numbers_change_nothing(with_2019: ContestantMasker) -> None:
    # Masking passes no date: the name inside an office title is masked as before, and a number shared by
    # several elections is one placeholder whatever it means.
    assert with_2019("Pj Wali Kota Malang Wahyu Hidayat membuka Musrenbang") == (
        "Pj Wali Kota Malang [KANDIDAT] membuka Musrenbang")
    assert with_2019("nomor 2 pasti menang, salam dua jari") == "nomor [NOMOR] pasti menang, [GESTUR]"


def test_the_hut_ri_79_theme_is_left_alone_and_the_new_elections_are_masked(with_2019: ContestantMasker) -> None:
    theme = "Dirgahayu RI ke-79! Nusantara Baru, Indonesia Maju"
    assert with_2019(theme) == theme
    assert with_2019("Bu Khofifah dan Gus Hans, SaLaf, KRIDA") == "[KANDIDAT] dan [KANDIDAT], [PASLON], [PASLON]"


CONTOH = textwrap.dedent(
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
    """)


def test_a_masker_follows_its_directory(tmp_path: Path) -> None:
    """A long-lived classifier (the web app's drivers) masks an election added after it was loaded."""
    for name in ("pilpres-2024.yaml", "pemilu-2024-partai.yaml"):
        shutil.copy(SETTINGS.elections_dir / name, tmp_path / name)
    masker = masker_for(tmp_path, SETTINGS.history_elections_dir, ())
    assert masker("Budi Santoso menang") == "Budi Santoso menang"
    (tmp_path / "contoh.yaml").write_text(CONTOH, encoding="utf-8")
    assert masker("Budi Santoso menang") == "[KANDIDAT] menang"
    assert set(masker.election_ids) == {"pilpres-2024", "pemilu-2024-partai", "pilkada-contoh-2024"}
    (tmp_path / "rusak.yaml").write_text("id: [unclosed\n", encoding="utf-8")  # a broken file is left out
    assert masker.mask_all(["Budi Santoso menang", "coblos 02"]) == ["[KANDIDAT] menang", "coblos [NOMOR]"]
