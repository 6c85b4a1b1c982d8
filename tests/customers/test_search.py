"""customer_search: what each kind of input finds, in which order, and at what query cost.

The same tests run on SQLite (the ORM fallback) and on PostgreSQL (the UNION ALL statement);
the `postgres` ones also read the plans to check every branch stays on its index."""

import pytest
from django.db import connection
from django.utils import timezone

from customers.search import customer_search, search_plan, search_sql
from tests.customers.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db


def names(results) -> list[str]:
    return [c.name for c in results]


@pytest.fixture
def people(db):
    """A small chain: Chinese and Western names, phones chosen so suffix and prefix differ."""
    return {
        "张三": CustomerFactory(name="张三", phone="+8613800001234"),
        "张思远": CustomerFactory(name="张思远", phone="+8613900005678"),
        "张伟明": CustomerFactory(name="张伟明", phone="+8618612340000"),
        "周珊": CustomerFactory(name="周珊", phone="+8615000009999"),
        "王伟": CustomerFactory(name="王伟", phone="+8613711112222"),
        "欧阳青": CustomerFactory(name="欧阳青", phone=None),
        "Emily Clark": CustomerFactory(name="Emily Clark", phone="+8613312341234", email="emily@example.com"),
        "Oliver Clarkson": CustomerFactory(name="Oliver Clarkson", phone=None, email="oc@mail.example.org"),
    }


def test_blank_input_finds_nothing(people):
    assert customer_search(q="") == []
    assert customer_search(q="   ") == []


def test_pinyin_initials_shortest_first(people):
    # 张三 'zs' and 周珊 'zs' both match exactly, before 张思远 'zsy'. Equal keys come in the
    # index's order (the heap position of the rows, not always their age), so as a pair.
    found = names(customer_search(q="zs"))
    assert sorted(found[:2]) == sorted(["张三", "周珊"]) and found[2:] == ["张思远"]


def test_initials_rank_before_full_pinyin(people):
    # 'zs': initials branch; nobody's full pinyin starts with 'zs', so nothing else.
    # 'zh': no initials start with 'zh'; full pinyin 'zhangsan', 'zhangsiyuan', 'zhangweiming', 'zhoushan'.
    assert names(customer_search(q="zh")) == ["张三", "张思远", "张伟明", "周珊"]


def test_full_pinyin_prefix(people):
    assert names(customer_search(q="zhangs")) == ["张三", "张思远"]
    assert names(customer_search(q="zhang san")) == ["张三"]
    assert names(customer_search(q="ZhangWei")) == ["张伟明"]


def test_phone_last_four_digits_suffix_ranks_first(people):
    # '1234' ends 张三's and Emily's phones (suffix, rank 1, in reversed-digit order) and
    # starts 张伟明's national number after 186 - not a prefix; nothing else ends with it.
    assert names(customer_search(q="1234")) == ["张三", "Emily Clark"]


def test_phone_prefix_after_suffix(people):
    # '138' ends nobody's number; 张三's national number starts with it.
    assert names(customer_search(q="138")) == ["张三"]
    # '0000' ends 张伟明's (suffix first), starts nobody's.
    assert names(customer_search(q="0000")) == ["张伟明"]
    # A whole number typed with spaces finds its owner.
    assert names(customer_search(q="138 0000 1234")) == ["张三"]
    assert names(customer_search(q="+86 186 1234 0000")) == ["张伟明"]


def test_chinese_one_character_prefix_then_inside(people):
    # 张 starts three names; 伟 starts none and sits inside 张伟明 and 王伟.
    assert names(customer_search(q="张")) == ["张三", "张伟明", "张思远"]
    assert names(customer_search(q="伟")) == ["张伟明", "王伟"]


def test_chinese_two_characters(people):
    assert names(customer_search(q="伟明")) == ["张伟明"]
    assert names(customer_search(q="欧阳")) == ["欧阳青"]
    assert names(customer_search(q="阳青")) == ["欧阳青"]
    assert names(customer_search(q="伟明x")) == []


def test_chinese_three_characters_inside(db):
    CustomerFactory(name="司马伟明华")
    assert names(customer_search(q="伟明华")) == ["司马伟明华"]


def test_surname_key():
    from customers.search import name_surname_key

    assert name_surname_key("Emily Clark") == "clarkemily"
    assert name_surname_key("Mary Ann O'Neil") == "oneilmaryann"
    assert name_surname_key("Emily") == ""
    assert name_surname_key("张三") == ""
    assert name_surname_key("Lily 王") == ""


def test_western_surname_prefix_ranks_before_substring(db):
    CustomerFactory(name="Ann Edwards")  # 'ward' inside the surname: substring, rank 4
    CustomerFactory(name="Tom Ward")  # surname starts with 'ward': rank 3
    CustomerFactory(name="Wardell Moss")  # first name starts with 'ward': full pinyin, rank 2
    assert names(customer_search(q="ward")) == ["Wardell Moss", "Tom Ward", "Ann Edwards"]


def test_western_prefix_and_substring(people):
    # 'cla': no initials/pinyin start; substring of both surnames (case-insensitive).
    assert sorted(names(customer_search(q="cla"))) == ["Emily Clark", "Oliver Clarkson"]
    # 'emi': full-pinyin prefix (rank 2) of 'emilyclark'.
    assert names(customer_search(q="emi")) == ["Emily Clark"]
    # 'oliver c': prefix of 'oliverclarkson' and substring of the name.
    assert names(customer_search(q="oliver c")) == ["Oliver Clarkson"]
    assert names(customer_search(q="arkso")) == ["Oliver Clarkson"]


def test_email(people):
    assert names(customer_search(q="emily@example")) == ["Emily Clark"]
    assert names(customer_search(q="@mail.example")) == ["Oliver Clarkson"]


def test_like_wildcards_are_literal(people):
    assert customer_search(q="%%%") == []
    assert customer_search(q="___") == []
    assert customer_search(q="5%@") == []


def test_erased_clients_are_excluded(people):
    people["张三"].erased_at = timezone.now()
    people["张三"].save(update_fields=["erased_at"])
    assert names(customer_search(q="zs")) == ["周珊", "张思远"]
    assert customer_search(q="1234") == [people["Emily Clark"]]


def test_limit(db):
    for i in range(30):
        CustomerFactory(name=f"张{chr(0x4E00 + i)}")
    assert len(customer_search(q="张")) == 20
    assert len(customer_search(q="张", limit=5)) == 5


def test_matched_by_two_branches_once(db):
    # 'wang' starts the full pinyin of both ('wangli' < 'wangwei', rank 2) and is also a
    # substring of 'Wang Li' (rank 3): Wang Li appears once, at its best rank.
    CustomerFactory(name="Wang Li")
    CustomerFactory(name="王伟")
    CustomerFactory(name="Lee Wangari")
    assert names(customer_search(q="wang")) == ["Wang Li", "王伟", "Lee Wangari"]


def test_plan_per_kind():
    assert [(b.rank, b.column) for b in search_plan("1234")] == [(1, "phone_rev"), (2, "phone")]
    assert [(b.rank, b.column) for b in search_plan("zs")] == [
        (1, "name_initials"),
        (2, "name_pinyin"),
        (3, "name_surname_key"),
    ]
    assert [(b.rank, b.column) for b in search_plan("zhangs")] == [
        (1, "name_initials"),
        (2, "name_pinyin"),
        (3, "name_surname_key"),
        (4, "name"),
    ]
    assert [(b.rank, b.column) for b in search_plan("伟")] == [(1, "name"), (2, "name_pieces")]
    assert [(b.rank, b.column) for b in search_plan("a@b")] == [(1, "email")]
    assert search_plan("ab-") != []
    assert search_plan("!") == []


def test_query_count_is_constant_as_matches_grow(db, stylist, django_assert_num_queries):
    staff_tag = TagFactory(name="VIP")
    for i in range(3):
        CustomerFactory(name=f"张{chr(0x4E00 + i)}", tags=[staff_tag], preferred_staff=stylist)
    # PostgreSQL: the clients (search joined to the table, one statement), the setting reset
    # (the test runs in a transaction), tags, preferred staff. SQLite: one query per branch
    # ('张': name prefix, piece inside), clients + preferred_staff, tags.
    expected = 4
    with django_assert_num_queries(expected):
        results = customer_search(q="张")
        assert [t.name for t in results[0].tags.all()] == ["VIP"]
        assert results[0].preferred_staff == stylist
    for i in range(3, 40):
        CustomerFactory(name=f"张{chr(0x4E00 + i)}", tags=[staff_tag, TagFactory()], preferred_staff=stylist)
    with django_assert_num_queries(expected):
        results = customer_search(q="张")
        assert len(results) == 20
        assert all(len(c.tags.all()) >= 1 and c.preferred_staff == stylist for c in results)


@pytest.mark.postgres
@pytest.mark.parametrize("q", ["1234", "zs", "zhangs", "张", "伟", "伟明", "欧阳", "clark", "emily@example"])
def test_every_branch_uses_an_index(people, q):
    # Seq scans are made unattractive but not forbidden: a branch with no usable index would
    # still show one. A tiny table is otherwise scanned whatever the indexes.
    sql, params = search_sql(q, 20)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on customers_customer" not in plan, plan
    assert "Index" in plan, plan


@pytest.mark.postgres
def test_prefix_branches_read_in_index_order(people):
    # No Sort node under a prefix branch: the btree supplies the order, the scan stops at LIMIT.
    # The test's table holds a dozen rows, and once autovacuum has analysed it (the browser tests
    # commit rows) a sort of "one row" costs less than any index scan: sorts and sequential scans
    # are priced out, so the plan shows whether the query's shape lets the index give the order.
    sql, params = search_sql("zs", 20)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
    branch_lines = [line for line in plan if "customers_customer_" in line]
    assert any("customers_customer_initials_pat" in line for line in branch_lines), plan
    assert any("customers_customer_pinyin_pat" in line for line in branch_lines), plan
    # No sort anywhere: branches stream in rank order under the outer LIMIT.
    assert not any("Sort" in line for line in plan), plan


def test_fuzzy_gin_limit_only_for_a_lone_han_piece():
    # GIN drops items of each key at random under the limit: fine for one key (any 20 of
    # thousands), wrong for a multi-trigram AND or a piece rechecked by LIKE.
    from customers.search import search_settings_sql

    assert "gin_fuzzy_search_limit" in search_settings_sql("伟")
    assert "gin_fuzzy_search_limit" in search_settings_sql("伟明")
    for q in ("伟明华", "martinez", "zs", "1234", "a@b.cn"):
        assert "gin_fuzzy_search_limit" not in search_settings_sql(q), q
        assert "enable_seqscan" in search_settings_sql(q)
