"""crmctl report funnel: companies per status, conversion step to step, response per source.

The funnel proper is lead -> contact -> prospect -> client (the statuses before the first
inactive one, do-not-contact aside). Conversion counts what each company *ever reached*:
its status now, or any status a company move line passed through (a person's moves aside).
"""

from __future__ import annotations

import json

import pytest

from conftest import add_users, build_once, copy_of

NOW = {"CRMCTL_NOW": "2026-11-25T09:00:00+01:00"}


def six_companies(cli) -> None:
    """Where each company is now, and the furthest step it ever reached:

    Initech   web          phone-call (lead->contact), moved to prospect   now prospect,    2
    Globex    web          a phone attempt only; its person Gil moved on   now lead,        0
    Wayne     web          a call with its person Bruce (both promoted)    now contact,     1
    Umbrella  fair         email (->contact), prospect, client, back down  now contact,     3
    Hooli     fair         a note only, then unqualified                   now unqualified, 0
    Stark     (no source)  added as a client, never contacted              now client,      3
    """
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    ok = lambda *args: cli.ok(*args, env=NOW)  # noqa: E731
    ok("add", "company", "Initech", "--source", "web", "--owner", "sarah")
    ok("add", "company", "Globex", "--source", "web", "--owner", "jim")
    ok("add", "company", "Wayne Enterprises", "--source", "web", "--owner", "jim")
    ok("add", "company", "Umbrella", "--source", "fair", "--owner", "sarah")
    ok("add", "company", "Hooli", "--source", "fair", "--owner", "jim")
    ok("add", "company", "Stark Industries", "--status", "client", "--owner", "jim")
    ok("add", "person", "Gil Globex", "--company", "Globex")
    ok("add", "person", "Bruce Wayne", "--company", "Wayne Enterprises")

    ok("log", "Initech", "--type", "phone-call", "--note", "intro call")      # lead -> contact
    ok("move", "Initech", "prospect")
    ok("log", "Globex", "--type", "phone-attempt", "--outcome", "no-answer")  # an attempt only
    ok("move", "Gil Globex", "prospect")            # a person's status, not the company's
    ok("log", "Bruce Wayne", "--type", "phone-call", "--note", "met Bruce")  # promotes both
    ok("log", "Umbrella", "--type", "email-received")                        # lead -> contact
    ok("move", "Umbrella", "prospect")
    ok("move", "Umbrella", "client")
    ok("move", "Umbrella", "contact")               # moved back down: still reached client
    ok("log", "Hooli", "--type", "note", "--note", "read about them")  # contact: none
    ok("move", "Hooli", "unqualified")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_once(tmp_path_factory, six_companies)


@pytest.fixture
def crm(template, tmp_path, monkeypatch):
    return copy_of(template, tmp_path, monkeypatch)


def funnel(cli, *args: str) -> dict:
    return json.loads(cli.ok("report", "funnel", *args, "--format", "json", env=NOW).stdout)


def test_companies_per_status_with_shares(crm) -> None:
    report = funnel(crm)
    # 6 companies: lead Globex; contact Wayne, Umbrella; prospect Initech; client Stark;
    # unqualified Hooli. 1/6 = 16.7%, 2/6 = 33.3%.
    assert [(r["status"], r["companies"], r["share"]) for r in report["statuses"]] == [
        ("lead", 1, 16.7), ("contact", 2, 33.3), ("prospect", 1, 16.7), ("client", 1, 16.7),
        ("past-client", 0, 0), ("unqualified", 1, 16.7), ("requested-callback", 0, 0),
        ("do-not-contact", 0, 0)]
    assert report["report"] == "funnel" and report["as_of"] is None and not report["empty"]
    assert report["today"] == "2026-11-25"


def test_conversion_counts_the_furthest_step_ever_reached(crm) -> None:
    steps = funnel(crm)["conversion"]
    # furthest step: Initech 2, Globex 0, Wayne 1, Umbrella 3 (moved back to contact),
    # Hooli 0 (moved from lead to unqualified), Stark 3 (added as a client).
    # reached lead 6; contact 4 (Initech, Wayne, Umbrella, Stark): 4/6 = 66.7%;
    # prospect 3 (Initech, Umbrella, Stark): 3/4 = 75%; client 2 (Umbrella, Stark): 2/3 = 66.7%.
    # Gil's move to prospect is a person's: Globex stays at lead.
    assert [(s["status"], s["reached"], s["next"], s["went_on"], s["conversion"])
            for s in steps] == [
        ("lead", 6, "contact", 4, 66.7), ("contact", 4, "prospect", 3, 75),
        ("prospect", 3, "client", 2, 66.7), ("client", 2, None, None, None)]


def test_response_rate_per_source_needs_a_real_contact(crm) -> None:
    report = funnel(crm)
    # web: Initech (call), Globex (attempt only: no), Wayne (call with Bruce) -> 2/3 = 66.7%
    # fair: Umbrella (email received), Hooli (a note is no contact) -> 1/2 = 50%
    # (no source): Stark, never contacted -> 0/1 = 0%; all: 3/6 = 50%
    assert [(r["source"], r["campaign"], r["leads"], r["responded"], r["response_rate"])
            for r in report["response"]] == [
        ("fair", None, 2, 1, 50), ("web", None, 3, 2, 66.7), ("(no source)", None, 1, 0, 0)]
    assert report["summary"] == {"companies": 6, "responded": 3, "response_rate": 50}


def test_text_shows_the_same_numbers(crm) -> None:
    out = crm.ok("report", "funnel", env=NOW).stdout
    assert out.startswith("Funnel (2026-11-25)\n\n"
                          "6 companies; 3 with at least one real contact (50.0%).\n")
    lines = out.splitlines()

    def row(section: str, first: str) -> list[str]:
        start = lines.index(section)
        return next(line.split() for line in lines[start:] if line.split()[:1] == [first])

    assert row("Companies per status", "contact")[:3] == ["contact", "2", "33.3%"]
    assert row("Companies per status", "total") == ["total", "6"]
    conversion = "Conversion from each step to the next (ever reached)"
    assert row(conversion, "lead")[:5] == ["lead", "6", "contact", "4", "66.7%"]
    assert row(conversion, "contact")[:5] == ["contact", "4", "prospect", "3", "75%"]
    assert row(conversion, "prospect")[:5] == ["prospect", "3", "client", "2", "66.7%"]
    assert row(conversion, "client") == ["client", "2", "█" * 8]  # 2/6 of the full 24
    response = "Response rate per source and campaign (at least one real contact)"
    assert "CAMPAIGN" not in out  # no company has one: no empty column
    assert row(response, "web") == ["web", "3", "2", "66.7%"]
    assert row(response, "(no") == ["(no", "source)", "1", "0", "0%"]


def test_owner_narrows_it_to_their_companies(crm) -> None:
    report = funnel(crm, "--owner", "sarah")
    # Sarah owns Initech (now prospect, reached 2) and Umbrella (now contact, reached 3):
    # lead 2 -> contact 2 (100%) -> prospect 2 (100%) -> client 1 (50%); both responded.
    assert report["title"] == "Funnel owned by sarah"
    assert {r["status"]: r["companies"] for r in report["statuses"] if r["companies"]} == \
        {"contact": 1, "prospect": 1}
    assert [(s["reached"], s["conversion"]) for s in report["conversion"]] == \
        [(2, 100), (2, 100), (2, 50), (1, None)]
    assert report["summary"] == {"companies": 2, "responded": 2, "response_rate": 100}


def test_a_first_real_contact_writes_the_step_it_counts(crm) -> None:
    # Globex was only attempted; a call now promotes it (lead -> contact, with a move line):
    # contact is reached by 5 of 6 (83.3%), web responds 3 of 3.
    crm.ok("log", "Globex", "--type", "phone-call", "--note", "got through", env=NOW)
    crm.ok("move", "Globex", "lead", env=NOW)      # and even back to lead, it reached contact
    report = funnel(crm)
    assert report["conversion"][0] == {"status": "lead", "reached": 6, "next": "contact",
                                       "went_on": 5, "conversion": 83.3}
    assert report["statuses"][0] == {"status": "lead", "companies": 1, "share": 16.7}
    web = next(r for r in report["response"] if r["source"] == "web")
    assert (web["leads"], web["responded"], web["response_rate"]) == (3, 3, 100)


def test_no_companies_says_so(cli) -> None:
    assert cli.ok("report", "funnel").stdout == "No companies.\n"
    assert json.loads(cli.ok("report", "funnel", "--format", "json").stdout)["empty"] is True
    result = cli("report", "funnel", "--fail-if-empty")
    assert (result.exit_code, result.stdout) == (1, "")
