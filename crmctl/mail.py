"""Mail messages as crmctl reads them: parties, dates, the plain-text body with quoted
replies and signatures trimmed (HTML turned into text), forwarded messages found inline or
attached, and what a domain says about a company. Python's ``email`` package parses; this
module only reads, it never touches a CRM.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from html.parser import HTMLParser

from crmctl.errors import UserError
FUTURE_TOLERANCE = timedelta(minutes=5)  # the sender's clock may run a little ahead
MAX_BODY = 10_000  # characters of body kept in a note: a log line stays a line
LEAD_SOURCE = "mail-in"

# Mailbox providers: an address there says nothing about the company a person works for.
FREE_MAIL = frozenset("""
    gmail.com googlemail.com outlook.com hotmail.com live.com msn.com passport.com
    yahoo.com ymail.com rocketmail.com aol.com aim.com icloud.com me.com mac.com
    proton.me protonmail.com protonmail.ch pm.me tutanota.com tuta.io fastmail.com
    fastmail.fm hey.com zoho.com zohomail.com gmx.com gmx.net gmx.de gmx.at gmx.ch web.de
    mail.com email.com yandex.com yandex.ru ya.ru mail.ru inbox.ru bk.ru list.ru rambler.ru
    qq.com 163.com 126.com yeah.net sina.com naver.com daum.net hanmail.net t-online.de
    freenet.de arcor.de orange.fr wanadoo.fr free.fr sfr.fr laposte.net libero.it virgilio.it
    tiscali.it btinternet.com sky.com virginmedia.com talktalk.net comcast.net verizon.net
    att.net sbcglobal.net bellsouth.net cox.net charter.net earthlink.net juno.com
    optonline.net rediffmail.com seznam.cz wp.pl o2.pl onet.pl interia.pl bluewin.ch
    telenet.be skynet.be ziggo.nl kpnmail.nl xs4all.nl shaw.ca rogers.com sympatico.ca
    bigpond.com optusnet.com.au uol.com.br bol.com.br terra.com.br
""".split())
# Providers with a domain in many countries: hotmail.co.uk, yahoo.fr, gmx.ch, ...
FREE_MAIL_BRANDS = frozenset("gmail googlemail hotmail outlook live yahoo aol gmx yandex "
                             "icloud protonmail".split())
# Second-level labels under a country code: acme.co.uk is Acme, not Co.
_SECOND_LEVEL = frozenset("co com org net ac gov edu ltd plc or ne go gob mil nom sch".split())

_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


# --- the message -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Party:
    """One address on a message: ``address`` lowercased, ``name`` the decoded display name."""

    address: str
    name: str = ""

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].rstrip(".")

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


@dataclass(frozen=True)
class Mail:
    """What crmctl reads from one message (or from a message forwarded inside it)."""

    sender: Party | None
    to: tuple[Party, ...]
    cc: tuple[Party, ...]
    subject: str
    date: datetime | None          # with its UTC offset, as the Date header gave it
    body: str                      # plain text, quoted replies and signatures trimmed
    message_id: str
    forwarded: "Mail | None" = None  # the message this one forwards, if any

    @property
    def recipients(self) -> tuple[Party, ...]:
        return self.to + self.cc


def parse_mail(data: bytes) -> Mail:
    """The parts of an RFC 5322 message crmctl logs; UserError when it is not one."""
    if not data.strip():
        raise UserError("the message is empty", "give one RFC 5322 message, headers first")
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not message.keys():
        raise UserError("this is not an email message: it has no headers",
                        "give one RFC 5322 message (a .eml file, or what procmail delivers)")
    mail = _mail_of(message, fallback_date=None)
    if mail.sender is None:
        raise UserError("the message has no From address", "crmctl logs mail by who sent it")
    return mail


def _mail_of(message: EmailMessage, fallback_date: datetime | None) -> Mail:
    senders = _parties(message, "from")
    subject = _one_line(_header(message, "subject"))
    date = _header_date(message) or fallback_date
    text = _body_of(message)
    raw_id = _one_line(_header(message, "message-id"))
    sender = senders[0] if senders else None
    message_id = raw_id or _synthetic_id(sender, _header(message, "date"), subject, text)
    forwarded = _attached_message(message, date) or _inline_forward(text, subject, date,
                                                                     message_id)
    return Mail(sender, tuple(_parties(message, "to")), tuple(_parties(message, "cc")),
                subject, date, trim(text), message_id, forwarded)


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError, LookupError):  # a header too broken to parse
        value = None
    return str(value) if value is not None else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _parties(message: EmailMessage, name: str) -> list[Party]:
    found: list[Party] = []
    try:
        values = message.get_all(name) or []
    except (ValueError, TypeError, IndexError, LookupError):
        values = []
    for value in values:
        addresses = getattr(value, "addresses", None)
        if addresses is not None:
            pairs = [(a.display_name, a.addr_spec) for a in addresses]
        else:
            pairs = email.utils.getaddresses([str(value)])
        for display, address in pairs:
            party = _party(display, address)
            if party is not None and party not in found:
                found.append(party)
    return found


def _party(display: str, address: str) -> Party | None:
    address = address.strip().strip("<>").lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain:
        return None
    name = _one_line(display or "").strip("'\" ")
    if name.lower() == address:
        name = ""
    return Party(address, name)


def _header_date(message: EmailMessage) -> datetime | None:
    try:
        header = message.get("date")
        moment = getattr(header, "datetime", None) if header is not None else None
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # "-0000"


def _synthetic_id(sender: Party | None, date: str, subject: str, body: str) -> str:
    """A stable stand-in for a missing Message-ID, so a repeat is still caught."""
    digest = hashlib.sha256("\0".join(
        [sender.address if sender else "", _one_line(date), subject, body]).encode()).hexdigest()
    return f"<{digest[:32]}@mail-in.crmctl.invalid>"


# --- the body --------------------------------------------------------------------------------

def _body_of(message: EmailMessage) -> str:
    """The message's text: its text/plain part, else its HTML turned into text."""
    for subtype in ("plain", "html"):  # an empty text/plain beside the HTML: use the HTML
        part = message.get_body(preferencelist=(subtype,))
        text = _text_of(part) if part is not None else ""
        if text.strip():
            return text
    return ""


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):  # an unknown charset
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return content.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")


class _HtmlText(HTMLParser):
    """Text of an HTML mail: line breaks where the blocks were, blockquotes as "> " lines."""

    SKIP = {"script", "style", "head", "title", "template", "noscript"}
    BREAK = {"br"}
    LINE = {"div", "li", "tr", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
            "dt", "dd", "section", "article", "header", "footer", "address", "center"}
    PARAGRAPH = {"p", "pre", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self.current: list[str] = []
        self.depth = 0      # blockquote nesting
        self.skipping = 0   # inside script/style
        self.pre = 0

    def _end_line(self, always: bool = False) -> None:
        text = "".join(self.current).strip()
        if text or always:
            self.lines.append((self.depth, text))
        self.current = []

    def _blank(self) -> None:
        self._end_line()
        if self.lines and self.lines[-1][1]:
            self.lines.append((self.depth, ""))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "body":
            self.skipping = 0  # a <head> never closed
        elif tag in self.BREAK:
            self._end_line(always=True)
        elif tag == "blockquote":
            self._end_line()
            self.depth += 1
        elif tag in self.PARAGRAPH:
            self._blank()
            self.pre += tag == "pre"
        elif tag in self.LINE:
            self._end_line()
            if tag == "li":
                self.current.append("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "blockquote":
            self._end_line()
            self.depth = max(0, self.depth - 1)
        elif tag in self.PARAGRAPH:
            self._blank()
            self.pre = max(0, self.pre - (tag == "pre"))
        elif tag in self.LINE:
            self._end_line()

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.pre:
            for n, piece in enumerate(data.split("\n")):
                if n:
                    self._end_line(always=True)
                self.current.append(piece)
            return
        text = re.sub(r"\s+", " ", data)
        if not "".join(self.current).strip():
            text = text.lstrip()
        self.current.append(text)

    def text(self) -> str:
        self._end_line()
        out = []
        for depth, line in self.lines:
            out.append(("> " * depth + line).rstrip() if depth else line)
        return "\n".join(out)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser.text()


_ATTRIBUTION = re.compile(
    r"^(On\s.+\swrote|Am\s.+\sschrieb\s.+|Le\s.+\sa\s+écrit|El\s.+\sescribió|Op\s.+\sschreef"
    r"\s.+|Il\s.+\sha\s+scritto)\s*:\s*$", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^(On|Am|Le|El|Op|Il)\s", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"(wrote|schrieb.*|a\s+écrit|escribió|schreef.*|ha\s+scritto)"
                              r"\s*:\s*$", re.IGNORECASE)
_ORIGINAL = re.compile(r"^-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine)"
                       r"\s*-{2,}$", re.IGNORECASE)
_RULE = re.compile(r"^_{10,}$")
_HEADER_LINE = re.compile(r"^\*?(From|Von|De)\s*:\*?\s", re.IGNORECASE)
_SENT_LINE = re.compile(r"^\*?(Sent|Date|Gesendet|Datum|Envoyé|To|An)\s*:", re.IGNORECASE)
_SIGNATURE = re.compile(r"^--\s?$")
_MOBILE = re.compile(r"^(Sent from my \w+|Sent from (Mail|Outlook) for \w+|Get Outlook for \w+)",
                     re.IGNORECASE)


def trim(text: str) -> str:
    """The new words of a message: no quoted reply, no signature, no runs of blank lines.

    Cut from a signature ("-- ", "Sent from my iPhone") or an Outlook reply header
    ("-----Original Message-----", "From: ... / Sent: ...") to the end; drop "On ... wrote:"
    attributions and every ">" line (so answers written between quotes are kept).
    """
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    kept: list[str] = []
    n = 0
    while n < len(lines):
        line = lines[n]
        bare = line.strip()
        following = [l.strip() for l in lines[n + 1:n + 4] if l.strip()]
        if _SIGNATURE.match(line) or _MOBILE.match(bare) or _ORIGINAL.match(bare):
            break
        if _RULE.match(bare) and following and _HEADER_LINE.match(following[0]):
            break
        if _HEADER_LINE.match(bare) and following and _SENT_LINE.match(following[0]):
            break
        if _ATTRIBUTION.match(bare):
            n += 1
            continue
        if (_ATTRIBUTION_START.match(bare) and n + 1 < len(lines)
                and _ATTRIBUTION_END.search(lines[n + 1].strip())
                and len(bare) + len(lines[n + 1]) < 300):
            n += 2  # "On Mon, ... Jane Doe <jane@acme.com>" / "wrote:", wrapped
            continue
        if bare.startswith(">"):
            n += 1
            continue
        kept.append(line)
        n += 1
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY].rstrip() + "\n[…]"
    return body


# --- forwarded messages ------------------------------------------------------------------

_FORWARD_MARKER = re.compile(
    r"^(-{3,}\s*(Forwarded message|Forwarded Message|Original Message|Weitergeleitete Nachricht"
    r"|Message transféré)\s*-{3,}|Begin forwarded message\s*:|Anfang der weitergeleiteten "
    r"Nachricht\s*:)$", re.IGNORECASE)
_FIELD = re.compile(r"^\*?(From|To|Cc|Date|Sent|Subject|Reply-To|Von|An|Datum|Betreff|Gesendet)"
                    r"\s*:\*?\s*(.*)$", re.IGNORECASE)
_FIELD_NAMES = {"von": "from", "an": "to", "datum": "date", "gesendet": "date", "sent": "date",
                "betreff": "subject"}
_FWD_PREFIX = re.compile(r"^\s*((fwd?|wg|tr|fw)\s*:\s*)+", re.IGNORECASE)


def _inline_forward(text: str, subject: str, date: datetime | None,
                    message_id: str) -> Mail | None:
    """The message forwarded inline in ``text`` (its header block, then its body), if any."""
    lines = text.split("\n")
    for n, line in enumerate(lines):
        bare = line.strip().lstrip("> ").strip()
        if _FORWARD_MARKER.match(bare):
            start = n + 1
        elif _RULE.match(bare) and any(_FIELD.match(l.strip()) for l in lines[n + 1:n + 3]
                                       if l.strip()) and _FWD_PREFIX.match(subject):
            start = n + 1  # Outlook: a rule, then From:/Sent:/To:/Subject:
        else:
            continue
        found = _forwarded_block(lines[start:], subject, date, message_id)
        if found is not None:
            return found
    return None


def _forwarded_block(lines: list[str], subject: str, date: datetime | None,
                     message_id: str) -> Mail | None:
    quoted = [l for l in lines if l.strip()]
    if quoted and sum(l.lstrip().startswith(">") for l in quoted) > len(quoted) * 0.8:
        lines = [re.sub(r"^\s*> ?", "", l) for l in lines]  # a client that quotes forwards
    fields: dict[str, str] = {}
    last = None
    n = 0
    while n < len(lines) and not lines[n].strip():
        n += 1
    while n < len(lines):
        line = lines[n].strip()
        if not line:
            break
        match = _FIELD.match(line)
        if match:
            last = _FIELD_NAMES.get(match.group(1).lower(), match.group(1).lower())
            fields.setdefault(last, match.group(2).strip())
        elif last in ("to", "cc") and "@" in line:  # a wrapped address list
            fields[last] += " " + line
        else:
            break
        n += 1
    senders = _loose_parties(fields.get("from", ""))
    if not senders:
        return None
    body = "\n".join(lines[n:])
    return Mail(senders[0], tuple(_loose_parties(fields.get("to", ""))),
                tuple(_loose_parties(fields.get("cc", ""))),
                _one_line(fields.get("subject", "")) or _FWD_PREFIX.sub("", subject),
                _loose_date(fields.get("date", ""), date) or date, trim(body), message_id)


def _loose_parties(text: str) -> list[Party]:
    """Addresses as mail clients print them in a forward: "Jane <jane@x>", "Jane
    [mailto:jane@x]", "Doe, Jane <jane@x>", or a bare address."""
    text = re.sub(r"\[mailto:([^\]]+)\]", r"<\1>", text, flags=re.IGNORECASE)
    found: list[Party] = []
    end = 0
    for address in _ADDRESS.finditer(text):
        before = text[end:address.start()]
        end = address.end()
        name = before.strip().lstrip(">,; ").rstrip("<(").strip().strip("'\"*").strip()
        party = _party(name, address.group(0))
        if party is not None and party not in found:
            found.append(party)
    return found


def _loose_date(text: str, outer: datetime | None) -> datetime | None:
    """A date as a client printed it in a forward; a date without an offset is read in the
    forwarding message's zone (Gmail and Outlook print the forwarder's local time)."""
    text = _one_line(text)
    if not text:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is None:
        import dateparser  # ~50 ms: only for a forward whose date is not RFC 5322

        try:
            moment = dateparser.parse(text.replace(" at ", " "), languages=["en", "de", "fr"],
                                      settings={"PREFER_DATES_FROM": "past"})
        except (ValueError, OverflowError):
            moment = None
    if moment is None:
        return None
    if moment.tzinfo is None:
        zone = outer.tzinfo if outer is not None else timezone.utc
        return moment.replace(tzinfo=zone)
    offset = moment.utcoffset()
    return moment.replace(tzinfo=timezone(offset)) if offset is not None else moment


def _attached_message(message: EmailMessage, date: datetime | None) -> Mail | None:
    """A message forwarded as an attachment (message/rfc822)."""
    for part in message.walk():
        if part.get_content_type() != "message/rfc822":
            continue
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, EmailMessage):
            mail = _mail_of(inner, fallback_date=date)
            if mail.sender is not None:
                return replace(mail, forwarded=None)
    return None


# --- who it is from and to -----------------------------------------------------------------

def is_free_mail(domain: str) -> bool:
    domain = domain.lower()
    if domain in FREE_MAIL:
        return True
    labels = domain.split(".")
    return len(labels) >= 2 and _core_label(labels) in FREE_MAIL_BRANDS


def _core_label(labels: list[str]) -> str:
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[0]


def registrable_domain(domain: str) -> str:
    labels = domain.lower().split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def company_name_of(domain: str) -> str:
    """"example-corp.com" -> "Example Corp", "acme.co.uk" -> "Acme"."""
    core = _core_label(domain.lower().split("."))
    if core.startswith("xn--"):
        try:
            core = core.encode("ascii").decode("idna")
        except UnicodeError:
            pass
    return " ".join(w[:1].upper() + w[1:] for w in re.split(r"[-_.]+", core) if w) or domain


def person_name_of(party: Party) -> str:
    """The display name ("Doe, Jane" -> "Jane Doe"), else one made from the address."""
    name = party.name
    if "@" in name or not any(ch.isalpha() for ch in name):
        name = ""
    if name.count(",") == 1:
        last, first = (p.strip() for p in name.split(","))
        if first and last:
            name = f"{first} {last}"
    if not name:
        local = party.address.partition("@")[0].partition("+")[0]
        name = " ".join(w[:1].upper() + w[1:] for w in re.split(r"[._-]+", local) if w)
    return name or party.address
