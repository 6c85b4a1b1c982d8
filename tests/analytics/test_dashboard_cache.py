"""The dashboard's sections cached under the roll-ups' generation (rollups.cached): the same
numbers cached and uncached, never a stale one after a rebuild, a refresh of dirty days, a new
client or a tier change, each language's own labels from a warm cache, the pre-warm after a
refresh (analytics.tasks) and the page without Redis."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics import cohorts, dashboard, rollups, tasks
from analytics.models import DirtyDay
from loyalty.models import LoyaltyAccount, MembershipTier
from tests.analytics.test_dashboard import URL, history, today, visit  # noqa: F401 (a fixture)
from tests.customers.factories import CustomerFactory
from tests.test_redis_down import on_own_redis, own_redis  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("history")]


def numbers(response) -> dict:
    """Every number the page shows (no label: those are in the page's language)."""
    c = response.context
    b = c["breakdowns"]
    return {
        "tiles": [(t["key"], t["value"], t["previous"], t.get("part"), t["responses"]) for t in c["tiles"]],
        "trend": c["trend"],
        "funnel": [(s["stage"], s["count"]) for s in c["funnel"]],
        "services": [(r["lines"], r["revenue"]) for r in b["services"]],
        "staff": [(r["services"], r["products"]) for r in b["staff"]],
        "utilisation": [r["rate"] for r in b["utilisation"]],
        "total": b["total"],
        "cohorts": c["cohorts"]["cohorts"],
        "tiers": [(t["key"], t["count"]) for t in c["cohorts"]["tiers"]],
    }


def queries(client, params=None) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def cache_down(monkeypatch) -> None:
    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    for name in ("get", "set", "add"):
        monkeypatch.setattr(rollups.cache, name, down)


@pytest.mark.parametrize("params", [{}, {"location": "all"}, {"start": "2025-01-01"}])
def test_the_page_shows_the_same_numbers_cached_and_uncached(client_as, owner, monkeypatch, params):
    client = client_as(owner)
    client.get(URL)  # the login's own queries
    rollups.rebuild()  # a new generation: nothing cached
    cold_n, cold = queries(client, params)  # computed and cached
    warm_n, warm = queries(client, params)  # from the cache
    assert warm_n < cold_n
    monkeypatch.setattr(rollups, "generation", lambda *, clients=False: (None, "") if clients else None)
    _n, uncached = queries(client, params)
    assert numbers(cold) == numbers(warm) == numbers(uncached)
    if params.get("location") == "all":
        assert numbers(warm)["tiles"][0][:2] == ("visits", 7)  # history: 6 at home, 1 at the other


def test_a_rebuild_or_a_refresh_of_a_day_shows_the_new_numbers(client_as, manager, location):
    client = client_as(manager)
    client.get(URL)
    before = numbers(queries(client)[1])
    assert numbers(queries(client)[1]) == before  # warm
    # given: a new client's visit today, rolled up by the nightly rebuild
    visit(CustomerFactory(), location, today(), "60")
    rollups.rebuild()
    after = numbers(queries(client)[1])
    assert after["tiles"][0][:2] == ("visits", before["tiles"][0][1] + 1)
    assert dict(after["funnel"])["new"] == dict(before["funnel"])["new"] + 1
    assert after["cohorts"][-1]["size"] == before["cohorts"][-1]["size"] + 1
    # and another by a refresh of its day only
    visit(CustomerFactory(), location, today(), "40")
    rollups.rebuild_days({(location.pk, today())})
    again = numbers(queries(client)[1])
    assert again["tiles"][0][:2] == ("visits", before["tiles"][0][1] + 2)
    assert again["tiles"][1][1] == after["tiles"][1][1] + 40
    assert again["trend"]["points"][-1]["visits"] == after["trend"]["points"][-1]["visits"] + 1


def test_a_new_client_or_a_tier_change_shows_at_once(client_as, manager, location):
    client = client_as(manager)
    client.get(URL)
    before = numbers(queries(client)[1])
    # a new client (no visit yet: potential, no tier), without any refresh of the roll-ups
    newcomer = CustomerFactory(home_location=location)
    now = numbers(queries(client)[1])
    assert dict(now["funnel"])["potential"] == dict(before["funnel"])["potential"] + 1
    assert dict(now["tiers"])["none"] == dict(before["tiers"])["none"] + 1
    # the nightly tier review (03:00, before the nightly rebuild) gives them a tier: logged as a
    # TierChange, a bulk update of the account
    from loyalty.tiers import tiers_review

    gold = MembershipTier.objects.create(name="Gold", rank=1)
    LoyaltyAccount.objects.create(customer=newcomer)
    tiers_review()
    tiers = numbers(queries(client)[1])["tiers"]
    assert dict(tiers)[str(gold.pk)] >= 1
    assert tiers == [(t["key"], t["count"]) for t in cohorts.tiers([location])]  # uncached


def test_each_language_gets_its_own_labels_from_a_warm_cache(client_as, manager):
    client = client_as(manager)
    client.get(URL)
    english = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    chinese_n, _r = 0, None
    with CaptureQueriesContext(connection) as ctx:
        chinese = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans")
    chinese_n = len(ctx.captured_queries)
    english_n, _r = queries(client)
    assert chinese_n == english_n  # warm in both: the numbers are shared
    assert numbers(chinese) == numbers(english)
    en, zh = english.content.decode(), chinese.content.decode()
    assert "Potential" in en and "潜在" not in en
    assert "潜在" in zh and "无等级" in zh and "No tier" not in zh
    assert [s["label"] for s in chinese.context["funnel"]][:2] == ["潜在", "新客"]


def test_the_prewarm_after_a_refresh_fills_the_cache(client_as, manager, owner, location):
    client = client_as(manager)
    client.get(URL)
    warm, _r = queries(client)
    # given: a refresh (a new generation): the first page computes every section
    rollups.rebuild()
    cold, _r = queries(client)
    assert cold > warm
    # when: the nightly task (rebuild, then the pre-warm)
    result = tasks.rebuild()
    assert result["prewarm"]["dashboards"] == 3  # the chain (both locations are in one zone) and each
    # then: the manager's first page is a warm one
    first, _r = queries(client)
    assert first == warm
    # and so is the owner's chain after a refresh of a dirty day
    chain = client_as(owner)
    chain.get(URL)
    chain_warm, _r = queries(chain, {"location": "all"})
    visit(CustomerFactory(), location, today(), "60")
    DirtyDay.objects.create(location=location, day=today())
    assert tasks.rebuild_dirty()["prewarm"]["dashboards"] == 3
    n, response = queries(chain, {"location": "all"})
    assert n == chain_warm
    assert numbers(response)["tiles"][0][:2] == ("visits", 8)  # history's 7 and today's
    # nothing dirty: no refresh, no pre-warm
    assert "prewarm" not in tasks.rebuild_dirty()


def test_the_prewarm_is_skipped_without_a_cache(monkeypatch):
    cache_down(monkeypatch)
    assert dashboard.prewarm() == {"dashboards": 0, "seconds": 0.0}


def test_the_page_answers_without_a_cache(client_as, manager, monkeypatch):
    client = client_as(manager)
    client.get(URL)
    _n, cached = queries(client)
    cache_down(monkeypatch)
    _n, response = queries(client)
    assert numbers(response) == numbers(cached)


def test_the_page_answers_when_redis_is_stopped(on_own_redis, client_as, manager):  # noqa: F811
    client = client_as(manager)
    client.get(URL)
    _n, cached = queries(client)  # cached on the test's own Redis
    on_own_redis.stop()
    _n, response = queries(client)
    assert numbers(response) == numbers(cached)


def test_the_generation_moves_with_every_rebuild_and_refresh_of_the_roll_ups(location):
    """The marker is RollupState's counter (an integer on either database; the quick start's
    SQLite once failed on a date marker): none before the first roll-up, then one more for every
    rebuild and every refresh of dirty days."""
    from analytics.models import RollupState

    assert rollups._generation(None) is None and rollups._generation(0) is None  # never rolled up
    before = RollupState.objects.get().generation  # (the history fixture rolled up already)
    rollups.rebuild()
    first = RollupState.objects.get().generation
    assert first == before + 1
    assert rollups.generation().endswith(f":{first}")
    rollups.rebuild_days({(location.pk, date(2026, 3, 2))})
    assert RollupState.objects.get().generation == first + 1
    assert rollups.generation().endswith(f":{first + 1}")
