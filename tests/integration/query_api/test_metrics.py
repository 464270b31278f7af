"""Every metric of the query API against values computed by hand from the fixed scenario
(`scenario.py`: its table of subscriptions is the input of every computation below).

Month-end MRR in original currency (sum of active subscriptions' MRR on the month's last day):
  Jan 31  USD S1 10000 + S2 5800 + S5 2900 + S6 7900 + S7 7900 = 34500 (5 subs)
          EUR S3 21900 + S4 13500 + S8 7300 = 42700 (3 subs)
  Feb 28  USD S1 10000 + S2 15800 + S6 7900 + S7 7900 = 41600 (S5 canceled)
          EUR S3 8100 + S4 10800 = 18900 (S8 past due beyond grace: not active)
  Mar 31  USD S1 10000 + S2 15800 + S5 2900 + S6 7900 + S9 2900 = 39500 (S7 paused)
          EUR S3 8100 + S4 16200 = 24300
In USD (EUR at 1.1 in Jan-Feb, 1.2 in Mar; every product here is exact):
  Jan 34500 + 46970 = 81470; Feb 41600 + 20790 = 62390; Mar 39500 + 29160 = 68660.

Movements (definitions 2026-11-28.2): a plan change is a transfer of the opening MRR from the old
segment to the new one plus the net change as expansion or contraction of the new segment, so
company-wide only the net change shows. February's moves: S2 starter -> growth (USD 5800 ->
15800: transfer -5800 / +5800, expansion +10000) and S3 growth -> starter (EUR 21900 -> 8100:
transfer -21900 / +21900, contraction -13800).

Logo churn (definitions 2026-11-28.2): a customer churns from a segment only when they have no
active subscription anywhere at the period's end; a customer who left the segment but is active
elsewhere is transferred out (and into the other segment), as the MRR bridge's transfer.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration
Q1 = {"start": "2026-01-01", "end": "2026-03-31"}


def items(client: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metric_definitions_version"] == "2026-11-28.2"
    assert body["data_as_of"] == "2026-03-31"
    found: list[dict[str, Any]] = body["items"]
    return found


def by_period(rows: list[dict[str, Any]], field: str) -> dict[str, Any]:
    return {row["period_start"]: row[field] for row in rows}


def test_mrr_and_arr_at_month_ends(client: TestClient) -> None:
    rows = items(client, "/v1/mrr", granularity="month", **Q1)
    assert by_period(rows, "mrr_minor") == {"2026-01-01": 81470, "2026-02-01": 62390, "2026-03-01": 68660}
    assert by_period(rows, "arr_minor") == {"2026-01-01": 977640, "2026-02-01": 748680, "2026-03-01": 823920}
    original = items(client, "/v1/mrr", granularity="month", currency="original", **Q1)
    assert {(r["period_start"], r["currency"]): r["mrr_minor"] for r in original} == {
        ("2026-01-01", "EUR"): 42700, ("2026-01-01", "USD"): 34500,
        ("2026-02-01", "EUR"): 18900, ("2026-02-01", "USD"): 41600,
        ("2026-03-01", "EUR"): 24300, ("2026-03-01", "USD"): 39500,
    }  # fmt: skip


def test_mrr_by_day_week_and_quarter(client: TestClient) -> None:
    # Jan 14: S6 still trialing -> 81470 - 7900 = 73570; Jan 15 it converts -> 81470.
    days = items(client, "/v1/mrr", granularity="day", start="2026-01-14", end="2026-01-15")
    assert by_period(days, "mrr_minor") == {"2026-01-14": 73570, "2026-01-15": 81470}
    assert all(row["movements"] is None for row in days)
    # ISO week of Mon 2026-02-16 ends Sun Feb 22: S2 upgraded (15800), S5 canceled Feb 20, S8 beyond
    # grace, S4 at 4 seats: USD 10000 + 15800 + 7900 + 7900 = 41600, EUR (8100 + 10800) x 1.1 = 20790.
    weeks = items(client, "/v1/mrr", granularity="week", start="2026-02-16", end="2026-02-16")
    assert [(row["period_end"], row["mrr_minor"]) for row in weeks] == [("2026-02-22", 62390)]
    # Q1 closes on the horizon (Mar 31).
    quarters = items(client, "/v1/mrr", granularity="quarter", **Q1)
    assert [(row["as_of_date"], row["mrr_minor"]) for row in quarters] == [("2026-03-31", 68660)]


def test_mrr_movements_per_month(client: TestClient) -> None:
    rows = {row["period_start"]: row["movements"] for row in items(client, "/v1/mrr", granularity="month", **Q1)}
    # January: everything is new (opening on Dec 31 is 0): 34500 USD + 46970 EUR->USD.
    assert rows["2026-01-01"] == {
        "opening_mrr_minor": 0, "new_mrr_minor": 81470, "expansion_mrr_minor": 0, "contraction_mrr_minor": 0,
        "churned_mrr_minor": 0, "reactivation_mrr_minor": 0, "transfer_mrr_minor": 0, "fx_effect_minor": 0,
        "closing_mrr_minor": 81470,
    }  # fmt: skip
    # February, company-wide (EUR at the Feb 28 rate 1.1):
    #   expansion   S2's net change on its move 15800 - 5800                        -> 10000
    #   contraction S3's net change on its move (8100 - 21900) x 1.1 = -15180,
    #               S4 13500 -> 10800 = -2700 x 1.1 = -2970                        -> -18150
    #   churned     S5 canceled -2900, S8 past due beyond grace -7300 x 1.1 = -8030 -> -10930
    #   transfer    S2 -5800 + 5800, S3 (-21900 + 21900) x 1.1                     -> 0
    # 81470 + 10000 - 18150 - 10930 = 62390.
    assert rows["2026-02-01"] == {
        "opening_mrr_minor": 81470, "new_mrr_minor": 0, "expansion_mrr_minor": 10000,
        "contraction_mrr_minor": -18150, "churned_mrr_minor": -10930, "reactivation_mrr_minor": 0,
        "transfer_mrr_minor": 0, "fx_effect_minor": 0, "closing_mrr_minor": 62390,
    }  # fmt: skip
    # March: new S9 2900; reactivation S5 2900; churn S7 paused -7900; expansion S4 10800 -> 16200
    # = 5400 EUR x 1.2 (closing-date rate) = 6480. FX: the EUR opening 18900 revalued from 1.1 to
    # 1.2 = 1890 = 68660 - 62390 - (2900 + 2900 - 7900 + 6480).
    assert rows["2026-03-01"] == {
        "opening_mrr_minor": 62390, "new_mrr_minor": 2900, "expansion_mrr_minor": 6480, "contraction_mrr_minor": 0,
        "churned_mrr_minor": -7900, "reactivation_mrr_minor": 2900, "transfer_mrr_minor": 0, "fx_effect_minor": 1890,
        "closing_mrr_minor": 68660,
    }  # fmt: skip


def test_a_plan_change_is_net_expansion_company_wide_and_a_transfer_per_plan(client: TestClient) -> None:
    """S2 upgrades mid-February from starter-monthly-usd (5800) to growth-monthly-usd (15800)."""
    feb = {"granularity": "month", "currency": "original", "start": "2026-02-01", "end": "2026-02-28"}
    usd = {row["currency"]: row["movements"] for row in items(client, "/v1/mrr", **feb)}["USD"]
    # Company-wide USD: S2 +10000 is the only expansion; no transfer; S5 churned -2900.
    assert (usd["expansion_mrr_minor"], usd["contraction_mrr_minor"], usd["transfer_mrr_minor"]) == (10000, 0, 0)
    assert usd["churned_mrr_minor"] == -2900
    # The old plan: S2's opening 5800 transferred out (not contraction, not churn); S5 churned.
    [starter] = items(client, "/v1/mrr", plan_id="starter-monthly-usd", **feb)
    assert starter["movements"] == {
        "opening_mrr_minor": 8700, "new_mrr_minor": 0, "expansion_mrr_minor": 0, "contraction_mrr_minor": 0,
        "churned_mrr_minor": -2900, "reactivation_mrr_minor": 0, "transfer_mrr_minor": -5800, "fx_effect_minor": 0,
        "closing_mrr_minor": 0,
    }  # fmt: skip
    # The new plan: S6 and S7 (7900 each) unchanged; S2's 5800 transferred in and +10000 expansion.
    [growth] = items(client, "/v1/mrr", plan_id="growth-monthly-usd", **feb)
    assert growth["movements"] == {
        "opening_mrr_minor": 15800, "new_mrr_minor": 0, "expansion_mrr_minor": 10000, "contraction_mrr_minor": 0,
        "churned_mrr_minor": 0, "reactivation_mrr_minor": 0, "transfer_mrr_minor": 5800, "fx_effect_minor": 0,
        "closing_mrr_minor": 31600,
    }  # fmt: skip
    # A downgrade (S3, EUR, growth -> starter): transfer 21900 and the net -13800 as contraction of
    # the new plan (S4's -2700 is in the same plan).
    [eur_starter] = items(client, "/v1/mrr", plan_id="starter-monthly-eur", **feb)
    moves = eur_starter["movements"]
    assert (moves["transfer_mrr_minor"], moves["contraction_mrr_minor"]) == (21900, -13800 - 2700)
    [eur_growth] = items(client, "/v1/mrr", plan_id="growth-monthly-eur", **feb)
    assert (eur_growth["movements"]["transfer_mrr_minor"], eur_growth["movements"]["churned_mrr_minor"]) == (
        -21900, -7300,
    )  # fmt: skip


@pytest.mark.parametrize("currency", ["original", "reporting"])
def test_transfers_per_plan_sum_to_zero_and_movements_to_the_company_total(client: TestClient, currency: str) -> None:
    plans = [row["id"] for row in client.get("/v1/dimensions/plan").json()["items"]]
    total = {(r["period_start"], r["currency"]): r["movements"]
             for r in items(client, "/v1/mrr", granularity="month", currency=currency, **Q1)}  # fmt: skip
    summed: dict[tuple[str, str], dict[str, int]] = {}
    for plan in plans:
        for row in items(client, "/v1/mrr", granularity="month", currency=currency, plan_id=plan, **Q1):
            into = summed.setdefault((row["period_start"], row["currency"]), dict.fromkeys(total[next(iter(total))], 0))
            for name, value in row["movements"].items():
                into[name] += value
    assert summed == total
    assert all(movements["transfer_mrr_minor"] == 0 for movements in total.values())


MOVEMENTS = ("new_mrr_minor", "expansion_mrr_minor", "contraction_mrr_minor", "churned_mrr_minor",
             "reactivation_mrr_minor", "transfer_mrr_minor", "fx_effect_minor")  # fmt: skip


@pytest.mark.parametrize(
    "params",
    [{}, {"currency": "original"}, {"region_id": "emea"}, {"region_id": "na", "currency": "original"},
     {"plan_id": "starter-monthly-usd"}, {"plan_id": "growth-monthly-usd"}, {"plan_id": "starter-monthly-eur"},
     {"plan_id": "growth-monthly-eur", "currency": "original"}, {"granularity": "quarter"}],
)  # fmt: skip
def test_bridge_invariant_holds_for_every_period_and_filter(client: TestClient, params: dict[str, str]) -> None:
    rows = items(client, "/v1/mrr", **{"granularity": "month", **params, **Q1})
    assert rows
    for row in rows:
        movements = row["movements"]
        assert (
            movements["opening_mrr_minor"] + sum(movements[name] for name in MOVEMENTS)
            == (movements["closing_mrr_minor"])
        ), row
        assert movements["closing_mrr_minor"] == row["mrr_minor"], "the bridge closes on the MRR series"
        assert movements["contraction_mrr_minor"] <= 0
        assert movements["churned_mrr_minor"] <= 0
    for later, earlier in zip(rows[1:], rows, strict=False):
        if later["currency"] == earlier["currency"]:
            assert later["movements"]["opening_mrr_minor"] == earlier["mrr_minor"]


def test_bridge_over_the_quarter(client: TestClient) -> None:
    response = client.get("/v1/mrr/bridge", params=Q1)
    assert response.status_code == 200
    [bridge] = response.json()["items"]
    # Sums of the three months: new 81470 + 2900; expansion 10000 + 6480; churn -10930 - 7900.
    assert bridge == {
        "currency": "USD", "first_month": "2026-01-01", "last_month": "2026-03-01", "opening_mrr_minor": 0,
        "new_mrr_minor": 84370, "expansion_mrr_minor": 16480, "contraction_mrr_minor": -18150,
        "churned_mrr_minor": -18830, "reactivation_mrr_minor": 2900, "transfer_mrr_minor": 0,
        "fx_effect_minor": 1890, "closing_mrr_minor": 68660,
    }  # fmt: skip
    # In EUR only (region emea, original): 42700 new; expansion S4 +5400 (Mar); contraction S3's
    # net -13800 and S4 -2700; S8 -7300; S3's transfer nets to 0 within the region -> 24300.
    response = client.get("/v1/mrr/bridge", params={**Q1, "region_id": "emea", "currency": "original"})
    [emea] = response.json()["items"]
    assert (
        emea["currency"],
        emea["new_mrr_minor"],
        emea["expansion_mrr_minor"],
        emea["contraction_mrr_minor"],
        emea["churned_mrr_minor"],
        emea["transfer_mrr_minor"],
        emea["closing_mrr_minor"],
    ) == ("EUR", 42700, 5400, -16500, -7300, 0, 24300)


def test_active_subscriptions_customers_and_arpa(client: TestClient) -> None:
    rows = items(client, "/v1/subscriptions", granularity="month", **Q1)
    expected = {
        # Jan 31: 8 active subs, customers C1-C8; ARPA = 81470 / 8 = 10183.75 -> 10184.
        "2026-01-01": (8, 0, 0, 0, 8, 81470, 10184),
        # Feb 28: S5 canceled, S8 past due beyond grace (still counted as past due); customers
        # C1, C2, C3, C4, C6, C7; ARPA = 62390 / 6 = 10398.33 -> 10398.
        "2026-02-01": (6, 0, 1, 0, 6, 62390, 10398),
        # Mar 31: S1, S2, S3, S4, S5, S6, S9 active; S7 paused; C2 has two subscriptions, so
        # customers are C1-C6 = 6; ARPA = 68660 / 6 = 11443.33 -> 11443.
        "2026-03-01": (7, 0, 1, 1, 6, 68660, 11443),
    }
    fields = ("active_subscriptions", "trialing_subscriptions", "past_due_subscriptions", "paused_subscriptions",
              "active_customers", "mrr_minor", "arpa_minor")  # fmt: skip
    assert {row["period_start"]: tuple(row[f] for f in fields) for row in rows} == expected
    # Jan 10: S6 trialing (not active): 7 active subscriptions, 1 trialing, customers C1-C5, C7, C8.
    [day] = items(client, "/v1/subscriptions", granularity="day", start="2026-01-10", end="2026-01-10")
    assert (day["active_subscriptions"], day["trialing_subscriptions"], day["active_customers"]) == (7, 1, 7)
    # Region na on Mar 31: S1, S2, S5, S6, S9 active, customers C1, C2, C5, C6.
    [na] = items(client, "/v1/subscriptions", granularity="quarter", region_id="na", **Q1)
    assert (na["active_subscriptions"], na["active_customers"], na["mrr_minor"]) == (5, 4, 39500)


LOGOS = ("opening_customers", "churned_customers", "transferred_out_customers", "gained_customers",
         "transferred_in_customers", "closing_customers")  # fmt: skip


def logos(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(row[name] for name in LOGOS)


def test_churn_rates(client: TestClient) -> None:
    rows = {row["period_start"]: row for row in items(client, "/v1/churn", granularity="month", **Q1)}
    january, february, march = rows["2026-01-01"], rows["2026-02-01"], rows["2026-03-01"]
    # January opens with nothing: every rate is undefined.
    assert [january[k] for k in ("logo_churn_rate", "gross_mrr_churn_rate", "nrr", "grr")] == [None] * 4
    # February: opening customers C1-C8; C5 (canceled) and C8 (past due) are gone -> 2 / 8. C2's and
    # C3's plan changes stay inside the company: no transfer without a filter.
    assert (february["opening_customers"], february["churned_customers"], february["logo_churn_rate"]) == (8, 2, 0.25)
    assert logos(february) == (8, 2, 0, 0, 0, 6)
    # gross = (10930 + 18150) / 81470 = 29080 / 81470 = 0.3569412... (plan moves count only with
    # their net change, not as a full contraction of the old plan)
    assert february["gross_mrr_churn_rate"] == 0.356941
    # net = (29080 - 10000) / 81470 = 19080 / 81470 = 0.2341966...
    assert february["net_mrr_churn_rate"] == 0.234197
    # NRR = (81470 + 10000 - 29080) / 81470 = 62390 / 81470 = 0.7658033...; GRR = 52390 / 81470.
    assert (february["nrr"], february["grr"]) == (0.765803, 0.643059)
    assert february["transfer_mrr_minor"] == 0
    # March: opening C1, C2, C3, C4, C6, C7; C7 paused -> 1 / 6; C5 came back (gained).
    assert (march["churned_customers"], march["gained_customers"], march["logo_churn_rate"]) == (1, 1, 0.166667)
    # gross = 7900 / 62390 = 0.1266228...; net = (7900 - 6480) / 62390 = 0.0227600...;
    # NRR = (62390 + 6480 - 7900) / 62390 = 0.9772399...; GRR = 54490 / 62390 = 0.8733771...
    assert (march["gross_mrr_churn_rate"], march["net_mrr_churn_rate"]) == (0.126623, 0.02276)
    assert (march["nrr"], march["grr"]) == (0.97724, 0.873377)


def test_churn_for_one_plan_and_per_quarter(client: TestClient) -> None:
    # starter-monthly-usd in February: opening S2 5800 + S5 2900 (customers C2, C5); S2 moved to
    # another plan (transfer -5800, no churn), S5 canceled (churn -2900). Both customers left the
    # plan, but C2 is still active (growth-monthly-usd) on Feb 28: transferred out, not churned;
    # C5 has no active subscription left: churned. Logo churn = 1 / 2 (was 2 / 2 = 1.0 before
    # definitions 2026-11-28.2). gross = 2900 / 8700; GRR = 5800 / 8700.
    feb_only = {"granularity": "month", "start": "2026-02-01", "end": "2026-02-28"}
    [feb] = items(client, "/v1/churn", plan_id="starter-monthly-usd", **feb_only)
    assert (feb["opening_mrr_minor"], feb["contraction_mrr_minor"], feb["churned_mrr_minor"],
            feb["transfer_mrr_minor"]) == (8700, 0, -2900, -5800)  # fmt: skip
    # (opening, churned, transferred out, gained, transferred in, closing)
    assert logos(feb) == (2, 1, 1, 0, 0, 0)
    assert (feb["logo_churn_rate"], feb["gross_mrr_churn_rate"], feb["grr"]) == (0.5, 0.333333, 0.666667)
    # growth-monthly-usd receives C2: opening C6, C7; closing C2, C6, C7; no churn.
    [growth] = items(client, "/v1/churn", plan_id="growth-monthly-usd", **feb_only)
    assert (logos(growth), growth["logo_churn_rate"]) == ((2, 0, 0, 0, 1, 3), 0.0)
    # The EUR downgrade: C3 leaves growth-monthly-eur for starter-monthly-eur (transferred), C8
    # (past due beyond grace, nothing else active) churns: 1 / 2 (was 1.0).
    [eur_growth] = items(client, "/v1/churn", plan_id="growth-monthly-eur", **feb_only)
    assert (logos(eur_growth), eur_growth["logo_churn_rate"]) == ((2, 1, 1, 0, 0, 0), 0.5)
    [eur_starter] = items(client, "/v1/churn", plan_id="starter-monthly-eur", **feb_only)
    assert (logos(eur_starter), eur_starter["logo_churn_rate"]) == ((1, 0, 0, 0, 1, 2), 0.0)
    # starter-monthly-usd in March opens empty; C5 comes back (active nowhere on Feb 28: gained)
    # and C2 adds S9 while active on growth-monthly-usd (transferred in, not gained).
    [march] = items(client, "/v1/churn", plan_id="starter-monthly-usd", granularity="month", start="2026-03-01",
                    end="2026-03-31")  # fmt: skip
    assert (logos(march), march["logo_churn_rate"]) == ((0, 0, 0, 1, 1, 2), None)
    # Q1 as a whole opens on Dec 31 with no customer: rate undefined; the 6 active on Mar 31
    # (C1-C6) are all gained (C7 and C8 came and went inside the quarter: neither gained nor churned).
    [quarter] = items(client, "/v1/churn", granularity="quarter", **Q1)
    assert (logos(quarter), quarter["logo_churn_rate"]) == ((0, 0, 0, 6, 0, 6), None)


@pytest.mark.parametrize(
    "params",
    [{}, {"currency": "original"}, {"region_id": "na"}, {"region_id": "emea", "currency": "original"},
     {"plan_id": "starter-monthly-usd"}, {"plan_id": "growth-monthly-usd"}, {"plan_id": "starter-monthly-eur"},
     {"plan_id": "growth-monthly-eur", "currency": "original"}, {"region_id": "na", "plan_id": "growth-monthly-usd"},
     {"granularity": "quarter"}, {"granularity": "quarter", "plan_id": "starter-monthly-usd"}],
)  # fmt: skip
def test_logo_bridge_holds_and_closes_on_the_active_customers(client: TestClient, params: dict[str, str]) -> None:
    """opening - churned - transferred_out + gained + transferred_in = closing for every period and
    filter; the closing count is the subscriptions endpoint's active customers at the period's end
    (another read model); transfers exist only where a filter splits the company."""
    query = {"granularity": "month", **params, **Q1}
    rows = items(client, "/v1/churn", **query)
    assert rows
    active = {(r["period_start"], r["currency"]): r["active_customers"] for r in items(client, "/v1/subscriptions",
                                                                                     **query)}  # fmt: skip
    for row in rows:
        opening, churned, out, gained, into, closing = logos(row)
        assert opening - churned - out + gained + into == closing, row
        assert closing == active.get((row["period_start"], row["currency"]), 0), row
        assert row["logo_churn_rate"] == (round(churned / opening, 6) if opening else None)
        if not {"region_id", "plan_id", "currency"} & params.keys():
            assert (out, into) == (0, 0), row


def test_revenue_by_region_plan_and_time(client: TestClient) -> None:
    rows = items(client, "/v1/revenue", granularity="month", group_by="region", **Q1)
    got = {
        (r["period_start"], r["region_id"]): (
            r["billed_minor"],
            r["collected_minor"],
            r["refunded_minor"],
            r["chargeback_minor"],
            r["net_collected_minor"],
        )
        for r in rows
    }
    # January: na billed C1 annual 120000 + C2 5800, collected the same; emea C3 21900 EUR x 1.1.
    assert got[("2026-01-01", "na")] == (125800, 125800, 0, 0, 125800)
    assert got[("2026-01-01", "emea")] == (24090, 24090, 0, 0, 24090)
    # February: na C2 5800 billed and collected, C5 refunded 1450; emea C8 chargeback 7300 x 1.1.
    assert got[("2026-02-01", "na")] == (5800, 5800, 1450, 0, 4350)
    assert got[("2026-02-01", "emea")] == (0, 0, 0, 8030, -8030)
    # March: emea C4 10800 EUR x 1.2 = 12960.
    assert got[("2026-03-01", "emea")] == (12960, 12960, 0, 0, 12960)
    # Original currency, by plan, in emea for January: 21900 EUR on growth-monthly-eur.
    [plan] = items(client, "/v1/revenue", granularity="quarter", group_by=["plan", "region"], currency="original",
                   region_id="emea", plan_id="growth-monthly-eur", **Q1)  # fmt: skip
    assert (plan["currency"], plan["billed_minor"], plan["chargeback_minor"]) == ("EUR", 21900, 7300)
    # Totals for the quarter: billed 125800 + 24090 + 5800 + 12960 = 168650.
    [total] = items(client, "/v1/revenue", granularity="quarter", **Q1)
    assert (total["region_id"], total["billed_minor"], total["refunded_minor"]) == (None, 168650, 1450)


def test_costs_and_gross_margin(client: TestClient) -> None:
    rows = items(client, "/v1/costs", granularity="month", group_by="category", **Q1)
    assert {(r["period_start"], r["category"]): (r["amount_minor"], r["is_cost_of_revenue"]) for r in rows} == {
        ("2026-01-01", "infrastructure"): (30000, True),
        ("2026-01-01", "third_party"): (5000, False),
        ("2026-02-01", "support"): (11000, True),  # 10000 EUR x 1.1
        ("2026-03-01", "payment_processing"): (2400, True),  # 2000 EUR x 1.2
    }
    margin = {row["period_start"]: row for row in items(client, "/v1/gross-margin", granularity="month", **Q1)}
    # January recurring revenue: MRR 73570 on Jan 1-14 (S6 in trial), 81470 on Jan 15-31:
    # (14 x 73570 + 17 x 81470) / 31 = 2414970 / 31 = 77902.26 -> 77902; cost of revenue 30000
    # (third_party is operating expense); gross profit 47902; margin 47902 / 77902 = 0.6149007...
    january = margin["2026-01-01"]
    assert (january["recurring_revenue_minor"], january["cost_of_revenue_minor"], january["gross_profit_minor"],
            january["gross_margin"], january["total_cost_minor"]) == (77902, 30000, 47902, 0.614901, 35000)  # fmt: skip
    # A month at constant MRR recognises exactly its MRR: region na in January from Jan 15 on is
    # not constant, but emea is: (21900 + 13500 + 7300) x 1.1 = 46970 every day.
    [emea] = items(client, "/v1/gross-margin", granularity="month", region_id="emea", start="2026-01-01",
                   end="2026-01-31")  # fmt: skip
    assert (emea["recurring_revenue_minor"], emea["cost_of_revenue_minor"], emea["gross_margin"]) == (46970, 0, 1.0)


def test_usage_by_metric(client: TestClient) -> None:
    rows = items(client, "/v1/usage", granularity="month", **Q1)
    assert [
        (r["period_start"], r["metric"], r["quantity"], r["billable_quantity"], r["event_count"]) for r in rows
    ] == [
        ("2026-01-01", "api_calls", 1500, 1400, 15),  # C1 1000 (900 billable, 10 events) + C3 500 (5 events)
        ("2026-02-01", "storage_gb", 20, 20, 1),
    ]
    regions = items(client, "/v1/usage", granularity="month", by_region="true", metric="api_calls", **Q1)
    assert [(r["region_id"], r["quantity"]) for r in regions] == [("emea", 500), ("na", 1000)]


def test_forecast_vs_actual_of_the_latest_vintage(client: TestClient) -> None:
    body = client.get("/v1/forecasts/vs-actual", params={"start": "2026-02-01", "end": "2026-02-02"}).json()
    assert body["vintage"]["run_id"] == "00000000-0000-0000-0000-00000000000b"  # the newest of two
    assert body["series"]["series_id"] == "mrr/total"
    first, second = body["items"]
    # Actual MRR on Feb 1 (sum of revenue_daily.mrr_reporting_minor): USD 10000 + 5800 + 2900 +
    # 7900 + 7900 = 34500; EUR C3 8100 x 1.1 = 8910, C4 13500 x 1.1 = 14850, C8 (past due within
    # grace, still active) 7300 x 1.1 = 8030 -> 66290. Point 80000: variance -13710,
    # -13710 / 80000 = -17.1375 %, outside both intervals.
    assert first == {
        "ds": "2026-02-01", "point": "80000.00", "lo_80": "78000.00", "hi_80": "82000.00", "lo_95": "76000.00",
        "hi_95": "84000.00", "actual": 66290, "variance": "-13710.00", "variance_pct": "-17.1375",
        "inside_80": False, "inside_95": False,
    }  # fmt: skip
    # Feb 2: same actual 66290 against 66000: +290 = 0.4394 %, inside both.
    assert (second["actual"], second["variance"], second["variance_pct"], second["inside_80"]) == (
        66290, "290.00", "0.4394", True,
    )  # fmt: skip


def test_forecast_of_an_older_vintage_a_region_and_monthly_counts(client: TestClient) -> None:
    old = client.get(
        "/v1/forecasts/vs-actual",
        params={"run_id": "00000000-0000-0000-0000-00000000000a", "start": "2026-02-01", "end": "2026-02-01"},
    ).json()
    assert [(i["point"], i["actual"]) for i in old["items"]] == [("1.00", 66290)]
    # emea on Feb 1: 8910 + 14850 + 8030 = 31790 against 30000 -> +1790 (5.9667 %).
    emea = client.get("/v1/forecasts/vs-actual", params={"region_id": "emea", "start": "2026-02-01",
                                                          "end": "2026-02-01"}).json()  # fmt: skip
    assert [(i["actual"], i["variance"], i["variance_pct"]) for i in emea["items"]] == [(31790, "1790.00", "5.9667")]
    # Monthly active subscriptions: month-end actuals Feb 28 = 6 and Mar 31 = 7 (complete months).
    counts = client.get(
        "/v1/forecasts/vs-actual",
        params={"metric": "active_subscriptions", "freq": "month", "start": "2026-02-01", "end": "2026-03-01"},
    ).json()
    assert [(i["ds"], i["actual"], i["variance"], i["variance_pct"], i["inside_80"], i["inside_95"])
            for i in counts["items"]] == [("2026-02-01", 6, "-1.50", "-20.0000", True, True),
                                          ("2026-03-01", 7, "-1.00", "-12.5000", False, True)]  # fmt: skip
    # A region without a series in the vintage: no series, no items (not an error).
    none = client.get("/v1/forecasts/vs-actual", params={"region_id": "mars"}).json()
    assert (none["series"], none["items"]) == (None, [])


def test_freshness_per_family(client: TestClient) -> None:
    body = client.get("/v1/data-quality/freshness").json()
    families = {f["family"]: f for f in body["families"]}
    assert families["subscription"]["latest_event_time"] == "2026-03-31T18:30:00Z"
    assert families["subscription"]["latest_loaded_at"] == "2026-03-31T18:35:00Z"
    assert families["payment"]["latest_event_time"] == "2026-03-01T09:00:00Z"
    assert families["payment"]["lag_seconds"] > families["subscription"]["lag_seconds"] > 0
    assert (families["usage"]["status"], families["operational_cost"]["lag_seconds"]) == ("empty", None)
    assert body["warehouse_horizon_date"] == "2026-03-31"
    assert body["read_models_lag_seconds"] == 0  # refreshed after the horizon was written
    assert body["fx_gaps"] == []


def test_dimensions_for_the_filters(client: TestClient) -> None:
    regions = client.get("/v1/dimensions/region").json()["items"]
    assert regions == [{"id": "emea", "name": "Europe, Middle East & Africa"}, {"id": "na", "name": "North America"}]
    plans = [item["id"] for item in client.get("/v1/dimensions/plan").json()["items"]]
    assert plans == sorted(["growth-annual-usd", "starter-monthly-usd", "growth-monthly-usd", "growth-monthly-eur",
                            "starter-monthly-eur"])  # fmt: skip


def test_quarantine_counts_in_the_default_range(client: TestClient) -> None:
    body = client.get("/v1/data-quality/quarantine").json()
    assert body["available"] is True
    # scenario.QUARANTINE: payment q-1/q-2 are one event (a backfill re-published it) + q-3 = 2
    # events in 3 records; the undecodable record has no event_id and counts as itself.
    assert [(i["family"], i["reason"], i["event_count"], i["record_count"]) for i in body["items"]] == [
        ("payment", "negative_amount", 2, 3), ("subscription", "unknown_plan", 1, 1), ("unknown", "undecodable", 1, 1),
    ]  # fmt: skip
    assert body["total_events"] == 4


@pytest.mark.parametrize("currency", ["reporting", "original"])
def test_revenue_by_day_adds_up_to_the_months_and_quarter(client: TestClient, currency: str) -> None:
    """Days read the daily read model, months and quarters the monthly one: they must agree."""
    fields = ("billed_minor", "collected_minor", "refunded_minor", "chargeback_minor")
    by = {"group_by": "region", "currency": currency, "page_size": 500, **Q1}
    days = items(client, "/v1/revenue", granularity="day", **by)
    assert len(days) == 90 * 2, "every day has revenue rows (MRR) in both regions"
    per_month: dict[tuple[str, str, str], list[int]] = {}
    per_quarter: dict[tuple[str, str], list[int]] = {}
    for row in days:
        month = per_month.setdefault((row["period_start"][:7] + "-01", row["region_id"], row["currency"]), [0] * 4)
        quarter = per_quarter.setdefault((row["region_id"], row["currency"]), [0] * 4)
        for index, field in enumerate(fields):
            month[index] += row[field]
            quarter[index] += row[field]
    months = items(client, "/v1/revenue", granularity="month", **by)
    assert {(r["period_start"], r["region_id"], r["currency"]): [r[f] for f in fields] for r in months} == per_month
    quarters = items(client, "/v1/revenue", granularity="quarter", **by)
    assert {(r["region_id"], r["currency"]): [r[f] for f in fields] for r in quarters} == per_quarter
