"""What the cast and lexicon tables share."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable


def selected_key(table: DataTable[Any]) -> str | None:
    """The key of the row under the cursor; None when the table is empty."""
    if not table.row_count:
        return None
    return table.ordered_rows[table.cursor_row].key.value
