"""Client search at a million rows: generate, then measure p50/p95 per kind of input.

    .venv/bin/python bench/search_bench.py [--rows 1000000] [--queries 200] [--db salon_bench]
                                           [--regenerate] [--out bench/results/search.md]

1. Creates the database (default `salon_bench`, never the app's own) and migrates it.
2. Unless it already holds --rows clients, fills it with COPY: 70% Chinese names, 30% Western,
   unique E.164 mobiles, a third with an email; the derived search columns are computed in
   Python once here with the same functions the services use (customers.search), never by SQL.
   The search indexes are dropped during COPY and rebuilt after it (faster), then ANALYZE.
3. Measures, per input kind, ≥ --queries different inputs drawn from the data:
   - SQL: exactly the statement customer_search runs (customers.search.search_sql), psycopg2
     directly, warm cache, time = execute + fetch on a local connection;
   - API: GET /api/v1/customers/?q= with a DRF token, in-process Django test client against
     the same database (measures serializer + view + queries, not a network hop).
4. Writes the table to --out (bench/results/search.md) and prints it.

Targets (issue 3, shared SEARCH.md): SQL p95 within 2x of the floor (~1 ms), API p95 ≤ 10 ms.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石"
    "廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND_SURNAMES = ["欧阳", "司马", "上官", "诸葛", "东方", "皇甫"]
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建文辉玲红晨思远欣怡子涵雨轩浩宇梓萱一诺宁青云佳琪嘉怡俊杰"
    "晓婷雪梅海燕志强建国春花秋月冬梅丹丹婷婷亮鹏飞宏博瑶琳婉清舒雅若曦梦洁语嫣诗雨可馨"
)
WESTERN_FIRST = [
    "Emily",
    "Olivia",
    "Emma",
    "Ava",
    "Sophia",
    "Isabella",
    "Mia",
    "Charlotte",
    "Amelia",
    "Harper",
    "Evelyn",
    "Abigail",
    "Ella",
    "Grace",
    "Chloe",
    "Lily",
    "Hannah",
    "Zoe",
    "Nora",
    "Lucy",
    "Anna",
    "Sarah",
    "Laura",
    "Julia",
    "Claire",
    "Alice",
    "Kate",
    "Rachel",
    "Megan",
    "Jessica",
    "James",
    "John",
    "Robert",
    "Michael",
    "William",
    "David",
    "Richard",
    "Joseph",
    "Thomas",
    "Charles",
    "Daniel",
    "Matthew",
    "Anthony",
    "Mark",
    "Paul",
    "Steven",
    "Andrew",
    "Kevin",
    "Brian",
    "George",
    "Edward",
    "Peter",
    "Oliver",
    "Jack",
    "Henry",
    "Samuel",
    "Lucas",
    "Ethan",
]
WESTERN_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Parker",
    "Collins",
    "Edwards",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Hughes",
    "Price",
    "Sanders",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Fischer",
    "Schmidt",
    "Dubois",
    "Moreau",
    "Laurent",
    "Rossi",
    "Ricci",
]
MOBILE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159"]
MOBILE_PREFIXES += ["170", "176", "177", "180", "181", "186", "187", "188", "189", "199"]

KINDS = [
    "phone suffix (4 digits)",
    "initials",
    "full pinyin",
    "1 Chinese char",
    "2 Chinese chars",
    "Western name",
]


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# ---- set-up ---------------------------------------------------------------------------------


def ensure_database(base_url: str, db: str) -> str:
    import psycopg2

    conn = psycopg2.connect(base_url + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db])
        if not cur.fetchone():
            log(f"creating database {db}")
            cur.execute(f'CREATE DATABASE "{db}"')
    conn.close()
    url = f"{base_url}/{db}"
    log("migrating")
    env = {**os.environ, "DJANGO_DEBUG": "1", "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    return url


def search_indexes() -> dict[str, str]:
    import importlib

    return {
        **importlib.import_module("customers.migrations.0002_search_indexes")._INDEXES,
        **importlib.import_module("customers.migrations.0003_name_surname_key")._INDEXES,
    }


def generate(conn, rows: int, seed: int = 20261122) -> None:
    from customers.search import name_pieces, name_pinyin, name_surname_key

    rng = random.Random(seed)
    derived: dict[str, tuple[str, str, str, str]] = {}

    def derive(name: str) -> tuple[str, str, str, str]:
        if name not in derived:
            full, initials = name_pinyin(name)
            pieces = "[" + ",".join(f'"{p}"' for p in name_pieces(name)) + "]"
            derived[name] = (full, initials, pieces, name_surname_key(name))
        return derived[name]

    with conn.cursor() as cur:
        cur.execute("TRUNCATE customers_customer CASCADE")
        for name in search_indexes():
            cur.execute(f"DROP INDEX IF EXISTS {name}")
    conn.commit()

    numbers = rng.sample(range(10**8), rows)
    now = datetime.now(UTC)
    columns = (
        "name,name_pinyin,name_initials,name_pieces,name_surname_key,phone,phone_rev,email,gender,birthday,source,"
        "skin_type,skin_notes,hair_type,hair_notes,allergies,contraindications,medical_notes,"
        "preferences,notes,consent_sms,consent_email,consent_wechat,do_not_contact,created_at,updated_at"
    )
    batch = 100_000
    started = time.perf_counter()
    for start in range(0, rows, batch):
        buf = io.StringIO()
        for i in range(start, min(rows, start + batch)):
            if rng.random() < 0.7:
                surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.02 else rng.choice(SURNAMES)
                given = "".join(rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.35 else 2))
                name = surname + given
                gender = rng.choice(("female", "male"))
            else:
                name = f"{rng.choice(WESTERN_FIRST)} {rng.choice(WESTERN_LAST)}"
                gender = rng.choice(("female", "male", ""))
            full, initials, pieces, surname_key = derive(name)
            national = rng.choice(MOBILE_PREFIXES) + f"{numbers[i]:08d}"
            email = f"{full[:12]}{i}@example.com" if rng.random() < 0.33 else ""
            birthday = f"{rng.randint(1955, 2006)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            created = now.isoformat()
            fields = [
                name,
                full,
                initials,
                pieces,
                surname_key,
                "+86" + national,
                national[::-1],
                email,
                gender,
                birthday,
            ]
            fields += ["import", "", "", "", "", "", "", "", "", "", "f", "f", "f", "f", created, created]
            buf.write("\t".join(fields) + "\n")
        buf.seek(0)
        with conn.cursor() as cur:
            cur.copy_expert(f"COPY customers_customer ({columns}) FROM STDIN", buf)
        conn.commit()
        log(f"COPY {min(rows, start + batch):,} rows ({time.perf_counter() - started:.1f} s)")
    with conn.cursor() as cur:
        for name, spec in search_indexes().items():
            t = time.perf_counter()
            cur.execute(f"CREATE INDEX {name} ON customers_customer USING {spec}")
            conn.commit()
            log(f"index {name}: {time.perf_counter() - t:.1f} s")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE customers_customer")
    conn.autocommit = False


def sizes(conn) -> tuple[str, str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_size_pretty(pg_table_size('customers_customer')),"
            " pg_size_pretty(pg_indexes_size('customers_customer'))"
        )
        return cur.fetchone()


# ---- inputs ---------------------------------------------------------------------------------


def inputs(conn, per_kind: int, seed: int = 7) -> dict[str, list[str]]:
    """Realistic inputs drawn from the data (a receptionist types what the client says)."""
    rng = random.Random(seed)
    with conn.cursor() as cur:
        cur.execute("SELECT reltuples FROM pg_class WHERE relname = 'customers_customer'")
        share = min(100.0, max(1.0, 20000 / max(cur.fetchone()[0], 1) * 100))  # 1 % of a million
        cur.execute(
            "SELECT name, name_pinyin, name_initials, phone_rev FROM customers_customer"
            f" TABLESAMPLE SYSTEM ({share:.2f}) WHERE phone_rev <> '' LIMIT 20000"
        )
        sample = cur.fetchall()
    han = [r for r in sample if "\u4e00" <= r[0][0] <= "\u9fff"]
    western = [r for r in sample if r[0][0].isascii()]
    out: dict[str, list[str]] = {k: [] for k in KINDS}
    for _ in range(per_kind):
        out[KINDS[0]].append(rng.choice(sample)[3][:4][::-1])
        name, full, initials, _rev = rng.choice(han)
        out[KINDS[1]].append(initials[:2])
        out[KINDS[2]].append(rng.choice(han)[1][: rng.randint(4, 7)])
        out[KINDS[3]].append(rng.choice(rng.choice(han)[0]))
        hname = rng.choice([r[0] for r in han if len(r[0]) >= 3])
        i = rng.randint(0, len(hname) - 2)
        out[KINDS[4]].append(hname[i : i + 2])
        wname = rng.choice(western)[0]
        word = rng.choice(wname.split())
        out[KINDS[5]].append(word[: rng.randint(3, len(word))].lower() if len(word) > 3 else word.lower())
    return out


# ---- measurements ---------------------------------------------------------------------------


def measure_sql(conn, queries: dict[str, list[str]], repeat: int) -> dict[str, list[list[float]]]:
    """times[kind][i] = the `repeat` timings of input i (separate passes over all inputs)."""
    from customers.search import search_settings_sql, search_sql

    conn.rollback()
    conn.autocommit = True  # as Django runs it: each statement its own transaction
    times: dict[str, list[list[float]]] = {}
    with conn.cursor() as cur:
        cur.execute("SET plan_cache_mode = force_custom_plan")
        for kind, qs in queries.items():
            for q in qs:  # warm-up pass: the cache is warm when timing starts
                sql, params = search_sql(q, 20)
                cur.execute(search_settings_sql(q) + sql, params)
                cur.fetchall()
            times[kind] = [[] for _ in qs]
            for _ in range(repeat):
                for i, q in enumerate(qs):
                    sql, params = search_sql(q, 20)
                    t = time.perf_counter()
                    cur.execute(search_settings_sql(q) + sql, params)
                    cur.fetchall()
                    times[kind][i].append((time.perf_counter() - t) * 1000)
    return times


def explain_worst(conn, queries: dict[str, list[str]], sql_times: dict[str, list[float]]) -> dict[str, str]:
    from customers.search import search_settings_sql, search_sql

    plans = {}
    with conn.cursor() as cur:
        for kind, qs in queries.items():
            worst = qs[max(range(len(qs)), key=lambda i: min(sql_times[kind][i]))]
            sql, params = search_sql(worst, 20)
            cur.execute("BEGIN")
            cur.execute(search_settings_sql(worst))  # the same settings, for this transaction
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
            plans[kind] = f"q = {worst!r}\n" + "\n".join(r[0] for r in cur.fetchall())
            cur.execute("ROLLBACK")
    return plans


def measure_api(queries: dict[str, list[str]], repeat: int) -> dict[str, list[list[float]]] | str:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from accounts.models import Role, StaffMember
    from accounts.services import staff_create

    path = "/api/v1/customers/"
    staff = StaffMember.objects.filter(user__username="bench_reception").first()
    if staff is None:
        staff = staff_create(
            username="bench_reception", password=None, display_name="Bench", role=Role.RECEPTIONIST
        )
    token, _ = Token.objects.get_or_create(user=get_user_model().objects.get(pk=staff.user_id))
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_HOST="127.0.0.1")
    probe = client.get(path, {"q": "zs"})
    if probe.status_code != 200:
        return f"GET {path}?q=zs answered {probe.status_code}: the API list is not available yet"
    times: dict[str, list[list[float]]] = {}
    for kind, qs in queries.items():
        for q in qs[:20]:
            client.get(path, {"q": q})
        times[kind] = [[] for _ in qs]
        for _ in range(repeat):
            for i, q in enumerate(qs):
                t = time.perf_counter()
                response = client.get(path, {"q": q})
                times[kind][i].append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, (q, response.status_code)
    return times


def measure_selector(
    queries: dict[str, list[str]], repeat: int, rows: bool = False
) -> dict[str, list[list[float]]]:
    """customer_search(q=...) in-process: the SQL plus building 20 Customer instances (phone
    parsing, decryption hooks) and prefetching tags (what the pages use); with rows=True
    customer_search_rows(q=...), the plain rows with their tag names that the API serialises."""
    from customers.search import customer_search as selector
    from customers.search import customer_search_rows

    customer_search = customer_search_rows if rows else selector

    times: dict[str, list[list[float]]] = {}
    for kind, qs in queries.items():
        for q in qs[:20]:
            customer_search(q=q)
        times[kind] = [[] for _ in qs]
        for _ in range(repeat):
            for i, q in enumerate(qs):
                t = time.perf_counter()
                customer_search(q=q)
                times[kind][i].append((time.perf_counter() - t) * 1000)
    return times


# ---- report ---------------------------------------------------------------------------------


def _table(columns: dict[str, dict | str], pick, label: str) -> list[str]:
    """One row per input kind; p50 / p95 / max for each measured layer."""
    measured = {name: t for name, t in columns.items() if isinstance(t, dict)}
    head = "| input kind |" + "".join(f" {n} p50 | {n} p95 | {n} max |" for n in measured)
    lines = [f"### {label}", "", head, "| --- |" + " ---: |" * (3 * len(measured))]
    totals: dict[str, list[float]] = {n: [] for n in measured}
    for kind in KINDS:
        row = f"| {kind} |"
        for name, times in measured.items():
            values = [pick(t) for t in times[kind]]
            totals[name] += values
            row += f" {pct(values, 50):.2f} | {pct(values, 95):.2f} | {max(values):.2f} |"
        lines.append(row)
    row = "| **all kinds** |"
    for values in totals.values():
        row += f" {pct(values, 50):.2f} | {pct(values, 95):.2f} | {max(values):.2f} |"
    return [*lines, row, "", "(milliseconds)", ""]


def report(args, count, size, sql_times, selector_times, rows_times, api_times, plans, load) -> str:
    lines = [
        "# Client search benchmark",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/search_bench.py`: {count:,} clients in"
        f" `{args.db}` (heap {size[0]}, indexes {size[1]}), {args.queries} different inputs per kind,"
        f" each run {args.repeat} times (separate passes), warm cache, top 20. SQL = the selector's"
        " statement over psycopg2 (execute + fetch, local TCP); selector = `customer_search(q=...)`"
        " in-process (SQL + model instances + tags; the header box and list page); rows ="
        " `customer_search_rows(q=...)` (the same matches as plain rows with tag names, one"
        " statement; what the API serialises); API = `GET /api/v1/customers/?q=` with a DRF"
        " token through the in-process Django test client (DEBUG off): middleware, authentication,"
        " permissions, the selector, serializer, JSON.",
        "",
        f"Machine load average (1 min) before / after measuring: {load[0]:.2f} / {load[1]:.2f}"
        f" on {os.cpu_count()} cores (shared with other work: the first-pass figures include"
        " waits for a CPU; best-of figures filter most of them out).",
        "",
        "Targets: SQL p95 ≤ 2 ms (2× the ~1 ms floor of shared SEARCH.md); API p95 ≤ 10 ms.",
        "",
    ]
    columns = {"SQL": sql_times, "selector": selector_times, "rows": rows_times, "API": api_times}
    lines += _table(columns, lambda t: t[0], "First pass (each input once)")
    lines += _table(columns, min, f"Best of {args.repeat} per input")
    if not isinstance(api_times, dict):
        lines += [f"API not measured: {api_times}", ""]
    lines += ["## Plan of the slowest input of each kind (EXPLAIN ANALYZE, best-of time)", ""]
    for kind, plan in plans.items():
        lines += [f"### {kind}", "", "```", plan, "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--db", default="salon_bench")
    parser.add_argument("--server", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the inputs (best-of figures)")
    parser.add_argument("--no-api", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "search.md"))
    args = parser.parse_args()
    if args.db in ("salon_crm", "postgres"):
        parser.error("use a database of its own: the benchmark truncates customers_customer")

    import psycopg2

    url = ensure_database(args.server, args.db)
    # Django (for customers.search and the API) runs against the benchmark database only.
    # Production-like: DEBUG off (no query log, no debug cursor). The secrets are throwaway -
    # the benchmark's clients hold no encrypted data and nothing leaves this process.
    from cryptography.fernet import Fernet

    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + Fernet.generate_key().decode())
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salon_crm.settings")
    import django

    django.setup()
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM customers_customer")
        count = cur.fetchone()[0]
    if args.regenerate or count != args.rows:
        t = time.perf_counter()
        generate(conn, args.rows)
        log(f"generated {args.rows:,} clients in {time.perf_counter() - t:.0f} s")
        count = args.rows
    size = sizes(conn)
    queries = inputs(conn, args.queries)
    log("measuring SQL")
    load_before = os.getloadavg()[0]
    sql_times = measure_sql(conn, queries, args.repeat)
    plans = explain_worst(conn, queries, sql_times)
    conn.close()
    api_times: dict | str = "skipped (--no-api)"
    selector_times: dict | str = "skipped (--no-api)"
    rows_times: dict | str = "skipped (--no-api)"
    if not args.no_api:
        log("measuring the selector")
        selector_times = measure_selector(queries, args.repeat)
        rows_times = measure_selector(queries, args.repeat, rows=True)
        log("measuring API")
        api_times = measure_api(queries, args.repeat)
    load = (load_before, os.getloadavg()[0])
    text = report(args, count, size, sql_times, selector_times, rows_times, api_times, plans, load)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text.split("## Plan")[0])
    log(f"written to {args.out}")


if __name__ == "__main__":
    main()
