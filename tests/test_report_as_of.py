"""crmctl report pipeline|forecast|funnel --as-of DAY: the report as the CRM stood at the end
of that day, rebuilt from the last commit made by then (every write command commits at
$CRMCTL_NOW, so a history replayed day by day has real past states).

The history (all times +01:00, the zone the reports are run in):

  09-30 09:00  the CRM is created
  10-01 09:00  Initech, Globex; deal A (Initech, 1,000, contact-made 10%, close 10-20, sarah),
               deal B (Globex, 5,000, qualified 40%, close 11-15, jim); a call promotes Initech
               lead -> contact
  10-02 09:00  A -> meeting-arranged (20%); Umbrella added; Initech -> prospect; an attempt
               on Globex (no promotion)
  10-02 23:30  B -> proposal-presented (60%)       (still the 2nd where the reports are read)
  10-03 00:30  B -> won                            (the 3rd here, though 23:30 on the 2nd UTC)
  10-03 09:00  deal C (Umbrella, 2,000, 10%, close 10-10, sarah); Initech -> client; an email
               from Umbrella promotes it lead -> contact
  10-25 09:00  A lost; Initech back down to prospect; deal D (Globex, 8,000, in-negotiation at
               75%, close 12-01, jim)
  today        2026-10-25 18:00
"""

from __future__ import annotations

import json

import pytest

from conftest import Cli, build_once, copy_of, git

ZONE = "+01:00"
TODAY = {"CRMCTL_NOW": f"2026-10-25T18:00:00{ZONE}"}


def at(moment: str) -> dict:
    return {"CRMCTL_NOW": f"2026-{moment}:00{ZONE}"}


def history(cli: Cli) -> None:
    first = at("10-01T09:00")
    cli.ok("add", "company", "Initech", env=first)
    cli.ok("add", "company", "Globex", env=first)
    cli.ok("add", "deal", "A", "--company", "Initech", "--amount", "1000", "--close",
           "2026-10-20", "--owner", "sarah", env=first)
    cli.ok("add", "deal", "B", "--company", "Globex", "--amount", "5000", "--stage", "qualified",
           "--close", "2026-11-15", "--owner", "jim", env=first)
    cli.ok("log", "Initech", "--type", "phone-call", "--note", "intro", env=first)
    second = at("10-02T09:00")
    cli.ok("move", "A", "meeting-arranged", env=second)
    cli.ok("add", "company", "Umbrella", env=second)
    cli.ok("move", "Initech", "prospect", env=second)
    cli.ok("log", "Globex", "--type", "phone-attempt", "--outcome", "no-answer", env=second)
    cli.ok("move", "B", "proposal-presented", env=at("10-02T23:30"))
    cli.ok("move", "B", "won", env=at("10-03T00:30"))
    third = at("10-03T09:00")
    cli.ok("add", "deal", "C", "--company", "Umbrella", "--amount", "2000", "--close",
           "2026-10-10", "--owner", "sarah", env=third)
    cli.ok("move", "Initech", "client", env=third)
    cli.ok("log", "Umbrella", "--type", "email-received", env=third)
    later = at("10-25T09:00")
    cli.ok("move", "A", "lost", "--reason", "budget", env=later)
    cli.ok("move", "Initech", "prospect", env=later)
    cli.ok("add", "deal", "D", "--company", "Globex", "--amount", "8000", "--stage",
           "in-negotiation", "--probability", "75", "--close", "2026-12-01", "--owner", "jim",
           env=later)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    # The CRM itself is created on 09-30 too, so its whole history is dated.
    return build_once(tmp_path_factory, history, created_at=at("09-30T09:00"))


@pytest.fixture
def crm(template, tmp_path, monkeypatch):
    return copy_of(template, tmp_path, monkeypatch)


def report(cli: Cli, name: str, *args: str) -> dict:
    return json.loads(cli.ok("report", name, *args, "--format", "json", env=TODAY).stdout)


def stages(document: dict) -> dict:
    """stage -> (deals, amount, weighted) for the stages holding deals."""
    return {r["stage"]: (r["deals"], r["amount"], r["weighted"])
            for r in document.get("stages", []) if r["deals"]}


# --- pipeline ---------------------------------------------------------------------------------

def test_pipeline_as_of_past_days(crm) -> None:
    first = report(crm, "pipeline", "--as-of", "2026-10-01")
    # A 1,000 at 10% = 100; B 5,000 at 40% = 2,000
    assert stages(first) == {"contact-made": (1, 1000, 100), "qualified": (1, 5000, 2000)}
    assert first["summary"] == {"USD": {"deals": 2, "amount": 6000, "weighted": 2100}}
    assert (first["as_of"], first["today"]) == ("2026-10-01", "2026-10-25")
    second = report(crm, "pipeline", "--as-of", "2026-10-02")
    # A 1,000 at 20% = 200; B moved at 23:30 to 60% of 5,000 = 3,000 (won only at 00:30)
    assert stages(second) == {"meeting-arranged": (1, 1000, 200),
                              "proposal-presented": (1, 5000, 3000)}
    third = report(crm, "pipeline", "--as-of", "2026-10-03")
    # B won; C 2,000 at 10% = 200; A still 200
    assert stages(third) == {"contact-made": (1, 2000, 200), "meeting-arranged": (1, 1000, 200)}
    assert third["summary"] == {"USD": {"deals": 2, "amount": 3000, "weighted": 400}}


def test_pipeline_today_differs(crm) -> None:
    now = report(crm, "pipeline")
    # A lost; C 200; D 8,000 at 75% = 6,000
    assert stages(now) == {"contact-made": (1, 2000, 200), "in-negotiation": (1, 8000, 6000)}
    assert now["summary"] == {"USD": {"deals": 2, "amount": 10000, "weighted": 6200}}
    assert now["as_of"] is None
    assert stages(report(crm, "pipeline", "--as-of", "2026-10-03")) != stages(now)


def test_pipeline_as_of_in_text_with_an_owner(crm) -> None:
    out = crm.ok("report", "pipeline", "--as-of", "2026-10-02", "--owner", "jim",
                 env=TODAY).stdout
    # Jim's only open deal that day: B, 5,000 at 60% = 3,000
    assert out.startswith("Pipeline owned by jim (as of 2026-10-02)\n\n"
                          "Open pipeline owned by jim in USD: 1 deal, 5,000 (3,000 weighted)\n")
    proposal = next(line for line in out.splitlines() if line.startswith("proposal-presented"))
    assert proposal.split()[:4] == ["proposal-presented", "1", "5,000", "3,000"]


def test_the_day_ends_at_midnight_where_the_report_is_read(crm) -> None:
    # B's win at 00:30 on the 3rd (+01:00) is 23:30 on the 2nd in UTC: not on the 2nd here.
    second = report(crm, "pipeline", "--as-of", "2026-10-02")
    assert "proposal-presented" in stages(second)
    # In UTC, the day of the 2nd ends after the win: B is no longer open.
    utc = json.loads(crm.ok("report", "pipeline", "--as-of", "2026-10-02", "--format", "json",
                            env={"CRMCTL_NOW": "2026-10-25T17:00:00+00:00"}).stdout)
    assert stages(utc) == {"meeting-arranged": (1, 1000, 200)}


def test_as_of_the_day_the_crm_was_created_has_nothing_yet(crm) -> None:
    assert crm.ok("report", "pipeline", "--as-of", "2026-09-30", env=TODAY).stdout == \
        "No open deals.\n"
    document = report(crm, "funnel", "--as-of", "2026-09-30")
    assert (document["empty"], document["as_of"]) == (True, "2026-09-30")


# --- forecast ---------------------------------------------------------------------------------

def months(document: dict) -> list[tuple]:
    return [(r["month"], r["owner"], r["deals"], r["amount"], r["weighted"], r["past_close"])
            for r in document["months"]]


def test_forecast_as_of_past_days(crm) -> None:
    first = report(crm, "forecast", "--as-of", "2026-10-01")
    # A closes 2026-10 (sarah, 1,000, 100); B 2026-11 (jim, 5,000, 2,000); none late yet
    assert months(first) == [
        ("2026-10", "sarah", 1, 1000, 100, 0), ("2026-10", "total", 1, 1000, 100, 0),
        ("2026-11", "jim", 1, 5000, 2000, 0), ("2026-11", "total", 1, 5000, 2000, 0)]
    assert first["as_of"] == "2026-10-01"
    third = report(crm, "forecast", "--as-of", "2026-10-03")
    # A (1,000 at 20%) and C (2,000 at 10%) both close in October, both sarah's
    assert months(third) == [("2026-10", "sarah", 2, 3000, 400, 0),
                             ("2026-10", "total", 2, 3000, 400, 0)]
    assert third["past_close"] == []


def test_forecast_as_of_judges_lateness_on_that_day(crm) -> None:
    # Nothing changed from the 3rd to the 12th, but by the 12th C (close 10-10) is late.
    twelfth = report(crm, "forecast", "--as-of", "2026-10-12")
    assert months(twelfth) == [("2026-10", "sarah", 2, 3000, 400, 1),
                               ("2026-10", "total", 2, 3000, 400, 1)]
    assert [(d["name"], d["close"]) for d in twelfth["past_close"]] == [("C", "2026-10-10")]
    out = crm.ok("report", "forecast", "--as-of", "2026-10-12", env=TODAY).stdout
    assert out.startswith("Forecast (as of 2026-10-12)\n\nForecast in USD: 3,000 open, "
                          "400 weighted\n")
    assert "Past their expected close date (1)" in out


def test_forecast_today_differs(crm) -> None:
    # C (late since 10-10) and D (jim, 8,000 at 75% = 6,000, December)
    assert months(report(crm, "forecast")) == [
        ("2026-10", "sarah", 1, 2000, 200, 1), ("2026-10", "total", 1, 2000, 200, 1),
        ("2026-12", "jim", 1, 8000, 6000, 0), ("2026-12", "total", 1, 8000, 6000, 0)]


# --- funnel -----------------------------------------------------------------------------------

def funnel_numbers(document: dict) -> tuple[dict, list[tuple]]:
    now_at = {r["status"]: (r["companies"], r["share"]) for r in document["statuses"]
              if r["companies"]}
    steps = [(s["status"], s["reached"], s["went_on"], s["conversion"])
             for s in document["conversion"]]
    return now_at, steps


def test_funnel_as_of_past_days(crm) -> None:
    first = report(crm, "funnel", "--as-of", "2026-10-01")
    # Initech contact (reached 1), Globex lead (0): contact reached by 1 of 2 = 50%
    assert funnel_numbers(first) == (
        {"lead": (1, 50), "contact": (1, 50)},
        [("lead", 2, 1, 50), ("contact", 1, 0, 0), ("prospect", 0, 0, None),
         ("client", 0, None, None)])
    assert first["summary"] == {"companies": 2, "responded": 1, "response_rate": 50}
    second = report(crm, "funnel", "--as-of", "2026-10-02")
    # Initech prospect (2), Globex lead (0, attempted only), Umbrella lead (0):
    # lead 3 -> contact 1 (33.3%) -> prospect 1 (100%) -> client 0 (0%)
    assert funnel_numbers(second) == (
        {"lead": (2, 66.7), "prospect": (1, 33.3)},
        [("lead", 3, 1, 33.3), ("contact", 1, 1, 100), ("prospect", 1, 0, 0),
         ("client", 0, None, None)])
    assert second["summary"] == {"companies": 3, "responded": 1, "response_rate": 33.3}
    third = report(crm, "funnel", "--as-of", "2026-10-03")
    # Initech client (3), Globex lead (0), Umbrella contact (1):
    # lead 3 -> 2 (66.7%), contact 2 -> 1 (50%), prospect 1 -> 1 (100%), client 1
    assert funnel_numbers(third) == (
        {"lead": (1, 33.3), "contact": (1, 33.3), "client": (1, 33.3)},
        [("lead", 3, 2, 66.7), ("contact", 2, 1, 50), ("prospect", 1, 1, 100),
         ("client", 1, None, None)])
    assert third["summary"] == {"companies": 3, "responded": 2, "response_rate": 66.7}


def test_funnel_today_differs_but_keeps_what_was_reached(crm) -> None:
    now = report(crm, "funnel")
    # Initech back down to prospect: the statuses differ from the 3rd, the conversion not
    assert funnel_numbers(now) == (
        {"lead": (1, 33.3), "contact": (1, 33.3), "prospect": (1, 33.3)},
        [("lead", 3, 2, 66.7), ("contact", 2, 1, 50), ("prospect", 1, 1, 100),
         ("client", 1, None, None)])
    assert now["as_of"] is None


def test_funnel_as_of_in_text(crm) -> None:
    out = crm.ok("report", "funnel", "--as-of", "2026-10-02", env=TODAY).stdout
    assert out.startswith("Funnel (as of 2026-10-02)\n\n"
                          "3 companies; 1 with at least one real contact (33.3%).\n")
    lead = [line.split() for line in out.splitlines() if line.startswith("lead ")]
    assert lead[0][:3] == ["lead", "2", "66.7%"]                    # companies per status
    assert lead[1][:5] == ["lead", "3", "contact", "1", "33.3%"]    # conversion


def test_as_of_takes_the_usual_dates(crm) -> None:
    # "yesterday" is the 24th: the state the 3rd left, A and C open
    assert stages(report(crm, "pipeline", "--as-of", "yesterday")) == \
        stages(report(crm, "pipeline", "--as-of", "2026-10-03"))
    assert report(crm, "pipeline", "--as-of", "yesterday")["as_of"] == "2026-10-24"


# --- refusals ---------------------------------------------------------------------------------

def test_as_of_before_the_first_commit_fails_in_one_line(crm) -> None:
    result = crm.fails(1, "report", "pipeline", "--as-of", "2026-09-29", env=TODAY)
    assert "the CRM has no history on 2026-09-29" in result.stderr
    assert "2026-09-30" in result.stderr            # and says when it starts
    assert result.stdout == ""


@pytest.mark.parametrize("name", ["activity", "winloss", "sources", "goals", "calibration"])
def test_as_of_on_a_period_report_is_refused(crm, name) -> None:
    result = crm.fails(1, "report", name, "--as-of", "2026-10-02", env=TODAY)
    assert "--as-of is for pipeline, forecast, funnel" in result.stderr
    assert "--since" in result.stderr               # what to use instead


def test_as_of_after_two_clones_merged_sees_both_sides(cli, tmp_path, monkeypatch) -> None:
    cli.ok("add", "company", "Initech", env=at("10-01T09:00"))
    jim = tmp_path / "jim"
    git(tmp_path, "clone", "-q", str(cli.root), str(jim))
    # The same day, Sarah adds deal A in the shared CRM and Jim deal B in his clone.
    cli.ok("add", "deal", "A", "--company", "Initech", "--amount", "1000",
           env=at("10-02T10:00"))
    cli.ok("--dir", str(jim), "add", "deal", "B", "--company", "Initech", "--amount", "2000",
           env=at("10-02T11:00"))
    with monkeypatch.context() as mp:  # the next morning, Jim's work is pulled in (a merge)
        mp.setenv("GIT_AUTHOR_DATE", f"2026-10-03T09:00:00{ZONE}")
        mp.setenv("GIT_COMMITTER_DATE", f"2026-10-03T09:00:00{ZONE}")
        git(cli.root, "pull", "-q", "--no-rebase", "--no-edit", str(jim))
    assert len(git(cli.root, "rev-list", "--parents", "-n", "1", "HEAD").split()) == 3
    # Both deals were in the CRM by the end of the 2nd: 1,000 + 2,000 at 10%.
    assert report(cli, "pipeline")["summary"]["USD"]["amount"] == 3000
    second = report(cli, "pipeline", "--as-of", "2026-10-02")
    assert second["summary"] == {"USD": {"deals": 2, "amount": 3000, "weighted": 300}}
