"""The region view: where attacks and strikes are open this week, per UK nation and
English region — as JSON (``GET /api/regions``) and as a page with a map the project draws
itself (``GET /regions``), each region a link to the board filtered to it.

The map is a tile cartogram: one equal tile per ITL1 region, placed roughly where the
region lies (Scotland on top, Northern Ireland to the west, London in the south-east), so
that London counts as much as Scotland on screen and no outside map, tile or file is
needed. The tiles' places are :data:`TILES`; the drawing is ``templates/_region_map.html.j2``."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, get
from litestar.response import Template

from contracts.regions import BY_CODE, Region
from projections.board.queries import RegionCount, RegionCounts, region_counts
from services.api.context import on_board
from services.auth import KEY_OPTIONAL, optional_viewer, session_of
from services.errors import READ, documented

#: Each region's tile: (column, row) on the cartogram's grid.
TILES: dict[str, tuple[float, float]] = {
    "TLM": (1, 0), "TLC": (2, 0),                                   # Scotland, North East
    "TLN": (-0.2, 1), "TLD": (1, 1), "TLE": (2, 1),                 # N. Ireland (over the sea), North West, Yorkshire
    "TLL": (0, 2), "TLG": (1, 2), "TLF": (2, 2), "TLH": (3, 2),     # Wales, the Midlands, East of England
    "TLK": (0, 3), "TLJ": (1, 3), "TLI": (2, 3),                    # South West, South East, London
}
#: A tile's size and the gap between tiles, in the drawing's units.
TILE_W, TILE_H, GAP = 150, 96, 8
#: The shades, by the least total each stands for: (least, legend's words, fill, ink).
SHADES: tuple[tuple[int, str, str, str], ...] = (
    (0, "none", "#f4f1ec", "#1b1b1f"),
    (1, "1", "#fcd9b6", "#1b1b1f"),
    (2, "2–3", "#f6a26b", "#1b1b1f"),
    (4, "4–6", "#d9592f", "#ffffff"),
    (7, "7 or more", "#8f2412", "#ffffff"),
)


@dataclass(frozen=True)
class Tile:
    """One region as the map draws it."""

    region: Region
    count: RegionCount
    x: float
    y: float
    fill: str
    ink: str

    @property
    def label(self) -> str:
        """The accessible name of the tile's link: the counts in words, and where it goes."""
        c = self.count
        return (f"{c.name}: {c.attacks} open attack{'' if c.attacks == 1 else 's'} and {c.strikes} "
                f"strike{'' if c.strikes == 1 else 's'} this week. Show {c.name} on the board")


def shade(total: int) -> tuple[str, str]:
    """The fill and ink of a tile whose region has ``total`` items."""
    fill, ink = SHADES[0][2], SHADES[0][3]
    for least, _, f, i in SHADES:
        if total >= least:
            fill, ink = f, i
    return fill, ink


def tiles(counts: RegionCounts) -> list[Tile]:
    """The map's tiles, in the counts' order (north to south: the order keyboard focus takes)."""
    drawn = []
    for count in counts.regions:
        column, row = TILES[count.code]
        fill, ink = shade(count.total)
        drawn.append(Tile(region=BY_CODE[count.code], count=count, x=GAP + (column + 0.2) * (TILE_W + GAP),
                          y=GAP + row * (TILE_H + GAP), fill=fill, ink=ink))
    return drawn


#: The drawing's size: four columns (and Northern Ireland's offset), four rows.
WIDTH, HEIGHT = GAP + 4.2 * (TILE_W + GAP), GAP + 4 * (TILE_H + GAP)


class RegionsController(Controller):
    path = "/"
    tags = ["board"]

    @get("/api/regions", operation_id="getRegions", responses=documented(*READ), security=KEY_OPTIONAL)
    async def counts(self, request: Request) -> RegionCounts:
        """Open attacks and strikes active this week (reported or changed in the last seven
        days, or a strike with a strike day in them) per UK nation and English region (the
        twelve ITL1 regions, north to south), each with its ITL1 code and a link to the board
        filtered to it; ``unknown`` counts items whose region is outside that vocabulary
        (written before it), ``no_region`` those naming none. What the caller may see:
        without a key, CLEAR and GREEN items only (a wrong key is 401)."""
        viewer = optional_viewer(request)
        return await on_board(request, lambda conn: region_counts(conn, viewer))

    @get("/regions", operation_id="regionsPage", include_in_schema=False)
    async def page(self, request: Request) -> Template:
        """The region map for people: what the reader's organisation may see (the open view
        without a session)."""
        viewer = optional_viewer(request)
        counts = await on_board(request, lambda conn: region_counts(conn, viewer))
        return Template(template_name="regions.html.j2", context={
            "counts": counts, "tiles": tiles(counts), "shades": SHADES, "me": session_of(request),
            "viewer": viewer, "width": WIDTH, "height": HEIGHT, "tile_w": TILE_W, "tile_h": TILE_H,
        })
