"""`huddlebot poster UNIT`: a printable PDF whose QR code opens the unit's family page, with the unit's
name, the instructions and the organisation's urgent-help text, in English or Spanish, A4 or Letter."""

from __future__ import annotations

import io
from pathlib import Path

import zxingcpp
from PIL import Image

from adapters.web.poster import page_url, poster_pdf, qr_png
from bot.config import OrgConfig
from tests.test_cli import huddlebot

PUBLIC = "https://speakup.example-health.org"


def test_the_qr_code_opens_the_units_page(example_config: OrgConfig) -> None:
    unit = example_config.unit("4west")
    assert unit is not None and unit.family_page
    url = page_url(PUBLIC, unit)
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(url))))
    assert found.text == "https://speakup.example-health.org/speak-up/4west"


def test_the_poster_holds_the_unit_the_instructions_and_the_urgent_help(example_config: OrgConfig) -> None:
    unit = example_config.unit("4west")
    assert unit is not None
    urgent = example_config.organization.urgent_help["es"]
    pdf = poster_pdf(unit, url=page_url(PUBLIC, unit), urgent_help=urgent, lang="es", compress=False)
    text = pdf.decode("latin-1")
    assert pdf.startswith(b"%PDF-") and "/MediaBox [0 0 595.28 841.89]" in text  # A4
    for expected in ("4 West Med-Surg", "Escanee el c", "/speak-up/4west", "Condici"):
        assert expected in text, expected
    letter = poster_pdf(unit, url=page_url(PUBLIC, unit), urgent_help=urgent, paper="letter", compress=False)
    assert "/MediaBox [0 0 612.00 792.00]" in letter.decode("latin-1")


def test_the_command_writes_it_and_refuses_a_unit_without_a_family_page(tmp_path: Path) -> None:
    done = huddlebot(tmp_path, "poster", "4west", "--lang", "es", HUDDLEBOT_PUBLIC_URL=PUBLIC)
    assert done.returncode == 0, done.stderr
    assert "its QR code opens https://speakup.example-health.org/speak-up/4west" in done.stdout
    assert (tmp_path / "poster-4west-es.pdf").read_bytes().startswith(b"%PDF-")
    refused = huddlebot(tmp_path, "poster", "5east")  # a unit of the example without a family page
    assert refused.returncode == 2
    assert refused.stderr.startswith("huddlebot: ") and "has no family page" in refused.stderr
