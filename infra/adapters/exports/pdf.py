"""The case file as a PDF (A4, Dutch), with fpdf2.

The font is Open Sans from the ``ttf-opensans`` package (Apache 2.0): a Unicode TrueType font
that travels with the Python environment, so the PDF looks the same on a fresh machine without
system fonts. It covers Latin with diacritics (ë, é, ö, ş, ł, ...), dashes and quotes; fpdf2
embeds only the glyphs used. A character the font lacks (an emoji, Chinese) is printed as ``?``
rather than silently dropped, so the reader sees that something is missing.

Free text is never interpreted (no markdown, no HTML): what someone typed is printed as typed.
"""

from __future__ import annotations

import importlib.resources
import secrets
import unicodedata
from collections.abc import Mapping, Set
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import EncryptionMethod, XPos, YPos

from services.exports.case_file import CaseFile, Entry, Line, Section, TimelineItem, moment

FONT = "OpenSans"
REPLACEMENT = "?"
LABEL_WIDTH = 52.0  # mm
GREY = (90, 90, 90)
BLACK = (0, 0, 0)


def _font_path(style: str) -> Path:
    resource = importlib.resources.files("ttf_opensans") / "ttf" / f"OpenSans-{style}.ttf"
    return Path(str(resource))


def printable(text: str, covered: Set[int]) -> str:
    """``text`` as the font can print it: NFC, tabs as spaces, other control characters left
    out, characters without a glyph (in ``covered``) as ``?``."""
    out = []
    for char in unicodedata.normalize("NFC", text):
        if char == "\n":
            out.append(char)
        elif char == "\t":
            out.append("    ")
        elif unicodedata.category(char) in {"Cc", "Cf"}:
            continue
        elif ord(char) in covered:
            out.append(char)
        else:
            out.append(REPLACEMENT)
    return "".join(out)


class _CaseFilePdf(FPDF):
    def __init__(self, case_file: CaseFile) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.case_file = case_file
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.add_font(FONT, "", _font_path("Regular"))
        self.add_font(FONT, "B", _font_path("Bold"))
        self.add_font(FONT, "I", _font_path("Italic"))
        # The code points every style has (fpdf2 read each font's character map).
        maps = [set(font.cmap) for font in self.fonts.values() if hasattr(font, "cmap")]
        self.covered: Set[int] = set.intersection(*maps)
        self.set_title(self.p(f"{case_file.title} {case_file.case_id}"))
        self.set_subject(self.p(f"{case_file.school_name}: dossier voor de klachtencommissie"))
        self.set_author("Vangnet")
        self.set_creator("Vangnet")
        self.set_lang("nl-NL")
        self.set_creation_date(case_file.exported_at)

    def p(self, text: str) -> str:
        return printable(text, self.covered)

    # fpdf2 calls these on every page.
    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(FONT, "", 8)
        self.set_text_color(*GREY)
        text = f"{self.case_file.title} {str(self.case_file.case_id)[:8]} · "
        self.cell(0, 5, self.p(text + self.case_file.school_name), new_x=XPos.LMARGIN)
        self.set_text_color(*BLACK)
        self.ln(8)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FONT, "", 8)
        self.set_text_color(*GREY)
        made = moment(self.case_file.exported_at)
        self.cell(0, 5, self.p(f"Vertrouwelijk · gemaakt op {made}"), new_x=XPos.LMARGIN)
        self.set_y(-13)
        self.cell(0, 5, f"pagina {self.page_no()} van {{nb}}", align="R")
        self.set_text_color(*BLACK)

    # --- building blocks ---------------------------------------------------------------------

    def text_block(self, text: str, *, size: float = 10, style: str = "", h: float = 5) -> None:
        self.set_font(FONT, style, size)
        self.multi_cell(0, h, self.p(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str) -> None:
        if self.get_y() > self.page_break_trigger - 30:
            self.add_page()  # never a heading alone at the bottom of a page
        self.ln(3)
        self.text_block(text, size=13, style="B", h=7)
        self.set_draw_color(*GREY)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)

    def line_row(self, line: Line, indent: float = 0.0) -> None:
        """A labelled value: label left, value beside it (wrapping in its own column)."""
        label, value = self.p(line.label), self.p(line.value)
        left = self.l_margin + indent
        value_width = self.w - self.r_margin - left - LABEL_WIDTH
        self.set_font(FONT, "", 9.5)
        measured = self.multi_cell(value_width, 4.8, value, dry_run=True, output="HEIGHT")
        height = measured if isinstance(measured, float | int) else 0.0
        available = self.page_break_trigger - self.get_y()
        if height > available and height <= self.page_break_trigger - self.t_margin - 10:
            self.add_page()
        elif height > available:
            # Longer than a page: label above, value in the full width, broken across pages.
            self.set_x(left)
            self.set_font(FONT, "B", 9)
            self.set_text_color(*GREY)
            self.multi_cell(0, 4.8, label, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_text_color(*BLACK)
            self.set_x(left)
            self.set_font(FONT, "", 9.5)
            self.multi_cell(0, 4.8, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            return
        top = self.get_y()
        self.set_xy(left, top)
        self.set_font(FONT, "B", 9)
        self.set_text_color(*GREY)
        self.multi_cell(LABEL_WIDTH - 2, 4.8, label, align="L", new_x=XPos.RIGHT, new_y=YPos.TOP)
        label_bottom = self.get_y()
        self.set_text_color(*BLACK)
        self.set_xy(left + LABEL_WIDTH, top)
        self.set_font(FONT, "", 9.5)
        self.multi_cell(value_width, 4.8, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(max(self.get_y(), label_bottom))

    def section(self, section: Section) -> None:
        self.heading(section.title)
        if not section.entries:
            self.text_block(section.empty, size=9.5, style="I")
            return
        for entry in section.entries:
            if entry.title:
                if self.get_y() > self.page_break_trigger - 15:
                    self.add_page()
                self.text_block(entry.title, size=10.5, style="B", h=5.5)
            for line in entry.lines:
                self.line_row(line, indent=3)
            self.ln(2)

    def timeline_item(self, item: TimelineItem) -> None:
        if self.get_y() > self.page_break_trigger - 15:
            self.add_page()
        self.text_block(f"{item.at_local} · {item.label}", size=10, style="B", h=5.2)
        self.set_text_color(*GREY)
        who = item.actor_name or item.actor_id
        self.text_block(f"door {who} ({item.actor_role_label}) · versie {item.version}", size=8.5)
        self.set_text_color(*BLACK)
        for line in item.details:
            self.line_row(line, indent=3)
        self.ln(1.5)


def render_case_file_pdf(case_file: CaseFile) -> bytes:
    """The case file as PDF bytes."""
    pdf = _CaseFilePdf(case_file)
    pdf.add_page()
    pdf.text_block(case_file.title, size=18, style="B", h=9)
    pdf.text_block("voor de klachtencommissie", size=11, h=6)
    pdf.ln(3)
    for line in case_file.header:
        pdf.line_row(line)
    pdf.ln(2)
    pdf.set_font(FONT, "I", 8.5)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(
        0,
        4.2,
        pdf.p(
            "Dit dossier is gemaakt uit de gebeurtenissen van de zaak zoals die in Vangnet zijn "
            "vastgelegd. Het bevat vertrouwelijke gegevens over leerlingen: deel het alleen met "
            "wie het voor de behandeling van de klacht nodig heeft. Het maken van dit dossier is "
            "vastgelegd in het inzageoverzicht van de zaak."
        ),
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(*BLACK)
    for section in case_file.sections:
        pdf.section(section)
    pdf.heading("Tijdlijn")
    pdf.text_block(
        "Alle gebeurtenissen van de zaak, de oudste eerst: tijdstip (Nederlandse tijd), wat er "
        "is vastgelegd, door wie (gebruikers-id) en in welke rol.",
        size=9,
        style="I",
    )
    pdf.ln(2)
    for item in case_file.timeline:
        pdf.timeline_item(item)
    return bytes(pdf.output())


class _LetterPdf(FPDF):
    """A one-column A4 letter in the case file's font (the complaints procedure letter)."""

    def __init__(self, title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.set_margins(25, 25, 25)
        self.set_auto_page_break(auto=True, margin=20)
        self.add_font(FONT, "", _font_path("Regular"))
        self.add_font(FONT, "B", _font_path("Bold"))
        maps = [set(font.cmap) for font in self.fonts.values() if hasattr(font, "cmap")]
        self.covered: Set[int] = set.intersection(*maps)
        self.set_title(printable(title, self.covered))
        self.set_author("Vangnet")
        self.set_creator("Vangnet")
        self.set_lang("nl-NL")

    def block(self, text: str, *, style: str = "", size: float = 11, after: float = 3) -> None:
        self.set_font(FONT, style, size)
        self.multi_cell(
            0, 5.5, printable(text, self.covered), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.ln(after)


def render_letter_pdf(
    *, title: str, sender: str, date_text: str, blocks: list[tuple[str, str]]
) -> bytes:
    """A letter as PDF bytes: the sender and date at the top, then ``blocks`` of (heading, text);
    an empty heading is a plain paragraph. Text is printed as typed (never interpreted)."""
    pdf = _LetterPdf(title)
    pdf.add_page()
    pdf.block(sender, style="B", after=1)
    pdf.block(date_text, after=8)
    for heading, text in blocks:
        if heading:
            pdf.block(heading, style="B", after=1)
        pdf.block(text)
    return bytes(pdf.output())


class _HandOverPdf(_CaseFilePdf):
    """A pupil's hand-over file (issue 15 §5): the case documents one after another."""

    def __init__(self, school_name: str, pupil_name: str, made_at: datetime) -> None:
        FPDF.__init__(self, orientation="portrait", unit="mm", format="A4")
        self.school_name, self.made_at = school_name, made_at
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=18)
        for style, name in (("", "Regular"), ("B", "Bold"), ("I", "Italic")):
            self.add_font(FONT, style, _font_path(name))
        maps = [set(font.cmap) for font in self.fonts.values() if hasattr(font, "cmap")]
        self.covered = set.intersection(*maps)
        self.set_title(self.p(f"Overdrachtsdossier {pupil_name}"))
        self.set_subject(self.p(f"{school_name}: pestdossier voor de nieuwe school"))
        self.set_author("Vangnet")
        self.set_creator("Vangnet")
        self.set_lang("nl-NL")
        self.set_creation_date(made_at)

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(FONT, "", 8)
        self.set_text_color(*GREY)
        self.cell(0, 5, self.p(f"Overdrachtsdossier · {self.school_name}"), new_x=XPos.LMARGIN)
        self.set_text_color(*BLACK)
        self.ln(8)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FONT, "", 8)
        self.set_text_color(*GREY)
        made = moment(self.made_at)
        self.cell(0, 5, self.p(f"Vertrouwelijk · gemaakt op {made}"), new_x=XPos.LMARGIN)
        self.set_y(-13)
        self.cell(0, 5, f"pagina {self.page_no()} van {{nb}}", align="R")
        self.set_text_color(*BLACK)


def _section_of(data: Mapping[str, Any]) -> Section:
    entries = tuple(
        Entry(
            str(e.get("title", "")),
            tuple(Line(str(li.get("label", "")), str(li.get("value", ""))) for li in e["lines"]),
        )
        for e in data.get("entries", ())
    )
    return Section(
        str(data.get("key", "")),
        str(data.get("title", "")),
        entries,
        str(data.get("empty", "Niets vastgelegd.")),
    )


def render_handover_pdf(
    *,
    school_name: str,
    pupil_name: str,
    to_school_name: str,
    documents: list[dict[str, Any]],
    made_at: datetime,
    password: str,
) -> bytes:
    """The hand-over documents (``services.handover.service.handover_document``) as one PDF,
    encrypted with AES-256 under ``password`` (the owner password: random, never kept)."""
    pdf = _HandOverPdf(school_name, pupil_name, made_at)
    pdf.set_encryption(
        owner_password=secrets.token_urlsafe(32),
        user_password=password,
        encryption_method=EncryptionMethod.AES_256,
    )
    pdf.add_page()
    pdf.text_block(f"Overdrachtsdossier: {pupil_name}", size=18, style="B", h=9)
    pdf.text_block(f"van {school_name} voor {to_school_name}", size=11, h=6)
    pdf.ln(2)
    pdf.text_block(
        "Dit dossier bevat de zaken waarin deze leerling gepest werd: de melding, de betrokken "
        "leerlingen (andere leerlingen alleen met voornaam en rol), de stappen, de afspraken en "
        "de nazorg. De leerling en de ouders gaven toestemming voor deze overdracht. Deel het "
        "alleen met wie het voor de begeleiding van de leerling nodig heeft.",
        size=9,
        style="I",
        h=4.2,
    )
    for number, document in enumerate(documents, start=1):
        pdf.heading(f"Zaak {number} ({document.get('status_label', '')})")
        for line in document.get("header", ()):
            pdf.line_row(Line(str(line.get("label", "")), str(line.get("value", ""))))
        for section in document.get("sections", ()):
            pdf.section(_section_of(section))
    return bytes(pdf.output())
