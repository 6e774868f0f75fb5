"""The printable poster for a unit's family page: a QR code to ``/speak-up/<unit>``, the unit's name, two
lines of instructions and the organisation's urgent-help text, on A4 or Letter paper.

segno draws the QR code (pure Python, no native code); fpdf2 writes the PDF with its built-in Helvetica, so
no font file has to be found on the machine. Helvetica covers Latin-1, which English and Spanish need;
typographic punctuation outside it is replaced by its plain equivalent rather than dropped.
"""

from __future__ import annotations

import io

import segno
from fpdf import FPDF

from bot.config import Unit

# The poster's own words, per language (the page itself uses the gettext catalogs).
WORDS = {
    "en": {
        "title": "Worried about the patient? Tell us.",
        "scan": "Scan the code with your phone's camera, or open:",
        "how": "Write what worries you or your idea. No sign-in. The unit's leaders read it and answer you.",
        "urgent": "Urgent",
    },
    "es": {
        "title": "¿Le preocupa el paciente? Díganoslo.",
        "scan": "Escanee el código con la cámara de su teléfono, o abra:",
        "how": "Escriba lo que le preocupa o su idea. Sin registrarse. "
        "Los responsables de la unidad lo leen y le responden.",
        "urgent": "Urgente",
    },
}
PAPERS = {"a4": "A4", "letter": "Letter"}
_PLAIN = str.maketrans({"—": "-", "–": "-", "“": '"', "”": '"', "‘": "'", "’": "'", "…": "...", "·": "-"})


def page_url(public_url: str, unit: Unit) -> str:
    """The address the QR code holds."""
    return f"{public_url.rstrip('/')}/speak-up/{unit.id}"


def qr_png(url: str, *, scale: int = 12) -> bytes:
    """The QR code for ``url`` as PNG bytes (error correction M: a poster gets scuffed)."""
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def _latin1(text: str) -> str:
    return text.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def poster_pdf(
    unit: Unit, *, url: str, urgent_help: str, lang: str = "en", paper: str = "a4", compress: bool = True
) -> bytes:
    """The poster as PDF bytes."""
    words = WORDS[lang]
    pdf = FPDF(format=PAPERS[paper])
    pdf.set_compression(compress)
    pdf.set_title(_latin1(f"{unit.name}: {words['title']}"))
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    width = pdf.w - 2 * 20
    pdf.set_margins(20, 20, 20)
    pdf.set_xy(20, 22)
    pdf.set_font("Helvetica", "B", 30)
    pdf.multi_cell(width, 13, _latin1(words["title"]), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 22)
    pdf.multi_cell(width, 11, _latin1(unit.name), align="C", new_x="LMARGIN", new_y="NEXT")
    side = min(120.0, width)
    pdf.image(io.BytesIO(qr_png(url)), x=(pdf.w - side) / 2, y=pdf.get_y() + 6, w=side, h=side)
    pdf.set_y(pdf.get_y() + side + 10)
    pdf.set_font("Helvetica", "", 15)
    pdf.multi_cell(width, 7, _latin1(words["scan"]), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(width, 8, _latin1(url), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 14)
    pdf.multi_cell(width, 7, _latin1(words["how"]), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(
        width,
        8,
        _latin1(f"{words['urgent']}: {urgent_help}"),
        border=1,
        align="C",
        padding=3,
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
