"""Demo clients for `manage.py seed_demo`: ~200 realistic clients (70% Chinese names), keyed by
external_id "demo-0001".., deterministic (random.Random(seed)) and idempotent: a client that
already exists is left alone, so a second run adds nothing."""

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import StaffMember
from customers.models import ColourFormula, ConsentRecord, Customer, HairType, PatchTest, SkinType, Tag
from customers.services import (
    consent_set,
    customer_create,
    formula_create,
    patch_test_record,
)

SEED = 20261122
COUNT = 200
TAGS = {
    "VIP": "#d4a017",
    "新客": "#198754",
    "敏感肌": "#dc3545",
    "学生": "#0dcaf0",
    "烫染常客": "#6f42c1",
    "会员": "#0d6efd",
    "Expat": "#fd7e14",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "晓燕",
    "思琪",
    "子涵",
    "雨桐",
    "欣怡",
    "梓萱",
    "浩然",
    "宇轩",
    "婷婷",
    "佳怡",
    "一诺",
    "诗涵",
    "梦瑶",
    "俊杰",
    "嘉怡",
    "晨",
    "悦",
    "琳",
]
WESTERN_FIRST = [
    "Emily",
    "Olivia",
    "Sophie",
    "Charlotte",
    "Amelia",
    "Grace",
    "Chloe",
    "Lucy",
    "Hannah",
    "Isabella",
    "James",
    "Oliver",
    "Thomas",
    "Daniel",
    "Lukas",
    "Anna",
    "Marie",
    "Sarah",
    "Laura",
    "Julia",
]
WESTERN_LAST = [
    "Smith",
    "Johnson",
    "Brown",
    "Clark",
    "Miller",
    "Wilson",
    "Taylor",
    "Martin",
    "Schmidt",
    "Müller",
    "Dubois",
    "Moreau",
    "Rossi",
    "García",
    "Evans",
    "Walker",
    "Young",
    "King",
    "Wright",
    "Hughes",
]
ALLERGIES = [
    "对 PPD 染发剂过敏 (PPD hair-dye allergy)",
    "Latex allergy",
    "对香精过敏 (fragrance allergy)",
    "Nickel allergy",
    "对薰衣草精油过敏 (lavender oil)",
]
CONTRAINDICATIONS = ["孕期 (pregnant)", "Scalp psoriasis", "近期做过化疗 (recent chemotherapy)"]
PREFERENCES = [
    "喜欢安静，不爱聊天",
    "Likes a head massage; tea, no sugar",
    "偏好自然色系，不要太亮",
    "Prefers weekend mornings",
    "怕烫，水温低一点",
    "Always books with a coffee, oat milk",
]
BRANDS = [
    ("Wella", "Koleston Perfect", ["6/0", "7/1", "8/3", "9/16", "5/75"]),
    ("L'Oréal Professionnel", "Majirel", ["6.0", "7.1", "8.3", "5.35", "9.13"]),
    ("Schwarzkopf", "Igora Royal", ["6-0", "7-1", "8-65", "9.5-1", "5-7"]),
    ("Goldwell", "Topchic", ["6N", "7A", "8G", "9V", "5RB"]),
]
STYLISTS = ["stylist", "stylist_lina", "stylist_amy", "stylist_tony", "stylist_jessica"]


def _name(rng: random.Random, index: int) -> str:
    if index == 0:
        return "张三"
    if rng.random() < 0.7:
        return rng.choice(SURNAMES) + rng.choice(GIVEN)
    return f"{rng.choice(WESTERN_FIRST)} {rng.choice(WESTERN_LAST)}"


@dataclass
class DemoClient:
    """One demo client as drawn from its generator, before anything is written."""

    fields: dict  # customer_create's keyword arguments
    stylist: StaffMember | None
    created: datetime
    has_formula: bool
    has_patch: bool
    consents: dict[str, bool]


def _draw_client(rng: random.Random, i: int, *, tags: dict, stylists: list, locations: list) -> DemoClient:
    """Every random draw for client `i`, in a fixed order (the demo is deterministic: change
    the order and every client after the change is someone else)."""
    name = _name(rng, i)
    phone = (
        "+8613800138000"
        if i == 0
        else f"+86{rng.choice(['135', '136', '139', '150', '186', '177'])}{i:04d}{rng.randrange(10000):04d}"
    )
    western = not any("\u4e00" <= ch <= "\u9fff" for ch in name)
    allergy = ALLERGIES[0] if i == 0 else (rng.choice(ALLERGIES) if rng.random() < 0.12 else "")
    contra = rng.choice(CONTRAINDICATIONS) if rng.random() < 0.05 else ""
    stylist = stylists[i % len(stylists)] if stylists and rng.random() < 0.6 else None
    picked = [t for t in TAGS if rng.random() < 0.15]
    if western and "Expat" not in picked and rng.random() < 0.5:
        picked.append("Expat")
    if allergy and "敏感肌" not in picked:
        picked.append("敏感肌")
    if i == 0:
        picked = ["VIP", "敏感肌"]
    birthday = date(rng.randrange(1965, 2006), rng.randrange(1, 13), rng.randrange(1, 29))
    created = timezone.now() - timedelta(days=rng.randrange(1, 900))
    has_formula = rng.random() < 0.35 or i == 0
    has_patch = rng.random() < 0.3 or i == 0
    consents = {ch: rng.random() < 0.6 for ch in ("sms", "wechat", "email")}
    fields = {
        "name": name,
        "phone": phone,
        "tags": [tags[t] for t in picked],
        "email": f"{'client' if not western else name.split()[0].lower()}{i + 1}@example.com"
        if rng.random() < 0.5
        else "",
        "gender": rng.choice(["female", "female", "female", "male", ""]),
        "birthday": birthday,
        "source": rng.choice(["walk_in", "referral", "online", "social", "platform"]),
        "preferred_staff": stylist,
        "home_location": rng.choice(locations) if locations else None,
        "skin_type": rng.choice(SkinType.values),
        "hair_type": rng.choice(HairType.values),
        "allergies": allergy,
        "contraindications": contra,
        "preferences": rng.choice(PREFERENCES) if rng.random() < 0.5 else "",
        "external_id": f"demo-{i + 1:04d}",
        "created_at": created,
    }
    return DemoClient(fields, stylist, created, has_formula, has_patch, consents)


def _seed_consents(customer: Customer, client: DemoClient) -> None:
    for channel, granted in client.consents.items():
        if granted:
            record = consent_set(customer=customer, channel=channel, granted=True, method="front desk")
            # Given when the client first came, not when the demo was loaded.
            ConsentRecord.objects.filter(pk=record.pk).update(recorded_at=client.created)


def _seed_formula(rng: random.Random, customer: Customer, client: DemoClient, stylists: list) -> None:
    brand, line, shades = rng.choice(BRANDS)
    formula = formula_create(
        customer=customer,
        stylist=client.stylist or rng.choice(stylists),
        user=None,
        brand=brand,
        line=line,
        shades=[(s, Decimal(rng.choice([20, 30, 40, 60]))) for s in rng.sample(shades, rng.randrange(1, 3))],
        developer=rng.choice(["3% / 10 vol", "6% / 20 vol", "9% / 30 vol"]),
        mix_ratio=rng.choice(["1:1", "1:1.5", "1:2"]),
        zones=rng.choice(["roots", "full head", "mid-lengths and ends", "highlights"]),
        processing_minutes=rng.choice([25, 30, 35, 40, 45]),
        result_notes=rng.choice(["效果很好，客人满意", "Slightly warm; add ash next time", ""]),
    )
    # Older visits: the formula is older than 24 hours, so it is locked.
    ColourFormula.objects.filter(pk=formula.pk).update(created_at=client.created + timedelta(days=1))


def _seed_patch_test(rng: random.Random, customer: Customer, client: DemoClient, i: int) -> None:
    tested = timezone.localdate() - timedelta(days=rng.randrange(3, 300))
    result = (
        PatchTest.Result.FAILED
        if i == 0
        else rng.choice([PatchTest.Result.PASSED] * 5 + [PatchTest.Result.FAILED])
    )
    patch_test_record(
        customer=customer,
        user=None,
        product="Wella Koleston (PPD)"
        if i == 0
        else rng.choice(["Wella Koleston", "L'Oréal Majirel", "Igora Royal"]),
        tested_on=tested,
        result=result,
        performed_by=client.stylist,
    )


def seed_customers(ctx) -> None:
    tags = {}
    for name, colour in TAGS.items():
        tags[name], _created = Tag.objects.get_or_create(name=name, defaults={"colour": colour})
    existing = set(
        Customer.objects.filter(external_id__startswith="demo-").values_list("external_id", flat=True)
    )
    stylists = [ctx.staff[u] for u in STYLISTS if u in ctx.staff]
    locations = list(ctx.locations.values())
    added = 0
    for i in range(COUNT):
        if f"demo-{i + 1:04d}" in existing:
            continue
        # One generator per client: the same client gets the same data whatever else exists.
        rng = random.Random(SEED * 1000 + i)
        client = _draw_client(rng, i, tags=tags, stylists=stylists, locations=locations)
        customer = customer_create(user=None, **client.fields)
        _seed_consents(customer, client)
        if client.has_formula and stylists:
            _seed_formula(rng, customer, client, stylists)
        if client.has_patch:
            _seed_patch_test(rng, customer, client, i)
        added += 1
    ctx.log(f"customers: {added} demo clients added ({len(existing)} already there)")
