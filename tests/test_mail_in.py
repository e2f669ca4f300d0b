"""crmctl mail-in: log email forwarded or BCC'd to the CRM, or delivered by a mail hook.

    crmctl mail-in [FILE] [--maildir DIR] [--create-lead] [--dry-run]

The messages are real-shaped files in tests/mail/: a Gmail forward, an Outlook HTML-only
reply in base64 with CRLF line ends, a Thunderbird multipart/alternative, a Mutt message in
ISO-8859-1 with RFC 2047 headers, a multipart/mixed with a PDF attached.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import Cli, activities, add_users, build_once, copy_of, git

MAIL = Path(__file__).resolve().parent / "mail"
NOW = "2026-11-25T09:00:00+01:00"


def mail(name: str) -> bytes:
    return (MAIL / name).read_bytes()






def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def shown(cli: Cli, ref: str) -> dict:
    return json.loads(cli.ok("show", ref, "--format", "json").stdout)


def a_team_and_its_clients(cli: Cli) -> None:
    """Sarah and Jim sell; Acme (Jane, Bob), Globex (Hank), and a one-man shop whose
    domain an import took from his gmail address."""
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    cli.ok("add", "company", "Acme Products, Inc.", "--domain", "acme-products.com")
    cli.ok("add", "person", "Jane Doe", "--company", "Acme Products",
           "--email", "jane.doe@acme-products.com")
    cli.ok("add", "person", "Bob Ray", "--company", "Acme Products",
           "--email", "bob.ray@acme-products.com")
    cli.ok("add", "company", "Globex", "--domain", "globex.com")
    cli.ok("add", "person", "Hank Scorpio", "--company", "Globex", "--email", "hank@globex.com")
    cli.ok("add", "company", "Lumbergh Consulting", "--domain", "gmail.com")
    cli.ok("add", "person", "Peter Gibbons", "--company", "Lumbergh Consulting",
           "--email", "peter.gibbons@gmail.com")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory, a_team_and_its_clients)


@pytest.fixture
def crm(template, tmp_path, monkeypatch) -> Cli:
    monkeypatch.setenv("CRMCTL_NOW", NOW)
    return copy_of(template, tmp_path, monkeypatch)


def last_commit(root: Path) -> tuple[str, str]:
    """(author, full message) of HEAD."""
    return git(root, "log", "-1", "--format=%an <%ae>"), git(root, "log", "-1", "--format=%B")


# --- received, sent, forwarded ------------------------------------------------------------

def test_a_reply_from_a_client_is_logged_as_received_by_the_user_it_was_to(crm) -> None:
    before = commits(crm.root)
    out = crm.ok("mail-in", input=mail("reply-from-client.eml"))
    assert out.stdout == \
        'Logged email-received from "Acme Products, Inc." (Jane Doe): Re: pricing for 2027\n'
    [entry] = activities(crm.root)
    assert (entry["type"], entry["company"], entry["person"]) == \
        ("email-received", "acme-products", "jane-doe")
    assert (entry["by"], entry["by_name"]) == ("sarah", "Sarah Closer")
    assert entry["at"] == "2026-11-24T14:31:55+01:00"  # the Date header, with its offset
    assert entry["subject"] == "Re: pricing for 2027"
    assert entry["message_id"] == "<CAJ8n2pX=Qw7rT3@mail.acme-products.com>"
    # The quoted mail and the signature are gone; the reply itself is whole.
    assert entry["note"] == (
        "Re: pricing for 2027\n\nHi Sarah,\n\nThanks for the numbers. 40 seats works for us "
        "if the price holds until March.\nCan you send the contract draft this week?\n\n"
        "Best,\nJane")
    assert commits(crm.root) == before + 1
    author, message = last_commit(crm.root)
    assert author == "Sarah Closer <sarah@example.com>"
    assert message.splitlines()[0] == \
        'Mail-in email-received from "Acme Products, Inc." (Jane Doe): Re: pricing for 2027'
    assert "Crm-Record: company/acme-products" in message
    assert "Crm-Record: person/jane-doe" in message
    # It is on Jane's timeline, and the first real contact moved her on, as crmctl log does.
    assert entry["id"] in [e["id"] for e in shown(crm, "jane-doe")["timeline"]]
    assert "person Jane Doe: status is now contact" in out.stderr
    assert git(crm.root, "status", "--porcelain") == ""


def test_a_mail_a_user_sent_to_two_companies_is_one_activity_each_in_one_commit(crm) -> None:
    before = commits(crm.root)
    out = crm.ok("mail-in", str(MAIL / "sent-with-cc.eml"))
    assert out.stdout == ('Logged email-sent to "Acme Products, Inc." (Jane Doe), "Globex" '
                          '(Hank Scorpio): Joint rollout: Acme and Globex\n')
    entries = activities(crm.root)
    assert sorted((e["company"], e["person"], e["type"], e["by"]) for e in entries) == [
        ("acme-products", "jane-doe", "email-sent", "sarah"),
        ("globex", "hank-scorpio", "email-sent", "sarah")]
    assert {e["message_id"] for e in entries} == {"<CAS4rah.0002@mail.example.com>"}
    assert commits(crm.root) == before + 1
    _, message = last_commit(crm.root)
    for record in ("company/acme-products", "person/jane-doe", "company/globex",
                   "person/hank-scorpio"):
        assert f"Crm-Record: {record}" in message
    # Jim, a user on Cc, is the team, not a counterparty: nothing is "not in the CRM".
    assert "not in the CRM" not in out.stderr
    assert "jim" not in {e.get("person") for e in entries}


def test_a_sent_mail_to_a_do_not_contact_record_is_logged_with_a_warning(crm) -> None:
    """`crmctl log` refuses outreach to them without --force; a mail already sent is a fact."""
    crm.ok("edit", "globex", "--set", "status=do-not-contact")
    out = crm.ok("mail-in", input=mail("sent-with-cc.eml"))
    assert "company Globex is marked do-not-contact" in out.stderr
    assert {e["company"] for e in activities(crm.root)} == {"acme-products", "globex"}


def test_multipart_alternative_uses_the_plain_part_without_quotes_or_signature(crm) -> None:
    crm.ok("mail-in", input=mail("multipart-alternative.eml"))
    [entry] = activities(crm.root)
    assert (entry["type"], entry["person"], entry["by"]) == ("email-received", "bob-ray", "jim")
    assert entry["at"] == "2026-11-24T11:19:47-05:00"
    # The answer written between the quotes stays; the quotes, the wrapped "On ... wrote:"
    # and the "-- " signature go.
    assert entry["note"] == (
        "Re: onboarding call\n\nHi Jim,\n\nThursday at 10:00 works. I'll bring our IT lead, "
        "who will ask about SSO – please have someone there who can answer.\n\n"
        "Two: mine and Priya's.\n\nBob")


def test_an_html_only_mail_is_turned_into_text(crm) -> None:
    out = crm.ok("mail-in", input=mail("html-only.eml"))
    assert out.stdout == 'Logged email-received from "Globex" (Hank Scorpio): RE: Globex proposal\n'
    [entry] = activities(crm.root)
    assert entry["by"] == "jim" and entry["at"] == "2026-11-24T17:44:05+00:00"
    # Paragraphs, <br> and list items become lines; style, script and the Outlook reply
    # header (From: ... Sent: ...) with the mail it quotes are dropped; entities decoded.
    assert entry["note"] == (
        "RE: Globex proposal\n\nHi Jim,\n\nWe reviewed the proposal with finance. Two things "
        "before we sign:\n\n- the volume discount should start at 50 seats, not 100\n"
        "- payment terms of 45 days & invoicing per quarter\n\nCan you confirm by Friday?\n"
        "Thanks,\nHank")


def test_encoded_subject_and_names_are_decoded(crm) -> None:
    """Mutt, ISO-8859-1 quoted-printable body, RFC 2047 Q and B encoded headers."""
    out = crm.ok("mail-in", input=mail("encoded-headers.eml"))
    subject = "Angebot für 2027 – nächste Schritte ✓"
    assert out.stdout == f'Logged email-received from "Acme Products, Inc.": {subject}\n'
    [entry] = activities(crm.root)
    assert entry["subject"] == subject
    assert "person" not in entry  # Renée is not in the CRM; her domain is Acme's
    assert entry["company"] == "acme-products"
    assert entry["note"].startswith(subject + "\n\nGuten Tag Frau Closer,")
    assert entry["note"].endswith("Mit freundlichen Grüßen\nRenée François\nEinkauf")
    assert "schrieb" not in entry["note"]  # the German "Am ... schrieb ...:" quote is gone
    assert last_commit(crm.root)[1].splitlines()[0].endswith(subject)


def test_a_message_a_user_forwarded_inline_is_logged_as_the_original(crm) -> None:
    """Sarah forwards Jane's reply (Gmail, "---------- Forwarded message ---------") to the
    CRM's address: the forwarded message is what happened, with its own sender and date."""
    out = crm.ok("mail-in", input=mail("forwarded-inline.eml"))
    assert out.stdout == ('Logged email-received from "Acme Products, Inc." (Jane Doe): '
                          'Re: discount for a 3-year term\n')
    [entry] = activities(crm.root)
    assert (entry["type"], entry["person"], entry["by"]) == \
        ("email-received", "jane-doe", "sarah")
    # "Mon, Nov 23, 2026 at 3:14 PM", read in the forwarder's zone (+01:00).
    assert entry["at"] == "2026-11-23T15:14:00+01:00"
    assert entry["subject"] == "Re: discount for a 3-year term"
    assert entry["note"] == (
        "Re: discount for a 3-year term\n\nSarah,\n\nA 3-year term is fine if the discount "
        "is 15%. Bob will check the SSO\nrequirements before we sign.\n\nJane")
    assert entry["message_id"] == "<CAS4rah.fwd.0007@mail.gmail.com>"
    assert last_commit(crm.root)[0] == "Sarah Closer <sarah@example.com>"
    # Logged once, even when the forward arrives again.
    assert crm.ok("mail-in", input=mail("forwarded-inline.eml")).stdout.startswith(
        "already logged:")


def test_a_forward_to_a_client_is_a_mail_sent_to_the_client(crm) -> None:
    """Only a forward to no one the CRM knows is a forward *to the CRM*."""
    to_hank = mail("forwarded-inline.eml").replace(b"To: CRM <crm@example.com>",
                                                   b"To: Hank Scorpio <hank@globex.com>")
    out = crm.ok("mail-in", input=to_hank)
    assert out.stdout == ('Logged email-sent to "Globex" (Hank Scorpio): '
                          'Fwd: Re: discount for a 3-year term\n')
    [entry] = activities(crm.root)
    assert entry["at"] == "2026-11-24T09:02:11+01:00"


def test_outlook_original_message_blocks_are_trimmed(crm) -> None:
    message = (
        "From: Hank Scorpio <hank@globex.com>\r\nTo: Jim Seller <jim@example.com>\r\n"
        "Subject: RE: invoice\r\nDate: Tue, 24 Nov 2026 10:00:00 -0600\r\n"
        "Message-ID: <outlook-1@globex.com>\r\n\r\n"
        "Paid today.\r\n\r\nHank Scorpio\r\n\r\n-----Original Message-----\r\n"
        "From: Jim Seller <jim@example.com>\r\nSent: Monday, November 23, 2026 9:00 AM\r\n"
        "Subject: invoice\r\n\r\nPlease pay invoice 42.\r\n")
    crm.ok("mail-in", input=message)
    [entry] = activities(crm.root)
    assert entry["note"] == "RE: invoice\n\nPaid today.\n\nHank Scorpio"
    assert entry["at"] == "2026-11-24T10:00:00-06:00"


# --- once, and only about someone ---------------------------------------------------------

def test_the_same_message_twice_is_logged_once(crm) -> None:
    crm.ok("mail-in", input=mail("reply-from-client.eml"))
    before = commits(crm.root)
    # Delivered again, with one more Received: line in front, as a second hop adds.
    again = b"Received: from relay.example.net by mx.example.com; Tue, 24 Nov 2026 " \
            b"14:40:00 +0100\n" + mail("reply-from-client.eml")
    out = crm.ok("mail-in", input=again)
    assert out.stdout == "already logged: <CAJ8n2pX=Qw7rT3@mail.acme-products.com> " \
                         "(Re: pricing for 2027)\n"
    assert commits(crm.root) == before
    assert len(activities(crm.root)) == 1


def test_a_message_without_message_id_is_still_logged_once(crm) -> None:
    message = ("From: Jane Doe <jane.doe@acme-products.com>\nTo: sarah@example.com\n"
               "Subject: quick one\nDate: Tue, 24 Nov 2026 10:00:00 +0100\n\nCall me?\n")
    crm.ok("mail-in", input=message)
    assert crm.ok("mail-in", input=message).stdout.startswith("already logged: <")
    [entry] = activities(crm.root)
    assert entry["message_id"].endswith("@mail-in.crmctl.invalid>")


def test_a_message_that_matches_no_one_is_reported_and_nothing_is_written(crm) -> None:
    result = crm.fails(3, "mail-in", input=mail("new-lead.eml"))
    # The encoded display name is decoded; the team's own sales@ address is not a party.
    assert "Jürgen Müller <j.mueller@mueller-maschinenbau.de>" in result.stderr
    assert "sales@example.com" not in result.stderr
    assert "--create-lead" in result.stderr
    assert activities(crm.root) == []


def test_create_lead_adds_the_company_and_person_and_logs_in_one_commit(crm) -> None:
    before = commits(crm.root)
    out = crm.ok("mail-in", "--create-lead", input=mail("new-lead.eml"))
    assert out.stdout == ('Logged email-received from new lead "Mueller Maschinenbau" '
                          '(Jürgen Müller): Anfrage: CRM für unser Vertriebsteam\n')
    assert commits(crm.root) == before + 1
    company = shown(crm, "Mueller Maschinenbau")["record"]
    assert (company["id"], company["domain"], company["source"]) == \
        ("mueller-maschinenbau", "mueller-maschinenbau.de", "mail-in")
    person = shown(crm, "Jürgen Müller")["record"]
    assert person["emails"] == ["j.mueller@mueller-maschinenbau.de"]
    assert person["company"] == "mueller-maschinenbau"
    assert person["status"] == "contact"  # added as a lead; the mail is a first contact
    [entry] = activities(crm.root)
    assert (entry["company"], entry["person"], entry["by"]) == \
        ("mueller-maschinenbau", person["id"], "sarah")
    assert entry["note"].endswith("Could you send us your pricing?\n\nBest regards\n"
                                  "Jürgen Müller")
    changed = git(crm.root, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert "companies/mu/mueller-maschinenbau.yaml" in changed
    assert any(p.startswith("people/") for p in changed)
    assert any(p.startswith("activities/2026-11/") for p in changed)
    # The lead now exists: the same message again is already logged, a new one matches.
    assert crm.ok("mail-in", "--create-lead", input=mail("new-lead.eml")).stdout \
        .startswith("already logged:")
    assert commits(crm.root) == before + 1


def test_a_free_mail_domain_never_matches_a_company(crm) -> None:
    """Lumbergh Consulting's domain is gmail.com (an import took it from an address):
    a stranger writing from gmail is still no one, and no lead is made from gmail.com."""
    result = crm.fails(3, "mail-in", input=mail("free-mail.eml"))
    assert "Milton Waddams <milton.waddams@gmail.com>" in result.stderr
    crm.fails(3, "mail-in", "--create-lead", input=mail("free-mail.eml"))
    assert not (crm.root / "companies" / "gm").exists()
    # A person is still found by their own gmail address.
    from_peter = mail("free-mail.eml").replace(b"Milton Waddams <milton.waddams@gmail.com>",
                                               b"Peter Gibbons <peter.gibbons@gmail.com>")
    crm.ok("mail-in", input=from_peter)
    [entry] = activities(crm.root)
    assert (entry["company"], entry["person"]) == ("lumbergh-consulting", "peter-gibbons")


def test_a_message_no_user_sent_or_received_is_refused(crm) -> None:
    message = ("From: Jane Doe <jane.doe@acme-products.com>\nTo: Hank Scorpio <hank@globex.com>\n"
               "Subject: lunch\nDate: Tue, 24 Nov 2026 10:00:00 +0100\n"
               "Message-ID: <lunch@acme-products.com>\n\nLunch on Friday?\n")
    result = crm.fails(3, "mail-in", input=message)
    assert "no user of crm.yaml" in result.stderr


# --- time, dry runs, bad input ------------------------------------------------------------

def test_a_message_dated_in_the_future_is_logged_at_now(crm) -> None:
    out = crm.ok("mail-in", input=mail("reply-from-client.eml"),
                 env={"CRMCTL_NOW": "2026-11-24T12:00:00+01:00"})
    [entry] = activities(crm.root)
    assert entry["at"] == "2026-11-24T12:00:00+01:00"
    assert "dated 2026-11-24T14:31:55+01:00, in the future" in out.stderr


def test_dry_run_says_what_it_would_log_and_writes_nothing(crm) -> None:
    before = git(crm.root, "rev-parse", "HEAD")
    out = crm.ok("mail-in", "--dry-run", "--create-lead", input=mail("new-lead.eml"))
    assert out.stdout.startswith('Would log email-received from new lead "Mueller Maschinenbau"')
    assert "would add company Mueller Maschinenbau" in out.stderr
    assert git(crm.root, "rev-parse", "HEAD") == before
    assert git(crm.root, "status", "--porcelain", "--untracked-files=all") == ""


@pytest.mark.parametrize("data, says", [
    (b"", "the message is empty"),
    (b"this is not an email, just a line of text\n", "not an email message"),
    (b"Subject: hello\nTo: sarah@example.com\n\nNo sender here.\n", "no From address"),
])
def test_bad_input_is_one_line_and_changes_nothing(crm, data, says) -> None:
    result = crm.fails(1, "mail-in", input=data)
    assert says in result.stderr


def test_a_missing_file_and_conflicting_options_are_refused(crm) -> None:
    assert "cannot read" in crm.fails(1, "mail-in", "no-such.eml").stderr
    crm.fails(2, "mail-in", str(MAIL / "sent-with-cc.eml"), "--maildir", str(MAIL))


# --- a folder of mail ---------------------------------------------------------------------

def maildir(root: Path, files: dict[str, str]) -> Path:
    """A Maildir (new/, cur/, tmp/) holding tests/mail files under Maildir names."""
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        shutil.copy(MAIL / source, root / name)
    return root


def test_a_maildir_is_filed_message_by_message(crm, tmp_path) -> None:
    box = maildir(tmp_path / "Maildir", {
        "new/1764000000.M1P4242.mx": "reply-from-client.eml",
        "new/1764000100.M2P4242.mx": "new-lead.eml",
        "cur/1764000050.M3P4242.mx:2,S": "html-only.eml"})
    before = commits(crm.root)
    out = crm.ok("mail-in", "--maildir", str(box))
    lines = out.stdout.splitlines()
    assert lines[0] == ('new/1764000000.M1P4242.mx: Logged email-received from '
                        '"Acme Products, Inc." (Jane Doe): Re: pricing for 2027')
    assert lines[1].startswith("new/1764000100.M2P4242.mx: no match: no person or company")
    assert lines[2] == ('cur/1764000050.M3P4242.mx:2,S: Logged email-received from "Globex" '
                        '(Hank Scorpio): RE: Globex proposal')
    assert len(lines) == 3
    assert "3 message(s): 2 logged, 0 already logged, 1 no match, 0 failed" in out.stderr
    assert commits(crm.root) == before + 2  # one commit per message
    assert len(list((box / "new").iterdir())) == 2  # nothing moved
    # Filing the folder again logs nothing twice.
    again = crm.ok("mail-in", "--maildir", str(box))
    assert [line.split(": ", 1)[1].split(":")[0] for line in again.stdout.splitlines()] == \
        ["already logged", "no match", "already logged"]
    assert commits(crm.root) == before + 2
    assert len(activities(crm.root)) == 2


def test_a_folder_with_a_broken_message_files_the_rest_and_fails(crm, tmp_path) -> None:
    folder = tmp_path / "exported"
    folder.mkdir()
    shutil.copy(MAIL / "sent-with-cc.eml", folder / "a.eml")
    (folder / "b.eml").write_text("just some notes, not a mail\n")
    result = crm("mail-in", "--maildir", str(folder))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[1].startswith("b.eml: failed: this is not an email")
    assert "Traceback" not in result.stderr
    assert len(activities(crm.root)) == 2  # a.eml was logged all the same
