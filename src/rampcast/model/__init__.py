"""Capacity and bookings simulation: Monte Carlo and deterministic modes."""

from rampcast.model.build import Model, build_model
from rampcast.model.monte_carlo import METRICS, SimulationResult, simulate

__all__ = ["METRICS", "Model", "SimulationResult", "build_model", "simulate"]
