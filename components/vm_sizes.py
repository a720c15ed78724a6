"""Azure VM sizes and regions: the one dated table of each that the configuration check reads.

A VM size in a retired series cannot be created (the deploy fails, or a cluster never gets a node),
and a misspelt size or region only fails in Azure, halfway through `pulumi up`. The tables below let
`components/config.py` refuse both before the first resource is declared, naming the successor or
the closest valid names.

Last checked against Microsoft Learn: 2026-12-01 (`LAST_CHECKED`). Sources, once for the tables:
- Retired and announced series: "Retired Azure VM size series"
  https://learn.microsoft.com/azure/virtual-machines/sizes/retirement/retired-sizes-list
  and "Previous generation Azure VM size series"
  https://learn.microsoft.com/azure/virtual-machines/sizes/previous-gen-sizes-list
  plus the per-series retirement pages cited on each row.
- The sizes of each series: its "sizes in series" page under
  https://learn.microsoft.com/azure/virtual-machines/sizes/overview (cited per row).
- Regions: "Azure regions list" https://learn.microsoft.com/azure/reliability/regions-list (public
  cloud); the sovereign clouds' programmatic names as `Azure.Core.AzureLocation` lists them
  https://learn.microsoft.com/dotnet/api/azure.core.azurelocation (US Gov, US DoD, China).

What the tables decide, and what they do not:
- **Retired** (its retirement date is on or before the day of the check, and no regional extension
  applies): an error that names the date and the successor Microsoft recommends.
- **Announced** (a retirement date in the future): accepted, with a warning in the preview's
  diagnostics and `pulumi preview`, because it still deploys today; Microsoft restricts announced
  series in new subscriptions, so our own stack files use none (a test holds them to that).
- **Unknown** (not a size of any series listed here, or not a well-formed size name): an error
  with the closest known sizes. The table lists every size of the series it covers, taken from each
  series' page; it does not list every Azure series (no M, DC/EC confidential, HX, NP...): a size from
  a series it does not cover is refused with the closest sizes and the hint to add its series here,
  with its Learn page. Refusing is the safe side: a size we cannot vouch for is a deploy that may fail.
- Clouds: `Series.clouds` records only the restriction Microsoft documents (Bsv2, Basv2 and Bpsv2 are
  not offered in the sovereign clouds); otherwise a series is taken to exist in every cloud.
- Not checked offline: whether a size is offered in the stack's region and subscription (that is
  `az vm list-skus --location <region> --size <size>`), and the subscription's quota.
"""

from __future__ import annotations

import datetime
import difflib
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

__all__ = ["ACCELERATED_FAMILY_PREFIX", "GPU_MIGRATION", "GP_MIGRATION", "KNOWN_SIZES", "LAST_CHECKED",
    "REGIONS", "REGIONS_SOURCE", "RETIRED_LIST", "SERIES", "SERIES_OF_SIZE", "SIZES", "SIZE_GRAMMAR",
    "Retirement", "Series", "SizeCheck", "SizeName", "check_region", "check_size", "closest_sizes",
    "is_cpu_only", "parse", "series_of"]


LAST_CHECKED = datetime.date(2026, 12, 1)

RETIRED_LIST = "https://learn.microsoft.com/azure/virtual-machines/sizes/retirement/retired-sizes-list"
SIZES = "https://learn.microsoft.com/azure/virtual-machines/sizes"
# D, Ds, Dv2, Dsv2, Ls (2028-05-01) and Av2, B v1, F, Fs, Fsv2, G, Gs, Lsv2 (2028-11-15): one guide
# names the replacement series for all of them.
GP_MIGRATION = "https://learn.microsoft.com/azure/virtual-machines/migration/sizes/d-ds-dv2-dsv2-ls-series-migration-guide"
GPU_MIGRATION = "https://learn.microsoft.com/azure/virtual-machines/migration/sizes/n-series-migration"

# The grammar of a size name ("Azure virtual machine sizes naming conventions",
# https://learn.microsoft.com/azure/virtual-machines/vm-naming-conventions): tier, family (capital
# letters), vCPUs, an optional constrained-vCPU count, additive features (lowercase letters), an
# optional accelerator, an optional version.
SIZE_GRAMMAR = re.compile(
    r"(?P<tier>Standard|Basic)_(?P<family>[A-Z]+)(?P<vcpus>\d+)(?:-(?P<constrained>\d+))?"
    r"(?P<features>[a-z]*)(?:_(?P<accelerator>[A-Z][A-Za-z0-9]*))?(?:_v(?P<version>\d+))?")


@dataclass(frozen=True)
class SizeName:
    """A VM size name taken apart: `Standard_NC24ads_A100_v4` is family NC, 24 vCPUs, features
    `ads`, accelerator A100, version 4."""

    text: str
    tier: str
    family: str
    vcpus: int
    constrained: Optional[int]
    features: str
    accelerator: str
    version: int
    """1 when the name has no `_vN` (the first version of a series)."""

    @property
    def unconstrained(self) -> str:
        """The full size a constrained-vCPU size (`Standard_E4-2s_v5`) is a variant of."""
        return self.text.replace(f"-{self.constrained}", "", 1) if self.constrained else self.text


def parse(size: str) -> Optional[SizeName]:
    """`size` taken apart, or None when it is not a well-formed Azure VM size name."""
    match = SIZE_GRAMMAR.fullmatch(size)
    if not match:
        return None
    parts = match.groupdict()
    return SizeName(text=size, tier=parts["tier"], family=parts["family"], vcpus=int(parts["vcpus"]),
                    constrained=int(parts["constrained"]) if parts["constrained"] else None,
                    features=parts["features"], accelerator=parts["accelerator"] or "",
                    version=int(parts["version"] or 1))


@dataclass(frozen=True)
class Retirement:
    """When a series retires, and what Microsoft recommends instead."""

    date: datetime.date
    successor: str
    """The successor series, as a message names them: `an NCads H100 v5 or NC A100 v4 size`."""
    example: str
    """One size of the successor, the nearest equivalent for the usual pick in the retired series."""
    source: str
    extended_until: Mapping[str, datetime.date] = field(default_factory=dict)
    """Regions where Microsoft moved the date later (programmatic region name -> date)."""

    def date_in(self, region: str) -> datetime.date:
        return self.extended_until.get(region, self.date)


@dataclass(frozen=True)
class Series:
    """One VM size series: its sizes (as its Learn page lists them), and its retirement if any."""

    name: str
    sizes: tuple[str, ...]
    source: str
    retirement: Optional[Retirement] = None
    clouds: tuple[str, ...] = ("AzureCloud", "AzureUSGovernment", "AzureChinaCloud")
    """The clouds that offer the series at all."""


def _sizes(pattern: str, numbers: Iterable[object]) -> tuple[str, ...]:
    """`_sizes("D{}s_v5", (2, 4))` -> ("Standard_D2s_v5", "Standard_D4s_v5")."""
    return tuple(f"Standard_{pattern.format(n)}" for n in numbers)


# vCPU counts of the usual series (each series' page, "Sizes in series").
_V5_INTEL = (2, 4, 8, 16, 32, 48, 64, 96)
_V5_AMD = (2, 4, 8, 16, 32, 48, 64, 96)
_V6_INTEL = (2, 4, 8, 16, 32, 48, 64, 96, 128, 192)
_V6_INTEL_L = (2, 4, 8, 16, 32, 48, 64, 96, 128)
_V6_AMD = (2, 4, 8, 16, 32, 48, 64, 96)
_V4 = (2, 4, 8, 16, 32, 48, 64)
_V4_AMD = (2, 4, 8, 16, 32, 48, 64, 96)
_V3 = (2, 4, 8, 16, 32, 48, 64)
_E_V3 = (2, 4, 8, 16, 20, 32, 48, 64)
_E_V4 = (2, 4, 8, 16, 20, 32, 48, 64)
_E_V5 = (2, 4, 8, 16, 20, 32, 48, 64, 96)
_E_AMD = (2, 4, 8, 16, 20, 32, 48, 64, 96)
_E_V6 = (2, 4, 8, 16, 20, 32, 48, 64, 96, 128)
_DV2 = (1, 2, 3, 4, 5, 11, 12, 13, 14, 15)
_DV1 = (1, 2, 3, 4, 11, 12, 13, 14)

# Announced retirements (future dates at LAST_CHECKED): accepted, with a warning.
_DV2_RETIREMENT = Retirement(datetime.date(2028, 5, 1), "a Dsv5, Dasv5, Dsv6 or Dasv6 size (Esv6 for the "
                             "memory-optimized D11-D15)", "Standard_D4s_v5", GP_MIGRATION)
_B_RETIREMENT = Retirement(datetime.date(2028, 11, 15), "a Bsv2, Basv2 or Bpsv2 size (a Dlsv5/Dlsv6 size when "
                           "it must not burst)", "Standard_B2s_v2", GP_MIGRATION)
_F_RETIREMENT = Retirement(datetime.date(2028, 11, 15), "a Falsv6, Dlsv6 or Dldsv6 size", "Standard_F4als_v6",
                           GP_MIGRATION)
_AV2_RETIREMENT = Retirement(datetime.date(2028, 11, 15), "a Bsv2, Dsv5 or Dsv6 size", "Standard_B2s_v2",
                             GP_MIGRATION)
_L_RETIREMENT = Retirement(datetime.date(2028, 5, 1), "an Lsv3, Lasv3 or Lsv4 size", "Standard_L8s_v3", GP_MIGRATION)
_LV2_RETIREMENT = Retirement(datetime.date(2028, 11, 15), "an Lsv3, Lasv3 or Lsv4 size", "Standard_L8s_v3",
                             GP_MIGRATION)
_G_RETIREMENT = Retirement(datetime.date(2028, 11, 15), "an Lsv3, Lasv3 or Esv6 size", "Standard_E16s_v6",
                           GP_MIGRATION)
_HPC_2027 = "an HBv5, HBv4, HX or HBv3 size"

SERIES: tuple[Series, ...] = (
    # ---- General purpose -------------------------------------------------------------------
    Series("D (v1)", _sizes("D{}", _DV1), f"{SIZES}/general-purpose/d-family", _DV2_RETIREMENT),
    Series("Ds (v1)", _sizes("DS{}", _DV1), f"{SIZES}/general-purpose/d-family", _DV2_RETIREMENT),
    # D11-D15 (v2) are the memory-optimized sizes of the same series (memory-optimized/dv2-dsv2-series-memory).
    Series("Dv2", _sizes("D{}_v2", _DV2), f"{SIZES}/general-purpose/dv2-series", _DV2_RETIREMENT),
    Series("DSv2", _sizes("DS{}_v2", _DV2), f"{SIZES}/general-purpose/dsv2-series", _DV2_RETIREMENT),
    Series("Dv3", _sizes("D{}_v3", _V3), f"{SIZES}/general-purpose/dv3-series"),
    Series("Dsv3", _sizes("D{}s_v3", _V3), f"{SIZES}/general-purpose/dsv3-series"),
    Series("Dv4", _sizes("D{}_v4", _V4), f"{SIZES}/general-purpose/dv4-series"),
    Series("Dsv4", _sizes("D{}s_v4", _V4), f"{SIZES}/general-purpose/dsv4-series"),
    Series("Ddv4", _sizes("D{}d_v4", _V4), f"{SIZES}/general-purpose/ddv4-series"),
    Series("Ddsv4", _sizes("D{}ds_v4", _V4), f"{SIZES}/general-purpose/ddsv4-series"),
    Series("Dav4", _sizes("D{}a_v4", _V4_AMD), f"{SIZES}/general-purpose/dav4-series"),
    Series("Dasv4", _sizes("D{}as_v4", _V4_AMD), f"{SIZES}/general-purpose/dasv4-series"),
    Series("Dv5", _sizes("D{}_v5", _V5_INTEL), f"{SIZES}/general-purpose/dv5-series"),
    Series("Dsv5", _sizes("D{}s_v5", _V5_INTEL), f"{SIZES}/general-purpose/dsv5-series"),
    Series("Ddv5", _sizes("D{}d_v5", _V5_INTEL), f"{SIZES}/general-purpose/ddv5-series"),
    Series("Ddsv5", _sizes("D{}ds_v5", _V5_INTEL), f"{SIZES}/general-purpose/ddsv5-series"),
    Series("Dasv5", _sizes("D{}as_v5", _V5_AMD), f"{SIZES}/general-purpose/dasv5-series"),
    Series("Dadsv5", _sizes("D{}ads_v5", _V5_AMD), f"{SIZES}/general-purpose/dadsv5-series"),
    Series("Dlsv5", _sizes("D{}ls_v5", _V5_INTEL), f"{SIZES}/general-purpose/dlsv5-series"),
    Series("Dldsv5", _sizes("D{}lds_v5", _V5_INTEL), f"{SIZES}/general-purpose/dldsv5-series"),
    Series("Dsv6", _sizes("D{}s_v6", _V6_INTEL), f"{SIZES}/general-purpose/dsv6-series"),
    Series("Ddsv6", _sizes("D{}ds_v6", _V6_INTEL), f"{SIZES}/general-purpose/ddsv6-series"),
    Series("Dlsv6", _sizes("D{}ls_v6", _V6_INTEL_L), f"{SIZES}/general-purpose/dlsv6-series"),
    Series("Dldsv6", _sizes("D{}lds_v6", _V6_INTEL_L), f"{SIZES}/general-purpose/dldsv6-series"),
    Series("Dasv6", _sizes("D{}as_v6", _V6_AMD), f"{SIZES}/general-purpose/dasv6-series"),
    Series("Dadsv6", _sizes("D{}ads_v6", _V6_AMD), f"{SIZES}/general-purpose/dadsv6-series"),
    Series("Dalsv6", _sizes("D{}als_v6", _V6_AMD), f"{SIZES}/general-purpose/dalsv6-series"),
    Series("Daldsv6", _sizes("D{}alds_v6", _V6_AMD), f"{SIZES}/general-purpose/daldsv6-series"),
    Series("B (v1)", tuple(f"Standard_B{s}" for s in ("1ls", "1s", "1ms", "2s", "2ms", "4ms", "8ms", "12ms",
                                                       "16ms", "20ms")),
           f"{SIZES}/general-purpose/bv1-series", _B_RETIREMENT),
    # Bsv2, Basv2 and Bpsv2 are not offered in the sovereign clouds (migration guide, "Important").
    Series("Bsv2", tuple(f"Standard_B{n}{f}s_v2" for n, f in ((2, "t"), (2, "l"), (2, ""), (4, "l"), (4, ""), (8, "l"),
                                                              (8, ""), (16, "l"), (16, ""), (32, "l"), (32, ""))),
           f"{SIZES}/general-purpose/bsv2-series", clouds=("AzureCloud",)),
    Series("Basv2", tuple(f"Standard_B{n}a{f}s_v2" for n, f in ((2, "t"), (2, "l"), (2, ""), (4, "l"), (4, ""),
                                                                (8, "l"), (8, ""), (16, "l"), (16, ""), (32, "l"),
                                                                (32, ""))),
           f"{SIZES}/general-purpose/basv2-series", clouds=("AzureCloud",)),
    Series("Bpsv2", tuple(f"Standard_B{n}p{f}s_v2" for n, f in ((2, "t"), (2, "l"), (2, ""), (4, "l"), (4, ""),
                                                                (8, "l"), (8, ""), (16, "l"), (16, ""))),
           f"{SIZES}/general-purpose/bpsv2-series", clouds=("AzureCloud",)),
    Series("Av2", tuple(f"Standard_A{s}_v2" for s in ("1", "2", "4", "8", "2m", "4m", "8m")),
           f"{SIZES}/general-purpose/av2-series", _AV2_RETIREMENT),
    Series("A (v1) and Basic A", (*_sizes("A{}", range(8)), *(f"Basic_A{n}" for n in range(5))),
           "https://learn.microsoft.com/azure/virtual-machines/av1-series-retirement",
           Retirement(datetime.date(2024, 8, 31), "an Av2, Bsv2 or Dsv5 size", "Standard_B2s_v2",
                      "https://learn.microsoft.com/azure/virtual-machines/av1-series-retirement")),
    # ---- Memory optimized ------------------------------------------------------------------
    Series("Ev3", _sizes("E{}_v3", _E_V3), f"{SIZES}/memory-optimized/ev3-esv3-series"),
    Series("Esv3", _sizes("E{}s_v3", _E_V3), f"{SIZES}/memory-optimized/ev3-esv3-series"),
    Series("Ev4", _sizes("E{}_v4", _E_V4), f"{SIZES}/memory-optimized/ev4-series"),
    # The largest size of several E series is an isolated one, with an `i` in its features.
    Series("Esv4", (*_sizes("E{}s_v4", _E_V4), "Standard_E80is_v4"), f"{SIZES}/memory-optimized/esv4-series"),
    Series("Edsv4", (*_sizes("E{}ds_v4", _E_V4), "Standard_E80ids_v4"), f"{SIZES}/memory-optimized/edsv4-series"),
    Series("Easv4", _sizes("E{}as_v4", _E_AMD), f"{SIZES}/memory-optimized/easv4-series"),
    Series("Ev5", (*_sizes("E{}_v5", _E_V5), "Standard_E104i_v5"), f"{SIZES}/memory-optimized/ev5-series"),
    Series("Esv5", (*_sizes("E{}s_v5", _E_V5), "Standard_E104is_v5"), f"{SIZES}/memory-optimized/esv5-series"),
    Series("Edv5", (*_sizes("E{}d_v5", _E_V5), "Standard_E104id_v5"), f"{SIZES}/memory-optimized/edv5-series"),
    Series("Edsv5", (*_sizes("E{}ds_v5", _E_V5), "Standard_E104ids_v5"), f"{SIZES}/memory-optimized/edsv5-series"),
    Series("Easv5", (*_sizes("E{}as_v5", _E_AMD), "Standard_E112ias_v5"), f"{SIZES}/memory-optimized/easv5-series"),
    Series("Eadsv5", (*_sizes("E{}ads_v5", _E_AMD), "Standard_E112iads_v5"),
           f"{SIZES}/memory-optimized/eadsv5-series"),
    Series("Esv6", (*_sizes("E{}s_v6", _E_V6), "Standard_E192is_v6"), f"{SIZES}/memory-optimized/esv6-series"),
    Series("Edsv6", (*_sizes("E{}ds_v6", _E_V6), "Standard_E192ids_v6"), f"{SIZES}/memory-optimized/edsv6-series"),
    Series("Easv6", _sizes("E{}as_v6", _E_AMD), f"{SIZES}/memory-optimized/easv6-series"),
    Series("Eadsv6", _sizes("E{}ads_v6", _E_AMD), f"{SIZES}/memory-optimized/eadsv6-series"),
    Series("G", _sizes("G{}", range(1, 6)), RETIRED_LIST, _G_RETIREMENT),
    Series("Gs", _sizes("GS{}", range(1, 6)), RETIRED_LIST, _G_RETIREMENT),
    # ---- Compute optimized -----------------------------------------------------------------
    Series("F (v1)", _sizes("F{}", (1, 2, 4, 8, 16)), f"{SIZES}/compute-optimized/f-family", _F_RETIREMENT),
    Series("Fs (v1)", _sizes("F{}s", (1, 2, 4, 8, 16)), f"{SIZES}/compute-optimized/f-family", _F_RETIREMENT),
    Series("Fsv2", _sizes("F{}s_v2", (2, 4, 8, 16, 32, 48, 64, 72)), f"{SIZES}/compute-optimized/fsv2-series",
           _F_RETIREMENT),
    Series("Fasv6", _sizes("F{}as_v6", (2, 4, 8, 16, 32, 48, 64)), f"{SIZES}/compute-optimized/fasv6-series"),
    Series("Falsv6", _sizes("F{}als_v6", (2, 4, 8, 16, 32, 48, 64)), f"{SIZES}/compute-optimized/falsv6-series"),
    Series("Famsv6", _sizes("F{}ams_v6", (2, 4, 8, 16, 32, 48, 64)), f"{SIZES}/compute-optimized/famsv6-series"),
    # ---- Storage optimized -----------------------------------------------------------------
    Series("Ls (v1)", _sizes("L{}s", (4, 8, 16, 32)), f"{SIZES}/storage-optimized/l-family", _L_RETIREMENT),
    Series("Lsv2", _sizes("L{}s_v2", (8, 16, 32, 48, 64, 80)), f"{SIZES}/storage-optimized/lsv2-series",
           _LV2_RETIREMENT),
    Series("Lsv3", _sizes("L{}s_v3", (8, 16, 32, 48, 64, 80)), f"{SIZES}/storage-optimized/lsv3-series"),
    Series("Lasv3", _sizes("L{}as_v3", (8, 16, 32, 48, 64, 80)), f"{SIZES}/storage-optimized/lasv3-series"),
    # ---- GPU -------------------------------------------------------------------------------
    Series("NC (v1)", _sizes("NC{}", ("6", "12", "24", "24r")), GPU_MIGRATION,
           Retirement(datetime.date(2023, 9, 6), "an NCasT4_v3 size", "Standard_NC4as_T4_v3",
                      "https://learn.microsoft.com/azure/virtual-machines/sizes/retirement/nc-series-retirement")),
    Series("NCv2", _sizes("NC{}_v2", ("6s", "12s", "24s", "24rs")), GPU_MIGRATION,
           Retirement(datetime.date(2023, 9, 6), "an NC A100 v4 size", "Standard_NC24ads_A100_v4",
                      "https://learn.microsoft.com/azure/virtual-machines/sizes/retirement/ncv2-series-retirement")),
    # NCv3 (V100): retired 2025-09-30, later in four regions (the retirement page's note).
    Series("NCv3", _sizes("NC{}_v3", ("6s", "12s", "24s", "24rs")), f"{SIZES}/gpu-accelerated/ncv3-series",
           Retirement(datetime.date(2025, 9, 30), "an NCads H100 v5 or NC A100 v4 size (NCasT4_v3 for "
                      "low-cost inference)", "Standard_NC24ads_A100_v4",
                      "https://learn.microsoft.com/azure/virtual-machines/ncv3-retirement",
                      extended_until={"usgovvirginia": datetime.date(2026, 6, 30),
                                      "usgovarizona": datetime.date(2026, 6, 30),
                                      "jioindiawest": datetime.date(2027, 6, 30),
                                      "chinanorth3": datetime.date(2027, 6, 30)})),
    Series("ND (v1)", _sizes("ND{}", ("6s", "12s", "24s", "24rs")), f"{SIZES}/gpu-accelerated/nd-series",
           Retirement(datetime.date(2023, 9, 6), "an NCasT4_v3 or ND A100 v4 size", "Standard_NC4as_T4_v3",
                      GPU_MIGRATION)),
    Series("NV (v1)", _sizes("NV{}", (6, 12, 24)), f"{SIZES}/gpu-accelerated/nv-series",
           Retirement(datetime.date(2023, 9, 6), "an NVadsA10 v5 size", "Standard_NV6ads_A10_v5",
                      "https://learn.microsoft.com/azure/virtual-machines/sizes/retirement/nv-series-retirement")),
    Series("NVv3", _sizes("NV{}_v3", ("12s", "12hs", "24s", "24ms", "32ms", "48s")),
           f"{SIZES}/gpu-accelerated/nvv3-series",
           Retirement(datetime.date(2026, 9, 30), "an NVadsA10 v5 or NCasT4_v3 size", "Standard_NV12ads_A10_v5",
                      f"{SIZES}/gpu-accelerated/nvv3-series-retirement")),
    Series("NVv4", _sizes("NV{}_v4", ("4as", "4ahs", "8as", "8ahs", "16as", "16ahs", "32as", "32ahs")),
           f"{SIZES}/gpu-accelerated/nvv4-series",
           Retirement(datetime.date(2026, 9, 30), "an NVads V710 v5 size", "Standard_NV4ads_V710_v5",
                      f"{SIZES}/gpu-accelerated/nvv4-retirement")),
    Series("NCasT4_v3", _sizes("NC{}as_T4_v3", (4, 8, 16, 64)), f"{SIZES}/gpu-accelerated/ncast4v3-series"),
    Series("NC A100 v4", _sizes("NC{}ads_A100_v4", (24, 48, 96)), f"{SIZES}/gpu-accelerated/nca100v4-series"),
    Series("NCads H100 v5", ("Standard_NC40ads_H100_v5", "Standard_NC80adis_H100_v5"),
           f"{SIZES}/gpu-accelerated/ncadsh100v5-series"),
    Series("NCCads H100 v5", ("Standard_NCC40ads_H100_v5",), f"{SIZES}/gpu-accelerated/nccadsh100v5-series"),
    Series("NDv2", ("Standard_ND40rs_v2",), f"{SIZES}/gpu-accelerated/ndv2-series"),
    Series("ND A100 v4", ("Standard_ND96asr_v4",), f"{SIZES}/gpu-accelerated/ndasra100v4-series"),
    Series("NDm A100 v4", ("Standard_ND96amsr_A100_v4",), f"{SIZES}/gpu-accelerated/ndma100v4-series"),
    Series("ND H100 v5", ("Standard_ND96isr_H100_v5",), f"{SIZES}/gpu-accelerated/ndh100v5-series"),
    Series("ND H200 v5", ("Standard_ND96isr_H200_v5",), f"{SIZES}/gpu-accelerated/nd-h200-v5-series"),
    Series("ND MI300X v5", ("Standard_ND96isr_MI300X_v5",), f"{SIZES}/gpu-accelerated/ndmi300xv5-series"),
    Series("NVadsA10 v5", _sizes("NV{}_A10_v5", ("6ads", "12ads", "18ads", "36ads", "36adms", "72ads")),
           f"{SIZES}/gpu-accelerated/nvadsa10v5-series"),
    Series("NVads V710 v5", _sizes("NV{}_V710_v5", ("4ads", "8ads", "12ads", "24ads", "28adms")),
           f"{SIZES}/gpu-accelerated/nvadsv710-v5-series"),
    # ---- HPC -------------------------------------------------------------------------------
    Series("H", _sizes("H{}", ("8", "8m", "16", "16m", "16r", "16mr")),
           "https://learn.microsoft.com/azure/virtual-machines/h-series-retirement",
           # Microsoft's H-series page gives 2022-08-31; either way the series is gone.
           Retirement(datetime.date(2022, 8, 31), "an HBv3 or HBv4 size (a Dv5/Ev5 size for general work)",
                      "Standard_HB120rs_v3", "https://learn.microsoft.com/azure/virtual-machines/h-series-retirement")),
    Series("HC", ("Standard_HC44rs", "Standard_HC44-16rs", "Standard_HC44-32rs"),
           f"{SIZES}/high-performance-compute/hc-series",
           Retirement(datetime.date(2027, 5, 31), _HPC_2027, "Standard_HB120rs_v3",
                      f"{SIZES}/retirement/hc-series-retirement")),
    Series("HBv2", ("Standard_HB120rs_v2",), f"{SIZES}/high-performance-compute/hbv2-series",
           Retirement(datetime.date(2027, 5, 31), _HPC_2027, "Standard_HB120rs_v3",
                      f"{SIZES}/retirement/hbv2-series-retirement")),
    Series("HBv3", ("Standard_HB120rs_v3",), f"{SIZES}/high-performance-compute/hbv3-series"),
    Series("HBv4", ("Standard_HB176rs_v4",), f"{SIZES}/high-performance-compute/hbv4-series"),
)

SERIES_OF_SIZE: Mapping[str, Series] = {size: series for series in SERIES for size in series.sizes}
KNOWN_SIZES: tuple[str, ...] = tuple(SERIES_OF_SIZE)


@dataclass(frozen=True)
class SizeCheck:
    """The verdict on one size: a problem (refuse), a note (accept, and say so), or neither."""

    problem: str = ""
    note: str = ""


def _repairs(size: str) -> list[str]:
    """The usual slips, undone: a missing `_` before the version (`DS3v2`), capital feature letters
    (`D2S_v5`), the `s` of the old DS/GS series after the number (`D3S_v2` for `DS3_v2`), case."""
    steps = (
        lambda t: re.sub(r"(?<=[0-9a-z])v(\d+)$", r"_v\1", t),
        lambda t: re.sub(r"(?<=\d)([A-Z]+)(?=_v\d|$)", lambda m: m[1].lower(), t),
        lambda t: re.sub(r"^Standard_([A-Z]+)(\d+)s(_v2)?$", r"Standard_\1S\2\3", t),
    )
    by_lower = {s.lower(): s for s in KNOWN_SIZES}
    variants, text = [], size
    for step in steps:
        text = step(text)
        variants.append(text)
    return [by_lower[v.lower()] for v in variants if v.lower() in by_lower]


def closest_sizes(size: str, today: datetime.date, count: int = 3) -> list[str]:
    """The known sizes nearest to `size` that can still be created on `today`: a slip undone first,
    then the nearest by spelling."""
    live = [s for s in KNOWN_SIZES if not _retired(SERIES_OF_SIZE[s], "", today)]
    by_lower = {s.lower(): s for s in live}
    spelled = [by_lower[s] for s in difflib.get_close_matches(size.lower(), list(by_lower), n=count, cutoff=0.5)]
    # A slip onto a retired size suggests what replaces it, not the spelling neighbours of a dead size.
    repaired = [s if s.lower() in by_lower else _successor_example(s) for s in _repairs(size)]
    return list(dict.fromkeys([*repaired, *spelled]))[:count]


def _successor_example(size: str) -> str:
    retirement = SERIES_OF_SIZE[size].retirement
    assert retirement is not None, size
    return retirement.example


def _retired(series: Series, region: str, today: datetime.date) -> bool:
    return series.retirement is not None and series.retirement.date_in(region) <= today


def _suggest(size: str, today: datetime.date) -> str:
    """`did you mean A or B (retiring 2028-05-01)?`: a size in an announced series says so."""
    shown = []
    for close in closest_sizes(size, today):
        retirement = SERIES_OF_SIZE[close].retirement
        shown.append(f"{close} (retiring {retirement.date.isoformat()})" if retirement else close)
    return f"did you mean {' or '.join(shown)}?" if shown else f"see {SIZES}"


def check_size(size: str, region: str, cloud: str = "AzureCloud",
               today: Optional[datetime.date] = None) -> SizeCheck:
    """Is `size` a VM size that can be created in `region` of `cloud` on `today` (default: the real
    today, so a series whose announced date passes starts failing without a code change)?"""
    today = today or datetime.date.today()
    name = parse(size)
    if name is None:
        return SizeCheck(problem=f"{size} is not an Azure VM size name (Standard_<family><vCPUs><features>"
                                 f"[_<accelerator>][_v<version>]); {_suggest(size, today)}")
    series = SERIES_OF_SIZE.get(size) or SERIES_OF_SIZE.get(name.unconstrained)
    if series is None:
        return SizeCheck(problem=f"{size} is not a size of any series in components/vm_sizes.py; {_suggest(size, today)} "
                                 "(for a series the table does not list yet, add it there with its Microsoft "
                                 "Learn page)")
    if cloud not in series.clouds:
        return SizeCheck(problem=f"{size} ({series.name} series) is not offered in {cloud}; "
                                 f"use a size the cloud offers, e.g. Standard_D2s_v5")
    retirement = series.retirement
    if retirement is None:
        return SizeCheck()
    retires = retirement.date_in(region)
    if retires <= today:
        return SizeCheck(problem=f"{size} is retired ({series.name} series, {retires.isoformat()}): use "
                                 f"{retirement.successor}, e.g. {retirement.example} ({retirement.source})")
    return SizeCheck(note=f"{size} ({series.name} series) is announced for retirement on {retires.isoformat()}: "
                          f"plan a move to {retirement.successor}, e.g. {retirement.example}; Microsoft restricts "
                          f"announced series in new subscriptions ({retirement.source})")


# --------------------------------------------------------------------------------------------
# Regions per cloud (programmatic names: lowercase, no spaces, as `az account list-locations`)
# --------------------------------------------------------------------------------------------
REGIONS: Mapping[str, tuple[str, ...]] = {
    # "Azure regions list", all regions; plus the restricted regions the same page names only as a
    # pair (swedensouth) and the Jio India regions, which `az account list-locations` lists and
    # Microsoft's NCv3 retirement page names (jioindiawest).
    "AzureCloud": (
        "australiacentral", "australiacentral2", "australiaeast", "australiasoutheast", "austriaeast",
        "belgiumcentral", "brazilsouth", "brazilsoutheast", "canadacentral", "canadaeast", "centralindia",
        "centralus", "chilecentral", "denmarkeast", "eastasia", "eastus", "eastus2", "francecentral",
        "francesouth", "germanynorth", "germanywestcentral", "indonesiacentral", "israelcentral", "italynorth",
        "japaneast", "japanwest", "jioindiacentral", "jioindiawest", "koreacentral", "koreasouth",
        "malaysiawest", "mexicocentral", "newzealandnorth", "northcentralus", "northeurope", "norwayeast",
        "norwaywest", "polandcentral", "qatarcentral", "southafricanorth", "southafricawest",
        "southcentralus", "southindia", "southeastasia", "spaincentral", "swedencentral", "swedensouth",
        "switzerlandnorth", "switzerlandwest", "uaecentral", "uaenorth", "uksouth", "ukwest",
        "westcentralus", "westeurope", "westindia", "westus", "westus2", "westus3",
    ),
    # Azure.Core.AzureLocation: USGovArizona, USGovTexas, USGovVirginia, USDoDCentral, USDoDEast
    # (US Gov Iowa is retired).
    "AzureUSGovernment": ("usgovarizona", "usgovtexas", "usgovvirginia", "usdodcentral", "usdodeast"),
    # Azure.Core.AzureLocation: ChinaEast, ChinaEast2, ChinaEast3, ChinaNorth, ChinaNorth2, ChinaNorth3.
    "AzureChinaCloud": ("chinaeast", "chinaeast2", "chinaeast3", "chinanorth", "chinanorth2", "chinanorth3"),
}


def check_region(region: str, cloud: str) -> str:
    """A problem with `region` in `cloud`, or "" when the cloud has it."""
    regions = REGIONS.get(cloud, ())
    if region in regions:
        return ""
    elsewhere = [other for other, names in REGIONS.items() if region in names]
    if elsewhere:
        return (f"{region} is a region of {elsewhere[0]}, not of {cloud} (the `cloud` key); "
                f"set cloud: {elsewhere[0]} or use a {cloud} region such as {regions[0]}")
    # Display names ("West Europe") and other spellings: compare without spaces, hyphens and case.
    squashed = re.sub(r"[\s_-]", "", region.lower())
    if squashed in regions:
        return f"{region} is not a programmatic region name; did you mean {squashed}?"
    close = difflib.get_close_matches(squashed, list(regions), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else f"see {REGIONS_SOURCE}"
    return f"{region} is not an {cloud} region; {hint}"


REGIONS_SOURCE = "https://learn.microsoft.com/azure/reliability/regions-list"


# Accelerated families: N is GPU (NC, ND, NG, NV) or FPGA (NP) in Microsoft's size table ("Sizes for
# virtual machines in Azure": https://learn.microsoft.com/azure/virtual-machines/sizes/overview). The
# workspace's image-build compute takes "only a CPU SKU" ("Secure an Azure Machine Learning workspace
# with virtual networks", Enable Azure Container Registry, step 4:
# https://learn.microsoft.com/azure/machine-learning/how-to-secure-workspace-vnet#enable-azure-container-registry-acr).
ACCELERATED_FAMILY_PREFIX = "N"


def is_cpu_only(size: str) -> bool:
    """Whether `size` is a plain CPU size, not a GPU or FPGA one (an unparsable name is not judged here)."""
    name = parse(size)
    return name is None or not name.family.startswith(ACCELERATED_FAMILY_PREFIX)


def series_of(size: str) -> Optional[Series]:
    """The series `size` belongs to (constrained-vCPU sizes with their full size), if the table knows it."""
    name = parse(size)
    return SERIES_OF_SIZE.get(size) or (SERIES_OF_SIZE.get(name.unconstrained) if name else None)
