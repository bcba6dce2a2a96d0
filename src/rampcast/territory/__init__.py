"""Territory assignment: balanced books with little disruption.

Accounts go to reps so that each rep's potential (and optionally workload)
lies within a tolerance of its target share, locked accounts stay, and as
little potential as possible moves away from its current owner. See
``docs/territories.md`` for the formulation and the large-instance strategy.
"""

from rampcast.territory.data import Instance, load_instance, make_instance
from rampcast.territory.explain import Reason, explain
from rampcast.territory.formulation import Options, bounds, violations
from rampcast.territory.solve import SolverError, TerritoryResult, assign_territories

__all__ = [
    "Instance",
    "Options",
    "Reason",
    "SolverError",
    "TerritoryResult",
    "assign_territories",
    "bounds",
    "explain",
    "load_instance",
    "make_instance",
    "violations",
]
