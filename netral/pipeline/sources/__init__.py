"""Where posts come from. Every source yields the same raw records into ``ingest_records``.

The snscrape module is not imported here, so importing the protocol never pulls in the scraper
stack (requests, bs4, lxml) for callers that only read files.
"""

from netral.pipeline.sources.base import Record, Source, SourceError, SourceRun, ingest_source

__all__ = ["Record", "Source", "SourceError", "SourceRun", "ingest_source"]
