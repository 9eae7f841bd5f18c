"""E-mail (.eml, RFC 822 / MIME; the stdlib ``email`` package): who sent it to whom, when and about what (one
sentence) and who was copied (a second), the body (its plain-text part, else the main text of its HTML part),
then each attachment of a supported format under a heading of its own ("Attachment: report.pdf"; a forwarded
e-mail, with its own attachments, one level deep: "Forwarded e-mail: <its subject>"). The subject is the title."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import DocumentError
from rag.formats.common import Extracted, _Blocks, _join_wrapped_lines, _one_line, _reject_binary

if TYPE_CHECKING:
    from email.message import EmailMessage

VERSION = 5
"""Recorded in the index (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes the text
this loader gives, so that the files it read are read again at the next sync."""


HEADERS = ("From", "To", "Cc", "Date", "Subject")
"""The headers written before the body, in this order (the others are routing detail)."""
MAX_ATTACHMENTS = 20
"""Attachments read per e-mail (pictures and other unreadable kinds not counted); the others are named in a
warning."""


def _sent(fields: dict[str, str]) -> str:
    """Who sent the e-mail to whom, when and about what, as one sentence, and who was copied, as a second:
    "Anna Nowak <anna@example.com> sent this e-mail to Team <team@example.com> on Tuesday 3 December 2024 at
    09:15 (UTC+01:00), with the subject "Budget". It was copied to Tom Berg <tom@example.com>."
    Written so, "Who sent the e-mail about the budget?" reads like the sentence that answers it ("From: Anna"
    is a form's field, which the reader, trained on prose, does not take for a sender). The copy stands alone:
    inside the long first sentence its vector was far from "Who was copied?" (cosine 0.07 against 0.48)."""
    sentence = f"{fields['From'] or 'Someone'} sent this e-mail" + (f" to {fields['To']}" if fields["To"] else "")
    if fields["Date"]:
        sentence += f" on {_date(fields['Date'])}"
    if fields["Subject"]:
        sentence += f', with the subject "{fields["Subject"]}"'
    return sentence + "." + (f" It was copied to {fields['Cc']}." if fields["Cc"] else "")


def _date(header: str) -> str:
    """A Date header as people write dates ("Tuesday 3 December 2024 at 09:15 (UTC+01:00)"), or as it is."""
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return header
    offset = when.strftime("%z")
    zone = f" (UTC{offset[:3]}:{offset[3:]})" if offset else ""
    return f"{_DAYS[when.weekday()]} {when.day} {_MONTHS[when.month - 1]} {when.year} at {when:%H:%M}{zone}"


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip
"""In English whatever the machine's locale (strftime's %A and %B follow it)."""


def _content(part: Any) -> str | bytes:
    if part.get_content_maintype() == "text" and part.get_content_charset() is None:
        # no charset declared (a message saved by hand, or by a script): read as 7-bit ASCII, "£" was "��"
        payload = part.get_payload(decode=True) or b""
        try:
            return str(payload.decode("utf-8"))
        except UnicodeDecodeError:
            return str(payload.decode("cp1252", "replace"))
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset or a damaged transfer encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace") if part.get_content_maintype() == "text" else payload
    if isinstance(content, (str, bytes)):
        return content
    as_bytes = getattr(content, "as_bytes", None)  # an attached e-mail (message/rfc822) arrives parsed
    return as_bytes() if callable(as_bytes) else str(content)


def _body(path: Path, message: EmailMessage) -> tuple[str, tuple[tuple[int, str], ...]]:
    """The message's body as text, with the sections of an HTML body."""
    from rag.formats import html

    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", ()
    content = _content(part)
    if part.get_content_subtype() == "html":
        raw = content.encode("utf-8") if isinstance(content, str) else content
        extracted = html.load(path, raw)
        return extracted.text, extracted.sections
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    return _signed(_unwrapped(_QUOTED.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))), ()


WRAPPED_WIDTH = 50
"""A paragraph with a line this long or longer was wrapped by the mail program (at ~72 characters)."""


def _unwrapped(body: str) -> str:
    """``body`` with the lines of its wrapped paragraphs rejoined as a PDF's are (a line that ends "collected on
    Fridays by his" goes on with "grandmother, Mrs Eileen Grant"); a paragraph of short lines (a sign-off, a list
    of prices) stays as written."""
    paragraphs = body.split("\n\n")
    return "\n\n".join(
        _join_wrapped_lines(p) if max(map(len, p.split("\n"))) >= WRAPPED_WIDTH else p for p in paragraphs
    )


_QUOTED = re.compile(r"^[ \t]*>(?:[ \t]*>)*(?:[ \t]|$)", re.MULTILINE)
"""The marks that open the lines of an earlier message quoted in a reply ("> ", ">> ", "> > "): taken off, so that
its sentences read as any other (the line "On 1 Sep 2025, Dave Collins wrote:" still says whose they are). A line
that starts with ">5 kg" is no quote."""


_SIGN_OFF = re.compile(
    r"^(?P<off>[ \t]*(?:(?:best|kind|warm|many)\s+)?(?:regards|thanks|thank you|cheers|best|sincerely|yours(?:\s+\w+)?)"
    r"[ \t]*[,!.]?[ \t]*\n)(?P<name>[ \t]*[A-Z][^\n]{1,40}?)[ \t]*\n(?P<role>[ \t]*[A-Z][^\n.!?]{1,60}?)[ \t]*(?:\n|$)",
    re.IGNORECASE | re.MULTILINE,
)
"""A sign-off ("Thanks,", "Best regards,") with the name and the role under it."""
_SIGNATURE_LAST = re.compile(
    r"\n[ \t]*\n(?P<name>[ \t]*[A-Z][\w.'’-]*(?:[ \t]+[A-Z][\w.'’-]*){1,3})[ \t]*\n(?P<role>[ \t]*[A-Z][^\n.!?]{2,60}?)"
    r"[ \t]*\s*$"
)
"""A body that ends with a name and a role on their own lines, without a sign-off ("Oliver Grant" / "Chief
Operating Officer")."""


def _signed(body: str) -> str:
    """``body`` with its signature's name and role on one line ("Maria Lindqvist, Facilities Manager"), so that it
    reads as one statement of who holds the role ("Who is the Facilities Manager?"), not two words apiece."""
    signed = list(_SIGN_OFF.finditer(body))
    found = signed[-1] if signed else _SIGNATURE_LAST.search(body)  # the last: not a "Thanks," that opens a line
    if found is None or len(found["name"].split()) > 5:
        return body
    return f"{body[: found.end('name')]}, {found['role'].strip()}{body[found.end('role') :]}"


def _attachments(path: Path, message: EmailMessage, out: _Blocks, warnings: list[str], nested: bool) -> None:
    """Each attachment that a loader reads (by its name's suffix, else its content type), under its own heading;
    the ones that cannot be read, or past :data:`MAX_ATTACHMENTS`, named in ``warnings``."""
    from rag.documents import LOADERS
    from rag.formats.image import SUFFIXES as PICTURES

    read = 0
    for number, part in enumerate(message.iter_attachments(), start=1):
        if not part.get_filename() and part.get_content_type() == "text/plain" and not part.is_attachment():
            text = _content(part)  # a body sent in pieces, a mailing list's footer: more of the body
            out.add_text(text if isinstance(text, str) else text.decode("utf-8", "replace"))
            continue
        name = _one_line(part.get_filename() or "") or f"attachment {number}"
        suffix = Path(name).suffix.lower()
        if suffix not in LOADERS:  # no name, or an unusual one: the content type says what it is
            suffix = _BY_TYPE.get(part.get_content_type(), "")
        if suffix not in LOADERS or suffix in PICTURES or (nested and suffix == ".eml"):
            continue  # pictures (logos, photos: not read by OCR), invitations; a mail attached to an attached mail
        if read == MAX_ATTACHMENTS:
            warnings.append(f"attachment {name} not read (only {MAX_ATTACHMENTS} are)")
            continue
        read += 1
        loader = functools.partial(load, nested=True) if suffix == ".eml" else LOADERS[suffix]
        content = _content(part)
        raw = content.encode("utf-8") if isinstance(content, str) else content
        inner = path.with_name(f"{path.name}#{_SEPARATORS.sub('_', name)}")  # "reports/fees.txt" is a name here
        try:
            extracted = loader(inner, raw)
        except DocumentError as error:
            warnings.append(f"attachment {name} could not be read: {error.reason}")
            continue
        warnings.extend(f"attachment {name}: {w}" for w in extracted.warnings)
        forwarded = not part.get_filename() and suffix == ".eml"  # its subject names it, not "attachment 2"
        heading = f"Forwarded e-mail: {extracted.title or 'no subject'}" if forwarded else f"Attachment: {name}"
        out.add(heading, heading=True)
        out.add_text(extracted.text, extracted.sections)


_BY_TYPE = {
    "message/rfc822": ".eml",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/csv": ".csv",
    "text/html": ".html",
    "application/pdf": ".pdf",
    "application/epub+zip": ".epub",
    "application/rtf": ".rtf",
    "text/rtf": ".rtf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.oasis.opendocument.presentation": ".odp",
}
"""Suffixes for the content types of attachments without a usable name (a fixed table: the machine's own
``mime.types`` would make the same mail read differently on two machines)."""
_SEPARATORS = re.compile(r"[\\/\x00]")


def load(path: Path, raw: bytes, nested: bool = False) -> Extracted:
    """The e-mail in ``raw``; ``nested`` for one attached to another (an e-mail attached to it is not read, so
    a chain of forwarded mails cannot nest without end)."""
    import email
    import email.policy
    from email.message import EmailMessage

    try:  # a damaged or hostile message (thousands of nested parts: RecursionError) is one bad file
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)  # so says the default policy
        fields = [(name, _one_line(str(message.get(name, "")))) for name in HEADERS]
    except Exception as exc:
        raise DocumentError(path, f"unreadable e-mail ({type(exc).__name__}: {exc})") from None
    if not any(value for name, value in fields if name != "Cc"):
        raise DocumentError(path, "not an e-mail (no From, To, Date or Subject header)")
    out = _Blocks()
    out.add(_sent(dict(fields)))
    warnings: list[str] = []
    try:
        body, sections = _body(path, message)
        _reject_binary(path, body)
        out.add_text(body, sections)
        _attachments(path, message, out, warnings, nested)
    except DocumentError:
        raise
    except Exception as exc:  # the MIME structure of a damaged or hostile message
        raise DocumentError(path, f"unreadable e-mail ({type(exc).__name__}: {exc})") from None
    subject = dict(fields)["Subject"]
    return Extracted(out.text(), subject or None, sections=tuple(out.sections), warnings=tuple(warnings))
