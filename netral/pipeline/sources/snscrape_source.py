"""Public posts from Telegram channels and Mastodon profiles, scraped with snscrape 0.7.0.20230622.

Which snscrape 0.7 scrapers are usable for Netral (from reading the installed source, upstream
issues and the platforms' public changes; NOT verified live, this machine has no network access):

* Telegram (``telegram-channel``): parses the ``https://t.me/s/<channel>`` web preview. Works for
  public channels that have the preview; private channels, groups and personal accounts have
  none (t.me redirects away from ``/s/``), which is reported as an error here rather than the
  silent empty result snscrape gives.
* Mastodon (``mastodon-profile``): parses server-rendered profile HTML that Mastodon 4.0 (Nov 2022)
  removed, so it crashes on every current server (snscrape#587, still open). Mastodon profiles
  are therefore read through the instance's public REST API (``/api/v1/accounts/lookup`` and
  ``/api/v1/accounts/:id/statuses``, no token needed for public posts) over snscrape's HTTP layer
  (retries, backoff); the snscrape HTML parser is kept as a fallback for pre-4.0 instances and for
  instances that refuse anonymous API calls.
* Twitter/X: dead since the guest API and the logged-out timeline went away (April to June 2023,
  snscrape#996 "blocked (404)", open); 0.7.0.20230622 does not fix it.
* Facebook, Instagram: the logged-out pages and web GraphQL these scrapers parse now sit behind a
  login wall; treat them as dead.
* Reddit: goes through the Pushshift API, which Reddit cut off for public use in May 2023; dead.
* TikTok, YouTube, Threads: snscrape has no scraper at all.

For the dead platforms the only supported path is the platform's own export or an authorised
tool's export, imported with ``netral ingest FILE``.
"""

from __future__ import annotations

import re
import urllib.parse
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

import requests
from bs4 import BeautifulSoup
from bs4.element import NavigableString, PreformattedString, Tag

from netral.pipeline.sources.base import Record, SourceError

with warnings.catch_warnings():
    # snscrape.modules loads its scrapers with importlib's find_module/load_module, deprecated in 3.11 and
    # removed in 3.12 (so snscrape 0.7 cannot run on 3.12+); the warning is known and only noise here.
    warnings.simplefilter("ignore", DeprecationWarning)
    import snscrape.base
    import snscrape.modules.mastodon as sn_mastodon
    import snscrape.modules.telegram as sn_telegram

T = TypeVar("T")

# Platforms a user might ask for, with why snscrape cannot serve them (shown by ``netral fetch``).
DEAD_PLATFORMS = {
    "twitter": "Twitter/X menutup API tamu dan timeline tanpa login sejak pertengahan 2023",
    "facebook": "halaman Facebook tanpa login yang diurai snscrape kini mewajibkan login",
    "instagram": "Instagram mewajibkan login untuk profil dan API web-nya",
    "reddit": "scraper Reddit snscrape memakai Pushshift, yang ditutup untuk publik sejak Mei 2023",
}
SUPPORTED_PLATFORMS = ("telegram", "mastodon")

# Older items tolerated before a ``since`` cut-off stops paging: pinned posts come first on some
# pages and boosts carry the original's date, so one old item does not mean the rest are old.
_OLDER_TOLERANCE = 5

_TG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_TG_URL = re.compile(r"(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:s/)?([^/?#]+)/?")
_MASTO_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_DOMAIN = re.compile(r"(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


# --- HTML to plain text ------------------------------------------------------------------------------

_PARAGRAPH = {"p", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "table"}
_LINE = {"div", "li", "tr"}
_SKIP = {"script", "style", "template", "head", "iframe", "object", "noscript"}


def html_to_text(html: str) -> str:
    """Plain text of a post body as a reader sees it, links kept as their URL.

    The classifier and the reviewers need the words and the link targets (a party site is
    evidence), never markup. ``html.parser`` only builds a tree: nothing is fetched or executed.
    """
    parts: list[str] = []
    _render(BeautifulSoup(html, "html.parser"), parts, pre=False)
    text = "".join(parts).replace("\r", "")
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _render(node: Tag, out: list[str], *, pre: bool) -> None:
    for child in node.children:
        if isinstance(child, PreformattedString):  # comments, CDATA, doctype, processing instructions
            continue
        if isinstance(child, NavigableString):
            out.append(str(child) if pre else re.sub(r"\s+", " ", str(child)))
            continue
        if not isinstance(child, Tag) or child.name in _SKIP:
            continue
        if child.name == "br":
            out.append("\n")
        elif child.name == "a":
            out.append(_link_text(child, pre=pre))
        else:
            sep = "\n\n" if child.name in _PARAGRAPH else "\n" if child.name in _LINE else ""
            out.append(sep)
            _render(child, out, pre=pre or child.name == "pre")
            out.append(sep)


def _link_text(a: Tag, *, pre: bool) -> str:
    """Mentions and hashtags stay as written; other links show their full target.

    Mastodon hides the scheme and tail of long URLs in invisible spans and Telegram shortens the
    label, so a label that is just (the start of) the URL is replaced by the URL itself.
    """
    parts: list[str] = []
    _render(a, parts, pre=pre)
    label = re.sub(r"\s+", " ", "".join(parts)).strip()
    href = str(a.get("href") or "").strip()
    classes = a.get("class") or []
    if not href.lower().startswith(("http://", "https://")) or label.startswith(("@", "#")) \
            or "mention" in classes or "hashtag" in classes:
        return label
    if not label:
        return href
    bare_href = href.split("://", 1)[1].lower()
    bare_label = label.split("://", 1)[-1].rstrip("…").rstrip(".").lower()
    if " " not in bare_label and ("." in bare_label or "/" in bare_label) and bare_href.startswith(bare_label):
        return href
    return f"{label} ({href})"


# --- shared scraping loop ----------------------------------------------------------------------------

class _ScrapeSource:
    """Limit, ``since`` cut-off and error translation shared by the snscrape-based sources."""

    platform: str
    target: str
    name: str

    def __init__(self, limit: int | None, since: datetime | None, retries: int) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit harus minimal 1")
        if since is not None and since.tzinfo is None:
            raise ValueError("since harus bertimezone (aware datetime)")
        self.limit = limit
        self.since = since
        self.retries = retries
        self.skipped = 0  # items without text (media only, service messages): nothing to classify

    def _drive(self, items: Iterator[T], date_of: Callable[[T], datetime],
               to_record: Callable[[T], dict[str, Any] | None]) -> Iterator[Record]:
        number = 0
        older = 0
        try:
            while self.limit is None or number < self.limit:
                try:
                    item = next(items)
                    too_old = self.since is not None and date_of(item) < self.since
                    record = None if too_old else to_record(item)
                except StopIteration:
                    return
                except SourceError:
                    raise
                except Exception as exc:  # any scraper or format failure becomes one clear error
                    raise SourceError(self.platform, self.target, self._explain(exc)) from exc
                if too_old:
                    older += 1
                    if older >= _OLDER_TOLERANCE:
                        return
                    continue
                older = 0
                if record is None:
                    self.skipped += 1
                    continue
                number += 1
                yield number, record
        finally:
            close = getattr(items, "close", None)
            if close:
                close()

    def _explain(self, exc: Exception) -> str:
        if isinstance(exc, snscrape.base.ScraperException):
            msg = str(exc)
            if m := re.search(r"status code (\d{3})", msg):
                code = int(m.group(1))
                hint = {401: "server mewajibkan login", 403: "akses ditolak/diblokir", 404: "tidak ditemukan",
                        410: "sudah dihapus", 429: "terlalu banyak permintaan, coba lagi nanti"}.get(code, "")
                if not hint and code >= 500:
                    hint = "gangguan di server"
                return f"server menjawab HTTP {code}" + (f" ({hint})" if hint else "")
            if "failed, giving up" in msg:
                return f"tidak bisa menghubungi server (jaringan putus, diblokir, atau timeout): {msg}"
            return msg
        if isinstance(exc, requests.RequestException):
            return f"galat jaringan: {type(exc).__name__}: {exc}"
        if isinstance(exc, AttributeError | KeyError | TypeError | ValueError | IndexError | AssertionError):
            return (f"halaman/jawaban server tidak dikenali parser, kemungkinan tata letak situs berubah "
                    f"({type(exc).__name__}: {exc})")
        return f"{type(exc).__name__}: {exc}"


def _iso(dt: datetime) -> str:
    return dt.isoformat()


# --- Telegram ------------------------------------------------------------------------------------------

def parse_telegram_channel(value: str) -> str:
    """``agusprasetyo87``, ``@agusprasetyo87`` or a t.me link → ``agusprasetyo87`` (lower case)."""
    raw = value.strip()
    if m := _TG_URL.fullmatch(raw):
        raw = m.group(1)
    raw = raw.lstrip("@")
    if not _TG_NAME.fullmatch(raw):
        raise ValueError(f"nama kanal Telegram tidak valid: {value!r} (contoh: namakanal atau https://t.me/namakanal)")
    return raw.lower()


@dataclass(frozen=True)
class _TelegramExtra:
    text: str | None
    forwarded: bool
    service: bool


def _own_text_div(post: Tag) -> Tag | None:
    """The post's own text, not the quoted message a reply block carries above it."""
    for div in post.find_all("div", class_="tgme_widget_message_text"):
        if div.find_parent("a", class_="tgme_widget_message_reply") is None:
            return div
    return None


class _TelegramScraper(sn_telegram.TelegramChannelScraper):
    """snscrape's parser plus the per-post facts its TelegramPost drops.

    ``TelegramPost.content`` is ``div.text``, which glues lines together at ``<br>``; forwards and
    service messages ("Channel created") are not marked at all. These are read from the same soup
    before snscrape parses it, keyed by ``data-post``.
    """

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.extra: dict[str, _TelegramExtra] = {}

    def _soup_to_items(self, soup: BeautifulSoup, pageUrl: str, onlyUsername: bool = False) -> Iterator[Any]:
        if not onlyUsername:
            for post in soup.find_all("div", attrs={"class": "tgme_widget_message", "data-post": True}):
                message = _own_text_div(post)
                self.extra[str(post["data-post"]).lower()] = _TelegramExtra(
                    text=html_to_text(message.decode_contents()) if message else None,
                    forwarded=post.find(class_="tgme_widget_message_forwarded_from") is not None,
                    service="service_message" in (post.get("class") or []),
                )
        yield from super()._soup_to_items(soup, pageUrl, onlyUsername)

    @property
    def landed_on_preview(self) -> bool | None:
        return None if self._initialPage is None else "/s/" in self._initialPage.url


class TelegramChannelSource(_ScrapeSource):
    """Posts of one public Telegram channel, newest first, via the t.me/s/ web preview."""

    platform = "telegram"

    def __init__(self, channel: str, limit: int | None = None, since: datetime | None = None, *,
                 retries: int = 3) -> None:
        super().__init__(limit, since, retries)
        self.target = parse_telegram_channel(channel)
        self.name = f"snscrape:telegram:{self.target}"

    def iter_records(self) -> Iterator[Record]:
        scraper = _TelegramScraper(self.target, retries=self.retries)
        yielded = False
        for pair in self._drive(scraper.get_items(), lambda p: p.date, lambda p: self._to_record(scraper, p)):
            yielded = True
            yield pair
        if not yielded and scraper.landed_on_preview is False:
            raise SourceError(self.platform, self.target,
                              "tidak ada pratinjau publik t.me/s/ (kanal privat, grup, akun pribadi, "
                              "atau nama tidak ada); snscrape hanya bisa membaca kanal publik")

    def _to_record(self, scraper: _TelegramScraper, post: sn_telegram.TelegramPost) -> dict[str, Any] | None:
        # snscrape rewrites the post URL to https://t.me/s/<channel>/<n>; the link people share is without /s/.
        path = urllib.parse.urlsplit(post.url).path.removeprefix("/s/").strip("/")
        channel, _, number = path.partition("/")
        extra = scraper.extra.pop(path.lower(), None)
        if extra is not None and extra.service:
            return None
        # Prefer our reading even when it found no text: snscrape's would be a reply's quoted message.
        text = extra.text if extra is not None else post.content
        if not text or not text.strip():
            return None
        return {"platform": "telegram", "post_id": f"{channel.lower()}/{number}", "author": channel.lower(),
                "url": f"https://t.me/{channel}/{number}", "created_at": _iso(post.date), "text": text,
                "kind": "share" if extra is not None and extra.forwarded else "post"}


# --- Mastodon ------------------------------------------------------------------------------------------

def parse_mastodon_account(value: str) -> tuple[str, str]:
    """``@user@instance``, ``user@instance`` or ``https://instance/@user`` → (user, instance)."""
    raw = value.strip()
    if raw.lower().startswith(("https://", "http://")):
        parts = urllib.parse.urlsplit(raw)
        user, instance = parts.path.strip("/").removeprefix("@"), (parts.hostname or "")
    else:
        user, _, instance = raw.lstrip("@").partition("@")
    instance = instance.lower()
    if not _MASTO_USER.fullmatch(user) or not _DOMAIN.fullmatch(instance):
        raise ValueError(f"akun Mastodon tidak valid: {value!r} (contoh: @nama@mastodon.social)")
    return user, instance


class _ApiRefused(snscrape.base.ScraperException):
    """The instance does not serve its public API to anonymous callers."""


class _MastodonApiScraper(snscrape.base.Scraper):
    """Public statuses of one account through the Mastodon REST API, on snscrape's HTTP layer."""

    name = "mastodon-api"
    _PAGE = 40  # the API's maximum page size

    def __init__(self, user: str, instance: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._user = user
        self._base = f"https://{instance}"
        self._headers = {"Accept": "application/json"}

    def _json(self, path: str, params: dict[str, Any]) -> Any:
        r = self._get(f"{self._base}{path}", params=params, headers=dict(self._headers))
        if r.status_code in (401, 403) and path.endswith("/lookup"):
            raise _ApiRefused(f"Got status code {r.status_code}")
        if r.status_code != 200:
            raise snscrape.base.ScraperException(f"Got status code {r.status_code}")
        try:
            return r.json()
        except ValueError:
            raise snscrape.base.ScraperException(
                f"jawaban {path} bukan JSON; server ini mungkin bukan Mastodon atau API-nya dimatikan") from None

    def get_items(self) -> Iterator[dict[str, Any]]:
        account = self._json("/api/v1/accounts/lookup", {"acct": self._user})
        params: dict[str, Any] = {"limit": self._PAGE}
        while True:
            page = self._json(f"/api/v1/accounts/{account['id']}/statuses", params)
            if not isinstance(page, list):
                raise snscrape.base.ScraperException("unexpected statuses response (not a list)")
            if not page:
                return
            yield from page
            params = {"limit": self._PAGE, "max_id": page[-1]["id"]}


def _parse_api_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class MastodonProfileSource(_ScrapeSource):
    """Public posts, replies and boosts of one Mastodon account, newest first.

    ``via``: "api" (REST API only), "snscrape" (snscrape's HTML parser only, for pre-4.0
    instances), or "auto" (API, falling back to the HTML parser when anonymous API access is refused).
    """

    platform = "mastodon"

    def __init__(self, account: str, limit: int | None = None, since: datetime | None = None, *,
                 via: Literal["auto", "api", "snscrape"] = "auto", retries: int = 3) -> None:
        super().__init__(limit, since, retries)
        self.user, self.instance = parse_mastodon_account(account)
        self.target = f"{self.user}@{self.instance}".lower()
        self.via = via
        self.name = f"{'snscrape' if via == 'snscrape' else 'mastodon-api'}:mastodon:{self.target}"

    def iter_records(self) -> Iterator[Record]:
        if self.via != "snscrape":
            scraper = _MastodonApiScraper(self.user, self.instance, retries=self.retries)
            try:
                yield from self._drive(scraper.get_items(), lambda s: _parse_api_time(s["created_at"]),
                                       self._status_record)
                return
            except SourceError as exc:
                # _ApiRefused comes from the lookup, before anything was yielded: falling back cannot duplicate.
                if self.via == "api" or not isinstance(exc.__cause__, _ApiRefused):
                    raise
                api_reason = exc.reason
            self.name = f"snscrape:mastodon:{self.target}"
        else:
            api_reason = None
        html = sn_mastodon.MastodonProfileScraper(f"@{self.user}@{self.instance}", retries=self.retries)
        try:
            yield from self._drive(html.get_items(), self._legacy_date, self._legacy_record)
        except SourceError as exc:
            if api_reason is None:
                raise
            raise SourceError(self.platform, self.target,
                              f"API publik menolak ({api_reason}) dan {exc.reason}") from exc

    def _explain(self, exc: Exception) -> str:
        if isinstance(exc, AttributeError) and "find_all" in str(exc):
            return ("halaman profil tidak berisi HTML status: server Mastodon >= 4.0 merender profil dengan "
                    "JavaScript dan parser snscrape 0.7 tidak bisa membacanya (snscrape#587); gunakan via='api'")
        return super()._explain(exc)

    def _account(self, acct: str) -> str:
        acct = acct.lstrip("@").lower()
        return acct if "@" in acct else f"{acct}@{self.instance}"

    def _status_record(self, status: dict[str, Any]) -> dict[str, Any] | None:
        body = status.get("reblog") or status
        kind = "share" if status.get("reblog") else "reply" if status.get("in_reply_to_id") else "post"
        text = _with_warning(body.get("spoiler_text"), html_to_text(body.get("content") or ""))
        if not text:
            return None
        # A boost's own URL is an ActivityPub endpoint; the boosted post's URL is what a reviewer can open.
        url = body.get("url") or body.get("uri") or ""
        return {"platform": "mastodon", "post_id": str(status["id"]),
                "author": self._account(status["account"]["acct"]), "url": url,
                "created_at": _iso(_parse_api_time(status["created_at"])), "text": text, "kind": kind}

    @staticmethod
    def _legacy_date(item: sn_mastodon.Toot | sn_mastodon.Boost) -> datetime:
        return (item.toot if isinstance(item, sn_mastodon.Boost) else item).date

    def _legacy_record(self, item: sn_mastodon.Toot | sn_mastodon.Boost) -> dict[str, Any] | None:
        toot = item.toot if isinstance(item, sn_mastodon.Boost) else item
        # snscrape puts a content warning in ``text`` and the hidden body in ``spoilerText``.
        text = _with_warning(toot.text, toot.spoilerText) if toot.spoilerText else (toot.text or "").strip()
        if not text:
            return None
        if isinstance(item, sn_mastodon.Boost):
            # The HTML has no id for the boost itself; booster plus boosted URL is stable and unique.
            booster = self._account(item.user.account)
            return {"platform": "mastodon", "post_id": f"boost:{booster}:{toot.url}"[:200],
                    "author": booster, "url": toot.url,
                    "created_at": _iso(toot.date), "text": text, "kind": "share"}
        return {"platform": "mastodon", "post_id": toot.id, "author": self._account(toot.user.account),
                "url": toot.url, "created_at": _iso(toot.date), "text": text, "kind": "post"}


def _with_warning(warning: str | None, body: str | None) -> str:
    """Content warning and body together: a CW often names the topic the classifier must see."""
    w, b = (warning or "").strip(), (body or "").strip()
    return f"{w}\n\n{b}" if w and b else w or b
