"""Which track and which sanction level the law attaches to each SKB behaviour, as the report states it.

The report tells the PPK and Bawaslu what the verified behaviour may lead to; it must neither overstate
(a "ringan" level that PP 94/2021 does not give) nor attribute a sanction to the wrong regulation
(dismissal for party membership comes from the ASN law, not from PP 94/2021). Every statement here was
checked against public copies of the regulations and reporting that quotes them (README, "Legal basis");
what could not be confirmed is not stated in the document and is marked "belum terkonfirmasi" in the
comments here, in the template and in the README.

Sources as found (December 2026 review, secondary unless said otherwise):

* PP 94/2021 Pasal 5 huruf n angka 1-7: quoted identically by KASN (kasn.go.id), RMOL, Tribunnews.
* Pasal 14 huruf i, hukuman disiplin berat for angka 3-7: Tribunnews, Liputan6 (quoting the PP).
* Hukuman disiplin sedang for angka 1-2 (ikut kampanye; peserta kampanye dengan atribut partai/PNS):
  Kompas TV quoting KemenPANRB. The letter (huruf) of Pasal 13 that says so: belum terkonfirmasi.
* No "ringan" level: follows from the two above (every angka of huruf n is sedang or berat).
* Pasal 8: sedang = potongan tunjangan kinerja 25 % selama 6, 9 atau 12 bulan; berat = penurunan jabatan
  setingkat lebih rendah selama 12 bulan, pembebasan dari jabatannya menjadi jabatan pelaksana selama
  12 bulan, pemberhentian dengan hormat tidak atas permintaan sendiri sebagai PNS: several outlets quoting
  the PP verbatim. The ayat numbers (3) and (4): belum terkonfirmasi, so the document cites "Pasal 8".
* Social-media behaviours (posting, comment, share, like, follow; photos with symbols, attributes or a
  party/candidate background) are code-of-ethics violations in the SKB annex with sanksi moral under
  PP 42/2004 Pasal 15: Merdeka, Viva, CNBC Indonesia quoting the SKB.
* The SKB annex's own list of discipline violations (e.g. online campaigning for a prospective candidate
  as "berat"): one secondary source only, belum terkonfirmasi; not stated in the document.
* Party membership: UU 20/2023 Pasal 52 ayat (3) huruf j and ayat (4), pemberhentian tidak dengan hormat:
  Kompas, Katadata, Fajar quoting the law.
"""

from __future__ import annotations

from dataclasses import dataclass

from netral.vocabulary import Behaviour

_ETHICS = ("Jalur kode etik: sanksi moral berupa pernyataan secara tertutup atau terbuka (PP 42/2004 Pasal 15), "
           "setelah pemeriksaan oleh Majelis Kode Etik")
_ASK = "tingkat hukuman disiplin, bila ada, ditentukan oleh pejabat yang berwenang menghukum setelah pemeriksaan"


@dataclass(frozen=True)
class BehaviourTrack:
    """What the report says a verified behaviour may lead to (plain text, shown escaped)."""

    ethics: str | None
    discipline: str | None
    note: str = ""


BEHAVIOUR_TRACKS: dict[str, BehaviourTrack] = {
    Behaviour.KAMPANYE_DARING: BehaviourTrack(
        _ETHICS, f"dapat pula diperiksa sebagai pelanggaran disiplin (PP 94/2021 Pasal 5 huruf n); {_ASK}"),
    Behaviour.UNGGAH_KOMENTAR_BAGIKAN_SUKA: BehaviourTrack(_ETHICS, None),
    Behaviour.IKUT_GRUP_AKUN_PEMENANGAN: BehaviourTrack(_ETHICS, None),
    Behaviour.FOTO_GESTUR_SIMBOL: BehaviourTrack(_ETHICS, None),
    Behaviour.LATAR_PARTAI_CALON: BehaviourTrack(_ETHICS, None),
    Behaviour.ATRIBUT_PARTAI: BehaviourTrack(
        _ETHICS, "bila dilakukan sebagai peserta kampanye dengan atribut partai atau atribut PNS: hukuman disiplin "
                 "sedang (PP 94/2021 Pasal 5 huruf n angka 2)"),
    Behaviour.AJAKAN_BERPIHAK: BehaviourTrack(
        None, "hukuman disiplin berat (PP 94/2021 Pasal 5 huruf n angka 6 jo. Pasal 14 huruf i): ajakan, imbauan, "
              "seruan atau pemberian barang kepada PNS di unit kerjanya, anggota keluarga, dan masyarakat"),
    Behaviour.SURAT_DUKUNGAN_KTP: BehaviourTrack(
        None, "hukuman disiplin berat (PP 94/2021 Pasal 5 huruf n angka 7 jo. Pasal 14 huruf i)"),
    Behaviour.KEANGGOTAAN_PARTAI: BehaviourTrack(
        None, None, "Bukan hukuman disiplin PP 94/2021: pegawai ASN yang menjadi anggota dan/atau pengurus partai "
                    "politik diberhentikan tidak dengan hormat (UU 20/2023 Pasal 52 ayat (3) huruf j dan ayat (4))"),
    Behaviour.HADIR_DEKLARASI_KAMPANYE: BehaviourTrack(
        _ETHICS, "bila ikut kampanye calon yang telah ditetapkan: hukuman disiplin sedang (PP 94/2021 Pasal 5 "
                 "huruf n angka 1); bila sebagai peserta kampanye mengerahkan PNS lain: berat (angka 3 jo. "
                 "Pasal 14 huruf i)"),
    Behaviour.FASILITAS_NEGARA: BehaviourTrack(
        None, "hukuman disiplin berat bila sebagai peserta kampanye dengan menggunakan fasilitas negara (PP 94/2021 "
              "Pasal 5 huruf n angka 4 jo. Pasal 14 huruf i)"),
    Behaviour.LAINNYA: BehaviourTrack(
        None, None, "Perilaku di luar daftar SKB: jalur dan tingkat sanksi ditentukan oleh pejabat yang berwenang "
                    "berdasarkan uraian peninjau"),
}

# Bawaslu's track follows the election: Pemilu under UU 7/2017, Pilkada under UU 10/2016.
PEMILU_TYPES = frozenset({"pilpres", "pileg", "party_list"})
PILKADA_TYPES = frozenset({"pilkada"})


def bawaslu_laws(election_type: str | None) -> tuple[bool, bool]:
    """(show UU 7/2017, show UU 10/2016): both when the election's type is unknown."""
    if election_type in PEMILU_TYPES:
        return True, False
    if election_type in PILKADA_TYPES:
        return False, True
    return True, True
