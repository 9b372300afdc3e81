"""Evidence spans on original post text: exact offsets for every label, and no spans on hard negatives."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from netral.elections import load_elections, voter_regions
from netral.pipeline.evidence import (
    EVIDENCE_LABELS,
    LABEL_NAMES_ID,
    EvidenceExtractor,
    EvidenceMatch,
    EvidenceSpan,
    highlight_segments,
)
from netral.settings import REPO_ROOT, Settings

PILPRES = "pilpres-2024"
PARTAI = "pemilu-2024-partai"
MALANG = "pilkada-kota-malang-2024"
JATIM = "pilgub-jatim-2024"
KAB = "pilkada-kabupaten-malang-2024"
BATU = "pilkada-kota-batu-2024"
AMIN = "01 Anies Baswedan – Muhaimin Iskandar"
PG = "02 Prabowo Subianto – Gibran Rakabuming Raka"
GM = "03 Ganjar Pranowo – Mahfud MD"
HC = "02 Heri Cahyono – Ganisa Pratiwi Rumpoko"
AD = "03 Mochammad Anton – Dimyati Ayatulloh"
LL = "01 Luluk Nur Hamidah – Lukmanul Khakim"
KE = "02 Khofifah Indar Parawansa – Emil Elestianto Dardak"
RH = "03 Tri Rismaharini – Zahrul Azhar Asumta"
SL = "01 Sanusi – Lathifah Shohib"
GU = "02 Gunawan HS – Umar Usman"
NH = "01 Nurochman – Heli Suyanto"
FG = "02 Firhando Gumelar – Rudi"
KD = "03 Krisdayanti – Kresna Dewanata Phrosakh"
WIB = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture(scope="module")
def extractor() -> EvidenceExtractor:
    return EvidenceExtractor(load_elections(REPO_ROOT / "data" / "elections"))


def found(extractor: EvidenceExtractor, text: str, when: dt.datetime | None = None) -> list[tuple]:
    spans = extractor.extract(text, when)
    for span in spans:
        assert text[span.start:span.end] == span.text
    return [(s.label, s.text, s.start, s.end, s.election_id, s.contestant) for s in spans]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # CANDIDATE: names and nicknames, any case
        ("Dukung Cak Imin dan Abah Anies", [
            ("CANDIDATE", "Cak Imin", 7, 15, PILPRES, AMIN),
            ("CANDIDATE", "Abah Anies", 20, 30, PILPRES, AMIN)]),
        ("pak GANJAR pranowo hebat", [("CANDIDATE", "pak GANJAR pranowo", 0, 18, PILPRES, GM)]),
        ("Bu Ganis Rumpoko hadir", [("CANDIDATE", "Bu Ganis Rumpoko", 0, 16, MALANG, HC)]),
        ("Sam HC datang ke pasar", [("CANDIDATE", "Sam HC", 0, 6, MALANG, HC)]),
        # PAIR: hyphenated, spaced, and the case-sensitive acronym
        ("Ayo menangkan Prabowo-Gibran!", [("PAIR", "Prabowo-Gibran", 14, 28, PILPRES, PG)]),
        ("pilih prabowo gibran aja", [("PAIR", "prabowo gibran", 6, 20, PILPRES, PG)]),
        ("Ganjar–Mahfud MD tuntas", [("PAIR", "Ganjar–Mahfud MD", 0, 16, PILPRES, GM)]),
        ("Bersama AMIN kita bisa", [("PAIR", "AMIN", 8, 12, PILPRES, AMIN)]),
        # BALLOT_NUMBER
        ("Jangan lupa coblos 02 ya", [("BALLOT_NUMBER", "coblos 02", 12, 21, PILPRES, PG)]),
        ("Pilih nomor urut 03!", [("BALLOT_NUMBER", "nomor urut 03", 6, 19, PILPRES, GM)]),
        ("no urut 1 paling tepat", [("BALLOT_NUMBER", "no urut 1", 0, 9, PILPRES, AMIN)]),
        ("paslon 2 menang", [("BALLOT_NUMBER", "paslon 2", 0, 8, PILPRES, PG)]),
        ("Nomor 2 pasti", [("BALLOT_NUMBER", "Nomor 2", 0, 7, PILPRES, PG)]),
        ("01 atau 03, asal bukan 02", [
            ("BALLOT_NUMBER", "01", 0, 2, PILPRES, AMIN),
            ("BALLOT_NUMBER", "03", 8, 10, PILPRES, GM),
            ("BALLOT_NUMBER", "02", 23, 25, PILPRES, PG)]),
        ("Besok coblos 3 ya", [("BALLOT_NUMBER", "coblos 3", 6, 14, PILPRES, GM)]),
        ("kami pilih no.02", [("BALLOT_NUMBER", "pilih no.02", 5, 16, PILPRES, PG)]),
        ("coblos nomor 5 untuk DPR", [("BALLOT_NUMBER", "coblos nomor 5", 0, 14, PARTAI, "NasDem")]),
        # PARTY: names, abbreviations, symbols; everyday abbreviations only with a party word
        ("Kader PKS dan Partai Golkar hadir", [
            ("PARTY", "Kader PKS", 0, 9, PARTAI, "PKS"),
            ("PARTY", "Partai Golkar", 14, 27, PARTAI, "Golkar")]),
        ("PDI-P dan pdip sama saja", [
            ("PARTY", "PDI-P", 0, 5, PARTAI, "PDI-P"),
            ("PARTY", "pdip", 10, 14, PARTAI, "PDI-P")]),
        ("kaos banteng moncong putih", [("PARTY", "banteng moncong putih", 5, 26, PARTAI, "PDI-P")]),
        ("pasang bendera beringin", [("PARTY", "bendera beringin", 7, 23, PARTAI, "Golkar")]),
        # SLOGAN
        ("Sat-Set Tas-Tes!", [("SLOGAN", "Sat-Set Tas-Tes", 0, 15, PILPRES, GM)]),
        ("Menuju Indonesia Adil Makmur untuk Semua", [
            ("SLOGAN", "Indonesia Adil Makmur untuk Semua", 7, 40, PILPRES, AMIN)]),
        ("Suara Golkar Suara Rakyat", [("SLOGAN", "Suara Golkar Suara Rakyat", 0, 25, PARTAI, "Golkar")]),
        # CAMPAIGN_HASHTAG: listed (any case) or containing a candidate or party name
        ("Mantap #AMINajaDulu", [("CAMPAIGN_HASHTAG", "#AMINajaDulu", 7, 19, PILPRES, AMIN)]),
        ("#PrabowoGibran2024 menang", [("CAMPAIGN_HASHTAG", "#PrabowoGibran2024", 0, 18, PILPRES, PG)]),
        ("ikut #tolakprabowo", [("CAMPAIGN_HASHTAG", "#tolakprabowo", 5, 18, PILPRES, PG)]),
        ("#GanjarPresidenku", [("CAMPAIGN_HASHTAG", "#GanjarPresidenku", 0, 17, PILPRES, GM)]),
        ("jargon #Te12dePAN", [("CAMPAIGN_HASHTAG", "#Te12dePAN", 7, 17, PARTAI, "PAN")]),
        # GESTURE
        ("Foto bareng, salam dua jari ✌️", [("GESTURE", "salam dua jari", 13, 27, PILPRES, PG)]),
        ("salam 3 jari!", [("GESTURE", "salam 3 jari", 0, 12, PILPRES, GM)]),
        ("Salam Metal, menang total", [("GESTURE", "Salam Metal", 0, 11, PILPRES, GM)]),
        ("salam 4 jari", [("GESTURE", "salam 4 jari", 0, 12, PILPRES, None)]),
    ],
)
def test_each_label_with_exact_offsets(extractor: EvidenceExtractor, text: str, expected: list[tuple]) -> None:
    assert found(extractor, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "antrian nomor 2 di loket",
        "Antrian hari ini sdh sampai nomor 2 ratus",
        "semoga sehat, amin",
        "Semoga lancar. Amin ya Allah 🤲",
        "rapat di lantai 3",
        "rapat di lantai 03 ruang 02",
        "Sosialisasi SE Nomor 2 Tahun 2024 tentang netralitas ASN",
        "Kerja bakti RT 02 RW 03",
        "Posyandu tgl 01/02/2024 jam 08.00",
        "Siswa SDN 02 Malang juara",
        "Kantor kami di Jl. Mawar no.2, Malang",
        "Bayar PKB tepat waktu di Samsat",
        "Penandatanganan PKS dengan BPJS Kesehatan",
        "Pajak PBB-P2 jatuh tempo",
        "Rapat bersama Menteri Kabinet Indonesia Maju",
        "Surat edaran Menpan RB dan KemenPAN-RB soal PAN-RB",
        "Wali Kota Malang meresmikan taman",
        "cinta abadi untuk keluarga",
        "berteduh di bawah pohon beringin alun-alun",
        "cuaca panas, matahari terik",
        "lambang Garuda Pancasila di aula",
        "#pandemi #ApelPagi #ASNBerAKHLAK #IndonesiaMaju",
        "Perubahan iklim dibahas di seminar",
    ],
)
def test_hard_negatives(extractor: EvidenceExtractor, text: str) -> None:
    assert found(extractor, text) == []


def test_ambiguous_spans_follow_nearby_evidence(extractor: EvidenceExtractor) -> None:
    text = "Sam HC nomor 2, salam dua jari!"
    assert found(extractor, text) == [
        ("CANDIDATE", "Sam HC", 0, 6, MALANG, HC),
        ("BALLOT_NUMBER", "nomor 2", 7, 14, MALANG, HC),
        ("GESTURE", "salam dua jari", 16, 30, MALANG, HC),
    ]


def test_ambiguous_spans_follow_the_post_date(extractor: EvidenceExtractor) -> None:
    text = "salam dua jari"
    assert matches(extractor, text, dt.datetime(2024, 10, 20, 9, 0)) == NOV_PAIR_2
    assert found(extractor, text, dt.datetime(2024, 1, 20, 9, 0))[0][4:] == (PILPRES, PG)
    assert found(extractor, text)[0][4:] == (PILPRES, PG)  # no date (masking, exports): by election type


# --- 27 November 2024: Pilgub Jawa Timur and the Pilkada of Malang Raya ----------------------------------------

OCT = dt.datetime(2024, 10, 20, 9, 0, tzinfo=WIB)
NOV_PAIR_2 = [(JATIM, KE), (KAB, GU), (BATU, FG), (MALANG, HC)]


def matches(extractor: EvidenceExtractor, text: str, when: dt.datetime | None = None,
            regions: tuple[str, ...] | None = None) -> list[tuple[str, str | None]]:
    """The (election, contestant) pairs of the post's only span."""
    [span] = extractor.extract(text, when, regions)
    return [(m.election_id, m.contestant) for m in span.matches]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bu Khofifah lanjutkan!", [("CANDIDATE", "Bu Khofifah", JATIM, KE)]),
        ("mas Emil Dardak dan Khofifah-Emil", [("CANDIDATE", "mas Emil Dardak", JATIM, KE),
                                               ("PAIR", "Khofifah-Emil", JATIM, KE)]),
        ("Bu Risma untuk Jatim", [("CANDIDATE", "Bu Risma", JATIM, RH)]),
        ("Risma-Gus Hans menang", [("PAIR", "Risma-Gus Hans", JATIM, RH)]),
        ("dukung LUMAN", [("PAIR", "LUMAN", JATIM, LL)]),
        ("Abah Sanusi, SaLaf!", [("CANDIDATE", "Abah Sanusi", KAB, SL), ("PAIR", "SaLaf", KAB, SL)]),
        ("Malang Gemilang Siap Tandang bersama Abah Gun",
         [("SLOGAN", "Malang Gemilang Siap Tandang", KAB, GU), ("CANDIDATE", "Abah Gun", KAB, GU)]),
        ("Nurochman-Heli, Mbatu SAE", [("PAIR", "Nurochman-Heli", BATU, NH), ("SLOGAN", "Mbatu SAE", BATU, NH)]),
        ("Krisdayanti KRIDA", [("CANDIDATE", "Krisdayanti", BATU, KD), ("PAIR", "KRIDA", BATU, KD)]),
        ("Lupakan mantan, ono sing anyar!", [("SLOGAN", "Lupakan mantan, ono sing anyar", MALANG, HC)]),
    ],
)
def test_new_elections_are_found(extractor: EvidenceExtractor, text: str, expected: list[tuple]) -> None:
    assert [(s[0], s[1], s[4], s[5]) for s in found(extractor, text, OCT)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "semoga sehat ibu norma risma",  # a different Risma
        "rapat bersama pak Gunawan dan pak Rudi",  # common names, not the candidates
        "pondok pesantren salaf di Gondanglegi",  # "salaf" is not SaLaf
        "udara Kota Batu sejuk sekali",
        "kegiatan krida pramuka penggalang",
        "materi KD 3.1 kelas 5",
        "Bapak Emil dari bagian umum",
    ],
)
def test_new_elections_hard_negatives(extractor: EvidenceExtractor, text: str) -> None:
    assert found(extractor, text, OCT) == []


def test_a_shared_ballot_number_shows_every_matching_contestant(extractor: EvidenceExtractor) -> None:
    [span] = extractor.extract("nomor 2 pasti menang", OCT)
    assert [(m.election_id, m.contestant) for m in span.matches] == NOV_PAIR_2  # Pilgub first, then file order
    assert span.ambiguous and span.election_id is None and span.contestant is None  # nothing picks the first
    assert span.to_dict()["matches"] == [{"election_id": e, "contestant": c} for e, c in NOV_PAIR_2]


def test_the_authors_region_narrows_a_shared_number(extractor: EvidenceExtractor) -> None:
    batu = voter_regions("Dinas Pendidikan Kota Batu", extractor.elections)
    assert matches(extractor, "nomor 2 pasti menang", OCT, batu) == [(JATIM, KE), (BATU, FG)]
    kab = voter_regions("Pemkab Malang", extractor.elections)
    assert matches(extractor, "salam tiga jari", OCT, kab) == [(JATIM, RH)]  # Kab. Malang has no pair 3
    # Surabaya has no configured Pilkada here: only the Pilgub is left. A region that excludes every match
    # (Sleman) narrows nothing.
    assert matches(extractor, "nomor 2 pasti menang", OCT, ("Kota Surabaya", "Jawa Timur")) == NOV_PAIR_2[:1]
    assert matches(extractor, "nomor 2 pasti menang", OCT, ("Kabupaten Sleman", "DI Yogyakarta")) == NOV_PAIR_2


def test_a_name_in_the_post_beats_the_region(extractor: EvidenceExtractor) -> None:
    batu = ("Kota Batu", "Jawa Timur")
    spans = extractor.extract("Sam HC nomor 2!", OCT, batu)
    assert [(s.label, s.election_id, s.contestant) for s in spans] == [
        ("CANDIDATE", MALANG, HC), ("BALLOT_NUMBER", MALANG, HC)]
    spans = extractor.extract("Khofifah nomor 2!", OCT)
    assert [(s.election_id, s.contestant) for s in spans] == [(JATIM, KE), (JATIM, KE)]


def test_same_day_pileg_and_pilpres_share_a_number(extractor: EvidenceExtractor) -> None:
    jan = dt.datetime(2024, 1, 20, 9, 0, tzinfo=WIB)
    assert matches(extractor, "coblos 02", jan) == [(PILPRES, PG), (PARTAI, "Gerindra")]
    assert matches(extractor, "coblos 02", dt.datetime(2024, 11, 1, tzinfo=WIB)) == NOV_PAIR_2


def test_salam_metal_is_kota_malang_3_in_the_pilkada_and_ganjar_mahfud_in_the_pilpres(
        extractor: EvidenceExtractor) -> None:
    assert matches(extractor, "salam metal!", OCT) == [(MALANG, AD)]
    assert matches(extractor, "jari metal, menang total", OCT) == [(MALANG, AD)]
    assert matches(extractor, "salam metal!", dt.datetime(2024, 1, 20, tzinfo=WIB)) == [(PILPRES, GM)]


@pytest.mark.parametrize("when", [None, dt.datetime(2024, 8, 17, 8, 0, tzinfo=WIB), OCT])
@pytest.mark.parametrize(
    "text",
    [
        "Dirgahayu RI ke-79: Nusantara Baru, Indonesia Maju!",
        "Upacara HUT RI 79 bertema Nusantara Baru Indonesia Maju di halaman balai kota",
        "NUSANTARA BARU INDONESIA MAJU #HUTRI79 #NusantaraBaruIndonesiaMaju",
    ],
)
def test_the_hut_ri_79_theme_is_not_evidence(extractor: EvidenceExtractor, text: str,
                                             when: dt.datetime | None) -> None:
    assert found(extractor, text, when) == []
    assert found(extractor, "Bersama Indonesia Maju!", when)  # 02's own slogan still is


@pytest.mark.parametrize(
    ("text", "before"),
    [
        ("Pj Wali Kota Malang Wahyu Hidayat membuka Musrenbang", dt.datetime(2024, 3, 1, 9, 0, tzinfo=WIB)),
        ("Pj. Wali Kota Malang, Bapak Wahyu Hidayat meninjau banjir", dt.datetime(2024, 8, 10, 20, 0, tzinfo=WIB)),
        ("Apel pagi bersama Wahyu Hidayat, Pj Walikota Malang", dt.datetime(2024, 7, 1, tzinfo=WIB)),
        ("Gubernur Khofifah meresmikan jembatan", dt.datetime(2023, 5, 1, tzinfo=WIB)),
        ("Wagub Jatim Emil Dardak hadir", dt.datetime(2024, 2, 13, 12, 0, tzinfo=WIB)),
        ("Mensos Tri Rismaharini menyalurkan bansos", dt.datetime(2024, 8, 1, tzinfo=WIB)),
        ("Bupati Malang Sanusi meresmikan pasar", dt.datetime(2024, 6, 1, tzinfo=WIB)),
    ],
)
def test_official_duties_before_the_candidacy_are_not_evidence(extractor: EvidenceExtractor, text: str,
                                                                 before: dt.datetime) -> None:
    assert found(extractor, text, before) == []
    after = found(extractor, text, OCT)  # the same words during the campaign name a candidate
    assert [s[0] for s in after] == ["CANDIDATE"]
    assert [s[0] for s in found(extractor, text)] == ["CANDIDATE"]  # no date (masking): unchanged


def test_an_office_title_does_not_hide_other_evidence(extractor: EvidenceExtractor) -> None:
    text = "Pj Wali Kota Malang Wahyu Hidayat: coblos nomor 1, Wahyu Hidayat-Ali Muthohirin!"
    spans = found(extractor, text, dt.datetime(2024, 3, 1, tzinfo=WIB))
    assert [(s[0], s[1]) for s in spans] == [("BALLOT_NUMBER", "coblos nomor 1"),
                                             ("PAIR", "Wahyu Hidayat-Ali Muthohirin")]


def test_offsets_after_emoji_and_longest_match_wins(extractor: EvidenceExtractor) -> None:
    text = "🔥🔥 Ayo coblos nomor urut 02, Prabowo Gemoy! #PrabowoGibran2024"
    spans = found(extractor, text)
    assert spans == [
        ("BALLOT_NUMBER", "coblos nomor urut 02", 7, 27, PILPRES, PG),
        ("CANDIDATE", "Prabowo Gemoy", 29, 42, PILPRES, PG),
        ("CAMPAIGN_HASHTAG", "#PrabowoGibran2024", 44, 62, PILPRES, PG),
    ]


def test_spans_are_sorted_and_disjoint(extractor: EvidenceExtractor) -> None:
    text = ("Kader Partai Golkar & PKB: salam 2 jari, coblos 02 Prabowo-Gibran! AMIN? no urut 1 Cak Imin. "
            "Ganjar-Mahfud sat set tas tes #GanjarMahfud2024 #AMINAjaDulu Partai Ka'bah 🕋")
    spans = extractor.extract(text)
    assert {s.label for s in spans} == set(EVIDENCE_LABELS)
    for earlier, later in zip(spans, spans[1:], strict=False):
        assert earlier.end <= later.start


def test_span_to_dict(extractor: EvidenceExtractor) -> None:
    [span] = extractor.extract("coblos 02")
    assert span.to_dict() == {"label": "BALLOT_NUMBER", "text": "coblos 02", "start": 0, "end": 9,
                              "election_id": PILPRES, "contestant": PG,
                              "matches": [{"election_id": PILPRES, "contestant": PG}]}
    with pytest.raises(AttributeError):
        span.label = "PARTY"  # type: ignore[misc]


def test_highlight_segments_reproduce_text(extractor: EvidenceExtractor) -> None:
    text = "<b>Coblos 02</b> & #AMINAjaDulu"
    segments = highlight_segments(text, extractor.extract(text))
    assert "".join(piece for piece, _ in segments) == text
    assert segments == [
        ("<b>", None), ("Coblos 02", "BALLOT_NUMBER"), ("</b> & ", None), ("#AMINAjaDulu", "CAMPAIGN_HASHTAG")]


def test_highlight_segments_skip_bad_spans() -> None:
    text = "abcdef"
    spans = [
        EvidenceSpan("PARTY", "bcd", 1, 4, (EvidenceMatch(PARTAI, None),)),
        EvidenceSpan("PAIR", "cde", 2, 5, (EvidenceMatch(PILPRES, None),)),  # overlaps the first
        EvidenceSpan("PAIR", "x", 5, 99, (EvidenceMatch(PILPRES, None),)),  # outside the text
    ]
    assert highlight_segments(text, spans) == [("a", None), ("bcd", "PARTY"), ("ef", None)]
    assert highlight_segments("", []) == []


def test_labels_have_indonesian_names() -> None:
    assert set(LABEL_NAMES_ID) == set(EVIDENCE_LABELS)


def test_patterns_come_from_configs(tmp_path: Path) -> None:
    (tmp_path / "contoh.yaml").write_text(textwrap.dedent(
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
            aliases: [BUSI]
            case_sensitive: [BUSI]
            slogans: [Contoh Maju Bersama]
            hashtags: ["#BusiJuara"]
        gestures:
          - phrases: [salam jempol]
            ballot_number: 1
        """), encoding="utf-8")
    local = EvidenceExtractor(load_elections(tmp_path))
    label = "01 Budi Santoso – Siti Aminah"
    text = "cak budi & BUSI: Contoh Maju Bersama, salam jempol #busijuara #PrabowoGibran2024 busi motor"
    assert found(local, text) == [
        ("CANDIDATE", "cak budi", 0, 8, "pilkada-contoh-2024", label),
        ("PAIR", "BUSI", 11, 15, "pilkada-contoh-2024", label),
        ("SLOGAN", "Contoh Maju Bersama", 17, 36, "pilkada-contoh-2024", label),
        ("GESTURE", "salam jempol", 38, 50, "pilkada-contoh-2024", label),
        ("CAMPAIGN_HASHTAG", "#busijuara", 51, 61, "pilkada-contoh-2024", label),
    ]


def test_from_settings_is_cached() -> None:
    assert EvidenceExtractor.from_settings(Settings()) is EvidenceExtractor.from_settings(Settings())


def test_from_settings_reads_the_given_settings_elections_dir(tmp_path: Path) -> None:
    shipped = REPO_ROOT / "data" / "elections"
    (tmp_path / "only.yaml").write_text((shipped / "pemilu-2024-partai.yaml").read_text(encoding="utf-8"),
                                        encoding="utf-8")
    extractor = EvidenceExtractor.from_settings(Settings(elections_dir=tmp_path))
    assert [e.id for e in extractor.elections] == [e.id for e in load_elections(tmp_path)]
    assert len(extractor.elections) < len(load_elections(shipped))


def test_evidence_is_a_span_ruler_in_a_spacy_pipeline(extractor) -> None:  # type: ignore[no-untyped-def]
    assert extractor.nlp.pipe_names == ["evidence_ruler"]
    assert type(extractor.nlp.get_pipe("evidence_ruler")).__name__ == "SpanRuler"
    assert extractor.nlp.lang == "id"


def test_trigger_and_blocker_words_come_from_the_data_file(tmp_path: Path) -> None:
    from netral.pipeline.evidence import DEFAULT_WORDS, load_words

    assert DEFAULT_WORDS.parent == (REPO_ROOT / "data" / "lexicon")
    elections = load_elections(REPO_ROOT / "data" / "elections")
    text = "antrian nomor 2 di loket"
    assert EvidenceExtractor(elections).extract(text) == []  # "antrian" blocks the number
    words = load_words().model_copy(update={"number_blockers": ["loket"]})
    assert [s.label for s in EvidenceExtractor(elections, words).extract(text)] == ["BALLOT_NUMBER"]
    broken = tmp_path / "words.yaml"
    broken.write_text("party_context: [partai]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="words.yaml"):
        load_words(broken)


def test_hashtag_glued_to_the_previous_word_is_still_evidence(extractor) -> None:  # type: ignore[no-untyped-def]
    # "ini.#prabowogibran" is one token for spaCy; the span keeps the hashtag's own characters.
    text = "doa bersama malam ini.#prabowogibran"
    [span] = [s for s in extractor.extract(text) if s.label == "CAMPAIGN_HASHTAG"]
    assert (span.text, span.start) == ("#prabowogibran", text.index("#"))


def test_for_directory_picks_up_a_new_file_without_restart(tmp_path: Path) -> None:
    shutil.copy(REPO_ROOT / "data" / "elections" / "pemilu-2024-partai.yaml", tmp_path / "partai.yaml")
    first = EvidenceExtractor.for_directory(tmp_path)
    assert EvidenceExtractor.for_directory(tmp_path) is first  # unchanged directory: built once
    assert first.extract("Bu Khofifah lanjutkan") == []
    shutil.copy(REPO_ROOT / "data" / "elections" / "pilgub-jatim-2024.yaml", tmp_path / "pilgub.yaml")
    second = EvidenceExtractor.for_directory(tmp_path)
    assert second is not first
    assert [(s.label, s.election_id) for s in second.extract("Bu Khofifah lanjutkan")] == [("CANDIDATE", JATIM)]
    (tmp_path / "rusak.yaml").write_text("id: [unclosed\n", encoding="utf-8")  # a broken file takes nothing down
    assert [s.label for s in EvidenceExtractor.for_directory(tmp_path).extract("Bu Khofifah")] == ["CANDIDATE"]


def test_for_directory_builds_once_for_concurrent_callers(tmp_path: Path) -> None:
    shutil.copy(REPO_ROOT / "data" / "elections" / "pemilu-2024-partai.yaml", tmp_path / "partai.yaml")
    with ThreadPoolExecutor(6) as pool:
        built = list(pool.map(lambda _: EvidenceExtractor.for_directory(tmp_path), range(12)))
    assert all(b is built[0] for b in built)
