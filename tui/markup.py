"""Text from people (names, codes, notes) put into markup, shown as typed.

Textual's markup reads any `[word]` as a tag, upper case and digits included ("Press [B2]"
lost its "[B2]"), while Rich's and Textual's own `escape` only escape tags that start with a
lower-case letter, `#`, `/` or `@`. Escaping every opening bracket is right for both parsers:
Textual's Static and Label, and Rich's (DataTable cells), read `\\[` as a plain `[`.
"""

from __future__ import annotations


def escape(text: str) -> str:
    """`text` as markup that shows exactly `text`."""
    return text.replace("[", "\\[")
