"""Where each word of a PDF is printed (poppler's ``pdftotext -bbox``), to check a layout:
two words whose boxes intersect are printed over each other."""

from __future__ import annotations

import html
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')


@dataclass(frozen=True)
class Word:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    def intersects(self, other: Word, tolerance: float = 0.5) -> bool:
        """The two boxes share more than ``tolerance`` points both across and down."""
        across = min(self.x1, other.x1) - max(self.x0, other.x0)
        down = min(self.y1, other.y1) - max(self.y0, other.y0)
        return across > tolerance and down > tolerance


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    words: list[Word]


def pdf_words(pdf: Path) -> list[Page]:
    """Each page's words with their boxes (points, origin top left)."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True,
                         text=True).stdout
    return [Page(float(w), float(h), [Word(float(a), float(b), float(c), float(d), html.unescape(t))
                                      for a, b, c, d, t in WORD.findall(body)])
            for w, h, body in PAGE.findall(out)]


def below_heading(page: Page, first: str, second: str, margin: float = 50.0) -> list[tuple[Word, list[Word]]]:
    """For each table heading ``first second`` (e.g. "What happened") on the page: the heading's
    first word and every word below it, above the page's bottom margin (the footer)."""
    out = []
    for head in page.words:
        if head.text != first or not any(w.text == second and abs(w.y0 - head.y0) < 1 for w in page.words):
            continue
        out.append((head, [w for w in page.words if w.y0 > head.y1 and w.y1 < page.height - margin]))
    return out


def overlapping(words: list[Word]) -> list[tuple[Word, Word]]:
    """Every pair of words on one page printed over each other."""
    ordered = sorted(words, key=lambda w: w.x0)
    pairs = []
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b.x0 >= a.x1:
                break
            if a.intersects(b):
                pairs.append((a, b))
    return pairs
