"""Static reference data of the demo shop: the landing contract's columns, channels and
their customer quality, geography, the product catalogue, the sales team and the text
pools for comments. Plain Python data; ``generate.py`` turns it into small SQL tables."""

from __future__ import annotations

import json
from dataclasses import dataclass

# ------------------------------------------------------------ the landing contract
# Every table of docs/sources.md with its columns and their declared types, in the
# order the files carry them. Money is DECIMAL(18,4), timestamps are UTC.
MONEY = "decimal(18,4)"

TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "customers": (
        ("customer_id", "varchar"),
        ("created_at", "timestamp"),
        ("region", "varchar"),
        ("country", "varchar"),
        ("acquisition_channel", "varchar"),
        ("referred_by_customer_id", "varchar"),
        ("sales_rep_id", "varchar"),
        ("updated_at", "timestamp"),
    ),
    "orders": (
        ("order_id", "varchar"),
        ("customer_id", "varchar"),
        ("ordered_at", "timestamp"),
        ("channel", "varchar"),
        ("status", "varchar"),
        ("promised_at", "timestamp"),
        ("delivered_at", "timestamp"),
        ("updated_at", "timestamp"),
    ),
    "order_items": (
        ("order_id", "varchar"),
        ("line_number", "integer"),
        ("product_id", "varchar"),
        ("batch_id", "varchar"),
        ("quantity", "integer"),
        ("unit_price", MONEY),
        ("discount", MONEY),
    ),
    "products": (
        ("product_id", "varchar"),
        ("product_name", "varchar"),
        ("category", "varchar"),
        ("unit_cost", MONEY),
    ),
    "returns": (
        ("return_id", "varchar"),
        ("order_id", "varchar"),
        ("product_id", "varchar"),
        ("returned_at", "timestamp"),
        ("refund_amount", MONEY),
        ("reason", "varchar"),
    ),
    "feedback": (
        ("feedback_id", "varchar"),
        ("customer_id", "varchar"),
        ("order_id", "varchar"),
        ("submitted_at", "timestamp"),
        ("nps_score", "integer"),
        ("csat_score", "integer"),
        ("is_complaint", "boolean"),
        ("comment", "varchar"),
    ),
    "sessions": (
        ("session_id", "varchar"),
        ("customer_id", "varchar"),
        ("started_at", "timestamp"),
        ("channel", "varchar"),
        ("order_id", "varchar"),
    ),
    "marketing_spend": (
        ("spend_date", "date"),
        ("channel", "varchar"),
        ("spend", MONEY),
    ),
    "sales_reps": (
        ("sales_rep_id", "varchar"),
        ("rep_name", "varchar"),
        ("team", "varchar"),
        ("region", "varchar"),
    ),
}

# Columns that may be NULL (every other column is always set).
NULLABLE: dict[str, frozenset[str]] = {
    "customers": frozenset({"referred_by_customer_id", "sales_rep_id"}),
    "orders": frozenset({"promised_at", "delivered_at"}),
    "order_items": frozenset({"batch_id"}),
    "feedback": frozenset({"order_id", "nps_score", "csat_score", "comment"}),
    "sessions": frozenset({"customer_id", "order_id"}),
}

DESCRIPTIONS: dict[str, str] = {
    "customers": "One row per customer version; re-delivered whole with a later updated_at "
    "(dedupe on customer_id, latest updated_at wins); a few exact duplicates.",
    "orders": "One row per status change (placed, shipped, delivered, returned, cancelled); "
    "the latest updated_at wins, ties broken returned > cancelled > delivered > shipped > "
    "placed; a few exact duplicates and late arrivals.",
    "order_items": "Order lines; discount is an absolute amount for the whole line.",
    "products": "The product catalogue (about 50 products in 8 categories).",
    "returns": "One row per returned order line; refund_amount may be partial.",
    "feedback": "Survey answers (NPS 0-10, CSAT 1-5) and complaints; comments in any language.",
    "sessions": "Web visits; order_id is set on the one session that converted.",
    "marketing_spend": "Daily spend of the paid channels; organic and direct have none.",
    "sales_reps": "The sales team looking after B2B customers.",
}

# Statuses and the tie-break order of docs/sources.md (higher wins on equal updated_at).
STATUS_PRIORITY = {"placed": 1, "shipped": 2, "delivered": 3, "cancelled": 4, "returned": 5}


# ------------------------------------------------------------------ channels
@dataclass(frozen=True)
class Channel:
    """A marketing channel and the kind of customer it brings.

    ``rate`` is the mean purchase rate (orders per 30 days) of its customers while alive,
    drawn from a gamma distribution of shape ``shape`` (a multiple of 0.5); the dropout
    probability after each purchase is Beta(1, ``dropout_b``) (mean 1 / (1 + b)).
    """

    name: str
    share: float  # share of new customers
    rate: float
    shape: float
    dropout_b: float
    never_orders: float  # share of sign-ups who never order
    traffic_share: float  # share of anonymous web traffic coming through this channel
    referral_weight: float  # how likely its customers are to refer someone
    nps_shift: float  # satisfaction offset of its customers
    cac: float  # spend per expected new customer (0: unpaid channel)
    variants: tuple[str, ...]  # how other systems misspell it


# Referral and email customers buy more often, stay longer and refer more; paid search and
# social customers are a heterogeneous crowd (gamma shape 0.5) that drops out fast.
# fmt: off
_CHANNEL_TABLE: dict[str, tuple[float, ...]] = {
    #               share  rate  shape drop_b never traffic refer  nps    cac
    "organic":     (0.22,  1.90, 1.0,  5.0,   0.15,  0.20,  1.5,   0.2,   0.0),
    "paid_search": (0.21,  1.85, 0.5,  1.5,   0.22,  0.30,  0.6,  -0.4,  38.0),
    "social":      (0.16,  1.75, 0.5,  1.2,   0.26,  0.25,  0.5,  -0.7,  30.0),
    "email":       (0.09,  2.40, 1.5,  8.0,   0.10,  0.04,  3.0,   0.5,   6.0),
    "affiliate":   (0.10,  1.85, 0.5,  2.0,   0.18,  0.08,  0.8,  -0.2,  22.0),
    "referral":    (0.10,  2.40, 1.5,  9.0,   0.08,  0.03,  3.0,   0.6,  12.0),
    "direct":      (0.12,  1.90, 1.0,  5.0,   0.12,  0.10,  1.5,   0.2,   0.0),
}
# fmt: on
_VARIANTS: dict[str, tuple[str, ...]] = {
    "organic": ("Organic", "organic "),
    "paid_search": ("Paid Search", "paid-search", "PAID_SEARCH"),
    "social": ("Social", " social"),
    "email": (" email ", "Email"),
    "affiliate": ("Affiliate",),
    "referral": ("Referral ",),
    "direct": ("Direct", "DIRECT"),
}
CHANNELS: tuple[Channel, ...] = tuple(
    Channel(name, *values, variants=_VARIANTS[name])  # type: ignore[arg-type]
    for name, values in _CHANNEL_TABLE.items()
)

# Channel of repeat orders that do not come through the acquisition channel.
REPEAT_MIX = {
    "direct": 0.35,
    "email": 0.30,
    "organic": 0.20,
    "paid_search": 0.10,
    "social": 0.05,
}

UNKNOWN_CHANNEL = "podcast"  # not one of the seven: kept, and flagged by an expectation

# Seasonality of demand by calendar month (November and December peak).
SEASON = {
    1: 0.85,
    2: 0.85,
    3: 0.95,
    4: 0.95,
    5: 1.00,
    6: 0.95,
    7: 0.90,
    8: 0.90,
    9: 1.00,
    10: 1.05,
    11: 1.40,
    12: 1.55,
}

# ------------------------------------------------------------------ geography
# region -> (share, promised delivery days, share of B2B customers, countries with shares)
REGIONS: tuple[tuple[str, float, int, float, tuple[tuple[str, float], ...]], ...] = (
    (
        "Europe",
        0.45,
        3,
        0.07,
        (
            ("DE", 0.25),
            ("GB", 0.20),
            ("FR", 0.18),
            ("NL", 0.10),
            ("ES", 0.10),
            ("IT", 0.10),
            ("SE", 0.04),
            ("PL", 0.03),
        ),
    ),
    ("North America", 0.33, 4, 0.08, (("US", 0.85), ("CA", 0.15))),
    ("Asia Pacific", 0.14, 5, 0.04, (("JP", 0.35), ("AU", 0.30), ("IN", 0.20), ("SG", 0.15))),
    ("Latin America", 0.08, 6, 0.03, (("BR", 0.60), ("MX", 0.40))),
)

# ------------------------------------------------------------------ products
# category -> (share of lines, return rate of a line, complementary category)
CATEGORIES: tuple[tuple[str, float, float, str], ...] = (
    ("Apparel", 0.20, 0.060, "Accessories"),
    ("Footwear", 0.12, 0.055, "Apparel"),
    ("Accessories", 0.12, 0.025, "Apparel"),
    ("Home & Kitchen", 0.15, 0.020, "Books & Stationery"),
    ("Beauty", 0.13, 0.012, "Home & Kitchen"),
    ("Electronics", 0.10, 0.035, "Accessories"),
    ("Sports & Outdoors", 0.10, 0.025, "Footwear"),
    ("Books & Stationery", 0.08, 0.010, "Home & Kitchen"),
)

# (name, category, list price); product ids are P001... in this order.
PRODUCTS: tuple[tuple[str, str, float], ...] = (
    ("Organic Cotton T-Shirt", "Apparel", 19.90),
    ("Merino Wool Sweater", "Apparel", 89.00),
    ("Denim Jacket", "Apparel", 79.50),
    ("Linen Shirt", "Apparel", 45.00),
    ("Hooded Sweatshirt", "Apparel", 54.90),
    ("Chino Trousers", "Apparel", 59.00),
    ("Rain Jacket", "Apparel", 119.00),
    ("Canvas Sneakers", "Footwear", 64.90),
    ("Leather Boots", "Footwear", 149.00),
    ("Running Shoes", "Footwear", 109.00),
    ("Wool Slippers", "Footwear", 39.90),
    ("Trail Sandals", "Footwear", 49.50),
    ("Dress Loafers", "Footwear", 129.00),
    ("Leather Wallet", "Accessories", 39.00),
    ("Canvas Tote Bag", "Accessories", 24.90),
    ("Wool Beanie", "Accessories", 22.00),
    ("Silk Scarf", "Accessories", 49.00),
    ("Sunglasses", "Accessories", 79.00),
    ("Leather Belt", "Accessories", 35.00),
    ("Electric Kettle", "Home & Kitchen", 49.90),
    ("Cast Iron Skillet", "Home & Kitchen", 44.00),
    ("Chef's Knife", "Home & Kitchen", 69.00),
    ("Ceramic Mug Set", "Home & Kitchen", 29.90),
    ("French Press", "Home & Kitchen", 34.50),
    ("Linen Napkins (set of 4)", "Home & Kitchen", 24.00),
    ("Bamboo Cutting Board", "Home & Kitchen", 27.90),
    ("Face Moisturizer", "Beauty", 28.00),
    ("Vitamin C Serum", "Beauty", 36.00),
    ("Shea Body Lotion", "Beauty", 18.50),
    ("Clay Face Mask", "Beauty", 22.90),
    ("Lip Balm Trio", "Beauty", 12.90),
    ("Shampoo Bar", "Beauty", 11.50),
    ("Wireless Earbuds", "Electronics", 89.00),
    ("Bluetooth Speaker", "Electronics", 59.00),
    ("USB-C Charger", "Electronics", 29.90),
    ("Power Bank", "Electronics", 39.90),
    ("Smart Watch", "Electronics", 199.00),
    ("Noise-Cancelling Headphones", "Electronics", 249.00),
    ("Yoga Mat", "Sports & Outdoors", 39.00),
    ("Steel Water Bottle", "Sports & Outdoors", 24.90),
    ("Hiking Backpack", "Sports & Outdoors", 99.00),
    ("Resistance Bands", "Sports & Outdoors", 19.90),
    ("Camping Lantern", "Sports & Outdoors", 34.90),
    ("Foam Roller", "Sports & Outdoors", 29.00),
    ("Dotted Notebook", "Books & Stationery", 14.50),
    ("Fountain Pen", "Books & Stationery", 59.00),
    ('Cookbook "Seasonal Plates"', "Books & Stationery", 32.00),
    ("Weekly Planner", "Books & Stationery", 19.00),
    ("Watercolour Set", "Books & Stationery", 27.50),
    ("Travel Journal", "Books & Stationery", 24.00),
)

# The product with one bad production batch (returns and complaints about 5-10x the rest).
BAD_PRODUCT = "Electric Kettle"
BAD_BATCH_RETURN_RATE = 0.30
BAD_BATCH_COMPLAINT_RATE = 0.35

# ------------------------------------------------------------------ sales team
# (id, name, team, region); B2B customers get a rep of their region.
SALES_REPS: tuple[tuple[str, str, str, str], ...] = (
    ("SR01", "Anna Schmidt", "Enterprise", "Europe"),
    ("SR02", "Lucas Moreau", "Mid-Market", "Europe"),
    ("SR03", "Emily Carter", "Enterprise", "North America"),
    ("SR04", "James O'Neil", "Mid-Market", "North America"),
    ("SR05", "Yuki Tanaka", "Enterprise", "Asia Pacific"),
    ("SR06", "Priya Nair", "Mid-Market", "Asia Pacific"),
    ("SR07", "Camila Souza", "Enterprise", "Latin America"),
    ("SR08", "Diego Hernández", "Mid-Market", "Latin America"),
)

# ------------------------------------------------------------------ free text
RETURN_REASONS: dict[str, tuple[str, ...]] = {
    "sized": ("wrong size", "wrong size", "not as described", "changed mind", "arrived damaged"),
    "other": ("changed mind", "not as described", "arrived damaged", "defective", "wrong item"),
    "bad": ("defective", "defective", "defective", "arrived damaged", "not as described"),
}

COMMENTS: dict[str, tuple[str, ...]] = {
    "positive": (
        "Great quality, arrived quickly.",
        "Love it! Will order again.",
        "Exactly as described.",
        'Perfect gift, the "wow" effect was guaranteed',
        "Super Qualität, schnelle Lieferung!",
        "Très satisfait, merci !",
        "Me encantó, llegó antes de lo previsto.",
        "とても良い商品です。",
        "Ottimo prodotto, consigliato.",
        "Muito bom, recomendo!",
        "非常满意，会再次购买。",
        "Fast shipping and lovely packaging.",
    ),
    "neutral": (
        "Okay, nothing special.",
        "Fine, but the packaging could be better.",
        "Delivery took a while but the product is good.",
        "Ganz okay.",
        "Correct, sans plus.",
        "Está bien.",
    ),
    "negative": (
        "Not what I expected.",
        "Quality is poor for the price.",
        "Customer service did not answer my email.",
        "Leider enttäuscht.",
        "Pas terrible, taille trop petite.",
        "No me gustó la calidad.",
    ),
    "late": (
        "Package arrived late.",
        "Delivery was three days late, no update.",
        "Paket kam viel zu spät an.",
        "Livraison en retard.",
        "El pedido llegó tarde.",
        "配達が遅れました。",
    ),
    "bad": (
        "The kettle leaks from the bottom.",
        "Kettle stopped working after two days.",
        "Defective on arrival, I want a refund.",
        "Wasserkocher nach einer Woche defekt.",
        "Bouilloire défectueuse, elle fuit.",
        "El hervidor llegó roto.",
    ),
    "complaint": (
        "Wrong item received.",
        "I was charged twice.",
        "Refund still not received.",
        "Falscher Artikel geliefert.",
        "Remboursement toujours pas reçu.",
        "Item arrived damaged.",
    ),
}

# Offsets some systems write timestamps with (the instant is still right).
UTC_OFFSETS: tuple[tuple[str, int], ...] = (
    ("+01:00", 60),
    ("+02:00", 120),
    ("-05:00", -300),
    ("-08:00", -480),
    ("+05:30", 330),
    ("+09:00", 540),
)


def seeds_yaml() -> str:
    """``seeds/_seeds.yml`` for the bundled CSV files: every column with its contract type."""
    lines = [
        "# The bundled demo data (seeds/shop/*.csv), written by",
        "#   runner demo-data --customers 2000 --start 2023-01-01 --months 24 --seed 42 \\",
        "#     --out seeds/shop",
        "# Every column is read with its type from the landing contract (docs/sources.md).",
        "seeds:",
    ]
    for table, columns in TABLES.items():
        types = ", ".join(
            f"{name}: {type_!r}" if "(" in type_ else f"{name}: {type_}" for name, type_ in columns
        )
        lines += [
            f"  - name: {table}",
            f"    description: {json.dumps(DESCRIPTIONS[table])}",
            "    config:",
            f"      column_types: {{{types}}}",
        ]
    return "\n".join(lines) + "\n"
