"""Names as people type them, made comparable: shared by ids, lookup and the duplicate guard."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from crmctl.errors import UserError

# Legal-form words that say nothing about which company it is, in the languages a small team
# meets most. Matched as whole tokens after punctuation is gone ("Inc." -> "inc").
LEGAL_SUFFIXES = frozenset("""
    inc incorporated corp corporation co company llc llp lp ltd limited plc pllc
    gmbh ag kg ohg ug mbh se sa sas sarl srl spa sl slu bv nv vof oy ab as asa aps
    kk kabushiki kaisha pty pte sdn bhd
""".split())
# Abbreviations written with dots or spaces that must collapse before tokenising.
_DOTTED = [(re.compile(r"\bs\.?\s?a\.?\s?r\.?\s?l\b\.?"), " sarl "),
           (re.compile(r"\bg\.?m\.?b\.?h\b\.?"), " gmbh "),
           (re.compile(r"\bb\.\s?v\b\.?"), " bv "), (re.compile(r"\bn\.\s?v\b\.?"), " nv "),
           (re.compile(r"\bs\.\s?a\b\.?"), " sa "), (re.compile(r"\bs\.\s?p\.\s?a\b\.?"), " spa "),
           (re.compile(r"\bl\.\s?l\.\s?c\b\.?"), " llc "), (re.compile(r"\bp\.\s?l\.\s?c\b\.?"), " plc ")]
# One search for any of them first: most names have none, and eight substitutions per name
# were a tenth of a first index build.
_ANY_DOTTED = re.compile("|".join(pattern.pattern for pattern, _ in _DOTTED))
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_ID_LENGTH = 64
MAX_NAME_LENGTH = 200


# Cyrillic and Greek letters drawn exactly like Latin ones (after case-folding). In a name
# that also has Latin letters they are a look-alike ("Аcme" with a Cyrillic А: a paste
# from a phishing mail, or a keyboard left in Russian), read as the Latin letter.
_LOOK_ALIKES = str.maketrans("аеорсухіјѕԁɡӏԛԝαεικνορτυχ", "aeopcyxijsdgiqwaeikvoptux")
_LATIN = re.compile("[a-z]")


def fold(text: str) -> str:
    """Case- and accent-insensitive form: 'Société Générale' -> 'societe generale'."""
    if text.isascii():  # most names: nothing to decompose, and casefold() is lower() there
        return text.lower()
    # Decompose before and after case-folding: compatibility forms such as "™" only become
    # letters ("TM") when decomposed, and must then be folded too.
    decomposed = unicodedata.normalize(
        "NFKD", unicodedata.normalize("NFKD", text).casefold())
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    if _LATIN.search(folded):
        return folded.translate(_LOOK_ALIKES)
    return folded


def tokens(name: str) -> list[str]:
    """Words of a name once case, accents, punctuation and '&' are set aside."""
    text = fold(name).replace("&", " and ").replace("+", " and ")
    if _ANY_DOTTED.search(text):  # none of them matching, none can change the text
        for pattern, replacement in _DOTTED:
            text = pattern.sub(replacement, text)
    text = text.replace("'", "").replace("\u2019", "")
    return [t for t in _NON_WORD.sub(" ", text).split() if t != "_"]


def normalize_company(name: str) -> str:
    """'Acme Products, Inc.' and 'ACME products incorporated' -> 'acme products'.

    Legal suffixes and a leading 'the' are dropped, unless nothing else would be left.
    """
    words = _joined_letters(tokens(name))
    # Legal forms out, letters joined again ("a inc a" -> "aa"), until nothing changes, so
    # that normalising a normalised name changes nothing ("k inc k" -> "kk", a legal form).
    while True:
        core = _joined_letters([w for w in words if w not in LEGAL_SUFFIXES])
        if not core or core == words:
            break
        words = core
    while len(core) > 1 and core[0] == "the":
        core = core[1:]
    return " ".join(core or words)


def _joined_letters(words: list[str]) -> list[str]:
    """Runs of single letters are one word: 'n v philips' -> 'nv philips', 'u s steel' ->
    'us steel' (initials typed with spaces, or with dots that became spaces)."""
    if not any(len(word) == 1 for word in words):  # most names: nothing to join
        return words
    joined: list[str] = []
    run = ""
    for word in words + [""]:
        if len(word) == 1 and word.isalpha():
            run += word
            continue
        if run:
            joined.append(run)
            run = ""
        if word:
            joined.append(word)
    return joined


def sorted_words(norm: str) -> str:
    """The name's words in order: plain ``fuzz.ratio`` on two of these is
    ``fuzz.token_sort_ratio`` on the names, without sorting each again per comparison."""
    return " ".join(sorted(norm.split()))


def normalize_person(name: str) -> str:
    return " ".join(tokens(name))


def check_name(name: str, what: str = "name") -> str:
    """A display name, trimmed; an error when it is empty or holds no letter or digit."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise UserError(f"the {what} is empty", "give a name with at least one letter or digit")
    if not any(ch.isalnum() for ch in cleaned):
        raise UserError(f"the {what} {name!r} has no letter or digit",
                        "give a name with at least one letter or digit")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in cleaned):
        # Cf: invisible format characters (zero-width spaces, right-to-left overrides) make
        # two names that look alike differ, or one name display as another.
        raise UserError(f"the {what} {name!r} holds control or invisible characters",
                        "remove them")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise UserError(f"the {what} is {len(cleaned)} characters long",
                        f"names are at most {MAX_NAME_LENGTH}")
    return cleaned


def slugify(text: str, fallback_prefix: str) -> str:
    """A lowercase ASCII id for a name; names with no Latin letters get a stable hashed id.

    Ids never hold a path separator or start with a dash, and being lowercase they stay
    unique on case-insensitive filesystems.
    """
    ascii_text = fold(text).replace("&", " and ").encode("ascii", "ignore").decode()
    slug = _SLUG_JUNK.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > MAX_ID_LENGTH:
        slug = slug[:MAX_ID_LENGTH].rstrip("-")
    if not slug or not any(ch.isalpha() for ch in slug) and len(slug) < 2:
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
        slug = f"{fallback_prefix}-{digest}"
    return slug


def is_valid_id(value: str) -> bool:
    return bool(ID_PATTERN.match(value)) and len(value) <= MAX_ID_LENGTH + 8
