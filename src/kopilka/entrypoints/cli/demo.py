"""Synthetic demo data: a year of a retail loyalty program, replayed in time order.

`generate` builds a seeded history (the same seed gives the same people, baskets and dates):

- 8 stores of the partner "main" (Moscow and Saint Petersburg) and a catalogue of about 120
  products with realistic RUB prices: cameras, lenses, tripods, phones, coffee, fruit sold by
  the kilogram, dairy, tobacco (not discountable, earns nothing), household goods...;
- the program: `examples/bonus.yaml` with spend tiers and a morning-coffee multiplier, in force
  from one year ago, and a second version from six months ago (earn 5/10% -> 4/8%, at most 30%
  -> 20% of a receipt paid with points), announced two weeks ahead;
- members who join over the year, each with a purchase rate drawn from a gamma distribution
  (most buy a few times a month or less, some several times a week; a fifth stop after a
  while), a home store, a mix of shopping missions (groceries, a coffee on the way,
  electronics), some smokers, some who redeem their points ("max" or a round number, a few
  through a hold at the till, a few holds abandoned);
- buyers of a camera often come back for a lens or a tripod (`COMPLEMENTS`);
- about 3% of receipts returned later (partly or fully; electronics more often), about 0.5%
  cancelled minutes after the sale, about 1.5% confirmed late by an offline till (the program
  version in force at the receipt's time applies).

Everything goes through the library (`enrol`, `apply_program`, `confirm`, `calculate`,
`return_receipt`, `cancel_receipt`) with a `FixedClock` moved through the year. The jobs that
activate pending points and expire lots and holds run every night at 03:00 Moscow time, so
points activate and burn as they would have; every job (tier review too) on the last night of
each month and once at the end. `advance` is called
`members` times, as the simulated year goes by.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from faker import Faker

from kopilka.app import jobs as J
from kopilka.app.library import Caller, Kopilka
from kopilka.app.members import Enrolment
from kopilka.app.ports import FixedClock
from kopilka.app.program_document import parse_program
from kopilka.app.receipts import ReceiptInput
from kopilka.bootstrap import DEFAULT_PARTNER
from kopilka.domain.errors import Conflict
from kopilka.domain.evaluation import Line
from kopilka.domain.program import Program
from kopilka.domain.staff import Role
from kopilka.entrypoints.http.auth import create_key

DEMO = Caller(name="demo", partner_id=DEFAULT_PARTNER)
MSK = timezone(timedelta(hours=3), "MSK")
YEAR = timedelta(days=365)
SWITCH_AGO = timedelta(days=182)  # the second program version: six months ago
NIGHTLY_JOBS = ("activate_pending", "expire_lots", "expire_holds")  # the rest: month ends
BONUS_YAML = Path(__file__).resolve().parents[4] / "examples" / "bonus.yaml"

STORES = (
    ("msk-001", "Москва, Тверская ул., 12"),
    ("msk-002", "Москва, ТЦ «Европейский»"),
    ("msk-003", "Москва, Ленинский пр-т, 85"),
    ("msk-004", "Москва, Профсоюзная ул., 56"),
    ("msk-005", "Москва, ТЦ «Афимолл Сити»"),
    ("spb-001", "Санкт-Петербург, Невский пр-т, 48"),
    ("spb-002", "Санкт-Петербург, ТРК «Галерея»"),
    ("spb-003", "Санкт-Петербург, Московский пр-т, 137"),
)


# --- the catalogue --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    category: str
    price: int  # kopecks
    weighed: bool = False  # sold by the kilogram: a fractional quantity
    discountable: bool = True


def _products(category: str, prefix: str, rows: str, *, weighed: bool = False,
              discountable: bool = True) -> list[Product]:
    """One product per line "name; price in rubles" (a trailing "/kg" marks weighed goods)."""
    found = []
    for i, row in enumerate(r for r in rows.strip().splitlines() if r.strip()):
        name, price = (part.strip() for part in row.rsplit(";", 1))
        by_weight = weighed or price.endswith("/kg")
        kopecks = int(Decimal(price.removesuffix("/kg")) * 100)
        found.append(Product(f"{prefix}-{i + 1:03d}", name, category, kopecks, by_weight,
                             discountable))
    return found


CATALOGUE: tuple[Product, ...] = tuple(itertools.chain(
    _products("electronics/cameras", "CAM", """
        Canon EOS R50 Kit 18-45; 89990
        Sony ZV-E10 Kit 16-50; 74990
        Nikon Z30 Kit 16-50; 69990
        Fujifilm X-T30 II Body; 99990
        Canon EOS R8 Body; 139990
        Sony Alpha 7 IV Body; 219990
        Panasonic Lumix G100 Kit; 54990
        GoPro HERO12 Black; 42990"""),
    _products("electronics/lenses", "LNS", """
        Canon RF 50mm f/1.8 STM; 17990
        Sony FE 50mm f/1.8; 19990
        Nikon Z 40mm f/2; 21990
        Fujinon XF 35mm f/2 R WR; 34990
        Sigma 30mm f/1.4 DC DN (Sony E); 27990
        Canon RF 24-105mm f/4-7.1 IS STM; 44990
        Tamron 28-75mm f/2.8 Di III VXD G2; 79990
        Viltrox AF 33mm f/1.4 (Fuji X); 17490"""),
    _products("electronics/tripods", "TRP", """
        Manfrotto Compact Action; 6990
        Benro Slim Aluminium; 8490
        Joby GorillaPod 3K Kit; 7990
        Ulanzi MT-44; 2490
        Manfrotto Befree Advanced; 19990"""),
    _products("electronics/accessories", "ACC", """
        SanDisk Extreme SDXC 64 GB; 1490
        SanDisk Extreme SDXC 128 GB; 2490
        Сумка для фотоаппарата Lowepro; 4990
        Аккумулятор Canon LP-E17; 5990
        Аккумулятор Sony NP-FW50; 4490
        UV-фильтр Hoya 58 мм; 1990
        Набор для чистки оптики; 890
        Внешний аккумулятор Xiaomi 10000 мАч; 2990
        Кабель USB-C 1 м; 590
        Чехол для смартфона; 990"""),
    _products("electronics/phones", "PHN", """
        Xiaomi Redmi Note 13 8/256; 24990
        Samsung Galaxy A55 8/256; 36990
        Apple iPhone 15 128 GB; 89990
        realme C67 8/256; 16990
        HONOR 200 8/256; 29990"""),
    _products("electronics/headphones", "HPH", """
        Apple AirPods Pro 2; 24990
        Sony WH-1000XM5; 34990
        JBL Tune 520BT; 3990
        Xiaomi Redmi Buds 5; 2490"""),
    _products("food/coffee", "COF", """
        Кофе в зёрнах Lavazza Qualità Oro 1 кг; 1899
        Кофе в зёрнах Жокей Эспрессо 800 г; 999
        Кофе молотый Paulig Presidentti 250 г; 449
        Кофе растворимый Nescafé Gold 190 г; 549
        Капсулы Nespresso Ristretto 10 шт; 599
        Капучино 300 мл; 220
        Латте 400 мл; 260
        Эспрессо; 150
        Раф ванильный 300 мл; 290
        Американо 300 мл; 180"""),
    _products("food/tea", "TEA", """
        Чай Greenfield Golden Ceylon 100 пак; 399
        Чай Ahmad Tea Earl Grey 200 г; 329
        Чай зелёный Tess 100 г; 219
        Чай в стакане 400 мл; 150"""),
    _products("food/fruit", "FRT", """
        Бананы; 129.90/kg
        Яблоки Гала; 149.90/kg
        Апельсины; 169.90/kg
        Мандарины; 219.90/kg
        Виноград Кишмиш; 349.90/kg
        Груши Конференция; 239.90/kg
        Авокадо Хасс; 99.90
        Лимоны; 59.90"""),
    _products("food/vegetables", "VEG", """
        Огурцы среднеплодные; 199.90/kg
        Томаты черри; 289.90/kg
        Картофель; 49.90/kg
        Лук репчатый; 39.90/kg
        Морковь; 45.90/kg
        Перец сладкий; 399.90/kg"""),
    _products("food/dairy", "DRY", """
        Молоко Простоквашино 2,5% 930 мл; 89.99
        Кефир Домик в деревне 3,2% 900 г; 99.99
        Творог 5% 300 г; 149.99
        Сметана 20% 300 г; 119.99
        Масло сливочное 82,5% 180 г; 219.99
        Сыр Российский 200 г; 249.99
        Йогурт питьевой 270 г; 69.99
        Яйцо куриное С1 10 шт; 129.99"""),
    _products("food/bakery", "BAK", """
        Хлеб Бородинский 400 г; 69.90
        Батон нарезной 400 г; 59.90
        Круассан сливочный; 89.90
        Лаваш армянский 200 г; 54.90
        Пряники тульские 350 г; 149.90"""),
    _products("food/grocery", "GRC", """
        Гречка ядрица 900 г; 119.90
        Рис длиннозёрный 900 г; 129.90
        Макароны Barilla 450 г; 149.90
        Сахар 1 кг; 89.90
        Масло подсолнечное 1 л; 159.90
        Мука пшеничная 2 кг; 119.90
        Соль поваренная 1 кг; 24.90
        Тунец консервированный 185 г; 189.90"""),
    _products("food/meat", "MEA", """
        Филе куриное; 419.90/kg
        Шея свиная; 589.90/kg
        Фарш говяжий; 529.90/kg
        Колбаса Докторская 400 г; 349.90"""),
    _products("food/sweets", "SWT", """
        Шоколад Алёнка 90 г; 99.90
        Печенье Юбилейное 313 г; 129.90
        Мороженое пломбир 80 г; 89.90
        Конфеты Мишка косолапый; 1349.90/kg
        Торт Наполеон 1 кг; 599.90"""),
    _products("drinks", "DRK", """
        Вода питьевая 0,5 л; 44.90
        Вода минеральная Боржоми 0,5 л; 119.90
        Сок Добрый апельсин 1 л; 149.90
        Добрый Кола 1 л; 119.90
        Квас Очаковский 1,5 л; 139.90
        Энергетик Adrenaline 0,449 л; 119.90"""),
    _products("tobacco", "TOB", """
        Сигареты Parliament Aqua Blue; 259
        Сигареты Winston Blue; 219
        Сигареты LD Red; 189
        Стики HEETS Amber; 239
        Стики TEREA Sienna; 249""", discountable=False),
    _products("household", "HSH", """
        Порошок стиральный Persil 3 кг; 899.90
        Средство для посуды Fairy 900 мл; 289.90
        Бумажные полотенца Zewa 2 рул; 199.90
        Туалетная бумага Zewa 8 рул; 349.90
        Губки для посуды 5 шт; 99.90
        Мешки для мусора 60 л 20 шт; 149.90
        Гель для душа Palmolive 750 мл; 399.90
        Шампунь Head & Shoulders 400 мл; 549.90
        Зубная паста Colgate 100 мл; 189.90"""),
    _products("pets", "PET", """
        Корм для кошек Whiskas 75 г; 35.90
        Корм для собак Pedigree 2,2 кг; 899.90
        Наполнитель для кошачьего туалета 5 л; 349.90"""),
))
BY_SKU = {p.sku: p for p in CATALOGUE}
BY_CATEGORY: dict[str, list[Product]] = {}
for _product in CATALOGUE:
    BY_CATEGORY.setdefault(_product.category, []).append(_product)

# What a buyer of the key often buys in a later receipt (in the order of likelihood).
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "CAM-001": ("LNS-001", "LNS-006", "TRP-001", "ACC-002", "ACC-004"),  # Canon R50
    "CAM-002": ("LNS-002", "LNS-005", "TRP-003", "ACC-002", "ACC-005"),  # Sony ZV-E10
    "CAM-003": ("LNS-003", "TRP-004", "ACC-001", "ACC-003"),  # Nikon Z30
    "CAM-004": ("LNS-004", "LNS-008", "TRP-002", "ACC-002"),  # Fujifilm X-T30 II
    "CAM-005": ("LNS-001", "LNS-006", "TRP-005", "ACC-002"),  # Canon R8
    "CAM-006": ("LNS-007", "LNS-002", "TRP-005", "ACC-002"),  # Sony A7 IV
    "CAM-007": ("TRP-004", "ACC-001", "ACC-003"),  # Lumix G100
    "CAM-008": ("TRP-003", "ACC-001", "ACC-008"),  # GoPro
    **{f"PHN-{i:03d}": ("ACC-010", "HPH-004", "ACC-008", "ACC-009") for i in range(1, 6)},
}

# Shopping missions: which categories a receipt draws its lines from, with weights.
MISSIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "grocery": (("food/fruit", 3), ("food/vegetables", 3), ("food/dairy", 4),
                ("food/bakery", 2), ("food/grocery", 3), ("food/meat", 2), ("food/sweets", 2),
                ("drinks", 2), ("food/coffee", 1), ("food/tea", 1), ("household", 2),
                ("pets", 0.7)),
    "quick": (("food/coffee", 5), ("food/bakery", 2), ("drinks", 2), ("food/sweets", 1),
              ("food/tea", 1)),
    "electronics": (("electronics/cameras", 1.2), ("electronics/lenses", 1.2),
                    ("electronics/tripods", 1), ("electronics/accessories", 3),
                    ("electronics/phones", 1.5), ("electronics/headphones", 2)),
}
TAKEAWAY = {"COF-006", "COF-007", "COF-008", "COF-009", "COF-010", "TEA-004"}


# --- the program ------------------------------------------------------------------------------

BONUS_FALLBACK = """
name: Bonus program
effective_from: 2026-01-01T00:00:00+03:00
money_currency: RUB
point_currencies:
  - {code: points, name: Bonus points, scale: 0, value: "1.00", rounding: floor, min_balance: 0}
earn:
  - id: base
    currency: points
    ladder: [{from: "0.00", percent: "5"}, {from: "3000.00", percent: "10"}]
    exclude: {categories: [tobacco]}
    pending_days: 14
    expiry: {after_days: 180}
burn:
  id: pay-with-points
  currency: points
  point_value: "1.00"
  max_share_percent: "30"
  min_balance: 0
  min_cash: "0.00"
  exclude: {categories: [tobacco]}
  combine_with_discounts: true
returns: {spent_earned_points: negative_balance}
rewards:
  time_zone: Europe/Moscow
  rules:
    - {id: welcome, name: Welcome bonus, trigger: enrolment, points: 100,
       pending_until: phone_verified, expiry: never}
    - {id: birthday, name: Birthday bonus, trigger: birthday, points: 500,
       window: {days_before: 7, days_after: 7}, expiry: {after_days: 30}}
    - {id: referral, name: Bring a friend, trigger: referral, referrer_points: 300,
       friend_points: 300}
    - {id: review, name: Product review, trigger: review, points: 50}
    - {id: subscription, name: Newsletter subscription, trigger: subscription, points: 50}
    - {id: profile, name: Completed profile, trigger: profile_completed, points: 100}
    - {id: first-app-order, name: First order in the app, trigger: first_app_order, points: 200}
    - {id: recycling, name: Old goods brought for recycling, trigger: custom, event: recycling,
       points: 150}
charity:
  funds:
    - {id: children, name: "Children's hospital", min_donation: 10,
       share_of_purchase_percent: "5"}
"""  # examples/bonus.yaml without its comments, for an install without the source tree

DEMO_TIERS = {
    "id": "tiers", "measure": "spend", "window": {"rolling_days": 365},
    "entry_purchase": {"amount": "100000.00", "tier": "gold"},
    "levels": [
        {"code": "base", "name": "Base", "threshold": "0.00"},
        {"code": "silver", "name": "Silver", "threshold": "20000.00", "earn_multiplier": "1.2"},
        {"code": "gold", "name": "Gold", "threshold": "75000.00", "earn_multiplier": "1.5"},
        {"code": "platinum", "name": "Platinum", "threshold": "200000.00",
         "earn_multiplier": "2"},
    ],
}
PROMOTIONS = (  # running all year, so the demo receipts show promotions and their budgets
    {"id": "coffee-3for2", "name": "Third coffee free", "priority": 10,
     "reward": {"type": "buy_x_get_y", "buy": {"categories": ["food/coffee"], "quantity": 2},
                "get": {"categories": ["food/coffee"], "quantity": 1}},
     "limits": {"budget": "20000.00", "per_member": {"count": 2, "period": "month"}}},
    {"id": "big-basket", "name": "+300 points from 15,000.00", "priority": 5,
     "conditions": {"min_receipt": "15000.00"},
     "reward": {"type": "extra_points", "points": 300},
     "limits": {"budget_points": 150000}, "control_share_percent": "10"},
)

MORNING_COFFEE = {"id": "morning-coffee", "factor": "2",
                  "when": {"categories": ["food/coffee"], "hours": {"from": 8, "to": 11}}}


def program_versions(start: datetime, switch: datetime) -> tuple[Program, Program]:
    """The demo's two program versions: bonus.yaml with tiers and a morning-coffee multiplier
    from `start`, then from `switch` earn 4/8% instead of 5/10% and at most 20% (not 30%) of a
    receipt paid with points."""
    text = BONUS_YAML.read_text(encoding="utf-8") if BONUS_YAML.exists() else BONUS_FALLBACK
    doc = yaml.safe_load(text)
    doc["effective_from"] = start.isoformat()
    doc["tiers"] = DEMO_TIERS
    doc["earn"][0]["multipliers"] = [MORNING_COFFEE]
    first = parse_program(json.dumps(doc))
    doc = copy.deepcopy(doc)
    doc["name"] = f"{doc['name']} (second half-year)"
    doc["effective_from"] = switch.isoformat()
    doc["earn"][0]["ladder"] = [{"from": "0.00", "percent": "4"},
                                {"from": "3000.00", "percent": "8"}]
    doc["burn"]["max_share_percent"] = "20"
    return first, parse_program(json.dumps(doc))


# --- shoppers ---------------------------------------------------------------------------------

@dataclass
class Shopper:
    index: int
    phone: str
    store: str
    per_day: float  # purchase rate
    stops: datetime | None  # churn: no purchases after this
    missions: tuple[tuple[str, float], ...]
    smoker: bool
    redeemer: float  # chance of redeeming when the balance allows
    basket: float  # basket size factor
    member_id: str = ""
    wishes: list[tuple[str, datetime]] = field(default_factory=list)  # complements, until


def _phone(rng: random.Random, used: set[str]) -> str:
    while True:
        phone = f"+79{rng.randrange(10**9):09d}"
        if phone not in used:
            used.add(phone)
            return phone


def _shopper(index: int, rng: random.Random, used: set[str], joined: datetime) -> Shopper:
    per_week = min(max(rng.gammavariate(0.8, 0.6), 0.02), 5.0)  # mean ~0.5, median ~0.35
    missions = (("grocery", rng.uniform(0.5, 3)), ("quick", rng.uniform(0, 3)),
                ("electronics", rng.choice((0.02, 0.04, 0.08, 0.3))))
    stops = joined + timedelta(days=rng.expovariate(1 / 150)) if rng.random() < 0.2 else None
    home = rng.choice(STORES[:5]) if rng.random() < 0.65 else rng.choice(STORES[5:])
    return Shopper(index=index, phone=_phone(rng, used), store=home[0], per_day=per_week / 7,
                   stops=stops, missions=missions, smoker=rng.random() < 0.18,
                   redeemer=rng.choice((0.0, 0.0, 0.3, 0.7, 1.0)),
                   basket=math.exp(rng.gauss(0, 0.35)))


def _enrolment(shopper: Shopper, fake: Faker, rng: random.Random) -> Enrolment:
    female = rng.random() < 0.55
    return Enrolment(
        phone=shopper.phone,
        consents={"personal_data": True, "marketing_email": rng.random() < 0.6,
                  "marketing_sms": rng.random() < 0.4, "marketing_push": rng.random() < 0.3},
        first_name=fake.first_name_female() if female else fake.first_name_male(),
        last_name=fake.last_name_female() if female else fake.last_name_male(),
        gender="female" if female else "male",
        city="Москва" if shopper.store.startswith("msk") else "Санкт-Петербург",
        birth_date=fake.date_of_birth(minimum_age=18, maximum_age=80),
        email=fake.email() if rng.random() < 0.7 else None, store_id=shopper.store)


def _local_time(rng: random.Random, day: date, mission: str) -> datetime:
    """A time of day the store is open (8:00-22:00), coffee in the morning, groceries later."""
    if mission == "quick" and rng.random() < 0.6:
        hour = rng.uniform(8, 11)
    elif rng.random() < 0.55:
        hour = rng.uniform(17, 21.9)
    else:
        hour = rng.uniform(8, 21.9)
    minutes = int(hour * 60)
    return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60,
                    rng.randrange(60), tzinfo=MSK)


# --- baskets ----------------------------------------------------------------------------------

def _pick(rng: random.Random, products: list[Product]) -> Product:
    # popularity falls with the position in the category (a gentle Zipf)
    weights = [1 / (i + 1) ** 0.7 for i in range(len(products))]
    return rng.choices(products, weights)[0]


def _quantity(rng: random.Random, product: Product, basket: float) -> Decimal:
    if product.weighed:
        return Decimal(f"{rng.uniform(0.25, 2.0) * basket:.3f}").max(Decimal("0.100"))
    if product.category.startswith("electronics/") and product.price > 5_000_00:
        return Decimal(1)
    if product.sku in TAKEAWAY:
        return Decimal(rng.choice((1, 1, 1, 2)))
    return Decimal(rng.choices((1, 2, 3, 4, 6), (60, 22, 9, 5, 4))[0])


def _basket(rng: random.Random, shopper: Shopper, mission: str,
            at: datetime) -> list[tuple[Product, Decimal]]:
    chosen: dict[str, tuple[Product, Decimal]] = {}

    def add(product: Product) -> None:
        if product.sku not in chosen:
            chosen[product.sku] = (product, _quantity(rng, product, shopper.basket))

    categories, weights = zip(*MISSIONS[mission], strict=True)
    if mission == "grocery":
        count = round(rng.uniform(3, 12) * shopper.basket)
    elif mission == "quick":
        count = rng.choice((1, 1, 2, 2, 3))
    else:
        count = rng.choice((1, 1, 1, 2, 3))
    if mission == "electronics":  # one main item, then accessories
        add(_pick(rng, BY_CATEGORY[rng.choices(categories, weights)[0]]))
        categories, weights = ("electronics/accessories", "electronics/headphones"), (3, 1)
    while len(chosen) < max(1, min(count, 12)):
        add(_pick(rng, BY_CATEGORY[rng.choices(categories, weights)[0]]))
    shopper.wishes = [(sku, until) for sku, until in shopper.wishes if until > at]
    for sku, until in list(shopper.wishes):
        if len(chosen) < 12 and rng.random() < 0.35:
            add(BY_SKU[sku])
            shopper.wishes.remove((sku, until))
    if shopper.smoker and mission != "electronics" and rng.random() < 0.6 and len(chosen) < 12:
        add(_pick(rng, BY_CATEGORY["tobacco"]))
    for product, _ in list(chosen.values()):
        for i, sku in enumerate(COMPLEMENTS.get(product.sku, ())):
            if rng.random() < 0.7 / (i + 1):  # a lens far more often than a cleaning kit
                shopper.wishes.append((sku, at + timedelta(days=rng.uniform(3, 60))))
    return list(chosen.values())


# --- the simulation ---------------------------------------------------------------------------

@dataclass
class Stats:
    receipts: int = 0
    late: int = 0
    redeemed: int = 0
    holds: int = 0
    abandoned: int = 0
    returns: int = 0
    cancels: int = 0


class Year:
    """The event queue of the simulated year: (time, seq, kind, payload), earliest first."""

    def __init__(self, k: Kopilka, rng: random.Random, fake: Faker, start: datetime,
                 end: datetime) -> None:
        self.clock = FixedClock(start)
        self.k = copy.copy(k)  # the same database and settings, on the simulated clock
        self.k.clock = self.clock
        self.rng, self.fake = rng, fake
        self.start, self.end = start, end
        self.queue: list[tuple[datetime, int, str, Any]] = []
        self.seq = itertools.count()
        self.serial: dict[tuple[str, date], int] = {}
        self.stats = Stats()

    def at(self, when: datetime, kind: str, payload: Any = None) -> None:
        when = when.replace(microsecond=0)
        if when < self.end:
            heapq.heappush(self.queue, (when, next(self.seq), kind, payload))

    def run(self, handlers: dict[str, Callable[[datetime, Any], None]], ticks: int,
            advance: Callable[[], None]) -> None:
        done = 0
        span = self.end - self.start
        while self.queue:
            when, _, kind, payload = heapq.heappop(self.queue)
            while done < ticks and when >= self.start + span * (done + 1) / ticks:
                advance()
                done += 1
            self.clock.at = max(self.clock.at, when.astimezone(UTC))
            handlers[kind](when, payload)
        self.clock.at = self.end
        J.run_all(self.k)
        for _ in range(ticks - done):
            advance()

    def receipt_id(self, store: str, when: datetime) -> str:
        day = when.astimezone(MSK).date()
        n = self.serial[store, day] = self.serial.get((store, day), 0) + 1
        return f"{store}-{day:%Y%m%d}-{n:05d}"


def generate(k: Kopilka, *, members: int, seed: int, advance: Callable[[], None]) -> str:
    """A seeded year of history for `members` members; returns an API key with all scopes."""
    fake = Faker("ru_RU")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    end = now.replace(microsecond=0) - timedelta(seconds=1)
    start = datetime.combine((end - YEAR).astimezone(MSK).date(), datetime.min.time(), MSK)
    year = Year(k, rng, fake, start - timedelta(days=7), end)
    with k.db.write() as uow:
        for store_id, name in STORES:
            if uow.members.store(store_id) is None:
                uow.members.add_store(store_id, DEFAULT_PARTNER, name)
    first, second = program_versions(start.astimezone(MSK), (end - SWITCH_AGO).astimezone(MSK))
    year.k.apply_program(first, author="demo")
    year.at(second.effective_from - timedelta(days=14), "program", second)
    for promotion in PROMOTIONS:
        try:
            year.k.create_promotion(promotion)
        except Conflict:  # a second demo run on the same database
            pass

    used: set[str] = set()
    shoppers = []
    for i in range(members):
        if rng.random() < 0.3:  # the base at launch: enrolled in the first two weeks
            joined = start + timedelta(days=rng.uniform(0, 14))
        else:  # steady growth over the year
            joined = start + timedelta(days=365 * math.sqrt(rng.random()))
        shopper = _shopper(i, rng, used, joined)
        shoppers.append(shopper)
        day = joined.astimezone(MSK).date()
        year.at(_local_time(rng, day, "grocery"), "enrol", shopper)
    first_night = datetime.combine(start.astimezone(MSK).date() + timedelta(days=1),
                                   datetime.min.time(), MSK).replace(hour=3)
    year.at(first_night, "jobs")

    def program(_when: datetime, version: Program) -> None:
        year.k.apply_program(version, author="demo")

    def jobs(when: datetime, _: Any) -> None:
        tomorrow = when + timedelta(days=1)
        if tomorrow.month != when.month:  # the last night of the month: every job
            J.run_all(year.k)
        else:  # other nights: what makes points spendable or burns them
            for name in NIGHTLY_JOBS:
                J.ALL_JOBS[name](year.k)
        year.at(tomorrow, "jobs")

    def enrol(when: datetime, shopper: Shopper) -> None:
        result = year.k.enrol(_enrolment(shopper, fake, rng), caller=DEMO,
                              idempotency_key=f"demo-enrol-{shopper.phone}")
        shopper.member_id = result.body["member_id"]
        if rng.random() < 0.7:  # enrolled at the till, buying
            year.at(when + timedelta(minutes=rng.uniform(1, 4)), "buy", shopper)
        next_purchase(when, shopper)

    def next_purchase(after: datetime, shopper: Shopper) -> None:
        gap = rng.expovariate(shopper.per_day)
        when = after + timedelta(days=max(gap, 0.2))
        if shopper.stops is not None and when > shopper.stops:
            return
        mission = _mission(rng, shopper)
        local = _local_time(rng, when.astimezone(MSK).date(), mission)
        year.at(local if local > after else after + timedelta(hours=1), "buy",
                (shopper, mission))

    def buy(when: datetime, payload: Shopper | tuple[Shopper, str]) -> None:
        shopper, mission = payload if isinstance(payload, tuple) else (payload, "grocery")
        if isinstance(payload, tuple):
            next_purchase(when, shopper)
        store = shopper.store if rng.random() < 0.8 else rng.choice(STORES)[0]
        lines = tuple(Line(line_id=str(n), sku=p.sku, name=p.name, category=p.category,
                           unit_price=p.price, quantity=q, discountable=p.discountable)
                      for n, (p, q) in enumerate(_basket(rng, shopper, mission, when), 1))
        ref = ({"phone": shopper.phone} if rng.random() < 0.25
               else {"member_id": shopper.member_id})
        receipt = ReceiptInput(
            store_id=store, receipt_id=year.receipt_id(store, when), occurred_at=when,
            lines=lines, member=ref, channel="offline",
            payment_methods=(rng.choices(("card", "cash", "sbp"), (70, 20, 10))[0],),
            till_id=f"{store}-t{rng.randrange(1, 5)}", cashier_id=f"c{rng.randrange(1, 40):03d}")
        redeem = _redeem(year, shopper, rng)
        if redeem:
            receipt = replace(receipt, redeem_points=redeem)
            year.stats.redeemed += 1
            if rng.random() < 0.2:  # reserved at the subtotal, captured at payment
                caller = Caller(name="pos", partner_id=DEFAULT_PARTNER, store_id=store)
                hold = year.k.calculate(receipt, hold=True, caller=caller).body["hold_id"]
                year.stats.holds += hold is not None
                if hold is not None and rng.random() < 0.05:
                    year.stats.abandoned += 1  # the customer walked away: the hold expires
                    return
                receipt = replace(receipt, hold_id=hold)
        if receipt.hold_id is None and rng.random() < 0.015:  # an offline till, synced later
            year.stats.late += 1
            year.at(when + timedelta(hours=rng.uniform(1, 72)), "confirm", (receipt, mission))
        else:
            confirm(when, (receipt, mission))

    def confirm(when: datetime, payload: tuple[ReceiptInput, str]) -> None:
        receipt, mission = payload
        caller = Caller(name="pos", partner_id=DEFAULT_PARTNER, store_id=receipt.store_id)
        year.k.confirm(receipt, caller=caller)
        year.stats.receipts += 1
        chance = {"electronics": 0.12, "grocery": 0.035, "quick": 0.02}[mission]
        draw = rng.random()
        if draw < 0.005:
            year.at(when + timedelta(minutes=rng.uniform(2, 30)), "cancel", receipt)
        elif draw < 0.005 + chance:
            later = when + timedelta(days=min(rng.lognormvariate(1.1, 0.9), 60))
            year.at(later, "return", receipt)

    def cancel(_when: datetime, receipt: ReceiptInput) -> None:
        year.k.cancel_receipt(receipt.store_id, receipt.receipt_id, caller=DEMO)
        year.stats.cancels += 1

    def give_back(when: datetime, receipt: ReceiptInput) -> None:
        if rng.random() < 0.35 or len(receipt.lines) == 1:
            lines = [(line.line_id, line.quantity) for line in receipt.lines]
        else:  # the priciest line, or a random one; one piece of several
            line = (max(receipt.lines, key=lambda x: x.amount) if rng.random() < 0.6
                    else rng.choice(receipt.lines))
            whole = line.quantity == line.quantity.to_integral_value()
            lines = [(line.line_id, Decimal(1) if whole and rng.random() < 0.5
                      else line.quantity)]
        year.k.return_receipt(receipt.store_id, receipt.receipt_id, "r1", lines,
                              occurred_at=when, caller=DEMO)
        year.stats.returns += 1

    year.run({"program": program, "jobs": jobs, "enrol": enrol, "buy": buy,
              "confirm": confirm, "cancel": cancel, "return": give_back}, members, advance)
    return create_key(k.db, name="demo (all scopes)", partner_id=DEFAULT_PARTNER,
                      scopes=["admin", "pos", "members:read", "members:write", "analytics"],
                      now=now)


def _mission(rng: random.Random, shopper: Shopper) -> str:
    names, weights = zip(*shopper.missions, strict=True)
    return rng.choices(names, weights)[0]


def _redeem(year: Year, shopper: Shopper, rng: random.Random) -> int | str:
    """What the member asks to pay with points: nothing, "max" or a round number."""
    if not shopper.redeemer or rng.random() >= shopper.redeemer:
        return 0
    available = year.k.balance(shopper.member_id)["available"]
    if available < 200:
        return 0
    if rng.random() < 0.6:
        return "max"
    return min(rng.choice((100, 200, 300, 500, 1000, 2000)), available)


DEMO_STAFF_PASSWORD = "kopilka-demo-2026"  # demo only: `kopilka demo` refuses in production


def demo_staff(k: Kopilka) -> dict[str, str]:
    """One console account per role (login = role name); returns login -> password.
    Accounts that already exist are left as they are."""
    accounts: dict[str, str] = {}
    for role in Role:
        password = DEMO_STAFF_PASSWORD
        if k.staff_by_login(role.value) is None:
            k.create_staff(login=role.value, password=password, role=role.value,
                           display_name=f"Demo {role.value}")
        accounts[role.value] = password
    return accounts
