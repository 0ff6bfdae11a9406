"""Word banks for plausible charity-sector sites: names, staff, commenters, comments and furniture text."""

from __future__ import annotations

import itertools
import random
import re
import unicodedata

NAME_LEADS = (
    "Volunteer", "Charity", "Third Sector", "Community", "Trustee", "Fundraising", "Civil Society",
    "Voluntary Sector", "Social Impact", "Nonprofit", "Grassroots", "Youth Work", "Care Sector", "Advice Sector",
    "Learning", "Funding", "Small Charities", "Social Care", "Local Giving", "Sector Skills",
)  # fmt: skip
NAME_TAILS = (
    "Voice", "Learning Hub", "Times", "Network", "Digest", "Exchange", "Review", "Bulletin", "Insider", "Forum",
    "Gazette", "Weekly", "Today", "Matters", "Online", "Post", "Briefing", "Journal", "Roundup", "Observer",
)  # fmt: skip
NAME_PLACES = ("", "Scotland", "Cymru", "North", "London", "Midlands", "South West", "Yorkshire", "East")

FIRST_NAMES = (
    "Amira", "Ben", "Chloe", "Dev", "Eleanor", "Fatima", "George", "Hannah", "Imran", "Jess", "Kwame", "Laura",
    "Mohammed", "Niamh", "Owen", "Priya", "Rhys", "Sarah", "Tom", "Una", "Vikram", "Wendy", "Yusuf", "Zara",
)  # fmt: skip
SURNAMES = (
    "Adeyemi", "Baker", "Campbell", "Davies", "Evans", "Fraser", "Gill", "Hughes", "Iqbal", "Jones", "Kaur",
    "Lewis", "Morgan", "Nwosu", "O'Brien", "Patel", "Quinn", "Roberts", "Shah", "Thomas", "Walsh", "Young",
)  # fmt: skip
# Names that only survive a legacy-encoded page if it is decoded right.
ACCENTED_NAMES = ("Zoë Lefèvre", "Renée Dubois", "José Martín", "Siân Llewellyn", "Chloé Brontë", "Seán Ó Ceallaigh")

COMMENTERS = (
    "Karen (volunteer coordinator)", "Dave_M", "Learning Lead, Hospice UK member", "Jo Whitfield", "S. Okafor",
    "charitytrainer22", "Mark from Age Concern", "Helen R", "Anon", "Tariq", "Gwen Pryce", "Fundraiser Phil",
)  # fmt: skip
COMMENT_TEXTS = (
    "Really useful, thanks for sharing. We've been trying something similar with our volunteer induction.",
    "Does anyone have a template for this? Our board keeps asking for one.",
    "Great piece. I'd add that small charities often don't have the budget for any of this, though.",
    "We ran a pilot last year and the biggest lesson was to involve frontline staff from day one.",
    "Interesting, but I'm not sure the figures hold up outside London.",
    "Shared this with our trustees - very timely given our strategy review.",
    "Thanks! Is there a recording of the webinar mentioned?",
    "This matches our experience exactly. Peer learning circles have transformed how our team works.",
    "Would love to see a follow-up on how this works for volunteer-led groups.",
    "Bookmarked. The point about measuring impact rather than attendance is spot on.",
    "Not convinced, to be honest. We tried this in 2019 and engagement dropped after a month.",
    "Can I reuse this in our newsletter with credit?",
)
COMMENT_AGES = ("2 hours ago", "5 hours ago", "yesterday", "2 days ago", "3 days ago", "last week")

CHARITY_WORDS = ("Learning", "Volunteering", "Skills", "Training", "Community", "Impact")
FILLER_SENTENCES = (
    "Members can download the full briefing pack from the resources area.",
    "The session covers safeguarding, data protection and volunteer wellbeing.",
    "Places are limited and will be allocated on a first come, first served basis.",
    "Our learning team will share slides and a recording after the event.",
    "Please speak to your regional coordinator if you have any questions.",
    "The figures are drawn from a survey of 412 organisations across the sector.",
    "Trustees are encouraged to review the guidance before the next board meeting.",
    "We will publish a summary of responses in the new year.",
)
FAULT_TITLES = {
    "not_found": "Shortlist announced for the national volunteering awards",
    "slow": "Live blog: the sector funding summit as it happens",
    "oversized": "Annual impact report 2026: the full data tables",
    "redirect_loop": "Guide to safeguarding training for new trustees",
    "disallowed": "Members only: trustee briefing pack",
}


def site_names(count: int, seed: int) -> list[str]:
    """`count` distinct plausible site names, in an order fixed by `seed`."""
    plain = [f"{lead} {tail}" for lead, tail in itertools.product(NAME_LEADS, NAME_TAILS)]
    random.Random(seed).shuffle(plain)
    if count <= len(plain):
        return plain[:count]
    regional = [f"{name} {place}" for place in NAME_PLACES[1:] for name in plain]
    names = plain + regional
    if count > len(names):
        names += [f"{name} {n}" for n in range(2, count // len(names) + 2) for name in plain + regional]
    return names[:count]


def staff_names(rng: random.Random, count: int, accented: bool = False) -> tuple[str, ...]:
    names = {f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}" for _ in range(count * 3)}
    chosen = sorted(names)[:count]
    rng.shuffle(chosen)
    if accented:
        chosen[: len(ACCENTED_NAMES) // 2] = rng.sample(ACCENTED_NAMES, len(ACCENTED_NAMES) // 2)
    return tuple(chosen)


def slugify(title: str, max_words: int = 9) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    return "-".join(words[:max_words]) or "post"


def filler_paragraphs(rng: random.Random, count: int) -> tuple[str, ...]:
    """Plausible paragraphs for pages behind faults, which must not look like any true article."""
    return tuple(" ".join(rng.sample(FILLER_SENTENCES, 3)) for _ in range(count))


def comments_for(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    """(commenter, age, text) triples."""
    return [
        (commenter, rng.choice(COMMENT_AGES), text)
        for commenter, text in zip(rng.sample(COMMENTERS, count), rng.sample(COMMENT_TEXTS, count), strict=True)
    ]


def charity_number(site_index: int) -> str:
    return str(1_050_000 + site_index * 7919 % 900_000)
