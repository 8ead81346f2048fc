"""The light and dark palettes of static/floniks/base.css: every text/background pair the rules use
meets WCAG AA in both (4.5:1 for text, 3:1 for large text and for what identifies a control), the
dark palette is written the same in its two places, and no colour escapes the palettes (it would not
follow the theme). The theme script is loaded so that it runs before the first paint."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

CSS = Path(settings.BASE_DIR) / "static" / "floniks" / "base.css"

TEXT = 4.5  # WCAG 2.x AA, 1.4.3: text below 18.66 px bold or 24 px (every text here: badges are 11 px)
NON_TEXT = 3.0  # AA, 1.4.11: the boundary that identifies a control, a focus ring, a status dot


def without_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)


def rules(css: str) -> list[tuple[str, str]]:
    """(selector, declarations) of every innermost rule; a media query's rules come out bare."""
    found = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", without_comments(css)):
        found.append((" ".join(selector.split()), body))
    return found


def declarations(body: str) -> dict[str, str]:
    pairs = (part.split(":", 1) for part in body.split(";") if ":" in part)
    return {name.strip(): " ".join(value.split()) for name, value in pairs}


DARK_BY_PREFERENCE = ':root:not([data-theme="light"])'
DARK_BY_CHOICE = ':root[data-theme="dark"]'


def palette_blocks(css: str) -> dict[str, dict[str, str]]:
    blocks = {selector: declarations(body) for selector, body in rules(css) if selector.startswith(":root")}
    text = without_comments(css)
    media = re.search(r"@media\s*\(prefers-color-scheme:\s*dark\)\s*\{\s*([^{}]+)\{", text)
    assert media is not None and " ".join(media.group(1).split()) == DARK_BY_PREFERENCE, (
        "the dark palette must apply under @media (prefers-color-scheme: dark) unless light was chosen"
    )
    return {"light": blocks[":root"], "preference": blocks[DARK_BY_PREFERENCE], "choice": blocks[DARK_BY_CHOICE]}


def colour_variables(block: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in block.items() if name.startswith("--") and value.startswith(("#", "var("))}


def palettes() -> dict[str, dict[str, str]]:
    blocks = palette_blocks(CSS.read_text())
    light = colour_variables(blocks["light"])
    return {"light": light, "dark": {**light, **colour_variables(blocks["choice"])}}


def resolve(palette: dict[str, str], name: str) -> str:
    value = palette[name]
    while value.startswith("var("):
        value = palette[value[4:-1].strip()]
    return value


def luminance(colour: str) -> float:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    assert re.fullmatch(r"[0-9a-fA-F]{6}", digits), f"not an opaque hex colour: {colour}"

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(digits[i : i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    lighter, darker = sorted((luminance(a), luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@dataclass(frozen=True)
class Pair:
    fg: str
    bg: str
    minimum: float
    what: str
    rule: str | None = None  # a selector whose rule sets exactly this colour (and background, if any)


PAIRS = [
    # Text on the page and on cards
    Pair("--ink", "--paper", TEXT, "body text", "body"),
    Pair("--ink", "--card", TEXT, "text on a card"),
    Pair("--ink-2", "--card", TEXT, "table headers"),
    Pair("--muted", "--paper", TEXT, "muted text on the page", "small, .muted"),
    Pair("--muted", "--card", TEXT, "muted text and help on a card"),
    Pair("--muted", "--annotation-bg", TEXT, "muted text in an annotation"),
    Pair("--ink", "--annotation-bg", TEXT, "an annotation"),
    Pair("--ink", "--warn-soft", TEXT, "a changed row on the compare page"),
    Pair("--ink", "--card", TEXT, "the image viewer's bar", ".viewer-bar"),
    Pair("--shadow-ink", "--shadow-bg", TEXT, "the image viewer", "dialog.viewer"),
    Pair("--on-accent", "--accent", TEXT, "the chosen view of the history", ".view-toggle a.active"),
    Pair("--code-ink", "--code-bg", TEXT, "a manifest", "pre"),
    # Links
    Pair("--accent", "--paper", TEXT, "a link on the page", "a"),
    Pair("--accent", "--card", TEXT, "a link on a card"),
    Pair("--accent-2", "--accent-soft", TEXT, "a hovered ghost button", "button.ghost:hover, .button.ghost:hover"),
    # Buttons
    Pair("--on-accent", "--accent", TEXT, "a button"),
    Pair("--on-accent", "--accent-2", TEXT, "a button under the pointer"),
    Pair("--on-accent", "--bad", TEXT, "a danger button"),
    Pair("--accent", "--card", NON_TEXT, "a ghost button's border"),
    # Form fields
    Pair("--ink", "--field", TEXT, "typed text"),
    Pair("--field-line", "--field", NON_TEXT, "a field's border"),
    Pair("--field-line", "--card", NON_TEXT, "a field's border against its card"),
    Pair("--accent", "--card", NON_TEXT, "the focus ring"),
    Pair("--bad", "--card", TEXT, "an error under a field"),
    # Top bar
    Pair("--top-ink", "--top-bg", TEXT, "the navigation", ".top nav a"),
    Pair("--top-strong", "--top-bg", TEXT, "the current page in the navigation"),
    Pair("--top-brand", "--top-bg", TEXT, "the brand's accent", ".brand span"),
    Pair("--top-line", "--top-bg", NON_TEXT, "the top bar's buttons' border"),
    Pair("--role-ink", "--role-bg", TEXT, "the role badge", ".b-role"),
    # Badges
    Pair("--on-accent", "--accent", TEXT, "canonical", ".b-canonical"),
    Pair("--info", "--info-soft", TEXT, "public, running, exploring", ".b-public"),
    Pair("--ink-2", "--neutral-soft", TEXT, "internal, queued", ".b-internal"),
    Pair("--violet", "--violet-soft", TEXT, "alternate", ".b-alternate"),
    Pair("--shadow-ink", "--shadow-bg", TEXT, "shadow", ".b-shadow"),
    Pair("--muted", "--quiet-soft", TEXT, "standard", ".b-standard"),
    Pair("--ok", "--ok-soft", TEXT, "initial, patch, succeeded", ".b-initial, .b-patch"),
    Pair("--warn", "--warn-soft", TEXT, "minor, awaiting annotation", ".b-minor"),
    Pair("--bad", "--bad-soft", TEXT, "major, failed", ".b-major"),
    Pair("--muted", "--archived-soft", TEXT, "archived", ".b-archived"),
    Pair("--gate", "--gate-soft", TEXT, "paused at a gate", ".b-awaiting_gate"),
    # Messages and alerts
    Pair("--ok", "--ok-soft", TEXT, "a success message", ".msg.success"),
    Pair("--info", "--info-soft", TEXT, "an information message", ".msg.info"),
    Pair("--bad", "--bad-soft", TEXT, "an error message", ".msg.error, .alert.bad"),
    Pair("--warn-ink", "--warn-soft", TEXT, "a warning", ".alert.warn"),
    # Status dots and the direction tree
    Pair("--info", "--card", NON_TEXT, "a running step's dot"),
    Pair("--ok", "--card", NON_TEXT, "a finished step's dot"),
    Pair("--bad", "--card", NON_TEXT, "a failed step's dot"),
    Pair("--ink", "--node-bg", TEXT, "a direction's name in the tree"),
    Pair("--muted", "--node-bg", TEXT, "a direction's slug in the tree"),
    Pair("--ink", "--ok-soft", TEXT, "the production direction's name"),
    Pair("--muted", "--node-archived", TEXT, "an archived direction"),
]


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.what)
def test_every_pair_of_the_palette_meets_wcag_aa(theme: str, pair: Pair) -> None:
    palette = palettes()[theme]
    ratio = contrast(resolve(palette, pair.fg), resolve(palette, pair.bg))
    assert ratio >= pair.minimum, (
        f"{theme}: {pair.what} ({pair.fg} {resolve(palette, pair.fg)} on {pair.bg} {resolve(palette, pair.bg)}) "
        f"has a contrast of {ratio:.2f}:1, below {pair.minimum}:1"
    )


@pytest.mark.parametrize("pair", [p for p in PAIRS if p.rule], ids=lambda p: p.what)
def test_the_pairs_are_the_ones_the_rules_use(pair: Pair) -> None:
    """A rule that changes its colours without this list following would be checked no more."""
    found = {selector: declarations(body) for selector, body in rules(CSS.read_text())}
    assert pair.rule in found, f"no rule {pair.rule!r} in base.css"
    rule = found[pair.rule]
    assert rule.get("color") == f"var({pair.fg})", (pair.rule, rule)
    if "background" in rule:
        assert rule["background"] == f"var({pair.bg})", (pair.rule, rule)


def test_the_dark_palette_is_the_same_by_preference_and_by_choice() -> None:
    blocks = palette_blocks(CSS.read_text())
    assert blocks["preference"] == blocks["choice"]
    assert blocks["choice"]["color-scheme"] == "dark" and blocks["light"]["color-scheme"] == "light"


def test_the_dark_palette_sets_every_colour_of_the_light_one() -> None:
    """A colour added to the light palette only would show its light value in the dark theme."""
    blocks = palette_blocks(CSS.read_text())
    missing = set(colour_variables(blocks["light"])) - set(colour_variables(blocks["choice"]))
    assert not missing, f"the dark palette does not set {sorted(missing)}"


def test_no_colour_outside_the_palettes() -> None:
    """A colour written in a rule stays the same in both themes; it belongs in the palettes."""
    outside = [
        f"{selector} {{{body.strip()}}}"
        for selector, body in rules(CSS.read_text())
        if not selector.startswith(":root") and re.search(r"#[0-9a-fA-F]{3,8}\b|\b(rgba?|hsla?)\(", body)
    ]
    assert outside == []


def test_the_contrast_is_computed_as_wcag_defines_it() -> None:
    assert contrast("#000", "#fff") == pytest.approx(21)
    assert contrast("#fff", "#fff") == pytest.approx(1)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic near miss
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


class Head(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.in_head = False
        self.scripts: list[dict[str, str | None]] = []
        self.first_stylesheet_at: int | None = None
        self.toggles: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "head":
            self.in_head = True
        elif tag == "script" and self.in_head:
            self.scripts.append(found)
        elif tag == "link" and found.get("rel") == "stylesheet" and self.first_stylesheet_at is None:
            self.first_stylesheet_at = len(self.scripts)
        elif "data-theme-toggle" in found:
            self.toggles.append(found)

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False


@pytest.mark.django_db
def test_the_theme_script_runs_in_the_head_before_the_first_paint(client) -> None:
    """Deferred, or loaded later, it would apply a remembered theme after the page showed the other."""
    head = Head()
    head.feed(client.get("/accounts/login/").content.decode())
    theme = [s for s in head.scripts if (s.get("src") or "").endswith("floniks/theme.js")]
    assert len(theme) == 1, head.scripts
    assert "defer" not in theme[0] and "async" not in theme[0] and "type" not in theme[0]
    assert head.first_stylesheet_at is not None and head.scripts.index(theme[0]) < head.first_stylesheet_at
    assert [t.get("type") for t in head.toggles] == ["button"]
