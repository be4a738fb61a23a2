"""The `--help` epilog of a command: its examples, rendered as a Markdown code block."""

from __future__ import annotations


def examples(*lines: str) -> str:
    return "**Examples**\n\n```\n" + "\n".join(lines) + "\n```"
