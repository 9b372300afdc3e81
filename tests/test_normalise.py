"""The single normaliser: slang, elongation, hashtags, emoji, mentions and links, and the lexicon file."""

from __future__ import annotations

from pathlib import Path

import pytest

from netral.normalise import (
    MENTION_PLACEHOLDER,
    NORMALISER_VERSION,
    URL_PLACEHOLDER,
    load_lexicon,
    normalise,
    split_hashtag,
)
from netral.settings import REPO_ROOT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # slang lexicon
        ("yg gk setuju sy", "yang tidak setuju saya"),
        ("ga tau, gak ngerti, nggak peduli", "tidak tahu, tidak mengerti, tidak peduli"),
        ("capek bgt dgn SPJ", "capek banget dengan spj"),
        ("tmn2 kantor masing2 hati2", "teman-teman kantor masing-masing hati-hati"),
        ("mudah2an ke2 kalinya", "mudah-mudahan kedua kalinya"),
        # elongation: 3+ repeats shrink to the known word, real doubles stay
        ("mantaaap bangeeettt", "mantap banget"),
        ("tunggu dulu", "tunggu dulu"),
        ("tungguuuu", "tunggu"),
        ("aamiiin yaaa", "aamiin ya"),
        ("kerennnn", "keren"),
        ("wkwkwkwkwk hahahaha", "wkwk haha"),
        # hashtags: original kept (lower-cased), words appended, no slang expansion inside
        ("#PrabowoGibran2024", "#prabowogibran2024 prabowo gibran 2024"),
        ("#AMINajaDulu", "#aminajadulu amin aja dulu"),
        ("#AMINAjaDulu", "#aminajadulu amin aja dulu"),
        ("#ganjarpresidenku", "#ganjarpresidenku ganjar presiden ku"),
        ("#KIMPlus", "#kimplus kim plus"),
        ("#BersamaIndonesiaMaju", "#bersamaindonesiamaju bersama indonesia maju"),
        ("#Prabowo", "#prabowo"),
        ("#pandemi", "#pandemi"),
        # emoji kept, runs of the same emoji collapsed
        ("mantap 😂😂😂", "mantap 😂"),
        ("salam ✌️✌️✌️", "salam ✌️"),
        ("🙏 🙏 🙏 terima kasih", "🙏 terima kasih"),
        ("😂🙏", "😂🙏"),
        # mentions, links, e-mail addresses
        ("@gibran_tweet @Prabowo mantap", f"{MENTION_PLACEHOLDER} {MENTION_PLACEHOLDER} mantap"),
        ("info@dinas.go.id", "info@dinas.go.id"),
        ("baca https://t.co/AbC123 ya", f"baca {URL_PLACEHOLDER} ya"),
        ("cek www.kpu.go.id/dpt.", f"cek {URL_PLACEHOLDER}."),
        ("info:https://kpu.go.id", f"info: {URL_PLACEHOLDER}"),
        ("lihat t.co/xyz", f"lihat {URL_PLACEHOLDER}"),
        # punctuation, whitespace, case, unicode compatibility forms
        ("AYO!!!  Semangat???", "ayo! semangat?"),
        ("  banyak   spasi\n\tdan baris  ", "banyak spasi dan baris"),
        ("ＰＲＡＢＯＷＯ seolah²", "prabowo seolah-olah"),
        ("kata\u200btersembunyi", "katatersembunyi"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_snapshot_is_not_modified() -> None:
    snapshot = {"text": "Dukung #PrabowoGibran2024 yg mantaaap @user1 https://t.co/x 😂😂"}
    original = dict(snapshot)
    result = normalise(snapshot["text"])
    assert snapshot == original
    assert result != snapshot["text"]


def test_full_post() -> None:
    post = "@tmn_kantor Ayo tmn2, coblos 02!!! Prabowo-Gibran mantaaap 🔥🔥 #PrabowoGibran2024 https://t.co/abc"
    assert normalise(post) == (
        "@user ayo teman-teman, coblos 02! prabowo-gibran mantap 🔥 #prabowogibran2024 prabowo gibran 2024 http"
    )


def test_version_is_exported() -> None:
    assert isinstance(NORMALISER_VERSION, str) and NORMALISER_VERSION


def test_split_hashtag_digits_and_capitals() -> None:
    assert split_hashtag("Te12dePAN") == ["te", "12", "de", "pan"]
    assert split_hashtag("KodeKita08Gemoy") == ["kode", "kita", "08", "gemoy"]
    assert split_hashtag("ASNBerAKHLAK") == ["asn", "ber", "akhlak"]
    assert split_hashtag("Pilpres_2024") == ["pilpres", "2024"]


def test_shipped_lexicon() -> None:
    lexicon = load_lexicon(REPO_ROOT / "data" / "lexicon" / "slang_id.tsv")
    assert len(lexicon) >= 300
    assert lexicon["gk"] == lexicon["ga"] == lexicon["gak"] == "tidak"
    assert lexicon["bgt"] == "banget" and lexicon["yg"] == "yang" and lexicon["dgn"] == "dengan"
    for slang in lexicon:
        assert slang == slang.lower() and slang.strip() == slang and " " not in slang
    # Official terms must never be rewritten.
    for term in ("dpt", "tps", "kk", "mk", "amin", "pan", "pks", "no"):
        assert term not in lexicon


def test_custom_lexicon_is_used(tmp_path: Path) -> None:
    path = tmp_path / "lex.tsv"
    path.write_text("# comment\nbtw\tomong-omong\n", encoding="utf-8")
    assert normalise("btw yg", lexicon=load_lexicon(path)) == "omong-omong yg"


@pytest.mark.parametrize("content", ["yg yang\n", "yg\tyang\tlebih\n", "\tyang\n", "yg\tyang\nyg\tyg\n"])
def test_malformed_lexicon_is_rejected(tmp_path: Path, content: str) -> None:
    path = tmp_path / "lex.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=r"lex\.tsv:\d+"):
        load_lexicon(path)


def test_a_passed_lexicon_gives_the_same_text_as_a_fresh_copy_and_growth_is_seen() -> None:
    from netral.normalise import load_lexicon

    lexicon = load_lexicon()
    texts = ["Gmn kabarnya bosquee, mantulll bgt acaranya!!!", "#AyoKeTPS yg penting jgn golput"]
    first = [normalise(t, lexicon) for t in texts]
    assert [normalise(t, lexicon) for t in texts] == first == [normalise(t, dict(lexicon)) for t in texts]
    grown = {"zzqq": "hadir"}
    assert normalise("zzqq qqzz", grown) == "hadir qqzz"
    grown["qqzz"] = "pulang"  # grown in place: the cached vocabulary must not be reused
    assert normalise("zzqq qqzz", grown) == "hadir pulang" == normalise("zzqq qqzz", dict(grown))
