"""Capacity and bookings simulation: Monte Carlo and deterministic modes."""

from rampcast.simulate.build import Model, build_model
from rampcast.simulate.monte_carlo import METRICS, SimulationResult, simulate

__all__ = ["METRICS", "Model", "SimulationResult", "build_model", "simulate"]
