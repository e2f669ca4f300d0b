"""A ``Report`` as text, Markdown, CSV, JSON, HTML, or a mail ready for ``sendmail -t``.

Text and Markdown tables come from tabulate (aligned in a plain-text mail client); the HTML
is one self-contained page (inline CSS, inline SVG bars, no scripts, nothing fetched) that
mail clients and browsers both show; the mail is built by Python's ``email`` package, which
gets MIME, UTF-8 headers and line lengths right where hand-written MIME does not.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any, Iterable

from crmctl.errors import UserError
from crmctl.model import exact_json
from crmctl.render import cell, csv_cell, money, plain
from crmctl.reports.document import COUNT, DAYS, MONEY, NUMBER, PERCENT, Column, Report, Table

BAR_WIDTH = 24


def shown(value: Any, column: Column) -> str:
    """A value as people read it in this column."""
    if value is None or value == "":
        return ""
    if column.show == MONEY:
        return money(value)
    if column.show == PERCENT:
        return f"{Decimal(str(value)):.1f}%".replace(".0%", "%")
    if column.show == DAYS:
        return f"{Decimal(str(value)):.1f}".removesuffix(".0")
    if column.show in (COUNT, NUMBER):
        return money(value) if column.show == COUNT else cell(value)
    return cell(value)


def text_bar(value: Any, largest: Decimal, width: int = BAR_WIDTH) -> str:
    number = Decimal(str(value or 0))
    if largest <= 0 or number <= 0:
        return ""
    return "█" * max(1, round(float(number / largest) * width))


def _largest(table: Table) -> Decimal:
    if table.bar is None:
        return Decimal(0)
    return max((Decimal(str(r.get(table.bar) or 0)) for r in table.shown_rows),
               default=Decimal(0))


def _grid(table: Table, bars: bool = True) -> tuple[list[list[str]], list[str], list[str]]:
    """(body, headers, alignments) of a table for tabulate, totals row and bars included."""
    largest = _largest(table)
    body = []
    for row in table.shown_rows:
        line = [shown(row.get(c.key), c) for c in table.columns]
        if table.bar and bars:
            line.append(text_bar(row.get(table.bar), largest))
        body.append(line)
    if table.total is not None:
        body.append([shown(table.total.get(c.key), c) for c in table.columns]
                    + ([""] if table.bar and bars else []))
    headers = [c.header for c in table.columns] + ([""] if table.bar and bars else [])
    align = ["right" if c.numeric else "left" for c in table.columns] + (
        ["left"] if table.bar and bars else [])
    return body, headers, align


def to_text(report: Report) -> str:
    from crmctl.render import aligned

    if report.empty is not None:
        return "\n".join([report.empty] + ([report.incomplete] if report.incomplete else [])) + "\n"
    parts = [report.heading]
    if report.summary:
        parts.append("\n".join(report.summary))
    for table in report.tables:
        if not table.rows and table.total is None:
            parts.append(f"{table.title}\n  {table.empty}")
            continue
        body, headers, align = _grid(table)
        grid = aligned(body, headers, align)
        if table.total is not None:  # a rule above the totals row
            lines = grid.splitlines()
            lines.insert(len(lines) - 1, lines[1])
            grid = "\n".join(lines)
        parts.append(f"{table.title}\n{grid}")
    if report.incomplete:
        parts.append(report.incomplete)
    return "\n\n".join(parts) + "\n"


def to_markdown(report: Report) -> str:
    from tabulate import tabulate

    if report.empty is not None:
        return "\n\n".join([f"# {report.heading}", report.empty]
                           + ([f"**{report.incomplete}**"] if report.incomplete else [])) + "\n"
    parts = [f"# {report.heading}"]
    if report.summary:
        parts.append("\n".join(f"- {line}" for line in report.summary))
    for table in report.tables:
        if not table.rows and table.total is None:
            parts.append(f"## {table.title}\n\n_{table.empty}_")
            continue
        body, headers, align = _grid(table)
        if table.total is not None:
            body[-1] = [f"**{v}**" if v else v for v in body[-1]]
        grid = tabulate(body, headers=headers, tablefmt="github", colalign=align,
                        disable_numparse=True)
        parts.append(f"## {table.title}\n\n{grid}")
    if report.incomplete:
        parts.append(f"**{report.incomplete}**")
    return "\n\n".join(parts) + "\n"


def to_csv(report: Report) -> str:
    """The report's first dataset, one row per line, every field (spreadsheets want one
    rectangular table; JSON carries all of them)."""
    datasets = report.datasets()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if not datasets:
        return ""
    key = report.tables[0].key
    rows = datasets[key]
    fields = _fields(report.tables, key, rows)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([csv_cell(row.get(f)) for f in fields])
    return buffer.getvalue()


def _fields(tables: Iterable[Table], key: str, rows: list[dict[str, Any]]) -> list[str]:
    fields: dict[str, None] = {}
    for row in rows:
        fields.update(dict.fromkeys(row))
    for table in tables:  # a table with no rows still names its columns
        if table.key == key:
            fields.update(dict.fromkeys(c.key for c in table.columns))
    return list(fields)


def to_json(report: Report) -> str:
    document = {
        "report": report.name, "title": report.title, "today": report.today.isoformat(),
        "since": report.since.isoformat() if report.since else None,
        "until": (report.until or report.today).isoformat()
        if report.since or report.until else None,
        "as_of": report.as_of.isoformat() if report.as_of else None,
        "empty": report.empty is not None,
        "incomplete": [{"path": p, "error": e} for p, e in report.broken],
        "summary": report.facts,
        **{key: rows for key, rows in report.datasets().items()},
    }
    return exact_json(plain(document), indent=2, ensure_ascii=False) + "\n"


STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2328;max-width:60em;
margin:1.5em auto;padding:0 1em;line-height:1.4}
h1{font-size:1.4em;margin-bottom:.3em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin:.3em 0 1em}
th,td{padding:.25em .7em;border-bottom:1px solid #d0d7de;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:600;border-top:2px solid #8c959f}
p.summary{margin:.2em 0}p.empty{color:#57606a;font-style:italic}
p.incomplete{color:#9a6700;background:#fff8c5;padding:.5em .8em;border-radius:4px}
""".strip()


def _svg_bar(value: Any, largest: Decimal, label: str) -> str:
    number = Decimal(str(value or 0))
    width = 0 if largest <= 0 or number <= 0 else max(1, round(float(number / largest) * 160))
    return (f'<svg width="160" height="12" role="img" aria-label="{escape(label)}" '
            f'xmlns="http://www.w3.org/2000/svg"><rect width="{width}" height="12" rx="2" '
            f'fill="#2f6fca"/></svg>')


def to_html(report: Report) -> str:
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{escape(report.heading)}</title>", f"<style>{STYLE}</style></head><body>",
           f"<h1>{escape(report.heading)}</h1>"]
    if report.incomplete:
        out.append(f'<p class="incomplete">{escape(report.incomplete)}</p>')
    if report.empty is not None:
        out.append(f'<p class="empty">{escape(report.empty)}</p>')
    else:
        out += [f'<p class="summary">{escape(line)}</p>' for line in report.summary]
        for table in report.tables:
            out.append(f"<h2>{escape(table.title)}</h2>")
            if not table.rows and table.total is None:
                out.append(f'<p class="empty">{escape(table.empty)}</p>')
                continue
            out.append(_html_table(table))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_table(table: Table) -> str:
    largest = _largest(table)
    head = "".join(f'<th{" class=n" if c.numeric else ""}>{escape(c.header)}</th>'
                   for c in table.columns) + ("<th></th>" if table.bar else "")
    lines = [(row, False) for row in table.shown_rows]
    if table.total is not None:
        lines.append((dict(table.total), True))
    rows = []
    for row, is_total in lines:
        cells = "".join(f'<td{" class=n" if c.numeric else ""}>{escape(shown(row.get(c.key), c))}'
                        "</td>" for c in table.columns)
        if table.bar:
            column = _bar_column(table)
            label = f"{column.header} {shown(row.get(table.bar), column)}"
            cells += f"<td>{'' if is_total else _svg_bar(row.get(table.bar), largest, label)}</td>"
        rows.append(f'<tr{" class=total" if is_total else ""}>{cells}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _bar_column(table: Table) -> Column:
    return next(c for c in table.columns if c.key == table.bar)


def to_email(report: Report, *, to: str, sender: str, subject: str | None,
             now: datetime) -> str:
    """A complete RFC 5322 message: text and HTML alternatives, UTF-8, Date, Message-ID."""
    from email.message import EmailMessage
    from email.policy import SMTP
    from email.utils import format_datetime, make_msgid

    message = EmailMessage()
    message["From"] = _addresses(sender, "--from", single=True)
    message["To"] = _addresses(to, "--to")
    if subject is not None and ("\n" in subject or "\r" in subject or not subject.strip()):
        raise UserError("--subject must be one line of text")
    message["Subject"] = subject or report.heading
    message["Date"] = format_datetime(now)
    domain = sender.rpartition("@")[2].strip(" >") or "crmctl.invalid"
    message["Message-ID"] = make_msgid(idstring="crmctl", domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to cron
    message.set_content(to_text(report), charset="utf-8")
    message.add_alternative(to_html(report), subtype="html", charset="utf-8")
    # sendmail -t reads a local message: line feeds, not the wire's CRLF.
    return message.as_bytes(policy=SMTP.clone(linesep="\n")).decode("utf-8")


def _addresses(text: str, option: str, single: bool = False) -> str:
    """Mail addresses as typed (``a@b.com, Zoë <z@c.org>``), checked: a line break would let
    a typed value add headers of its own, so only real addresses pass."""
    from email.utils import getaddresses

    found = getaddresses([text]) if "\n" not in text and "\r" not in text else []
    if not found or any("@" not in address or " " in address for _, address in found) \
            or (single and len(found) != 1):
        raise UserError(f"{option} {text!r} is not {'a mail address' if single else 'a list of mail addresses'}",
                        "e.g. manager@example.com or 'Pat Manager <pat@example.com>'")
    return text.strip()


def render(report: Report, fmt: str) -> str:
    return {"text": to_text, "md": to_markdown, "csv": to_csv, "json": to_json,
            "html": to_html}[fmt](report)
