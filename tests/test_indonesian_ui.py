"""Indonesian throughout: the pages, the report, the CLI help and messages use the glossary's terms.

The UI once called everything a "Flag" and some CLI help was English. These tests fail when an English
UI word comes back: every GET page of the app (discovered from its routes, so new pages are covered
without editing this file) for each role and along the review flow, the report document, every
command's help, the string literals the CLI prints and the messages the services show, and the labels
of every ``LabelledEnum``. Code and identifiers are exempt: ``<code>``/``<pre>`` in pages, `backticks`,
option names, ALL-CAPS words, file names and ``snake_case`` in text. The labels must also use the terms
of ``docs/glossary.md``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from webutil import PASSWORD, add_flag, csrf_from, factory_for, login, seed_basic, settings_for, sqlite_url

from netral.db.schema import Account, TrainJob
from netral.serve.app import create_app
from netral.vocabulary import Behaviour, Category, LabelledEnum, TrainRunState

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "glossary.md"

# English words a person must not read in Netral's UI (whole words, any case but ALL CAPS). The first
# lines are the domain's words whose Indonesian terms the glossary fixes; the rest catch English sentences.
DENIED = frozenset({
    "flag", "flags", "flagged", "queue", "queued", "claim", "claimed", "dismiss", "dismissed", "confirm",
    "confirmed", "verify", "verified", "pending", "reviewer", "reviewers", "supervisor", "supervisors", "analyst",
    "report", "reports", "review", "reviews", "score", "scores", "threshold", "drivers", "evidence", "training",
    "roster", "handle", "handles", "scan", "scanned", "scanning", "post", "posts", "record", "records", "job",
    "jobs", "dashboard", "login", "logout", "submit", "save", "cancel", "delete", "search", "upload", "download",
    "user", "users", "password", "username", "role", "roles", "done", "failed", "running", "error", "warning",
    "settings", "show", "exit", "options", "arguments", "commands", "required", "default", "the", "and", "of",
    "with", "for", "from", "this", "that", "not", "only", "is", "are", "to",
})

_BACKTICKS = re.compile(r"`[^`]*`")
# Identifiers inside prose: file names, URLs, handles, env vars, snake_case, key=value.
_IDENTIFIER = re.compile(r"\S*(?:@|_|://|\w\.\w|=)\S*")
_OPTION = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*")
_WORD = re.compile(r"[A-Za-z]+")


def english_words(text: str) -> set[str]:
    """The denied words in ``text`` once code and identifiers are taken out."""
    text = _OPTION.sub(" ", _IDENTIFIER.sub(" ", _BACKTICKS.sub(" ", text)))
    return {w for w in _WORD.findall(text) if not w.isupper() and w.casefold() in DENIED}


def test_the_checker_finds_english_and_spares_identifiers() -> None:
    assert english_words("Flag #3 dikonfirmasi supervisor") == {"Flag", "supervisor"}
    assert english_words("Show this message and exit.") == {"Show", "this", "and", "exit"}
    assert english_words("kirim `POST /api/posts`, lihat roster.csv, NETRAL_REVIEW_QUEUE, --with-decisions") == set()
    assert english_words("metode POST; status OK; indikasi #3 menunggu verifikator") == set()


# --- pages -------------------------------------------------------------------------------------------

_SKIP_TAGS = {"code", "pre", "script", "style", "textarea"}
_VISIBLE_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-confirm"}


class _VisibleText(HTMLParser):
    """Text a person reads: text nodes outside code/pre/script/style, plus tooltip-like attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping.append(tag)
        if not self._skipping:
            self.parts += [value for name, value in attrs if name in _VISIBLE_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return " ".join(parser.parts)


class Pages:
    """Fetches pages as one signed-in user and records the English found on each."""

    def __init__(self, client: TestClient, who: str, found: dict[str, set[str]]) -> None:
        self.client, self.who, self.found = client, who, found

    def check(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code < 500, (self.who, path, response.status_code)
        if "text/html" in response.headers.get("content-type", ""):
            words = english_words(visible_text(response.text))
            if words:
                self.found[f"{self.who} {path}"] = words
        return response.text

    def post(self, path: str, page: str, **data: str) -> None:
        token = csrf_from(self.check(page))  # the page in the state before the action, too
        response = self.client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)
        assert response.status_code == 303, (self.who, path, response.status_code, response.text[:300])
        self.check(response.headers["location"])  # the page with the flash message


def _routes(routes: list[object]) -> Iterator[object]:
    """The app's routes, flattened: FastAPI 0.163 keeps an included router as one entry holding it."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


def _get_paths(app: object, ids: dict[str, int]) -> list[str]:
    """Every HTML GET route of the app, path parameters filled with existing (or harmless) ids."""
    values = {"flag_id": ids["open_flag"], "report_id": ids["report"], "user_id": ids["adi"], "token": "tidak-ada"}
    paths = []
    for route in _routes(app.routes):  # type: ignore[attr-defined]
        path, methods = getattr(route, "path", ""), getattr(route, "methods", None) or set()
        if "GET" not in methods or path.startswith(("/api/", "/static", "/openapi")) or path.endswith(".json"):
            continue
        paths.append(re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(values.get(m.group(1), 1)), path))
    return sorted(set(paths))


def test_every_page_speaks_indonesian(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    ids = seed_basic(factory)
    with factory() as s:
        s.add(TrainJob(started_by="ana", status=TrainRunState.FAILED, progress=0.4, message="gagal: uji"))
        account = s.get(Account, ids["account"])
        assert account is not None
        # Stays pending: the discovered pages show it in the state a reviewer can claim.
        ids["open_flag"] = add_flag(s, account, post_id="1002", text="Ayo coblos nomor 2 besok", score=0.81).id
        s.commit()
    app = create_app(settings_for(url, tmp_path))
    found: dict[str, set[str]] = {}

    anonymous = Pages(TestClient(app), "tamu", found)
    for path in ("/login", "/setup/tidak-ada", "/docs"):
        anonymous.check(path)

    def signed_in(username: str) -> Pages:
        client = TestClient(app)
        assert login(client, username, PASSWORD).status_code == 303
        return Pages(client, username, found)

    rina, sari, ana, adi = (signed_in(name) for name in ("rina", "sari", "ana", "adi"))
    flag = ids["flag"]
    # The review flow, so that every state of the flag page and every message along it is read.
    rina.post(f"/flags/{flag}/claim", f"/flags/{flag}")
    rina.post(f"/flags/{flag}/confirm", f"/flags/{flag}", category=Category.SUPPORT.value,
              behaviour=Behaviour.KAMPANYE_DARING.value, reason="Ajakan memilih paslon 02 secara terbuka.")
    rina.check(f"/flags/{flag}")
    sari.post(f"/flags/{flag}/verify", f"/flags/{flag}", reason="Benar, unggahan mengajak memilih paslon 02.")
    sari.post(f"/flags/{flag}/report", f"/flags/{flag}")
    report_id = int(re.findall(r'href="/reports/(\d+)"', sari.check("/reports"))[0])
    ids["report"] = report_id
    sari.check(f"/reports/{report_id}/html")  # the issued document itself

    paths = _get_paths(app, ids)
    assert {"/queue", "/dashboard", "/admin/users", "/audit", "/training"} <= set(paths), paths
    for pages in (rina, sari, ana, adi):
        for path in paths:
            pages.check(path)
    rina.check("/flags/999999")  # 404 page
    rina.check("/admin/users")  # 403 page
    assert not found, f"English on pages: {found}"


def test_api_docs_translate_fastapi_default_descriptions() -> None:
    from netral.serve.routes_docs import operations

    spec = {"paths": {"/api/x": {"get": {"responses": {"200": {"description": "Successful Response"},
                                                      "422": {"description": "Validation Error"},
                                                      "409": {"description": "Konflik"}}}}}}
    described = [r["description"] for r in operations(spec)[0]["responses"]]
    assert described[2] == "Konflik" and not any(english_words(d) for d in described), described


# --- CLI ---------------------------------------------------------------------------------------------

def _commands(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


def test_cli_help_speaks_indonesian() -> None:
    from netral.cli import app

    runner = CliRunner()
    found: dict[str, set[str]] = {}
    commands = list(_commands(typer.main.get_command(app)))
    assert len(commands) > 30
    for path, command in commands:
        texts = [getattr(command, "help", None), getattr(command, "short_help", None)]
        texts += [getattr(p, "help", None) for p in getattr(command, "params", [])]
        words = set().union(*(english_words(t) for t in texts if t))
        if not getattr(command, "help", None):
            words.add("(no help text)")
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        # Typer's own frame (netral/cli/chrome.py): panel titles and the --help line.
        chrome = {s for s in ("Options", "Arguments", "Commands", "Show this message", "[required]", "[default:",
                              "completion") if s in result.output}
        if words or chrome:
            found[" ".join(path) or "netral"] = words | chrome
    assert not found, f"English in CLI help: {found}"


# Calls whose string arguments a person reads, and which argument (index or keyword) holds the text.
_MESSAGE_ARGS: dict[str, tuple[int | str, ...]] = {
    "print": (0,), "echo": (0,), "secho": (0,), "fail": (0,), "rule": (0,), "BadParameter": (0,),
    "Table": (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, "title"), "add_column": (0,), "tqdm": ("desc", "unit"),
    "ReviewError": (0,), "flash": (1,), "HTTPException": ("detail",), "error_page": (2,), "_act": (5,),
    "_done": (2,), "ChainProblem": (1,), "JobBusy": (0,),
}
_MESSAGE_SOURCES = ["netral/cli/*.py", "netral/review/*.py", "netral/serve/*.py", "netral/audit.py",
                    "netral/pipeline/joblock.py"]
# Developer tools print for developers (``make bench-load``), like the benchmarks under pipeline/.
_DEVELOPER_TOOLS = {"netral/serve/loadbench.py"}


def _literal_text(node: ast.AST) -> Iterator[str]:
    """The constant text of a message expression (f-string parts, concatenations, both arms of an if)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        yield " ".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    elif isinstance(node, ast.BinOp):
        yield from _literal_text(node.left)
        yield from _literal_text(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _literal_text(node.body)
        yield from _literal_text(node.orelse)


def _messages(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for where in _MESSAGE_ARGS.get(name, ()):
            if isinstance(where, int):
                args = node.args[where:where + 1]
            else:
                args = [k.value for k in node.keywords if k.arg == where]
            for arg in args:
                for text in _literal_text(arg):
                    yield node.lineno, text


def test_cli_and_service_messages_speak_indonesian() -> None:
    found, seen = {}, 0
    for pattern in _MESSAGE_SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            if str(path.relative_to(ROOT)) in _DEVELOPER_TOOLS:
                continue
            for line, text in _messages(path):
                seen += 1
                words = english_words(re.sub(r"\[/?[a-z ]+\]", " ", text))  # rich markup such as [red]
                if words:
                    found[f"{path.relative_to(ROOT)}:{line}"] = words
    assert seen > 150  # the scan reads the messages, not nothing
    assert not found, f"English in messages: {found}"


# --- vocabulary and glossary -------------------------------------------------------------------------

def _all_enums() -> list[type[LabelledEnum]]:
    return list(LabelledEnum.__subclasses__())


def _glossary() -> dict[str, str]:
    """``{code term: Indonesian term}`` from the glossary's tables (first bold text of the UI column)."""
    terms: dict[str, str] = {}
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not (bold := re.search(r"\*\*(.+?)\*\*", cells[1])):
            continue
        codes = [re.sub(r"\(.*?\)", "", c).strip() for c in cells[0].split(" / ")]
        uis = [re.sub(r"\(.*?\)", "", u).strip() for u in bold.group(1).split(" / ")]
        for i, code in enumerate(codes):
            terms[code] = uis[i] if len(uis) == len(codes) else uis[0]
    return terms


def test_vocabulary_labels_are_indonesian_and_follow_the_glossary() -> None:
    glossary = _glossary()
    assert glossary["flag"] == "indikasi" and glossary["supervisor"] == "verifikator"
    checked = 0
    for enum in _all_enums():
        for member in enum:
            assert not english_words(member.label), (enum.__name__, member.value, member.label)
            term = glossary.get(member.value.lower().replace("_", " "))
            if term is not None:
                checked += 1
                assert term.casefold() in member.label.casefold(), (enum.__name__, member.value, member.label, term)
    assert checked >= 15, checked  # roles, decisions, statuses, evidence and post kinds are in the glossary


@pytest.mark.parametrize("term", ["flag", "queue", "claim", "confirm", "dismiss", "verify", "return", "needs info",
                                  "scan", "score", "threshold", "drivers", "evidence", "model version", "training",
                                  "audit log", "report", "dashboard", "roster", "unit", "handle", "post"])
def test_glossary_covers_the_ui_words(term: str) -> None:
    assert term in _glossary()
