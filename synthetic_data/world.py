"""Fixed vocabularies of the synthetic world: regions, countries, sectors, names, references.

Everything here is data. Generation code refers to entries by integer code (their position in
these tuples) and turns codes into strings only when the tables are written.
"""

from __future__ import annotations

from moneytrail.schemas import CHANNELS

#: US branch regions (state-city). ``True`` marks regions on the US-Mexico border.
US_REGIONS: tuple[tuple[str, bool, float], ...] = (
    # name, border, population weight
    ("TX-El Paso", True, 2.0),
    ("TX-Laredo", True, 1.2),
    ("TX-McAllen", True, 1.5),
    ("TX-Brownsville", True, 1.0),
    ("AZ-Nogales", True, 0.6),
    ("AZ-Yuma", True, 0.8),
    ("CA-San Diego", True, 3.0),
    ("CA-Calexico", True, 0.6),
    ("NM-Las Cruces", True, 0.8),
    ("TX-Houston", False, 6.0),
    ("TX-Dallas", False, 6.0),
    ("TX-San Antonio", False, 4.0),
    ("AZ-Phoenix", False, 5.0),
    ("CA-Los Angeles", False, 9.0),
    ("CA-Fresno", False, 2.0),
    ("IL-Chicago", False, 7.0),
    ("GA-Atlanta", False, 5.0),
    ("NY-New York", False, 9.0),
    ("FL-Miami", False, 5.0),
    ("NC-Charlotte", False, 3.0),
    ("WA-Seattle", False, 3.0),
    ("CO-Denver", False, 3.0),
    ("NV-Las Vegas", False, 2.5),
    ("MI-Detroit", False, 2.5),
)
#: Regions of foreign counterparties (no branch of ours; account ``region`` only).
MX_REGIONS: tuple[str, ...] = (
    "MX-Ciudad de México",
    "MX-Jalisco",
    "MX-Michoacán",
    "MX-Sinaloa",
    "MX-Chihuahua",
    "MX-Nuevo León",
    "MX-Baja California",
    "MX-Sonora",
    "MX-Tamaulipas",
    "MX-Guanajuato",
)
OFFSHORE_REGIONS: tuple[str, ...] = (
    "PA-Panamá",
    "KY-George Town",
    "VG-Road Town",
    "BZ-Belize City",
    "HK-Hong Kong",
    "AE-Dubai",
    "CN-Shanghai",
    "CO-Bogotá",
    "GT-Guatemala",
)
REGIONS: tuple[str, ...] = tuple(r[0] for r in US_REGIONS) + MX_REGIONS + OFFSHORE_REGIONS
N_US_REGIONS = len(US_REGIONS)
BORDER_REGIONS: tuple[int, ...] = tuple(i for i, r in enumerate(US_REGIONS) if r[1])
INTERIOR_REGIONS: tuple[int, ...] = tuple(i for i, r in enumerate(US_REGIONS) if not r[1])
MX_REGION_CODES: tuple[int, ...] = tuple(range(N_US_REGIONS, N_US_REGIONS + len(MX_REGIONS)))
OFFSHORE_REGION_CODES: tuple[int, ...] = tuple(range(N_US_REGIONS + len(MX_REGIONS), len(REGIONS)))

#: Countries by code. Region names start with the country for foreign regions.
COUNTRIES: tuple[str, ...] = ("US", "MX", "PA", "KY", "VG", "BZ", "HK", "AE", "CN", "CO", "GT")
US, MX = 0, 1
OFFSHORE_COUNTRY_OF_REGION: dict[int, int] = {
    code: COUNTRIES.index(REGIONS[code][:2]) for code in OFFSHORE_REGION_CODES
}

CURRENCIES: tuple[str, ...] = ("USD", "MXN")
USD, MXN = 0, 1
MXN_TO_USD = 0.055

CHANNEL_CODE: dict[str, int] = {name: i for i, name in enumerate(CHANNELS)}
WIRE, ACH, CARD, CHEQUE, CASH_DEP, CASH_WD, MSB, CRYPTO, INTERNAL = (
    CHANNEL_CODE[c]
    for c in (
        "wire",
        "ach",
        "card",
        "cheque",
        "cash_deposit",
        "cash_withdrawal",
        "msb_transfer",
        "crypto",
        "internal",
    )
)

KINDS: tuple[str, ...] = ("individual", "business", "msb")
INDIVIDUAL, BUSINESS, MSB_KIND = 0, 1, 2

#: Business sectors with their share among business accounts.
SECTORS: tuple[tuple[str, float], ...] = (
    ("retail", 0.22),
    ("restaurant", 0.14),
    ("car_dealer", 0.03),
    ("produce_import", 0.03),
    ("produce_export", 0.03),
    ("payroll_employer", 0.12),
    ("utility", 0.006),
    ("real_estate", 0.05),
    ("construction", 0.08),
    ("professional_services", 0.09),
    ("logistics", 0.05),
    ("agriculture", 0.03),
    ("law_firm", 0.02),
    ("holding", 0.02),
    ("public_administration", 0.014),
    ("healthcare", 0.05),
    ("education", 0.02),
)
SECTOR_NAMES: tuple[str, ...] = (*tuple(s for s, _ in SECTORS), "msb", "shell", "personal")
SECTOR_CODE: dict[str, int] = {name: i for i, name in enumerate(SECTOR_NAMES)}

FIRST_NAMES: tuple[str, ...] = (
    "José",
    "María",
    "Juan",
    "Guadalupe",
    "Luis",
    "Sofía",
    "Carlos",
    "Ana",
    "Jesús",
    "Verónica",
    "Michael",
    "Jennifer",
    "David",
    "Sarah",
    "James",
    "Emily",
    "Robert",
    "Jessica",
    "John",
    "Ashley",
    "Nguyễn",
    "Thảo",
    "Wei",
    "Xiù",
    "Zoë",
    "Chloé",
    "François",
    "Łukasz",
    "Søren",
    "Björn",
    "Renée",
    "Ángel",
    "Inés",
    "Raúl",
    "Iñaki",
    "Noémie",
    "Dmitrí",
    "Ольга",
    "Мария",
    "محمد",
    "Aisha",
    "Kwame",
    "Oluwaseun",
    "Priya",
    "Anjali",
    "Haruto",
    "さくら",
    "민준",
    "Tomás",
    "Begoña",
)
LAST_NAMES: tuple[str, ...] = (
    "García",
    "Hernández",
    "Martínez",
    "López",
    "González",
    "Rodríguez",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Flores",
    "Muñoz",
    "Peña",
    "Ibáñez",
    "Nuñez",
    "Castañeda",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "O'Brien",
    "Nguyễn",
    "Trần",
    "Lê",
    "Zhang",
    "Wang",
    "Chen",
    "Müller",
    "Schäfer",
    "Kowalczyk",
    "Øster",
    "Çelik",
    "Yılmaz",  # noqa: RUF001 (a real Turkish name)
    "Шевченко",
    "Иванов",
    "Al-Hassan",
    "Okafor",
    "Patel",
    "Sharma",
    "Tanaka",
    "山田",
    "김",
    "D'Angelo",
    "St. John",
    "van der Berg",
)
BUSINESS_SUFFIXES: tuple[str, ...] = (
    "LLC",
    "Inc.",
    "& Sons",
    "Holdings LLC",
    "S.A. de C.V.",
    "Group",
    "Co.",
    "Enterprises",
    "Trading Corp.",
    "Distribuidora",
    "Imports LLC",
    "Exports Inc.",
    "Partners LP",
    "Ltd.",
)

#: Harmless-looking free-text references, drawn by the streams that use them.
REFERENCES: tuple[str, ...] = (
    "payroll",
    "salary",
    "rent",
    "utilities",
    "invoice",
    "groceries",
    "dinner",
    "thanks!",
    "loan repayment",
    "gift",
    "para mamá",
    "para la familia",
    "renta",
    "factura",
    "pago",
    "school fees",
    "deposit",
    "transfer",
    "savings",
    "car payment",
    "consulting fees",
    "produce shipment",
    "aguacates",
    "limones",
    "freight",
    "commission",
    "services rendered",
    "insurance",
    "medical",
    "tuition",
    "",
    "ref ✓",
    "🍋 order",
    "Überweisung",
    "支付",
)
#: Payloads the ``hostile_strings`` option mixes into names and references.
HOSTILE_STRINGS: tuple[str, ...] = (
    "<script>alert(1)</script>",
    "'; DROP TABLE alerts; --",
    '" OR 1=1 --',
    "Robert'); DROP TABLE transactions;--",
    "=cmd|' /C calc'!A0",
    "{{7*7}}${jndi:ldap://x/a}",
    "../../etc/passwd",
    "<img src=x onerror=alert(1)>",
    "\u202egnp.exe",
    'line\nbreak,comma"quote',
    "\x00nul",
    "\u202eRTL override",
)
REF_CODE: dict[str, int] = {r: i for i, r in enumerate(REFERENCES)}
