"""Each source's template as learnt from its articles: how many of them carry each line of text."""

from __future__ import annotations

from sqlalchemy import Engine, select

from signpost.store.db import dialect_insert
from signpost.store.schema import source_lines

# The row that counts a source's articles, beside the rows that count its lines.
ARTICLES_KEY = ""


def count_source_lines(engine: Engine, source_id: int, line_keys: set[str]) -> tuple[int, dict[str, int]]:
    """Count one more article of a source carrying these lines; returns (its articles, how many carry each line)."""
    keys = sorted(line_keys | {ARTICLES_KEY})
    with engine.begin() as connection:
        insert = dialect_insert(connection, source_lines)
        connection.execute(
            insert.values(
                [{"source_id": source_id, "line_key": key, "articles": 1} for key in keys]
            ).on_conflict_do_update(
                index_elements=[source_lines.c.source_id, source_lines.c.line_key],
                set_={"articles": source_lines.c.articles + 1},
            )
        )
        counts = dict(
            connection.execute(
                select(source_lines.c.line_key, source_lines.c.articles).where(
                    source_lines.c.source_id == source_id, source_lines.c.line_key.in_(keys)
                )
            ).all()
        )
    return counts.pop(ARTICLES_KEY, 0), counts
