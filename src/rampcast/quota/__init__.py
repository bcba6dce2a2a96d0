"""Quota setting and attainment targeting (``rampcast quotas``).

:func:`set_quotas` blends capacity, territory potential and history into
first-year quotas summing to plan x (1 + over-assignment);
:func:`sample_attainment` and :func:`evaluate` simulate each rep's chance of
reaching quota; :func:`target_share_at_quota` finds the quota level that
puts a target share of ramped reps at quota. See ``docs/quotas.md``.
"""

from rampcast.quota.attainment import (
    Attainment,
    AttainmentSample,
    Targeting,
    evaluate,
    quota_tables,
    sample_attainment,
    share_at_quota,
    target_share_at_quota,
)
from rampcast.quota.setting import (
    AT_QUOTA_CONVENTION,
    OVER_ASSIGNMENT_CONVENTION,
    Fit,
    Holders,
    QuotaPlan,
    Weights,
    fit_to_total,
    parse_weights,
    quota_holders,
    ramped_quota,
    set_quotas,
)

__all__ = [
    "AT_QUOTA_CONVENTION",
    "OVER_ASSIGNMENT_CONVENTION",
    "Attainment",
    "AttainmentSample",
    "Fit",
    "Holders",
    "QuotaPlan",
    "Targeting",
    "Weights",
    "evaluate",
    "fit_to_total",
    "parse_weights",
    "quota_tables",
    "quota_holders",
    "ramped_quota",
    "sample_attainment",
    "set_quotas",
    "share_at_quota",
    "target_share_at_quota",
]
