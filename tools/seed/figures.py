"""Reference figures that shape the synthetic population (approximate; they only shape
the sample): where people live, their names, work, payment habits and life events."""

from __future__ import annotations

from domain.values import Programme

# Population by province, millions (2020 census, rounded; Papua split as of 2022).
PROVINCE_POPULATION: dict[str, float] = {
    "11": 5.3,
    "12": 14.8,
    "13": 5.5,
    "14": 6.4,
    "15": 3.5,
    "16": 8.5,
    "17": 2.0,
    "18": 9.0,
    "19": 1.5,
    "21": 2.1,
    "31": 10.6,
    "32": 48.3,
    "33": 36.5,
    "34": 3.7,
    "35": 40.7,
    "36": 11.9,
    "51": 4.3,
    "52": 5.3,
    "53": 5.3,
    "61": 5.4,
    "62": 2.7,
    "63": 4.1,
    "64": 3.8,
    "65": 0.7,
    "71": 2.6,
    "72": 3.0,
    "73": 9.1,
    "74": 2.6,
    "75": 1.2,
    "76": 1.4,
    "81": 1.8,
    "82": 1.3,
    "91": 1.0,
    "92": 0.6,
    "93": 0.5,
    "94": 1.4,
    "95": 1.5,
    "96": 0.6,
}

MALE_NAMES = (
    "Agus",
    "Ahmad",
    "Andi",
    "Arif",
    "Asep",
    "Bambang",
    "Budi",
    "Dadang",
    "Dedi",
    "Eko",
    "Fajar",
    "Hendra",
    "Heru",
    "Imam",
    "Iwan",
    "Joko",
    "Ketut",
    "Made",
    "Markus",
    "Muhammad",
    "Nyoman",
    "Putu",
    "Rahmat",
    "Rudi",
    "Slamet",
    "Sugeng",
    "Syaiful",
    "Teguh",
    "Ujang",
    "Wahyu",
    "Yohanes",
    "Yusuf",
)
FEMALE_NAMES = (
    "Ani",
    "Ayu",
    "Dewi",
    "Dian",
    "Eka",
    "Endang",
    "Fitri",
    "Imas",
    "Indah",
    "Kartini",
    "Lestari",
    "Lilis",
    "Maria",
    "Neneng",
    "Ni Luh",
    "Nur",
    "Nurhayati",
    "Ratna",
    "Rina",
    "Siti",
    "Sri",
    "Sumiati",
    "Suryani",
    "Tuti",
    "Wati",
    "Wulan",
    "Yuni",
)
MALE_SECOND_NAMES = (
    "Gunawan",
    "Hidayat",
    "Kurniawan",
    "Nugroho",
    "Permana",
    "Pratama",
    "Purnomo",
    "Santoso",
    "Saputra",
    "Setiawan",
    "Suryadi",
    "Susanto",
    "Wijaya",
)
FEMALE_SECOND_NAMES = (
    "Aminah",
    "Handayani",
    "Kusumawati",
    "Lestari",
    "Rahayu",
    "Rahmawati",
    "Sulistyowati",
    "Wahyuni",
    "Susanti",
    "Purwanti",
)
FAMILY_NAMES = (  # clan names used by men and women alike
    "Daulay",
    "Harahap",
    "Hasibuan",
    "Lubis",
    "Manurung",
    "Nasution",
    "Pane",
    "Siregar",
    "Simanjuntak",
    "Sinaga",
    "Tanjung",
)

OCCUPATIONS: tuple[tuple[str, int], ...] = (
    ("farmer", 26),
    ("farm labourer", 7),
    ("fisher", 7),
    ("livestock breeder", 3),
    ("trader", 14),
    ("street vendor", 10),
    ("driver", 6),
    ("motorcycle taxi driver", 6),
    ("home worker", 7),
    ("construction helper", 6),
    ("tailor", 2),
    ("craftsman", 2),
    ("village helper", 2),
    ("domestic worker", 2),
)

# Indonesian mobile operators' prefixes (after the leading 0).
MOBILE_PREFIXES = (
    "811",
    "812",
    "813",
    "821",
    "822",
    "852",
    "853",
    "857",
    "858",
    "877",
    "878",
    "895",
    "896",
    "897",
    "881",
    "882",
)

ENROLLMENT_CHANNELS = (
    ("perisai", 70),
    ("village_office", 12),
    ("partner", 8),
    ("branch_office", 5),
    ("online", 5),
)

# Payment habits: what share of the population behaves how.
BEHAVIOURS = (
    ("monthly", 44),  # pays every month
    ("ahead", 12),  # pays 3, 6 or 12 months at a time
    ("irregular", 16),  # misses 1-2 months now and then, pays the arrears in grace
    ("lapser", 12),  # stops for more than 3 months (lapsed), later reactivates
    ("dropout", 9),  # pays for a while, then stops for good
    ("never", 7),  # enrolled, never paid
)

DEATHS_PER_YEAR = 0.003
WITHDRAWALS_PER_YEAR = 0.01
WORK_ACCIDENTS_PER_YEAR = 0.02  # JKK medical or incapacity claims, covered members
INCOME_CHANGES_PER_YEAR = 0.04
PROGRAMME_CHANGES_PER_YEAR = 0.02
JHT_SHARE = 0.20

CLAIM_REJECTIONS: dict[str, tuple[str, ...]] = {
    Programme.JKK: (
        "not work-related on investigation",
        "medical documents incomplete",
        "incident report not confirmed by the village office",
    ),
    Programme.JKM: ("heirs' documents incomplete", "death certificate does not match the NIK"),
}
WITHDRAWAL_REASONS = (
    "moved to wage employment",
    "moved abroad",
    "requested",
    "joined a partner's group scheme",
)
