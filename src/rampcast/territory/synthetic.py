"""Seeded synthetic territory instances for tests and benchmarks.

Accounts cluster around a few dozen city centres in a US-sized box; reps
live at random accounts' locations; each account's current owner is its
nearest rep, so books are geographically coherent but unbalanced (the
largest is typically 2-3x its target), and balancing forces moves.
"""

from __future__ import annotations

import numpy as np

from rampcast.territory.data import Instance, make_instance

__all__ = ["synthetic_instance"]


def synthetic_instance(
    n_accounts: int, n_reps: int, seed: int = 0, n_segments: int = 1, locked_share: float = 0.0
) -> Instance:
    """An instance of ``n_accounts`` x ``n_reps`` with fixed ``seed``.

    Potential is lognormal (sigma 1, so a few accounts are large), workload
    one per account; ``locked_share`` of the accounts are locked to their
    owner.
    """
    rng = np.random.default_rng(seed)
    centres = np.column_stack([rng.uniform(30, 47, 40), rng.uniform(-120, -75, 40)])
    weight = rng.dirichlet(np.ones(40))
    city = rng.choice(40, size=n_accounts, p=weight)
    lat = np.clip(centres[city, 0] + rng.normal(0, 1.0, n_accounts), 25, 49)
    lon = np.clip(centres[city, 1] + rng.normal(0, 1.5, n_accounts), -124, -67)
    potential = np.round(rng.lognormal(10, 1.0, n_accounts), 2)
    seg = rng.integers(0, n_segments, n_accounts)
    rep_seg = np.arange(n_reps) % n_segments
    homes = rng.choice(n_accounts, size=n_reps, replace=False)
    rep_lat = lat[homes] + rng.normal(0, 0.2, n_reps)
    rep_lon = lon[homes] + rng.normal(0, 0.2, n_reps)
    owner = np.empty(n_accounts, dtype=np.int64)
    for s in range(n_segments):
        mine = np.flatnonzero(seg == s)
        reps = np.flatnonzero(rep_seg == s)
        d = (lat[mine, None] - rep_lat[None, reps]) ** 2 + (
            (lon[mine, None] - rep_lon[None, reps]) * np.cos(np.radians(lat[mine, None]))
        ) ** 2
        owner[mine] = reps[np.argmin(d, axis=1)]
    locked = rng.random(n_accounts) < locked_share
    names = [f"S{s}" for s in range(n_segments)]
    rep_ids = [f"R{r:04d}" for r in range(n_reps)]
    accounts = {
        "accounts": [f"A{a:06d}" for a in range(n_accounts)],
        "segment": [names[s] for s in seg],
        "potential": potential.tolist(),
        "workload": [1.0] * n_accounts,
        "lat": lat.tolist(),
        "lon": lon.tolist(),
        "region": [""] * n_accounts,
        "owner": [rep_ids[o] for o in owner],
        "locked": locked.tolist(),
    }
    reps = {
        "reps": rep_ids,
        "segment": [names[s] for s in rep_seg],
        "lat": rep_lat.tolist(),
        "lon": rep_lon.tolist(),
        "region": [""] * n_reps,
        "max_accounts": [np.inf] * n_reps,
        "weight": [1.0] * n_reps,
    }
    return make_instance(accounts, reps, "synthetic accounts", "synthetic reps")
