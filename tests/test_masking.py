"""Contestant masking: typed placeholders from the election configs, the same at training and scan."""

from __future__ import annotations

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
