"""The organisation's own concern types on the dashboard: its labels, a type it added, and a built-in
type it dropped, whose stored concerns are still counted and listed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import yaml

from bot.config import bundled_example_path, parse_config
from tests.web.conftest import Web, serving


def _config(types: dict[str, str] | None = None) -> object:
    data = yaml.safe_load(bundled_example_path().read_text())
    if types is not None:
        data["concern_types"] = types
    return parse_config(yaml.safe_dump(data))


OWN = {"falls": "Slips, trips and falls", "pressure": "Pressure injury", "staffing": "Staffing"}


@pytest.fixture
async def own_types(db_url: str) -> AsyncIterator[Web]:
    async with serving(db_url, _config()) as running:  # type: ignore[arg-type]
        yield running


async def test_the_overview_and_the_list_use_the_organisations_types(own_types: Web) -> None:
    web = own_types
    # Raised while the file had the built-in types; then the file drops "medication", adds its own.
    await web.harness.run(
        "as alex\nin 4west\n" + "\n".join(f"/concern --type medication Pump {n} mislabeled" for n in range(5))
    )
    web.harness.core.config = _config(OWN)  # type: ignore[assignment]
    lines = ["as alex", "in 4west"]
    lines += [f"/concern --type pressure Heel sore found on bed {n}, no turning chart" for n in range(1, 6)]
    lines += [f"/concern --type falls Wet floor by bed {n}" for n in range(1, 6)]
    await web.harness.run("\n".join(lines))
    sam = await web.signed_in("sam")
    try:
        data = await (await sam.get("/dashboard/overview.json")).json()
        (types,) = [t for t in data["tables"] if t["key"] == "types"]
        rows = {r["label"]: r["cells"][-1]["value"] for r in types["rows"]}
        assert rows["Pressure injury"] == 5 and rows["Slips, trips and falls"] == 5
        assert rows["medication"] == 5 and rows["All"] == 15, types  # dropped from the file, not the figures
        page = await (await sam.get("/dashboard/concerns?type=pressure")).text()
        assert page.count("Pressure injury") >= 5  # the label in each row, and the filter's choice
        assert '<option value="pressure" selected' in page or 'value="pressure" checked' in page
        assert "Heel sore" in page and "Wet floor" not in page
    finally:
        await sam.close()
