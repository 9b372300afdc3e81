"""One typed settings object for the whole application.

Every tunable lives here so that the CLI, the web app and the tests read the same values, and an
operator can change any of them with a ``NETRAL_``-prefixed environment variable or a ``.env`` file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from netral.normalise import DEFAULT_LEXICON

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ELECTIONS_DIR = REPO_ROOT / "data" / "elections"
DEFAULT_LETTERHEAD = REPO_ROOT / "data" / "report" / "letterhead.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NETRAL_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="SQLite file, model registry, caches")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    elections_dir: Path = DEFAULT_ELECTIONS_DIR
    history_elections_dir: Path = Field(
        default=REPO_ROOT / "data" / "elections_history",
        description="configs of past elections, used to mask contestants in training and evaluation data")
    labelled_dir: Path = REPO_ROOT / "data" / "labelled"
    pools_dir: Path = Field(default=REPO_ROOT.parent / "shared" / "data" / "pools",
                            description="unlabelled pools of real posts (bench, trimmed vocabulary)")
    slang_lexicon: Path = DEFAULT_LEXICON
    evidence_words: Path = Field(default=REPO_ROOT / "data" / "lexicon" / "evidence_id.yaml",
                                 description="Indonesian trigger/blocker words of the evidence extractor")

    # Models
    base_model: str | None = Field(
        default=None, description="local HF checkpoint dir; default converted e5-small"
    )
    max_length: int = 128
    scan_batch_size: int = 32
    inference_backend: Literal["auto", "int8", "fp32"] = Field(
        default="auto", description="auto: a version's int8 artefact (`netral model export`) when it has one")
    cascade: Literal["auto", "on", "off"] = Field(
        default="auto", description="cheap first stage in the scan; auto: on when the version's cascade "
        "passed its recall check (README, Throughput)")
    torch_threads: int | None = None

    # Ingestion
    max_text_chars: int = 20_000
    default_timezone: str = Field(default="Asia/Jakarta", description="zone for export times without one")
    ingest_batch_size: int = 500
    api_max_posts: int = Field(default=5000, ge=1, description="most posts one POST /api/posts may carry")
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="largest request body; "
                                "larger ones get 413 before they are read")
    fetch_limit: int = Field(default=200, ge=1, description="`netral fetch` reads at most this many posts")

    # Review
    claim_lease_minutes: int = 30
    queue_page_size: int = Field(default=25, ge=1, description="flags per queue page")
    audit_page_size: int = Field(default=50, ge=1, description="audit records per page")
    require_second_review: bool = True
    report_letterhead: Path = Field(default=DEFAULT_LETTERHEAD, description="YAML or TOML file with the "
                                    "report's letterhead (kop surat), addressee and signatories")
    export_csv_delimiter: Literal[",", ";"] = Field(default=",", description="CSV exports: ';' suits Excel "
                                                    "with Indonesian regional settings")

    # Retention (UU PDP 27/2022): `netral privacy purge` deletes posts past these periods (README,
    # "Perlindungan data pribadi"); evidence of open, confirmed, verified and reported flags is kept.
    retention_days_after_election: int = Field(
        default=180, ge=1, description="posts never flagged: days after the end of the voting day of the "
        "election whose window (campaign start to voting day) they fall in")
    retention_days_outside_election: int = Field(
        default=365, ge=1, description="posts never flagged and in no configured election window: days "
        "after the post's own time")
    retention_days_dismissed: int = Field(
        default=730, ge=1, description="posts whose flag was dismissed: days after the later of the "
        "election (or post) time and the dismissal; must not be shorter than the two periods above")
    retention_batch_size: int = Field(default=200, ge=1, le=10_000,
                                      description="posts deleted per purge transaction")

    # Cases (after the report)
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="largest case attachment "
                                      "(PDF, PNG or JPEG) or complaint screenshot (PNG or JPEG); one upload "
                                      "request is also capped by max_body_bytes")

    # Web
    secret_key: str = Field(default="", description="signs session cookies; at least 32 characters, "
                            "the server refuses to start without one unless dev_mode is on")
    dev_mode: bool = Field(default=False, description="development only: a random secret key is generated "
                           "and kept in data_dir/secret_key when none is set")
    host: str = "127.0.0.1"
    port: int = 8000
    login_max_attempts: int = Field(default=5, ge=1, description="failed logins per account before delays")
    login_ip_max_attempts: int = Field(default=20, ge=1, description="failed logins per client address before "
                                       "delays")
    login_base_delay_seconds: float = Field(default=1.0, gt=0, description="first delay; doubles per failure")
    login_max_delay_seconds: float = Field(default=300.0, gt=0, description="cap of the growing delay")
    login_window_seconds: int = Field(default=900, ge=1, description="failures are forgotten this long after "
                                      "the last one")
    trusted_proxies: list[str] = Field(default_factory=list, description="reverse proxies (IPs or CIDRs, JSON "
                                       "list) whose X-Forwarded-For gives the client address")
    secure_cookies: bool = Field(default=True, description="Secure cookies and HSTS; set false only for "
                                 "plain-HTTP development on 127.0.0.1")
    session_hours: int = Field(default=8, ge=1, le=24 * 14, description="a web session's lifetime")

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'netral.db').resolve()}"

    @property
    def registry_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def base_cache_dir(self) -> Path:
        return self.data_dir / "base"

    @property
    def attachments_dir(self) -> Path:
        """Case attachments and complaint screenshots, one file per SHA-256 (content-addressed, never
        overwritten with other bytes)."""
        return self.data_dir / "attachments"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
